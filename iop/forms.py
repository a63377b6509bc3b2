from django import forms
from django.core.exceptions import ValidationError


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
        if "password" in getattr(error, "error_dict", {}):
            error.error_dict["password1"] = error.error_dict.pop("password")
        self.add_error(None, error)
