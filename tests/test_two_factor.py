"""The second factor: staff and therapists set it up before any page when IOP_REQUIRE_2FA is on,
everyone who has one types its code at each sign-in, recovery codes work once, clients choose."""

import datetime
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from iop import two_factor
from iop.views import SETUP_KEY_SESSION
from tests.factories import PASSWORD, UserFactory
from tests.helpers import code_for, sign_in, with_authenticator

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(settings):
    settings.IOP_REQUIRE_2FA = True


def device_rows():
    return TOTPDevice.objects.count(), StaticDevice.objects.count(), StaticToken.objects.count()


# --- Required for staff and therapists -------------------------------------------------------


@pytest.mark.parametrize("page", ["therapist:dashboard", "home", "password_change", "two_factor"])
def test_a_therapist_sets_up_the_second_factor_before_any_page(client, therapist, required, page):
    client.force_login(therapist.user)

    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))


def test_staff_set_up_the_second_factor_before_the_admin(client, staff_user, required):
    client.force_login(staff_user)

    assert client.get(reverse("admin:index")).url.startswith(reverse("two_factor_setup"))
    assert client.get(reverse("admin:clients_client_changelist")).url.startswith(reverse("two_factor_setup"))


def test_clients_are_not_made_to_set_it_up(client, client_record, required):
    client_record.portal_user = UserFactory(username="jordan")
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)

    assert client.get(reverse("scheduling:week")).status_code == 200


def test_nothing_is_asked_when_the_setting_is_off(client, therapist):
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:dashboard")).status_code == 200


def test_the_set_up_page_shows_a_qr_code_made_here_and_the_key(client, therapist, required):
    client.force_login(therapist.user)

    response = client.get(reverse("two_factor_setup"))

    page = response.content.decode()
    key = client.session[SETUP_KEY_SESSION]
    assert response.status_code == 200
    assert "<svg" in page and "<?xml" not in page
    assert two_factor.manual_key(key) in page
    assert "http://" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")
    assert ' style="' not in page


def test_a_therapist_sets_up_the_app_and_then_reaches_their_pages(client, therapist, required):
    client.force_login(therapist.user)
    client.get(reverse("two_factor_setup"))
    key = client.session[SETUP_KEY_SESSION]

    response = client.post(reverse("two_factor_setup"), {"otp_token": code_for(key)})

    assert response.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]+)</code>", response.content.decode())
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    assert TOTPDevice.objects.get(user=therapist.user).confirmed
    assert client.get(reverse("therapist:dashboard")).status_code == 200


def test_a_wrong_code_at_set_up_is_a_field_error_and_writes_nothing(client, therapist, required):
    client.force_login(therapist.user)
    client.get(reverse("two_factor_setup"))
    key = client.session[SETUP_KEY_SESSION]
    before = device_rows()
    wrong = f"{(int(code_for(key)) + 1) % 1_000_000:06d}"

    response = client.post(reverse("two_factor_setup"), {"otp_token": wrong})

    assert response.status_code == 200
    assert "otp_token" in response.context["form"].errors
    assert device_rows() == before
    assert client.get(reverse("therapist:dashboard")).url.startswith(reverse("two_factor_setup"))


# --- Verified at each sign-in ----------------------------------------------------------------


def test_the_code_is_asked_after_the_password_at_each_sign_in(client, therapist, required, clock):
    key, _ = with_authenticator(therapist.user)
    assert sign_in(client, therapist.user.username, PASSWORD)

    first = client.get(reverse("therapist:dashboard"))
    wrong = client.post(
        reverse("two_factor_verify"), {"otp_token": "000000" if code_for(key) != "000000" else "111111"}
    )
    # django-otp makes the next try after a wrong code wait (1 s, then 2, 4, …).
    clock.shift(datetime.timedelta(seconds=3))
    right = client.post(
        reverse("two_factor_verify"), {"otp_token": code_for(key, steps_ahead=1), "next": "/therapist/"}
    )

    assert first.url.startswith(reverse("two_factor_verify"))
    assert wrong.status_code == 200 and "otp_token" in wrong.context["form"].errors
    assert right.status_code == 302 and right.url == "/therapist/"
    assert client.get(reverse("therapist:dashboard")).status_code == 200


def test_the_verify_step_cannot_be_skipped_to_the_admin(client, staff_user, required):
    with_authenticator(staff_user)
    sign_in(client, staff_user.username, PASSWORD)

    assert client.get(reverse("admin:index")).url.startswith(reverse("two_factor_verify"))
    assert client.get(reverse("two_factor_setup")).url.startswith(reverse("two_factor_verify"))


