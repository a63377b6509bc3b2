"""The signing password is a password like the sign-in's: wrong ones count toward the same lockout,
and during a lockout no note is signed, not even with the right password."""

import pytest
from django.conf import settings
from django.test import Client as WebClient
from django.urls import reverse

from progress.models import GroupNote
from tests.factories import PASSWORD
from tests.helpers import record_everyone_present, write_note

pytestmark = pytest.mark.django_db

WRONG = "not-the-password-2026"


@pytest.fixture
def note(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    return write_note(session, members, by=therapist.user)


def sign(browser, session, password):
    return browser.post(reverse("therapist:note_sign", args=[session.pk]), {"password": password})


def test_wrong_signing_passwords_lock_out_and_nothing_is_signed(facilitator_client, session, note):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign(facilitator_client, session, WRONG)
        assert response.status_code == 200
        assert "password" in response.context["sign_form"].errors

    locked = sign(facilitator_client, session, WRONG)
    right = sign(facilitator_client, session, PASSWORD)

    assert locked.status_code == 429 and right.status_code == 429
    assert "Sign-in is paused" in right.content.decode()
    note.refresh_from_db()
    assert note.signed_at is None and note.signed_by is None
    assert GroupNote.objects.filter(signed_at__isnull=False).count() == 0


def test_signing_passwords_lock_the_sign_in_page_too(facilitator_client, session, note, therapist):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign(facilitator_client, session, WRONG)

    response = WebClient().post(reverse("login"), {"username": therapist.user.username, "password": PASSWORD})

    assert response.status_code == 429


def test_failed_sign_ins_stop_the_signing(facilitator_client, session, note, therapist):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        WebClient().post(reverse("login"), {"username": therapist.user.username, "password": WRONG})

    response = sign(facilitator_client, session, PASSWORD)

    assert response.status_code == 429
    note.refresh_from_db()
    assert not note.is_signed


def test_the_right_password_signs_when_not_locked_out(facilitator_client, session, note):
    sign(facilitator_client, session, WRONG)

    response = sign(facilitator_client, session, PASSWORD)

    assert response.status_code == 302
    note.refresh_from_db()
    assert note.is_signed
