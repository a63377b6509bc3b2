import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from iop.clock import monday_of
from scheduling.enrolment import end_membership, enroll_client
from scheduling.services import cancel_session
from tests.factories import ClientFactory, TherapistFactory, TherapyGroupFactory, UserFactory
from tests.helpers import AUDIT_READ_QUERIES

pytestmark = pytest.mark.django_db

WEEK = reverse("scheduling:week")


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def portal(client, client_record):
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)
    return client


def iso_week(day):
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(WEEK)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", ["staff", "therapist", "plain user"])
def test_a_login_without_a_client_record_gets_404(client, staff_user, therapist, who):
    user = {"staff": staff_user, "therapist": therapist.user, "plain user": UserFactory()}[who]
    client.force_login(user)

    assert client.get(WEEK).status_code == 404


def test_the_client_sees_this_weeks_sessions(portal, group, make_slot, client_record, today):
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    make_slot(group, weekday=monday_of(today).weekday(), start="18:00", today=today)

    response = portal.get(WEEK)

    page = response.content.decode()
    assert response.status_code == 200
    assert group.name in page and "Identify triggers" in page and group.room in page
    assert "6:00 PM" in page and "90 min" in page and "Skills development" in page
    assert "1.5 h scheduled this week" in page


def test_next_and_previous_weeks_are_reachable(portal, group, make_slot, client_record, today):
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    make_slot(group, weekday=0, start="18:00", today=today)
    next_monday = monday_of(today) + datetime.timedelta(days=7)

    response = portal.get(WEEK, {"week": iso_week(next_monday)})

    assert response.context["monday"] == next_monday
    assert len([s for day in response.context["days"] for s in day["sessions"]]) == 1
    assert f"?week={iso_week(next_monday + datetime.timedelta(days=7))}" in response.content.decode()


@pytest.mark.parametrize("week", ["garbage", "2026-W60", "2026-W", "9999999-W01", "2026-W-1", "0001-W01", "9999-W52"])
def test_a_malformed_week_shows_this_week_with_a_message(portal, week, today):
    response = portal.get(WEEK, {"week": week})

    assert response.status_code == 200
    assert response.context["monday"] == monday_of(today)
    assert "could not be read" in response.content.decode()


def test_another_clients_sessions_never_show(portal, group, make_slot, client_record, other_client, today):
    other_group = TherapyGroupFactory(facilitator=TherapistFactory(), room="Room 909", name="Somebody else's group")
    enroll_client(client=other_client, group=other_group, on=today - datetime.timedelta(days=30))
    make_slot(other_group, weekday=0, today=today)

    response = portal.get(WEEK, {"client": other_client.pk})

    assert "Somebody else" not in response.content.decode()
    assert not response.context["has_sessions"]


def test_joining_mid_way_shows_every_future_session_at_once(portal, group, make_slot, client_record, today):
    make_slot(group, weekday=0, today=today)
    next_monday = monday_of(today) + datetime.timedelta(days=7)

    enroll_client(client=client_record, group=group, on=next_monday)

    this_week = portal.get(WEEK, {"week": iso_week(monday_of(today))})
    next_week = portal.get(WEEK, {"week": iso_week(next_monday)})
    assert not this_week.context["has_sessions"]
    assert next_week.context["has_sessions"]


def test_leaving_removes_later_sessions(portal, group, make_slot, client_record, today):
    make_slot(group, weekday=0, today=today)
    membership = enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    next_monday = monday_of(today) + datetime.timedelta(days=7)
    assert portal.get(WEEK, {"week": iso_week(next_monday)}).context["has_sessions"]

    end_membership(membership=membership, reason=Membership.EndReason.COMPLETED, on=today)

    assert not portal.get(WEEK, {"week": iso_week(next_monday)}).context["has_sessions"]


def test_a_waitlisted_client_sees_no_sessions(portal, group, make_slot, client_record, today, agreement):
    make_slot(group, weekday=0, today=today)
    for _ in range(group.capacity):
        enroll_client(client=ClientFactory(), group=group, on=today - datetime.timedelta(days=30))
    enroll_client(client=client_record, group=group)

    assert not portal.get(WEEK).context["has_sessions"]


def test_cancelled_sessions_are_struck_through_with_the_reason(portal, group, make_slot, client_record, today):
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    slot = make_slot(group, weekday=0, today=today)
    cancel_session(session=slot.sessions.earliest("starts_at"), reason="Facilitator ill")

    response = portal.get(WEEK)

    page = response.content.decode()
    assert "session-card mb-2 cancelled" in page
    assert "Cancelled: Facilitator ill" in page
    assert "0 h scheduled this week" in page


def test_virtual_sessions_show_a_join_link_and_no_room(portal, therapist, make_slot, client_record, today):
    virtual = TherapyGroupFactory(
        facilitator=therapist, modality="virtual", room="", video_link="https://video.example.org/j/123"
    )
    enroll_client(client=client_record, group=virtual, on=today - datetime.timedelta(days=30))
    make_slot(virtual, weekday=0, is_virtual=True, today=today)

    page = portal.get(WEEK).content.decode()

    assert "Join video" in page and "https://video.example.org/j/123" in page


def test_portal_query_count_does_not_grow_with_groups(
    portal, client_record, make_slot, today, django_assert_max_num_queries
):
    def add_groups(first, count):
        # One hour-long meeting per group, never two at once for the client.
        for index in range(first, first + count):
            group = TherapyGroupFactory(facilitator=TherapistFactory(), room=f"Room {index}")
            enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
            make_slot(group, weekday=index % 7, start=f"{6 + index // 7:02d}:00", minutes=60, today=today)

    add_groups(0, 2)
    # The page's audit row costs AUDIT_READ_QUERIES (tests/helpers.py); the client's record and
    # role come with the signed-in user (iop/backends.py).
    with django_assert_max_num_queries(10 + AUDIT_READ_QUERIES) as two_groups:
        portal.get(WEEK)
    add_groups(2, 18)
    with django_assert_max_num_queries(len(two_groups.captured_queries)):
        response = portal.get(WEEK)
    assert sum(len(day["sessions"]) for day in response.context["days"]) == 20  # 2 + 18 groups
