from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError


class NewLoginForm(forms.Form):
    """Username and a first password typed twice, for the logins staff make (iop.accounts).

    The rules (taken username, weak password) are the service's; ``add_service_error`` puts its
    refusal on these fields."""

    username = forms.CharField(max_length=150, help_text="What they type to sign in.")
    password1 = forms.CharField(label="First password", widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label="The same password again", widget=forms.PasswordInput, strip=False)

    def clean_password2(self):
        first, second = self.cleaned_data.get("password1"), self.cleaned_data.get("password2")
        if first and second and first != second:
            raise forms.ValidationError("The two passwords differ.")
        return second

    def add_service_error(self, error: ValidationError) -> None:
        refusals = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        # The service names the password "password"; this form asks for it in "password1".
        if "password" in refusals:
            refusals["password1"] = refusals.pop("password")
        add_refusals(self, refusals)


def add_refusals(form: forms.BaseForm, refusals: dict[str, list[str]] | ValidationError) -> None:
    """The one bridge from a service's rules to a form: each reason on its field when the form has
    that field, on the form's top otherwise. Takes a ``*_refusals`` dict or a raised error."""
    if isinstance(refusals, ValidationError):
        refusals = refusals.message_dict if hasattr(refusals, "error_dict") else {None: refusals.messages}
    for field, reasons in refusals.items():
        for reason in reasons:
            form.add_error(field if field in form.fields else None, reason)


class ModelValidatorsFirst:
    """For ModelForms whose ``clean()`` hands values to a service: the model fields' validators
    (e.g. a date's bounds, iop.dates) run with each form field, so the service never sees a value
    the model would refuse. Django runs them only after ``clean()``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            try:
                model_field = self._meta.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            # A number field also takes the database's range (2**66 minutes is a field error, not an
            # OverflowError); a choice field compares strings, so it takes only the declared rules.
            own = model_field.validators if isinstance(field, forms.IntegerField) else model_field._validators
            field.validators = [*field.validators, *(v for v in own if v not in field.validators)]
