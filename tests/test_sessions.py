"""Logins end: after 15 idle minutes for staff and therapists, 30 for clients, when the browser
closes; and no page a signed-in person sees is kept in a cache."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from iop.middleware import LAST_ACTIVITY
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SIGNED_OUT_AFTER = "You were signed out after {} minutes without activity."


@pytest.fixture
def portal_user(client_record):
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])
    return client_record.portal_user


@pytest.fixture
def person(request, staff_user, therapist, portal_user):
    """(user, their start page, their idle limit in minutes)."""
    return {
        "staff": (staff_user, reverse("admin:index"), 15),
        "therapist": (therapist.user, reverse("therapist:dashboard"), 15),
        "client": (portal_user, reverse("scheduling:week"), 30),
    }[request.param]


def later(clock, now, **delta):
    clock.move_to(now + datetime.timedelta(**delta))


def assert_sent_to_sign_in(response, page):
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={page}"


@pytest.mark.parametrize("person", ["staff", "therapist", "client"], indirect=True)
def test_an_idle_login_ends_after_its_limit_and_the_sign_in_page_says_why(client, person, clock, now):
    user, page, minutes = person
    client.force_login(user)

    later(clock, now, minutes=minutes, seconds=1)
    response = client.get(page)

    assert_sent_to_sign_in(response, page)
    sign_in = client.get(response.url)
    assert SIGNED_OUT_AFTER.format(minutes) in sign_in.content.decode()
    assert not sign_in.wsgi_request.user.is_authenticated
    again = client.get(page)  # the login is over, not only this request
    assert again.status_code == 302 and "login/?next=" in again.url


@pytest.mark.parametrize("person", ["staff", "therapist", "client"], indirect=True)
def test_a_login_idle_for_just_under_its_limit_goes_on(client, person, clock, now):
    user, page, minutes = person
    client.force_login(user)

    later(clock, now, minutes=minutes - 1)

    assert client.get(page).status_code == 200


def test_a_client_is_still_signed_in_after_the_staff_limit(client, portal_user, clock, now):
    client.force_login(portal_user)

    later(clock, now, minutes=20)

    assert client.get(reverse("scheduling:week")).status_code == 200


@pytest.mark.parametrize("person", ["therapist"], indirect=True)
def test_activity_within_the_limit_starts_the_clock_again(client, person, clock, now):
    user, page, _ = person
    client.force_login(user)

    later(clock, now, minutes=10)
    assert client.get(page).status_code == 200
    later(clock, now, minutes=20)
    assert client.get(page).status_code == 200
    later(clock, now, minutes=35, seconds=1)

    assert_sent_to_sign_in(client.get(page), page)


@pytest.mark.parametrize("person", ["therapist"], indirect=True)
def test_the_limit_is_a_setting(client, person, clock, now, settings):
    settings.IOP_IDLE_MINUTES_STAFF = 20
    user, page, _ = person
    client.force_login(user)

    later(clock, now, minutes=19)
    assert client.get(page).status_code == 200
    later(clock, now, minutes=39, seconds=1)

    response = client.get(page)
    assert_sent_to_sign_in(response, page)
    assert SIGNED_OUT_AFTER.format(20) in client.get(response.url).content.decode()


# --- Keep-alive -------------------------------------------------------------------------------

KEEP_ALIVE = reverse("keep_alive")


@pytest.fixture
def csrf_client(therapist):
    """A browser as it really is: CSRF checked, signed in, with the token from a page."""
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(therapist.user)
    browser.get(reverse("therapist:dashboard"))
    return browser


def test_keep_alive_starts_the_clock_again(csrf_client, clock, now):
    later(clock, now, minutes=14)
    response = csrf_client.post(KEEP_ALIVE, HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value)
    later(clock, now, minutes=28)

    assert response.status_code == 204
    assert response.content == b""
    assert csrf_client.get(reverse("therapist:dashboard")).status_code == 200


def test_keep_alive_needs_the_csrf_token(csrf_client, clock, now):
    later(clock, now, minutes=14)
    refused = csrf_client.post(KEEP_ALIVE)
    later(clock, now, minutes=15, seconds=30)

    assert refused.status_code == 403
    assert_sent_to_sign_in(csrf_client.get(reverse("therapist:dashboard")), reverse("therapist:dashboard"))


def test_keep_alive_needs_a_login(client):
    response = client.post(KEEP_ALIVE)

    assert_sent_to_sign_in(response, KEEP_ALIVE)


def test_keep_alive_after_the_limit_does_not_revive_the_login(csrf_client, clock, now):
    later(clock, now, minutes=15, seconds=1)

    response = csrf_client.post(KEEP_ALIVE, HTTP_X_CSRFTOKEN=csrf_client.cookies["csrftoken"].value)

    assert_sent_to_sign_in(response, KEEP_ALIVE)


def test_keep_alive_is_a_post(csrf_client):
    assert csrf_client.get(KEEP_ALIVE).status_code == 405


# --- The page's warning -----------------------------------------------------------------------


@pytest.mark.parametrize("person, limit", [("staff", 900), ("therapist", 900), ("client", 1800)], indirect=["person"])
def test_every_signed_in_page_carries_the_warning_with_the_seconds_left(client, person, limit, clock, now):
    user, page, _ = person
    client.force_login(user)
    later(clock, now, seconds=30)

    html = client.get(page).content.decode()

    assert f'<meta name="idle-timeout" content="{limit - 30}"' in html or (
        f'<meta name="idle-timeout" content="{limit - 31}"' in html
    )
    assert f'data-limit-seconds="{limit}"' in html
    assert 'data-warning-seconds="60"' in html
    assert "js/idle-timeout.js" in html


def test_the_sign_in_page_has_no_warning(client):
    assert "idle-timeout" not in client.get(reverse("login")).content.decode()


# --- Browser sessions and caches ----------------------------------------------------------------


def test_the_session_cookie_ends_with_the_browser(client, therapist):
    response = client.post(reverse("login"), {"username": therapist.user.username, "password": PASSWORD})

    cookie = response.cookies["sessionid"]
    assert response.status_code == 302
    assert cookie["max-age"] == "" and cookie["expires"] == ""
    assert Session.objects.count() == 1
    assert LAST_ACTIVITY in Session.objects.get().get_decoded()


@pytest.mark.parametrize(
    "who, page",
    [
        ("client", "scheduling:week"),
        ("therapist", "therapist:dashboard"),
        ("staff", "admin:index"),
        ("staff", "admin:clients_client_changelist"),
        ("staff", "admin:progress_groupnote_changelist"),
    ],
)
def test_pages_for_a_signed_in_person_are_never_stored(client, staff_user, therapist, portal_user, who, page):
    client.force_login({"client": portal_user, "therapist": therapist.user, "staff": staff_user}[who])

    response = client.get(reverse(page))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_the_therapists_session_page_is_never_stored(client, therapist, group):
    from tests.helpers import make_session

    session = make_session(group)
    client.force_login(therapist.user)

    for page in ("therapist:session", "therapist:note"):
        response = client.get(reverse(page, args=[session.pk]))
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


def test_the_client_record_in_the_admin_is_never_stored(client, staff_user, client_record):
    client.force_login(staff_user)

    response = client.get(reverse("admin:clients_client_change", args=[client_record.pk]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_calendar_feed_is_never_stored(client, client_record):
    response = client.get(reverse("scheduling:feed", args=[client_record.calendar_token]))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
