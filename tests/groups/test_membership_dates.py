"""A membership ends on a day between the client joining (or being waitlisted) and today."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from groups.models import Membership
from scheduling.enrolment import end_membership, enroll_client
from tests.factories import AttendanceFactory, ClientFactory
from tests.helpers import make_session

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def snapshot(membership):
    return Membership.objects.filter(pk=membership.pk).values("status", "ended_on", "end_reason").get()


def test_ending_before_the_client_joined_is_refused(client_record, group):
    membership = enroll_client(client=client_record, group=group, on=timezone.localdate() - 10 * DAY)
    before = snapshot(membership), Membership.objects.count()

    with pytest.raises(ValidationError) as refused:
        end_membership(membership=membership, reason=Membership.EndReason.WITHDREW, on=membership.joined_on - DAY)

    assert "cannot end before" in refused.value.message_dict["ended_on"][0]
    assert (snapshot(membership), Membership.objects.count()) == before


def test_leaving_the_waitlist_before_being_waitlisted_is_refused(client_record, group):
    for _ in range(group.capacity):
        enroll_client(client=ClientFactory(), group=group)
    waiting = enroll_client(client=client_record, group=group)
    before = snapshot(waiting)

    with pytest.raises(ValidationError) as refused:
        end_membership(membership=waiting, reason=Membership.EndReason.LEFT_WAITLIST, on=timezone.localdate() - 3 * DAY)

    assert "waitlisted on" in refused.value.message_dict["ended_on"][0]
    assert snapshot(waiting) == before


def test_ending_in_the_future_is_refused_and_the_seat_stays_taken(client_record, group):
    for _ in range(group.capacity - 1):
        enroll_client(client=ClientFactory(), group=group)
    membership = enroll_client(client=client_record, group=group)
    waiting = enroll_client(client=ClientFactory(), group=group)
    before = snapshot(membership), snapshot(waiting)

    with pytest.raises(ValidationError) as refused:
        end_membership(membership=membership, reason=Membership.EndReason.COMPLETED, on=timezone.localdate() + DAY)

    assert refused.value.message_dict["ended_on"] == ["End a membership on or before today."]
    assert (snapshot(membership), snapshot(waiting)) == before


def test_ending_on_the_day_the_client_joined_is_fine(client_record, group):
    membership = enroll_client(client=client_record, group=group)

    end_membership(membership=membership, reason=Membership.EndReason.WITHDREW, on=membership.joined_on)

    assert snapshot(membership)["status"] == Membership.Status.ENDED


def test_the_database_refuses_an_end_before_the_join(client_record, group):
    membership = enroll_client(client=client_record, group=group)

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(
            status=Membership.Status.ENDED,
            ended_on=membership.joined_on - DAY,
            end_reason=Membership.EndReason.OTHER,
        )

    assert snapshot(membership)["status"] == Membership.Status.ACTIVE


def test_end_membership_action_with_a_future_date_reports_the_services_refusal(staff_client, client_record, group):
    membership = enroll_client(client=client_record, group=group)
    before = snapshot(membership), Membership.objects.count()

    response = staff_client.post(
        reverse("admin:groups_membership_changelist"),
        {
            "action": "end_memberships",
            "_selected_action": [membership.pk],
            "apply": "1",
            "reason": Membership.EndReason.COMPLETED,
            "ended_on": (timezone.localdate() + DAY).isoformat(),
            "note": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert [str(message) for message in response.context["messages"]] == [
        f"{membership}: End a membership on or before today."
    ]
    assert (snapshot(membership), Membership.objects.count()) == before


def test_a_client_promoted_by_an_end_on_a_past_day_joins_today(group):
    members = [enroll_client(client=ClientFactory(), group=group, on=group.start_date) for _ in range(group.capacity)]
    waiting = enroll_client(client=ClientFactory(), group=group)

    promoted = end_membership(
        membership=members[0], reason=Membership.EndReason.COMPLETED, on=timezone.localdate() - 3 * DAY
    )

    assert promoted == waiting
    # Joining on the past day would put them on the rosters of meetings held before they got the seat.
    assert Membership.objects.get(pk=waiting.pk).joined_on == timezone.localdate()


def attend(session, client_record, therapist):
    return AttendanceFactory(session=session, client=client_record, recorded_by=therapist.user)


def test_ending_before_the_members_last_attendance_is_refused(client_record, group, therapist):
    membership = enroll_client(client=client_record, group=group, on=timezone.localdate() - 10 * DAY)
    attend(make_session(group, starts_at=timezone.now() - 2 * DAY), client_record, therapist)
    before = snapshot(membership), Membership.objects.count()

    with pytest.raises(ValidationError) as refused:
        end_membership(membership=membership, reason=Membership.EndReason.WITHDREW, on=timezone.localdate() - 4 * DAY)

    attended_on = timezone.localdate() - 2 * DAY
    assert refused.value.message_dict["ended_on"] == [
        f"{client_record.display_name} has attendance recorded in this group on {attended_on:%Y-%m-%d}; "
        "end the membership on or after that day."
    ]
    assert (snapshot(membership), Membership.objects.count()) == before


def test_ending_on_the_day_of_the_members_last_attendance_is_fine(client_record, group, therapist):
    membership = enroll_client(client=client_record, group=group, on=timezone.localdate() - 10 * DAY)
    attend(make_session(group, starts_at=timezone.now() - 2 * DAY), client_record, therapist)

    end_membership(membership=membership, reason=Membership.EndReason.WITHDREW, on=timezone.localdate() - 2 * DAY)

    assert snapshot(membership)["status"] == Membership.Status.ENDED
