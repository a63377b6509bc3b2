from django import forms
from django.contrib import admin
from django.utils import timezone

from clients.models import Client
from groups.models import Membership, TherapyGroup
from groups.services import capacity_refusals, end_group_refusals, enrolment_refusals, facilitator_conflicts
from iop.admin_widgets import TolerantAutocompleteSelect
from iop.dates import validate_clinic_date
from iop.forms import ModelValidatorsFirst, NewLoginForm, add_refusals


class EnrolmentForm(forms.Form):
    """Staff enrol one client into one group; the service has the last word under its lock."""

    client = forms.ModelChoiceField(queryset=Client.objects.all())
    group = forms.ModelChoiceField(queryset=TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED))
    waitlist_if_full = forms.BooleanField(
        required=False,
        initial=True,
        label="Waitlist if full",
        help_text="Untick to refuse rather than waitlist when the group has no free seat.",
    )

    def __init__(self, *args, admin_site: admin.AdminSite | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            for name in ("client", "group"):
                field = self.fields[name]
                field.widget = TolerantAutocompleteSelect(Membership._meta.get_field(name), admin_site)
                field.widget.choices = field.choices

    def clean(self):
        cleaned = super().clean()
        client, group = cleaned.get("client"), cleaned.get("group")
        if client and group:
            add_refusals(self, enrolment_refusals(client=client, group=group))
        return cleaned


class EnrolActionForm(forms.Form):
    group = forms.ModelChoiceField(queryset=TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED))
    waitlist_if_full = forms.BooleanField(required=False, initial=True, label="Waitlist if full")


class EndMembershipForm(forms.Form):
    """The few words of the end-memberships action; end_membership judges the day, row by row."""

    reason = forms.ChoiceField(choices=Membership.EndReason.choices)
    ended_on = forms.DateField(help_text="YYYY-MM-DD", validators=[validate_clinic_date])
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60}))


class EndGroupForm(forms.Form):
    """The day of the end-groups action; end_group judges it, group by group."""

    ended_on = forms.DateField(
        label="Last day",
        validators=[validate_clinic_date],
        help_text="YYYY-MM-DD, on or before today. Members leave the group on this day; later sessions are cancelled.",
    )


class TherapyGroupAdminForm(ModelValidatorsFirst, forms.ModelForm):
    class Meta:
        model = TherapyGroup
        fields = [
            "name",
            "kind",
            "description",
            "status",
            "start_date",
            "end_date",
            "capacity",
            "enrolment",
            "facilitator",
            "co_facilitator",
            "language",
            "audience",
            "modality",
            "room",
            "video_link",
        ]

    def clean(self):
        cleaned = super().clean()
        if "capacity" in self.changed_data and cleaned.get("capacity") is not None:
            add_refusals(self, capacity_refusals(group=self.instance, capacity=cleaned["capacity"]))
        leaders_changed = {"facilitator", "co_facilitator"} & set(self.changed_data)
        if self.instance.pk is not None and leaders_changed and cleaned.get("facilitator"):
            add_refusals(
                self,
                facilitator_conflicts(
                    group=self.instance,
                    facilitator=cleaned["facilitator"],
                    co_facilitator=cleaned.get("co_facilitator"),
                ),
            )
        if self.is_ending() and "end_date" not in self.errors:
            on = cleaned.get("end_date") or timezone.localdate()
            add_refusals(self, end_group_refusals(group=self.instance, on=on))
        return cleaned

    def is_ending(self) -> bool:
        """Staff set a saved group's status to Ended: the admin ends it through end_group."""
        return (
            self.instance.pk is not None
            and "status" in self.changed_data
            and self.cleaned_data.get("status") == TherapyGroup.Status.ENDED
        )


class NewTherapistForm(NewLoginForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    credentials = forms.CharField(max_length=60, help_text="E.g. LCSW, LPC, LMFT, PhD.")
    license_number = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)

    field_order = ["first_name", "last_name", "credentials", "license_number", "email", "username"]