def test_a_recovery_code_works_once(client, therapist, required):
    _, codes = with_authenticator(therapist.user)
    sign_in(client, therapist.user.username, PASSWORD)

    first = client.post(reverse("two_factor_verify"), {"otp_token": codes[0]})
    client.post(reverse("logout"))
    sign_in(client, therapist.user.username, PASSWORD)
    again = client.post(reverse("two_factor_verify"), {"otp_token": codes[0]})

    assert first.status_code == 302
    assert again.status_code == 200 and "otp_token" in again.context["form"].errors
    assert client.get(reverse("therapist:dashboard")).url.startswith(reverse("two_factor_verify"))


def test_new_recovery_codes_replace_the_old_ones_and_are_shown_once(client, therapist):
    key, old_codes = with_authenticator(therapist.user)
    sign_in(client, therapist.user.username, PASSWORD)
    client.post(reverse("two_factor_verify"), {"otp_token": code_for(key, steps_ahead=1)})

    response = client.post(reverse("two_factor_recovery_codes"))

    new_codes = re.findall(r"<code>([a-z0-9]+)</code>", response.content.decode())
    assert len(new_codes) == two_factor.RECOVERY_CODE_COUNT
    tokens = set(StaticToken.objects.filter(device__user=therapist.user).values_list("token", flat=True))
    assert tokens == set(new_codes) and not tokens & set(old_codes)
    assert not any(code in client.get(reverse("two_factor")).content.decode() for code in new_codes)


# --- Clients choose -------------------------------------------------------------------------


@pytest.fixture
def portal_client(client, client_record):
    client_record.portal_user = UserFactory(username="jordan")
    client_record.save(update_fields=["portal_user"])
    return client_record.portal_user


def test_a_client_turns_it_on_from_their_page_and_is_asked_at_sign_in(client, portal_client):
    client.force_login(portal_client)
    assert reverse("two_factor") in client.get(reverse("scheduling:week")).content.decode()
    assert "is <strong>off</strong>" in client.get(reverse("two_factor")).content.decode()
    client.get(reverse("two_factor_setup"))
    key = client.session[SETUP_KEY_SESSION]
    client.post(reverse("two_factor_setup"), {"otp_token": code_for(key)})
    client.post(reverse("logout"))

    sign_in(client, "jordan", PASSWORD)

    assert client.get(reverse("scheduling:week")).url.startswith(reverse("two_factor_verify"))
    client.post(reverse("two_factor_verify"), {"otp_token": code_for(key, steps_ahead=1)})
    assert client.get(reverse("scheduling:week")).status_code == 200


def test_a_client_turns_it_off_with_a_valid_code(client, portal_client, clock):
    key, _ = with_authenticator(portal_client)
    sign_in(client, "jordan", PASSWORD)
    client.post(reverse("two_factor_verify"), {"otp_token": code_for(key, steps_ahead=1)})
    # A code once used is refused: turning off takes the one the app shows a minute later.
    clock.shift(datetime.timedelta(seconds=60))

    response = client.post(reverse("two_factor_turn_off"), {"otp_token": code_for(key)})

    assert response.status_code == 302
    assert device_rows() == (0, 0, 0)
    client.post(reverse("logout"))
    sign_in(client, "jordan", PASSWORD)
    assert client.get(reverse("scheduling:week")).status_code == 200


def test_a_wrong_code_does_not_turn_it_off(client, portal_client):
    key, codes = with_authenticator(portal_client)
    client.force_login(portal_client)
    client.post(reverse("two_factor_verify"), {"otp_token": codes[0]})
    before = device_rows()

    response = client.post(reverse("two_factor_turn_off"), {"otp_token": "12345"})

    assert response.status_code == 200
    assert "otp_token" in response.context["turn_off_form"].errors
    assert device_rows() == before


def test_a_therapist_cannot_turn_it_off(client, therapist):
    _, codes = with_authenticator(therapist.user)
    client.force_login(therapist.user)
    client.post(reverse("two_factor_verify"), {"otp_token": codes[0]})
    before = device_rows()

    response = client.post(reverse("two_factor_turn_off"), {"otp_token": codes[1]})

    assert response.status_code == 200
    assert device_rows() == before
    assert "Turn it off" not in client.get(reverse("two_factor")).content.decode()


def test_signing_in_without_the_code_leaves_the_session_unverified(client, portal_client):
    with_authenticator(portal_client)

    sign_in(client, "jordan", PASSWORD)

    assert client.session.get(SESSION_KEY) == str(portal_client.pk)
    assert "otp_device_id" not in client.session
