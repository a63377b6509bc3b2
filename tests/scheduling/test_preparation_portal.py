""" "Before your first group" in the client's portal: the guidance and the client's own checklist,
shown from the week until their first group has met; nobody else's."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from clients.models import OrientationItem
from clients.services import record_orientation_step
from progress.attendance import AttendanceEntry, record_attendance
from scheduling.enrolment import enroll_client
from tests import helpers
from tests.factories import TherapistFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("scheduling:preparation")
WEEK = reverse("scheduling:week")
# The session and its login, the client, the checklist with who went through it, the agreement,
# the signature, whether a group has met, and the audit row.
PAGE_QUERIES = 8 + helpers.AUDIT_READ_QUERIES


@pytest.fixture
def portal_client(client_record):
    client_record.portal_user = UserFactory(username="jordan")
    client_record.save(update_fields=["portal_user"])
    return client_record


@pytest.fixture
def signed_in(client, portal_client):
    client.force_login(portal_client.portal_user)
    return client


def test_the_client_reads_the_guidance_and_their_own_checklist(signed_in, portal_client, staff_user, today):
    record_orientation_step(
        client=portal_client,
        item=OrientationItem.ACTIVE_LISTENING,
        covered_by=UserFactory(first_name="Dana", last_name="Whitfield"),
        covered_on=today,
    )

    response = signed_in.get(PAGE)

    assert response.status_code == 200
    page = response.content.decode()
    for skill in (
        "Active listening",
        "Respectful communication",
        "Personal boundaries",
        "Giving and receiving feedback",
    ):
        assert skill in page
    checklist = dict(response.context["checklist"])
    assert checklist[OrientationItem.ACTIVE_LISTENING].covered_by.get_full_name() == "Dana Whitfield"
    assert checklist[OrientationItem.FEEDBACK] is None
    assert "with Dana Whitfield" in page and "Still to go through" in page
    assert "You have signed the current version." in page
    assert AuditEvent.objects.filter(client_id=portal_client.pk, detail="portal: before your first group").exists()


def test_another_clients_checklist_never_shows(signed_in, portal_client, other_client, staff_user):
    record_orientation_step(client=other_client, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    response = signed_in.get(PAGE)

    assert response.context["client"] == portal_client
    assert all(step is None for _, step in response.context["checklist"])


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("who", ["therapist", "staff"])
def test_a_login_without_a_client_record_gets_404(client, staff_user, who):
    client.force_login(TherapistFactory().user if who == "therapist" else staff_user)

    assert client.get(PAGE).status_code == 404


def test_the_week_points_to_it_until_the_first_group_has_met(signed_in, portal_client, group, therapist, now):
    enroll_client(client=portal_client, group=group, on=group.start_date)
    assert signed_in.get(WEEK).context["before_first_group"]
    assert 'data-testid="before-first-group"' in signed_in.get(WEEK).content.decode()

    session = helpers.make_session(group, starts_at=now - datetime.timedelta(hours=3))
    record_attendance(
        session=session,
        entries=[AttendanceEntry(client=portal_client, status="present", minutes_attended=90, participation=2)],
        recorded_by=therapist.user,
    )

    response = signed_in.get(WEEK)
    assert not response.context["before_first_group"]
    assert 'data-testid="before-first-group"' not in response.content.decode()
    assert signed_in.get(PAGE).context["first_group_met"]


def test_a_meeting_of_a_group_they_had_not_joined_yet_does_not_count(signed_in, portal_client, group, now, today):
    session = helpers.make_session(group, starts_at=now - datetime.timedelta(days=2))
    helpers.record_everyone_present(session, helpers.add_members(group, 1), by=group.facilitator.user)
    enroll_client(client=portal_client, group=group, on=timezone.localdate(now))

    assert signed_in.get(WEEK).context["before_first_group"]


def test_the_page_costs_the_same_queries_however_far_the_checklist_has_come(signed_in, portal_client):
    signed_in.get(PAGE)  # the first visit caches what every page caches
    before = _queries(signed_in)
    for item in OrientationItem:
        record_orientation_step(client=portal_client, item=item, covered_by=UserFactory())

    after = _queries(signed_in)

    assert after == before <= PAGE_QUERIES, before


def _queries(browser) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(PAGE).status_code == 200
    return len(captured)
