import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from progress import attendance
from progress.models import Attendance
from tests.helpers import make_session

pytestmark = pytest.mark.django_db


def meet(group, members, therapist, *, days_ago, levels, statuses=None):
    session = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=days_ago, hours=2))
    statuses = statuses or ["present"] * len(members)
    attendance.record_attendance(
        session=session,
        entries=[
            attendance.AttendanceEntry(
                client=m, status=s, minutes_attended=90 if s == "present" else 0, participation=lvl
            )
            for m, lvl, s in zip(members, levels, statuses, strict=True)
        ],
        recorded_by=therapist.user,
    )
    return session


def test_group_page_flags_dominant_and_reluctant_members(facilitator_client, group, members, therapist):
    talker, quiet, steady = members
    for days_ago, levels in enumerate([(4, 0, 2), (4, 1, 3), (3, 0, 2), (4, 2, 2)], start=1):
        meet(group, members, therapist, days_ago=days_ago, levels=levels)

    response = facilitator_client.get(reverse("therapist:group", args=[group.pk]))

    assert [row.client for row in response.context["dominant"]] == [talker]
    assert [row.client for row in response.context["reluctant"]] == [quiet]
    page = response.content.decode()
    assert "likely dominant" in page
    assert "likely reluctant" in page


def test_only_the_last_six_sessions_count(facilitator_client, group, members, therapist):
    talker = members[0]
    for days_ago in range(7, 12):
        meet(group, members, therapist, days_ago=days_ago, levels=(4, 2, 2))
    for days_ago in range(1, 7):
        meet(group, members, therapist, days_ago=days_ago, levels=(2, 2, 2))

    response = facilitator_client.get(reverse("therapist:group", args=[group.pk]))

    assert len(response.context["sessions"]) == 6
    assert talker not in [row.client for row in response.context["dominant"]]


def test_absences_do_not_make_a_member_reluctant(facilitator_client, group, members, therapist):
    for days_ago in range(1, 5):
        meet(group, members, therapist, days_ago=days_ago, levels=(2, 0, 2), statuses=["present", "absent", "present"])

    response = facilitator_client.get(reverse("therapist:group", args=[group.pk]))

    assert response.context["reluctant"] == []
    assert Attendance.objects.filter(client=members[1], status="absent").count() == 4


def test_one_session_is_too_little_to_flag_anyone(facilitator_client, group, members, therapist):
    meet(group, members, therapist, days_ago=1, levels=(4, 0, 2))

    response = facilitator_client.get(reverse("therapist:group", args=[group.pk]))

    assert response.context["dominant"] == response.context["reluctant"] == []


def test_group_page_shows_no_attendance_yet_kindly(facilitator_client, group):
    page = facilitator_client.get(reverse("therapist:group", args=[group.pk])).content.decode()

    assert "No attendance recorded for this group yet." in page
