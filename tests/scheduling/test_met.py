"""What counts as a met session is said once, by ``SessionQuerySet.met``/``unmet`` and
``Session.is_met``, and the database holds it: a met session is never cancelled."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from scheduling.models import Session
from scheduling.services import record_meeting
from tests.factories import AttendanceFactory, GroupNoteFactory, SessionFactory

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


def test_met_and_unmet_split_the_meetings_by_what_is_recorded(now):
    held = SessionFactory(starts_at=now - 2 * HOUR, status=Session.Status.HELD)
    attended = AttendanceFactory(session__starts_at=now - 2 * HOUR).session
    noted = GroupNoteFactory(session__starts_at=now - 2 * HOUR).session
    upcoming = SessionFactory(starts_at=now + HOUR)
    cancelled = SessionFactory(starts_at=now + 2 * HOUR, status=Session.Status.CANCELLED, cancellation_reason="Snow")

    assert set(Session.objects.met()) == {held, attended, noted}
    assert set(Session.objects.unmet(after=now - 3 * HOUR)) == {upcoming}
    assert [s.is_met for s in (held, attended, noted, upcoming, cancelled)] == [True, True, True, False, False]


def test_recording_a_meeting_keeps_the_moment_of_the_first_record(clock, now):
    session = SessionFactory(starts_at=now - HOUR)
    record_meeting(session=session)
    first = Session.objects.get(pk=session.pk).first_recorded_at

    clock.move_to(now + HOUR)
    record_meeting(session=Session.objects.get(pk=session.pk))

    assert now <= first < now + datetime.timedelta(minutes=1)  # the test clock ticks
    assert Session.objects.get(pk=session.pk).first_recorded_at == first


def test_the_database_refuses_to_cancel_a_met_session(now):
    session = AttendanceFactory(session__starts_at=now - HOUR).session

    with pytest.raises(IntegrityError), transaction.atomic():
        Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED, cancellation_reason="Snow")

    assert Session.objects.get(pk=session.pk).status == Session.Status.SCHEDULED
    assert Session.objects.get(pk=session.pk).first_recorded_at is not None
