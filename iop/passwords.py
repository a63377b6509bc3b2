"""The rules for passwords typed after sign-in, and for who chose a password.

A password asked again inside the product (signing a note, the old password when changing it)
is a sign-in attempt like any other: a wrong one counts toward django-axes' lockout of the
account and the address, and during a lockout even the right one is refused. The check goes
through ``django.contrib.auth.authenticate`` so that axes sees it exactly as it sees the sign-in
page; it must run outside any transaction that the refusal rolls back, or the failure would be
forgotten with it.
"""

import hashlib
import time
from enum import Enum

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.http import HttpRequest

from iop.models import PasswordChangeDue

LOCKED_OUT_MESSAGE = (
    "Too many wrong passwords were typed for this account or from this place. For your protection, "
    "passwords are not accepted for a while; try again later or ask the clinic's administrator to unlock it."
)


class PasswordCheck(Enum):
    RIGHT = "right"
    WRONG = "wrong"
    LOCKED_OUT = "locked out"


def check_password_or_count_failure(
    request: HttpRequest | None, user: AbstractBaseUser, password: str
) -> PasswordCheck:
    """Whether ``password`` is ``user``'s, counted by the lockout as a sign-in attempt.

    Without a request (a management command, a script) there is no one to lock out: the password
    is only compared."""
    if not password:
        return PasswordCheck.WRONG
    if request is None:
        return PasswordCheck.RIGHT if user.check_password(password) else PasswordCheck.WRONG
    signed_in = authenticate(request=request, username=user.get_username(), password=password)
    if signed_in is not None and signed_in.pk == user.pk:
        return PasswordCheck.RIGHT
    # axes marks the request when this attempt was refused because of, or ran into, the lockout.
    if getattr(request, "axes_locked_out", False):
        return PasswordCheck.LOCKED_OUT
    return PasswordCheck.WRONG


def username_for_lockout(request: HttpRequest, credentials: dict | None) -> str | None:
    """The username django-axes counts failures under (``AXES_USERNAME_CALLABLE``): as typed, cut to
    the longest a username can be, so a pasted novel is counted instead of overflowing its column."""
    username = credentials.get("username") if credentials else request.POST.get("username")
    if username is None:
        return None
    return str(username)[: get_user_model().username.field.max_length]


# --- Who chose the password -----------------------------------------------------------------


def password_chosen_by_staff(user: AbstractBaseUser) -> None:
    """Staff set or made this password for someone else: it must be changed at the next sign-in."""
    PasswordChangeDue.objects.get_or_create(user=user)


def password_chosen_by_user(user: AbstractBaseUser) -> None:
    """The user chose their own password (changed it, or reset it by mail)."""
    PasswordChangeDue.objects.filter(user=user).delete()


def password_change_is_due(user: AbstractBaseUser) -> bool:
    return PasswordChangeDue.objects.filter(user=user).exists()


# --- The reset throttle ---------------------------------------------------------------------

HOUR = 60 * 60


def _throttle_key(kind: str, value: str) -> str:
    # Hashed: the cache table must not hold addresses in clear.
    digest = hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()
    return f"iop:password-reset:{kind}:{digest}"


def reset_mail_allowed(*, email: str, address: str | None) -> bool:
    """Whether another reset mail may go to ``email``, asked from ``address`` (an IP).

    Each request counts, whether or not an account has that e-mail, so that the answer says
    nothing about who has one. At most ``IOP_RESET_MAILS_PER_HOUR`` per e-mail and per address in
    the last hour."""
    now = time.time()
    limit = settings.IOP_RESET_MAILS_PER_HOUR
    allowed = True
    for key in (_throttle_key("email", email), _throttle_key("address", address or "unknown")):
        recent = [moment for moment in cache.get(key, []) if moment > now - HOUR]
        if len(recent) >= limit:
            allowed = False
        else:
            recent.append(now)
        cache.set(key, recent, timeout=HOUR)
    return allowed
