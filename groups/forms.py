from django import forms

from groups.models import Membership, TherapyGroup
from iop.dates import validate_clinic_date
from iop.forms import NewLoginForm


def language_reason_field() -> forms.CharField:
    return forms.CharField(
        label="Why another language",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Asked when the group is held in another language than the client's, e.g. "
        '"Interpreter arranged" or "Fluent in English, chose this group".',
    )


def partner_reason_field() -> forms.CharField:
    return forms.CharField(
        label="Why with the partner",
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
        help_text="Asked when the client's partner is in the same process group: the clinical decision "
        "that they attend together, and who made it.",
    )


class EnrolActionForm(forms.Form):
    group = forms.ModelChoiceField(queryset=TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED))
    waitlist_if_full = forms.BooleanField(required=False, initial=True, label="Waitlist if full")
    language_reason = language_reason_field()
    partner_reason = partner_reason_field()


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


class NewTherapistForm(NewLoginForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    credentials = forms.CharField(max_length=60, help_text="E.g. LCSW, LPC, LMFT, PhD.")
    license_number = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)

    field_order = ["first_name", "last_name", "credentials", "license_number", "email", "username"]
