import datetime

import pytest
from django.utils import timezone

from scheduling.models import Session, WeeklySlot
from scheduling.services import save_slot


@pytest.fixture
def make_slot():
    """A weekly slot meeting on the weekday of ``days_ahead`` days from today, with its sessions."""

    def make(group, *, days_ahead=1, start="10:00", minutes=90, **extra):
        today = timezone.localdate()
        slot = WeeklySlot(
            group=group,
            weekday=(today + datetime.timedelta(days=days_ahead)).weekday(),
            start_time=datetime.time.fromisoformat(start),
            duration_minutes=minutes,
            default_objective="Identify triggers",
            effective_from=extra.pop("effective_from", group.start_date),
            **extra,
        )
        return save_slot(slot=slot, today=today)

    return make


def make_session(group, *, starts_at, facilitator=None, status=Session.Status.SCHEDULED):
    return Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=90),
        objective="Identify triggers",
        facilitator=facilitator or group.facilitator,
        room=group.room,
        status=status,
        cancellation_reason="Clinic closed" if status == Session.Status.CANCELLED else "",
    )
