"""Handing a group to another facilitator: the group's future meetings follow the group."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from groups.models import TherapyGroup
from scheduling.group_changes import change_facilitators
from scheduling.models import Session
from tests.factories import TherapistFactory, TherapyGroupFactory, start_monday
from tests.groups.test_admin import _inline_management
from tests.helpers import make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_lead(db):
    return TherapistFactory(user__username="new-lead")


def future_sessions(group):
    return Session.objects.filter(group=group, starts_at__gt=timezone.now())


def test_future_sessions_move_to_the_new_facilitator(group, therapist, new_lead, make_slot):
    make_slot(group)
    assert future_sessions(group).filter(facilitator=therapist).count() > 0

    change_facilitators(group=group, facilitator=new_lead)

    group.refresh_from_db()
    assert group.facilitator == new_lead
    assert not future_sessions(group).filter(facilitator=therapist).exists()
    assert future_sessions(group).filter(facilitator=new_lead).count() == future_sessions(group).count()


def test_past_sessions_keep_the_facilitator_who_led_them(group, therapist, new_lead):
    past = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=2))

    change_facilitators(group=group, facilitator=new_lead)

    past.refresh_from_db()
    assert past.facilitator == therapist


def test_a_substitute_set_on_a_future_session_stays(group, new_lead, other_therapist):
    covered = make_session(group, starts_at=timezone.now() + datetime.timedelta(days=3), facilitator=other_therapist)

    change_facilitators(group=group, facilitator=new_lead)

    covered.refresh_from_db()
    assert covered.facilitator == other_therapist


def test_cancelled_future_sessions_are_history_and_stay(group, therapist, new_lead):
    cancelled = make_session(
        group, starts_at=timezone.now() + datetime.timedelta(days=3), status=Session.Status.CANCELLED
    )

    change_facilitators(group=group, facilitator=new_lead)

    cancelled.refresh_from_db()
    assert cancelled.facilitator == therapist


def test_a_new_facilitator_who_leads_a_group_at_the_same_hour_is_refused(group, therapist, new_lead, make_slot):
    make_slot(group, start="10:00")
    busy = TherapyGroupFactory(facilitator=new_lead, room="Room 202")
    make_slot(busy, start="10:30")
    moved_before = future_sessions(group).filter(facilitator=therapist).count()

    with pytest.raises(ValidationError) as refused:
        change_facilitators(group=group, facilitator=new_lead)

    assert set(refused.value.message_dict) == {"facilitator"}
    assert busy.name in refused.value.message_dict["facilitator"][0]
    group.refresh_from_db()
    assert group.facilitator == therapist
    assert future_sessions(group).filter(facilitator=therapist).count() == moved_before


def test_a_co_facilitator_who_co_leads_a_group_at_the_same_hour_is_refused(group, new_lead, other_therapist, make_slot):
    make_slot(group, start="10:00")
    busy = TherapyGroupFactory(facilitator=other_therapist, co_facilitator=new_lead, room="Room 202")
    make_slot(busy, start="09:30")

    with pytest.raises(ValidationError) as refused:
        change_facilitators(group=group, facilitator=group.facilitator, co_facilitator=new_lead)

    assert set(refused.value.message_dict) == {"co_facilitator"}
    group.refresh_from_db()
    assert group.co_facilitator is None


def test_a_group_at_another_hour_or_already_ended_is_no_clash(group, new_lead, make_slot):
    make_slot(group, start="10:00")
    make_slot(TherapyGroupFactory(facilitator=new_lead, room="Room 202"), start="14:00")
    make_slot(
        TherapyGroupFactory(facilitator=new_lead, room="Room 303"),
        start="10:00",
        effective_from=start_monday(),
        effective_until=timezone.localdate() - datetime.timedelta(days=14),
    )

    change_facilitators(group=group, facilitator=new_lead)

    group.refresh_from_db()
    assert group.facilitator == new_lead


def _change_form(group, **changes):
    data = {
        "name": group.name,
        "kind": group.kind,
        "capacity": str(group.capacity),
        "facilitator": group.facilitator_id,
        "co_facilitator": group.co_facilitator_id or "",
        "modality": group.modality,
        "room": group.room,
        "language": group.language,
        "audience": group.audience,
        "enrolment": group.enrolment,
        "status": group.status,
        "start_date": group.start_date.isoformat(),
        **_inline_management(group),
    }
    data.update(changes)
    return data


def test_changing_the_facilitator_in_the_admin_moves_the_future_sessions(
    staff_client, group, therapist, new_lead, make_slot
):
    make_slot(group)

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]), _change_form(group, facilitator=new_lead.pk)
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not future_sessions(group).filter(facilitator=therapist).exists()
    assert future_sessions(group).filter(facilitator=new_lead).exists()


def test_a_busy_facilitator_in_the_admin_is_a_field_error(staff_client, group, therapist, new_lead, make_slot):
    make_slot(group, start="10:00")
    make_slot(TherapyGroupFactory(facilitator=new_lead, room="Room 202"), start="10:00")
    sessions_before = future_sessions(group).filter(facilitator=therapist).count()

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]), _change_form(group, facilitator=new_lead.pk)
    )

    assert response.status_code == 200
    assert "already leads" in " ".join(response.context["adminform"].form.errors["facilitator"])
    assert TherapyGroup.objects.get(pk=group.pk).facilitator == therapist
    assert future_sessions(group).filter(facilitator=therapist).count() == sessions_before
