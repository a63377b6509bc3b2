"""A group's planned last day: later meetings go at once, the group itself ends the day after."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership, TherapyGroup
from scheduling.enrolment import enroll_client
from scheduling.group_changes import end_finished_groups, set_last_day
from scheduling.models import Session
from tests.groups.test_facilitators import _change_form

pytestmark = pytest.mark.django_db

WEEK = datetime.timedelta(weeks=1)


def scheduled(group):
    return Session.objects.filter(group=group, status=Session.Status.SCHEDULED, slot__isnull=False)


def test_a_planned_last_day_cancels_the_meetings_after_it(group, make_slot):
    make_slot(group)
    last_day = timezone.localdate() + 2 * WEEK
    after = scheduled(group).filter(starts_at__date__gt=last_day).count()
    assert after > 0

    cancelled = set_last_day(group=group, last_day=last_day)

    assert cancelled == after
    assert not scheduled(group).filter(starts_at__date__gt=last_day).exists()
    assert scheduled(group).filter(starts_at__date__lte=last_day).exists()
    group.refresh_from_db()
    assert (group.status, group.end_date) == (TherapyGroup.Status.RUNNING, last_day)


def test_moving_the_last_day_later_brings_the_meetings_back(group, make_slot):
    make_slot(group)
    before = scheduled(group).count()
    set_last_day(group=group, last_day=timezone.localdate() + WEEK)

    set_last_day(group=group, last_day=None)

    assert scheduled(group).count() == before


def test_the_night_after_the_last_day_the_group_and_its_memberships_end(group, client_record):
    membership = enroll_client(client=client_record, group=group, on=group.start_date)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    TherapyGroup.objects.filter(pk=group.pk).update(end_date=yesterday)

    ended = end_finished_groups()

    assert ended == [group]
    membership.refresh_from_db()
    assert (membership.status, membership.ended_on) == (Membership.Status.ENDED, yesterday)
    assert end_finished_groups() == []


def test_setting_an_end_date_in_the_admin_cancels_the_later_meetings(staff_client, group, make_slot):
    make_slot(group)
    last_day = timezone.localdate() + WEEK

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]),
        _change_form(group, end_date=last_day.isoformat()),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not scheduled(group).filter(starts_at__date__gt=last_day).exists()
    group.refresh_from_db()
    assert group.end_date == last_day
