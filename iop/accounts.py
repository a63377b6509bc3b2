"""Logins made by staff for the people the clinic works with (clients, therapists)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from iop.passwords import password_chosen_by_staff


def is_clinician(user: AbstractBaseUser) -> bool:
    """Staff (the admin) and therapists (a ``groups.Therapist`` row): the people who reach many
    clients' records, and who must use a second factor when ``IOP_REQUIRE_2FA`` is on."""
    return bool(user.is_authenticated and (user.is_staff or hasattr(user, "therapist")))


def new_login(*, username: str, first_name: str, last_name: str, email: str = "") -> AbstractBaseUser:
    """An unsaved, non-staff user."""
    return get_user_model()(username=username.strip(), first_name=first_name, last_name=last_name, email=email)


def login_refusals(*, user: AbstractBaseUser, password: str) -> dict[str, list[str]]:
    """Why this new login cannot be made: a taken username, a weak first password."""
    errors: dict[str, list[str]] = {}
    username = user.get_username()
    if not username:
        errors["username"] = ["Give a username."]
    else:
        try:
            user.username_validator(username)
        except ValidationError as error:
            errors["username"] = list(error.messages)
        if get_user_model().objects.filter(username__iexact=username).exists():
            errors.setdefault("username", []).append("This username is taken.")
    try:
        validate_password(password, user)
    except ValidationError as error:
        errors["password"] = list(error.messages)
    return errors


def save_login(*, user: AbstractBaseUser, password: str) -> AbstractBaseUser:
    """Save the new login with the first password staff chose; its owner changes it at first sign-in."""
    user.set_password(password)
    user.save()
    password_chosen_by_staff(user)
    return user
