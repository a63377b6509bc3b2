from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command

from clients.models import AgreementSignature, Client
from groups.models import Membership, TherapyGroup

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


@pytest.mark.parametrize("username", ["staff", "therapist", "client"])
def test_demo_logins_work(username):
    call_command("seed_demo", stdout=StringIO())

    user = authenticate(username=username, password="demo-pass-2026")

    assert user is not None
    assert not user.is_superuser


def test_demo_staff_works_with_clinic_staff_permissions():
    call_command("seed_demo", stdout=StringIO())
    staff = authenticate(username="staff", password="demo-pass-2026")

    assert staff.is_staff
    assert staff.has_perm("groups.add_membership")
    assert not staff.has_perm("groups.delete_membership")
