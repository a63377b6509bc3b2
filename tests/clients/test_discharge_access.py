"""Discharge ends access: the portal login is closed and its open sessions end, the calendar link
answers 404; readmission gives a working calendar link, and staff open a new portal login."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client as Browser
from django.urls import reverse

from clients.models import Client
from clients.services import admit_client, open_portal_account
from iop.passwords import password_chosen_by_user
from scheduling.enrolment import discharge_client
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

PASSWORD = "harbour-lantern-4471"
WEEK = reverse("scheduling:week")


def feed(token: str) -> str:
    return reverse("scheduling:feed", args=[token])


@pytest.fixture
def signed_in(client_record):
    """The client's phone, signed in to the portal."""
    open_portal_account(client=client_record, username="jordan.a", password=PASSWORD)
    client_record.refresh_from_db()
    password_chosen_by_user(client_record.portal_user)  # as after their first sign-in's change
    phone = Browser()
    assert sign_in(phone, "jordan.a", PASSWORD)
    assert phone.get(WEEK).status_code == 200
    return phone


def test_discharge_closes_the_portal_login_and_ends_its_open_session(signed_in, client_record, today):
    user = client_record.portal_user
    users_before = get_user_model().objects.count()

    discharge_client(client=client_record, on=today)

    client_record.refresh_from_db()
    user.refresh_from_db()
    assert client_record.portal_user is None
    assert not user.is_active and not user.has_usable_password()
    assert get_user_model().objects.count() == users_before  # kept for the record, not deleted
    response = signed_in.get(WEEK)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not sign_in(Browser(), "jordan.a", PASSWORD)


def test_a_session_of_the_closed_login_stays_ended_if_the_account_is_switched_back_on(signed_in, client_record, today):
    user = client_record.portal_user
    discharge_client(client=client_record, on=today)
    get_user_model().objects.filter(pk=user.pk).update(is_active=True)
    sessions_before = Session.objects.count()

    response = signed_in.get(WEEK)

    # The password changed, so the session's hash no longer matches: Django ends the session.
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert Session.objects.count() == sessions_before - 1


def test_discharge_makes_the_calendar_link_answer_404(client, client_record, today):
    old_token = client_record.calendar_token
    assert client.get(feed(old_token)).status_code == 200

    discharge_client(client=client_record, on=today)

    client_record.refresh_from_db()
    assert client_record.calendar_token != old_token
    assert client.get(feed(old_token)).status_code == 404
    assert client.get(feed(client_record.calendar_token)).status_code == 404


def test_a_client_without_a_portal_login_is_discharged_without_one(client_record, today):
    users_before = get_user_model().objects.count()

    discharge_client(client=client_record, on=today)

    client_record.refresh_from_db()
    assert client_record.status == Client.Status.DISCHARGED
    assert get_user_model().objects.count() == users_before


def test_readmission_gives_a_working_calendar_link_and_staff_open_a_new_login(client, signed_in, client_record, today):
    old_token = client_record.calendar_token
    discharge_client(client=client_record, on=today)
    users_before = get_user_model().objects.count()

    admit_client(client=client_record, on=today)
    client_record.refresh_from_db()

    # The link issued at discharge works again; the one from before discharge never does.
    assert client.get(feed(client_record.calendar_token)).status_code == 200
    assert client.get(feed(old_token)).status_code == 404
    assert signed_in.get(WEEK).status_code == 302
    # The login stays closed until staff open one ("Open a portal login…"), with a new username.
    assert get_user_model().objects.count() == users_before
    open_portal_account(client=client_record, username="jordan.b", password=PASSWORD)
    assert get_user_model().objects.count() == users_before + 1
    password_chosen_by_user(get_user_model().objects.get(username="jordan.b"))
    phone = Browser()
    assert sign_in(phone, "jordan.b", PASSWORD)
    assert phone.get(WEEK).status_code == 200


def test_staff_discharge_in_the_admin_says_what_ends(staff_client, signed_in, client_record, today):
    sessions_before = Session.objects.count()

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "discharge", "_selected_action": [client_record.pk], "apply": "1", "discharged_on": today},
        follow=True,
    )

    assert "portal login is closed" in response.content.decode()
    assert "calendar link no longer works" in response.content.decode()
    assert Session.objects.count() == sessions_before  # the staff member's own session is untouched
    assert signed_in.get(WEEK).status_code == 302
