"""Ending a group ends its memberships and cancels its later sessions; its history stays."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership, TherapyGroup
from progress.selectors import roster_for_session
from scheduling.enrolment import enroll_client
from scheduling.group_changes import GROUP_ENDED, end_group
from scheduling.models import Session
from scheduling.selectors import sessions_for_client
from tests.factories import AttendanceFactory, ClientFactory, TherapyGroupFactory
from tests.groups.test_facilitators import _change_form
from tests.helpers import make_session

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def running(group, client_record, make_slot):
    """A full group with one client waiting, weekly sessions ahead, one held and one past meeting."""
    make_slot(group)
    members = [enroll_client(client=client_record, group=group, on=group.start_date)]
    members += [enroll_client(client=ClientFactory(), group=group, on=group.start_date) for _ in range(7)]
    waiting = enroll_client(client=ClientFactory(), group=group)
    held = make_session(group, starts_at=timezone.now() - 7 * DAY, status=Session.Status.HELD)
    unmarked = make_session(group, starts_at=timezone.now() - 2 * DAY)
    return {"members": members, "waiting": waiting, "past": [held, unmarked]}


def future(group):
    return Session.objects.filter(group=group, starts_at__gt=timezone.now())


def test_ending_a_group_ends_every_open_membership(group, running):
    end_group(group=group)

    today = timezone.localdate()
    assert not Membership.objects.open().filter(group=group).exists()
    completed = Membership.objects.filter(group=group, end_reason=Membership.EndReason.COMPLETED)
    assert sorted(completed.values_list("pk", flat=True)) == sorted(m.pk for m in running["members"])
    assert set(completed.values_list("ended_on", flat=True)) == {today}
    waiting = Membership.objects.get(pk=running["waiting"].pk)
    assert (waiting.status, waiting.end_reason) == (Membership.Status.ENDED, Membership.EndReason.LEFT_WAITLIST)
    group.refresh_from_db()
    assert (group.status, group.end_date) == (TherapyGroup.Status.ENDED, today)


def test_ending_a_group_cancels_its_future_sessions(group, running):
    upcoming = future(group).count()
    assert upcoming > 0

    end_group(group=group)

    assert future(group).filter(status=Session.Status.CANCELLED, cancellation_reason=GROUP_ENDED).count() == upcoming


def test_ending_a_group_leaves_past_sessions_alone(group, running):
    before = [(s.pk, s.status, s.cancellation_reason) for s in running["past"]]

    end_group(group=group)

    after = [(s.pk, s.status, s.cancellation_reason) for s in Session.objects.filter(pk__in=[p for p, *_ in before])]
    assert sorted(after) == sorted(before)


def test_an_ended_group_leaves_the_portal_and_the_rosters(group, running, client_record):
    next_session = future(group).first()
    assert sessions_for_client(client_record).filter(pk=next_session.pk).exists()
    assert roster_for_session(next_session).count() == 8

    end_group(group=group)

    assert not sessions_for_client(client_record).filter(starts_at__gt=timezone.now()).exists()
    assert roster_for_session(next_session).count() == 0
    assert sessions_for_client(client_record).filter(pk__in=[s.pk for s in running["past"]]).count() == 2


def test_ending_a_group_in_the_future_changes_nothing(group, running):
    before = Membership.objects.open().filter(group=group).count(), future(group).exclude(status="cancelled").count()

    with pytest.raises(ValidationError) as refused:
        end_group(group=group, on=timezone.localdate() + DAY)

    assert "end_date" in refused.value.message_dict
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING
    assert (
        Membership.objects.open().filter(group=group).count(),
        future(group).exclude(status="cancelled").count(),
    ) == before


def test_ending_a_group_before_a_member_joined_changes_nothing(group, client_record):
    enroll_client(client=client_record, group=group)
    before = Membership.objects.open().filter(group=group).count()

    with pytest.raises(ValidationError) as refused:
        end_group(group=group, on=timezone.localdate() - DAY)

    assert "cannot end before" in " ".join(refused.value.message_dict["end_date"])
    assert Membership.objects.open().filter(group=group).count() == before
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING


def test_setting_the_status_to_ended_in_the_admin_ends_the_group(staff_client, group, running):
    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]), _change_form(group, status="ended")
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    group.refresh_from_db()
    assert (group.status, group.end_date) == (TherapyGroup.Status.ENDED, timezone.localdate())
    assert not Membership.objects.open().filter(group=group).exists()
    assert not future(group).exclude(status=Session.Status.CANCELLED).exists()


def test_ending_in_the_admin_with_a_future_end_date_is_a_field_error(staff_client, group, running):
    before = Membership.objects.open().filter(group=group).count()
    tomorrow = (timezone.localdate() + DAY).isoformat()

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]),
        _change_form(group, status="ended", end_date=tomorrow),
    )

    assert response.status_code == 200
    assert "end_date" in response.context["adminform"].form.errors
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING
    assert Membership.objects.open().filter(group=group).count() == before


def test_end_groups_action_ends_the_selected_groups(staff_client, group, running):
    response = staff_client.post(
        reverse("admin:groups_therapygroup_changelist"),
        {
            "action": "end_groups",
            "_selected_action": [group.pk],
            "apply": "1",
            "ended_on": timezone.localdate().isoformat(),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "its later sessions are cancelled" in response.content.decode()
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.ENDED
    assert not Membership.objects.open().filter(group=group).exists()
    assert not future(group).exclude(status=Session.Status.CANCELLED).exists()


def test_end_groups_action_without_a_date_changes_nothing(staff_client, group, running):
    response = staff_client.post(
        reverse("admin:groups_therapygroup_changelist"),
        {"action": "end_groups", "_selected_action": [group.pk], "apply": "1", "ended_on": ""},
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"ended_on"}
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING


def test_end_groups_action_with_a_future_date_reports_the_services_refusal(staff_client, group, running):
    before = Membership.objects.open().filter(group=group).count(), future(group).exclude(status="cancelled").count()

    response = staff_client.post(
        reverse("admin:groups_therapygroup_changelist"),
        {
            "action": "end_groups",
            "_selected_action": [group.pk],
            "apply": "1",
            "ended_on": (timezone.localdate() + DAY).isoformat(),
        },
        follow=True,
    )

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        f"{group}: End a group on or before today; to stop it on a later day, set its end date."
    ]
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING
    assert (
        Membership.objects.open().filter(group=group).count(),
        future(group).exclude(status="cancelled").count(),
    ) == before


def test_ending_a_group_on_a_past_day_cancels_the_unmet_meetings_since(group, client_record):
    enroll_client(client=client_record, group=group, on=group.start_date)
    held = make_session(group, starts_at=timezone.now() - 5 * DAY, status=Session.Status.HELD)
    unmarked = make_session(group, starts_at=timezone.now() - 2 * DAY)

    end_group(group=group, on=timezone.localdate() - 4 * DAY)

    held.refresh_from_db()
    unmarked.refresh_from_db()
    assert held.status == Session.Status.HELD
    assert (unmarked.status, unmarked.cancellation_reason) == (Session.Status.CANCELLED, GROUP_ENDED)


def test_ending_a_group_before_a_meeting_members_attended_changes_nothing(group, client_record, therapist):
    enroll_client(client=client_record, group=group, on=group.start_date)
    met = make_session(group, starts_at=timezone.now() - 2 * DAY)
    AttendanceFactory(session=met, client=client_record, recorded_by=therapist.user)
    before = Membership.objects.open().filter(group=group).count()

    with pytest.raises(ValidationError) as refused:
        end_group(group=group, on=timezone.localdate() - 4 * DAY)

    assert "has attendance recorded in this group" in " ".join(refused.value.message_dict["end_date"])
    assert Membership.objects.open().filter(group=group).count() == before
    group.refresh_from_db()
    assert group.status == TherapyGroup.Status.RUNNING
    met.refresh_from_db()
    assert met.status == Session.Status.SCHEDULED


@pytest.fixture
def forming(therapist, client_record, make_slot):
    """A group starting in two weeks, one member already in, its first meetings scheduled."""
    group = TherapyGroupFactory(
        facilitator=therapist, status=TherapyGroup.Status.FORMING, start_date=timezone.localdate() + 14 * DAY
    )
    make_slot(group)
    enroll_client(client=client_record, group=group)
    return group


def test_a_group_that_has_not_started_can_be_called_off_today(forming):
    assert Session.objects.filter(group=forming, status=Session.Status.SCHEDULED).exists()

    end_group(group=forming)

    forming.refresh_from_db()
    assert forming.status == TherapyGroup.Status.ENDED
    assert set(Membership.objects.filter(group=forming).values_list("status", "ended_on")) == {
        (Membership.Status.ENDED, timezone.localdate())
    }
    assert not Session.objects.filter(group=forming).exclude(status=Session.Status.CANCELLED).exists()


def test_a_group_that_has_not_started_cannot_end_on_a_later_day(forming):
    before = Membership.objects.open().filter(group=forming).count(), Session.objects.filter(group=forming).count()

    with pytest.raises(ValidationError) as refused:
        end_group(group=forming, on=timezone.localdate() + DAY)

    assert "on or before today" in " ".join(refused.value.message_dict["end_date"])
    forming.refresh_from_db()
    assert forming.status == TherapyGroup.Status.FORMING
    assert (
        Membership.objects.open().filter(group=forming).count(),
        Session.objects.filter(group=forming).exclude(status=Session.Status.CANCELLED).count(),
    ) == before
