"""The steps between the password and the first page: the second factor, and a password of one's own.

What a signed-in person still owes is worked out once, when they sign in, and kept in their
session, so that an ordinary page costs no query for it. ``IOP_REQUIRE_2FA`` is read on every
request (an operator may switch it, tests override it).
"""

from enum import Enum

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from iop.accounts import is_clinician
from iop.passwords import password_change_is_due
from iop.two_factor import has_second_factor

SESSION_KEY = "iop_sign_in"


class Step(Enum):
    VERIFY = "verify"  # type the second factor's code
    CHANGE_PASSWORD = "change password"  # replace a password staff chose
    SET_UP = "set up"  # staff and therapists: set up the second factor


def remember_steps(request: HttpRequest, user: AbstractBaseUser) -> dict:
    state = {
        "user": user.pk,
        "has_second_factor": has_second_factor(user),
        "clinician": is_clinician(user),
        "password_change_due": password_change_is_due(user),
    }
    request.session[SESSION_KEY] = state
    return state


def remember_steps_at_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: the steps this sign-in owes."""
    if request is not None and hasattr(request, "session"):
        remember_steps(request, user)


def update_steps(request: HttpRequest, **changes) -> None:
    """After a step is done (a code set up, a password chosen) in this session."""
    state = _state(request)
    state.update(changes)
    request.session[SESSION_KEY] = state


def _state(request: HttpRequest) -> dict:
    state = request.session.get(SESSION_KEY)
    if not state or state.get("user") != request.user.pk:
        state = remember_steps(request, request.user)
    return state


def is_verified(request: HttpRequest) -> bool:
    verified = getattr(request.user, "is_verified", None)
    return bool(verified and verified())


def next_step(request: HttpRequest) -> Step | None:
    """What the signed-in person must do before any other page, if anything."""
    state = _state(request)
    if state["has_second_factor"] and not is_verified(request):
        return Step.VERIFY
    if state["password_change_due"]:
        return Step.CHANGE_PASSWORD
    if settings.IOP_REQUIRE_2FA and state["clinician"] and not state["has_second_factor"]:
        return Step.SET_UP
    return None
