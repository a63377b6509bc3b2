"""Logins made by staff for the people the clinic works with (clients, therapists), and the
audit row of every password set or changed."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.context import current_actor
from audit.trail import Action, hold_chain, record
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


@transaction.atomic
def save_login(
    *, user: AbstractBaseUser, password: str, clients: Iterable[int] = (), detail: str = ""
) -> AbstractBaseUser:
    """Save a new login with the first password staff chose; the audit row names the clients the
    login is for (a client's portal login), none for a therapist's."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    user.set_password(password)
    user.save()
    password_chosen_by_staff(user)  # its owner changes it at first sign-in
    record(Action.CREATE, target=user, clients=clients, detail=detail or "login made; first password set by staff")
    return user


@transaction.atomic
def delete_login(*, user: AbstractBaseUser) -> None:
    """Remove a login (the admin's user page). A client's portal login takes the client's link to
    it along (``SET_NULL``), so the row names that client."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = getattr(user, "client", None)
    pk = user.pk
    user.delete()
    record(Action.DELETE, target=type(user), object_id=pk, clients=[client], detail="login deleted")


def record_password_change(*, user: AbstractBaseUser) -> None:
    """The audit row of a password set or changed (HIPAA: changes to the means of authentication
    are recorded). Call it in the same transaction as ``user.save()``, wherever a password is set:
    the password-change form, the admin's password page, a reset, a command. Never the password."""
    actor = current_actor().user
    if actor is None:
        record(Action.PASSWORD, target=user, detail="set by the system")
    elif not actor.is_authenticated:
        # A reset by e-mail link: no one is signed in; the row names the account's owner.
        record(Action.PASSWORD, target=user, user=user, detail="reset by the user")
    elif actor.pk == user.pk:
        record(Action.PASSWORD, target=user, detail="changed by the user")
    else:
        record(Action.PASSWORD, target=user, detail="set by staff")


class RecordsPasswordChange:
    """Mixed into a Django password form (``PasswordChangeForm``, ``SetPasswordForm``,
    ``AdminPasswordChangeForm``): saving it sets the password and records it in one transaction."""

    def save(self, commit=True):
        with transaction.atomic():
            hold_chain()  # before the user's row: see audit.trail.hold_chain
            user = super().save(commit=commit)
            if commit:
                record_password_change(user=user)
        return user
