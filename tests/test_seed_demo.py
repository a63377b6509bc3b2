import datetime
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from django.utils import timezone

from clients.models import AgreementSignature, Client
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import local_start, monday_of
from progress.selectors import week_sessions
from scheduling.models import Session
from scheduling.selectors import sessions_for_client_between

pytestmark = pytest.mark.django_db

DEMO_MODELS = [
    "scheduling.WeeklySlot",
    "scheduling.Session",
    "progress.Attendance",
    "progress.GroupNote",
    "progress.IndividualNote",
    "clients.Client",
    "clients.AgreementSignature",
    "groups.Therapist",
    "groups.TherapyGroup",
    "groups.Membership",
    "auth.User",
]


def counts():
    return {label: apps.get_model(label).objects.count() for label in DEMO_MODELS}


def test_seed_demo_builds_a_believable_clinic():
    call_command("seed_demo", stdout=StringIO())

    assert Client.objects.count() >= 40
    assert set(Client.objects.values_list("level_of_care", flat=True)) == {"adult_iop", "adolescent_iop"}
    assert Client.objects.values("preferred_language").distinct().count() >= 3
    assert Client.objects.filter(partner__isnull=False).count() == 2
    assert Client.objects.exclude(signatures__in=AgreementSignature.objects.current()).count() >= 3
    assert set(TherapyGroup.objects.values_list("kind", flat=True)) == set(TherapyGroup.Kind.values)
    full = [g for g in TherapyGroup.objects.with_seat_counts() if g.active_count == g.capacity and g.waitlist_count]
    assert full, "one group should be full with a waitlist"


def test_seed_demo_twice_changes_nothing():
    call_command("seed_demo", stdout=StringIO())
    first = counts()
    statuses = list(Membership.objects.order_by("pk").values_list("status", flat=True))

    call_command("seed_demo", stdout=StringIO())

    assert counts() == first
    assert list(Membership.objects.order_by("pk").values_list("status", flat=True)) == statuses


@pytest.mark.parametrize("username", ["staff", "therapist", "client", "cliente"])
def test_demo_logins_work(username):
    call_command("seed_demo", stdout=StringIO())

    user = authenticate(RequestFactory().post("/accounts/login/"), username=username, password="demo-pass-2026")

    assert user is not None
    assert not user.is_superuser


def test_demo_staff_works_with_clinic_staff_permissions():
    call_command("seed_demo", stdout=StringIO())
    staff = authenticate(RequestFactory().post("/accounts/login/"), username="staff", password="demo-pass-2026")

    assert staff.is_staff
    assert staff.has_perm("groups.add_membership")
    assert not staff.has_perm("groups.delete_membership")


@pytest.mark.parametrize("at", ["00:15", "12:00"])
@pytest.mark.parametrize("weekday", range(7))
def test_the_demo_has_the_same_shape_on_every_day_of_the_week(clock, today, weekday, at):
    """The demo client sees five meetings this week, and the demo therapist one begun today, whatever the day."""
    day = monday_of(today) + datetime.timedelta(days=weekday)
    clock.move_to(local_start(day, datetime.time.fromisoformat(at)))
    call_command("seed_demo", stdout=StringIO())

    demo_client = Client.objects.get(portal_user__username="client")
    week = sessions_for_client_between(demo_client, monday_of(day), monday_of(day) + datetime.timedelta(days=6))
    therapist = Therapist.objects.get(user__username="therapist")

    assert len(week) == 5
    assert [
        s for s in week_sessions(therapist) if s.day == day and s.starts_at <= timezone.now() and not s.is_cancelled
    ]


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2027, 11, 7, 7, 30, tzinfo=datetime.UTC),  # 02:30 EST, an hour after the clocks went back
        datetime.datetime(2027, 3, 14, 7, 30, tzinfo=datetime.UTC),  # 03:30 EDT, just after they went forward
    ],
    ids=["fall-back", "spring-forward"],
)
def test_the_demo_session_today_lasts_an_hour_on_the_mornings_the_clocks_change(clock, settings, moment):
    """The demo's session today began "an hour ago": an hour of elapsed time, and it lasts 60 minutes
    of elapsed time, whatever the wall clock did in between."""
    settings.TIME_ZONE = "America/New_York"
    clock.move_to(moment)

    call_command("seed_demo", stdout=StringIO())

    therapist = Therapist.objects.get(user__username="therapist")
    today = Session.objects.get(facilitator=therapist, slot__isnull=True)
    assert today.ends_at - today.starts_at == datetime.timedelta(minutes=60)
    assert moment - datetime.timedelta(hours=2) < today.starts_at <= moment - datetime.timedelta(hours=1)
