from django import forms
from django.utils.translation import gettext_lazy

from clients.models import AgreementSignature, Client, GroupFocus, OrientationStep
from clients.services import orientation_step_refusals, portal_language_choices, signing_refusals
from iop.dates import validate_clinic_date
from iop.forms import ModelValidatorsFirst, NewLoginForm, add_refusals


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


class OrientationStepForm(ModelValidatorsFirst, forms.ModelForm):
    """An item of the orientation checklist ticked on the client's page; the service's rules
    (the agreement item needs a signature in force, no day after today) are checked first."""

    class Meta:
        model = OrientationStep
        fields = ["item", "covered_on", "covered_by"]

    def clean(self):
        cleaned = super().clean()
        client = self.instance.client if self.instance.client_id else None
        if client is not None and not self.instance.pk and not self.errors:
            refusals = orientation_step_refusals(
                client=client, item=cleaned.get("item"), covered_on=cleaned.get("covered_on")
            )
            add_refusals(self, refusals)
        return cleaned


class OrientationStepFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        new_items = [
            form.cleaned_data["item"]
            for form in self.extra_forms
            if form.has_changed() and not form.errors and form.cleaned_data.get("item")
        ]
        if len(new_items) != len(set(new_items)):
            raise forms.ValidationError("The same item is ticked twice.")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"size": 60}))


class DischargeForm(forms.Form):
    discharged_on = forms.DateField(help_text="YYYY-MM-DD", validators=[validate_clinic_date])
    note = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs={"size": 60}))


class PortalAccountForm(NewLoginForm):
    pass


class PortalLanguageForm(forms.Form):
    """The client's own choice of language in the portal (clients.services.set_preferred_language)."""

    preferred_language = forms.ChoiceField(label=gettext_lazy("Language"), widget=forms.RadioSelect)

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_language"].choices = portal_language_choices(client)
        self.fields["preferred_language"].initial = client.preferred_language


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
