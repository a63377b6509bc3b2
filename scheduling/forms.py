from django import forms
from django.contrib import admin
from django.utils import timezone

from clients.models import Client
from groups.forms import language_reason_field, partner_reason_field
from groups.models import Membership, TherapyGroup
from groups.services import capacity_refusals
from iop.admin_widgets import TolerantAutocompleteSelect
from iop.forms import ModelValidatorsFirst, add_refusals
from scheduling.enrolment import enrolment_refusals
from scheduling.group_changes import end_group_refusals, facilitator_conflicts
from scheduling.models import Closure, Session, WeeklySlot
from scheduling.services import session_change_refusals, session_conflicts, slot_conflicts


def _as_typed(form: forms.ModelForm):
    """The form's instance holding the values typed so far, for a service to check before it is
    asked to save them."""
    for field in form._meta.fields:
        if field in form.cleaned_data:
            setattr(form.instance, field, form.cleaned_data[field])
    return form.instance


class WeeklySlotForm(ModelValidatorsFirst, forms.ModelForm):
    """The slot inline on a group: conflicts are field errors before anything is saved."""

    class Meta:
        model = WeeklySlot
        fields = [
            "weekday",
            "start_time",
            "duration_minutes",
            "is_virtual",
            "room",
            "default_objective",
            "effective_from",
            "effective_until",
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.instance.group_id:
            return cleaned
        add_refusals(self, slot_conflicts(_as_typed(self)))
        return cleaned


class SessionForm(ModelValidatorsFirst, forms.ModelForm):
    class Meta:
        model = Session
        fields = ["starts_at", "ends_at", "objective", "facilitator", "room", "video_link"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            # The service's rule, asked before it is asked to save: a met session stays as it was.
            add_refusals(self, {None: session_change_refusals(self.instance)})
        if self.errors:
            return cleaned
        add_refusals(self, session_conflicts(_as_typed(self)))
        return cleaned


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"size": 60}), help_text="Clients see this reason."
    )


class ClosureForm(ModelValidatorsFirst, forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["name", "starts_on", "ends_on"]


class GenerateForm(forms.Form):
    weeks = forms.IntegerField(min_value=1, max_value=26, initial=8, help_text="How many weeks ahead.")


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
    language_reason = language_reason_field()
    partner_reason = partner_reason_field()

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
            add_refusals(
                self,
                enrolment_refusals(
                    client=client,
                    group=group,
                    language_reason=cleaned.get("language_reason", ""),
                    partner_reason=cleaned.get("partner_reason", ""),
                ),
            )
        return cleaned


class FinderEnrolForm(forms.Form):
    """One click on a result of the group finder: the group and, when asked, the confirmations."""

    group = forms.ModelChoiceField(queryset=TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED))
    language_reason = language_reason_field()
    partner_reason = partner_reason_field()


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
            "focus",
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
