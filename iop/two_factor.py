"""The second factor: an authenticator app (TOTP) and single-use recovery codes (django-otp).

Every change to a person's second factor goes through the functions here (turning it on,
new recovery codes, turning it off), so the audit trail can record each one in one place.
"""

import io
from base64 import b32encode
from binascii import unhexlify

import qrcode
import qrcode.image.svg
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from audit.trail import Action, record
from iop.accounts import is_clinician

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10
WRONG_CODE = "This code is not right, or was already used. Type the 6 digits the app shows now, or a recovery code."


def has_second_factor(user: AbstractBaseUser) -> bool:
    return user_has_device(user, confirmed=True)


def new_authenticator_key() -> str:
    """A fresh secret (hex), kept in the session until the person confirms a code made from it."""
    return default_key()


def manual_key(key: str) -> str:
    """The secret as authenticator apps ask for it when typed by hand: base32, in groups of four."""
    text = b32encode(unhexlify(key)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def authenticator_uri(user: AbstractBaseUser, key: str) -> str:
    return TOTPDevice(user=user, key=key).config_url


def authenticator_qr_svg(user: AbstractBaseUser, key: str) -> str:
    """The QR code of the set-up link, as inline SVG made here (no image service sees the secret)."""
    image = qrcode.make(authenticator_uri(user, key), image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    svg = out.getvalue().decode()
    # The XML declaration is for files; inline in HTML the <svg> element stands on its own.
    return svg[svg.index("<svg") :]


def _code_matches_key(key: str, token: str) -> bool:
    token = (token or "").strip().replace(" ", "")
    if not token.isdigit():
        return False
    totp = TOTP(unhexlify(key), step=30, t0=0, digits=6, drift=0)
    return totp.verify(int(token), tolerance=1)


@transaction.atomic
def turn_on_authenticator(*, user: AbstractBaseUser, key: str, token: str) -> list[str]:
    """Confirm the app with a code it made from ``key``; returns the new recovery codes, to show once.

    A wrong code raises ``ValidationError`` and writes nothing."""
    if not key or not _code_matches_key(key, token):
        raise ValidationError({"otp_token": WRONG_CODE})
    TOTPDevice.objects.filter(user=user).delete()
    device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, key=key, confirmed=True)
    # The code just typed may not be typed again.
    device.verify_token(token.strip().replace(" ", ""))
    codes = _replace_recovery_codes(user)
    record(Action.TWO_FACTOR, target=device, user=user, detail="authenticator app set up; new recovery codes")
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, user: AbstractBaseUser) -> list[str]:
    """New recovery codes; the old ones stop working. Returns them, to show once."""
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValidationError("Set up the authenticator app first.")
    codes = _replace_recovery_codes(user)
    record(Action.TWO_FACTOR, target=StaticDevice, user=user, detail="new recovery codes")
    return codes


def _replace_recovery_codes(user: AbstractBaseUser) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify_second_factor(*, user: AbstractBaseUser, token: str) -> Device | None:
    """The device that accepts ``token`` (the app's code, or a recovery code, used up once), if any.

    django-otp slows down repeated wrong codes on the app (each failure doubles the wait)."""
    token = (token or "").strip().replace(" ", "").lower()
    if not token or len(token) > 16:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            if device.verify_is_allowed()[0] and device.verify_token(token):
                return device
    return None


def can_turn_off(user: AbstractBaseUser) -> bool:
    """Only clients choose their second factor; staff and therapists keep theirs (the admin can
    remove a lost one)."""
    return not is_clinician(user)


def turn_off_two_factor(*, user: AbstractBaseUser, token: str) -> None:
    """A client turns the second factor off, proving it with a current code."""
    if not can_turn_off(user):
        raise ValidationError("Staff and therapists keep their second factor; the administrator can reset it.")
    # Checked outside the deletion's transaction: a wrong code's throttling must be kept.
    if verify_second_factor(user=user, token=token) is None:
        raise ValidationError({"otp_token": WRONG_CODE})
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        record(Action.TWO_FACTOR, target=TOTPDevice, user=user, detail="second factor turned off")
