from django import forms

from clients.models import AgreementSignature, Client, GroupFocus
from clients.services import signing_refusals
from iop.dates import validate_clinic_date
from iop.forms import ModelValidatorsFirst, NewLoginForm


class SignatureInlineForm(ModelValidatorsFirst, forms.ModelForm):
    """A new signature recorded from the client's page; the service's rules are checked first."""

    class Meta:
        model = AgreementSignature
        fields = ["agreement", "signed_at", "method", "witnessed_by"]

    def clean(self):
        cleaned = super().clean()
        client = self.instance.client if self.instance.client_id else None
        if client is not None and not self.instance.pk:
            for reason in signing_refusals(client=client, agreement=cleaned.get("agreement")):
                self.add_error("agreement", reason)
        return cleaned


class SignatureInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        new_versions = [
            form.cleaned_data["agreement"]
            for form in self.extra_forms
            if form.has_changed() and not form.errors and form.cleaned_data.get("agreement")
        ]
        if len(new_versions) != len(set(new_versions)):
            raise forms.ValidationError("The same agreement version is added twice.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))


class DischargeForm(forms.Form):
    discharged_on = forms.DateField(help_text="YYYY-MM-DD", validators=[validate_clinic_date])
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60}))


class PortalAccountForm(NewLoginForm):
    pass


class ClientAdminForm(forms.ModelForm):
    """The client's page: the focus preferences as boxes to tick, not a list typed by hand."""

    welcomes_focuses = forms.MultipleChoiceField(
        label="Would welcome a group for",
        choices=GroupFocus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the client said they would welcome; the group finder ranks such groups higher.",
    )
    avoids_focuses = forms.MultipleChoiceField(
        label="Would rather not be in a group for",
        choices=GroupFocus.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The group finder ranks such groups lower.",
    )

    class Meta:
        model = Client
        # The admin adds the page's other fields (its fieldsets).
        fields = ["welcomes_focuses", "avoids_focuses"]
