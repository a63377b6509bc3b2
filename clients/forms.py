from django import forms
from django.core.exceptions import ValidationError

from clients.models import AgreementSignature, Client
from clients.services import signing_refusals


class ClientAdminForm(forms.ModelForm):
    class Meta:
        model = Client
        fields = "__all__"

    def clean_partner(self):
        partner = self.cleaned_data.get("partner")
        if partner is not None and self.instance.pk == partner.pk:
            raise ValidationError("A client cannot be their own partner.")
        return partner


class SignatureInlineForm(forms.ModelForm):
    """A new signature recorded from the client's page; the service's rules are checked first."""

    class Meta:
        model = AgreementSignature
        fields = ["agreement", "signed_at", "method", "witnessed_by"]

    def clean(self):
        cleaned = super().clean()
        client = self.instance.client if self.instance.client_id else None
        if client is not None and not self.instance.pk:
            for reason in signing_refusals(client=client):
                self.add_error(None, reason)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))


class DischargeForm(forms.Form):
    discharged_on = forms.DateField(help_text="YYYY-MM-DD")
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60}))
