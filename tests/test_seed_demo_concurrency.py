"""Two seed_demo runs at once make one demo, on a fresh database and on one with yesterday's demo."""

import datetime
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import transaction

from iop.permissions import CLINIC_STAFF
from scheduling.models import Session
from tests.groups.test_concurrency import run_at_once
from tests.test_seed_demo import counts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def clinic_staff_group():
    """seed_demo joins its staff login to the group a migration makes; an earlier transactional
    test may have emptied the tables since."""
    Group.objects.get_or_create(name=CLINIC_STAFF)


class Discard(Exception):
    """Raised to roll back a run made only to count what one run makes."""


def one_run_counts() -> dict[str, int]:
    try:
        with transaction.atomic():
            call_command("seed_demo", stdout=StringIO())
            made = counts()
            raise Discard
    except Discard:
        return made


@pytest.mark.parametrize("before", ["fresh database", "yesterday's demo"])
def test_two_seed_demo_runs_at_once_make_one_demo(clock, now, before):
    if before == "yesterday's demo":
        clock.move_to(now - datetime.timedelta(days=1))
        call_command("seed_demo", stdout=StringIO())
        clock.move_to(now)
    expected = one_run_counts()

    errors = run_at_once([lambda: call_command("seed_demo", stdout=StringIO())] * 2)

    assert errors == []
    assert counts() == expected
    assert (
        Session.objects.filter(slot__isnull=True).values("starts_at").distinct().count()
        == Session.objects.filter(slot__isnull=True).count()
    )
