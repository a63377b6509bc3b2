"""IOP_ORIENTATION_BEFORE_PROCESS_GROUPS: a client joins a process group (or its waitlist) only once
their orientation is finished, by every path (the service, the admin's enrol page and action, the
waitlist moving up); other kinds of group, and the setting off, let them through."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clients.models import OrientationItem
from clients.services import record_orientation_step
from groups.models import Membership, TherapyGroup
from scheduling.enrolment import end_membership, enroll_client, enrolment_refusals, fill_free_seats
from tests.factories import ClientFactory, MembershipFactory, TherapyGroupFactory

pytestmark = pytest.mark.django_db

REFUSAL = "has not finished the orientation that process groups ask for first"


@pytest.fixture
def gate_on(settings):
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = True


@pytest.fixture
def process_group(therapist):
    return TherapyGroupFactory(facilitator=therapist, kind=TherapyGroup.Kind.PROCESS, capacity=8)


def orient(client, by, *, items=tuple(OrientationItem)):
    for item in items:
        record_orientation_step(client=client, item=item, covered_by=by)


def test_a_process_group_refuses_a_client_who_has_not_finished(gate_on, client_record, process_group, staff_user):
    orient(client_record, staff_user, items=[OrientationItem.ACTIVE_LISTENING])

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=process_group)

    message = refused.value.message_dict["client"][0]
    assert REFUSAL in message
    # It names what is still to go through.
    assert "respectful communication" in message and "active listening" not in message
    assert not Membership.objects.exists()


def test_a_process_group_takes_a_client_who_has_finished(gate_on, client_record, process_group, staff_user):
    orient(client_record, staff_user)

    membership = enroll_client(client=client_record, group=process_group)

    assert membership.status == Membership.Status.ACTIVE


@pytest.mark.parametrize(
    "kind",
    [TherapyGroup.Kind.PSYCHOEDUCATIONAL, TherapyGroup.Kind.SKILLS_DEVELOPMENT, TherapyGroup.Kind.SUPPORT],
)
def test_other_kinds_of_group_do_not_ask_for_it(gate_on, client_record, therapist, kind):
    group = TherapyGroupFactory(facilitator=therapist, kind=kind)

    assert enroll_client(client=client_record, group=group).status == Membership.Status.ACTIVE


def test_with_the_setting_off_a_process_group_takes_the_client(settings, client_record, process_group):
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = False

    assert enrolment_refusals(client=client_record, group=process_group) == {}
    assert enroll_client(client=client_record, group=process_group).status == Membership.Status.ACTIVE


def test_the_waitlist_of_a_full_process_group_asks_for_it_too(gate_on, client_record, process_group):
    MembershipFactory.create_batch(8, group=process_group)

    with pytest.raises(ValidationError):
        enroll_client(client=client_record, group=process_group, allow_waitlist=True)

    assert not Membership.objects.filter(client=client_record).exists()


def test_the_admin_enrol_page_refuses_with_the_reason(gate_on, staff_client, client_record, process_group):
    before = Membership.objects.count()

    response = staff_client.post(
        reverse("admin:groups_membership_add"),
        {"client": client_record.pk, "group": process_group.pk, "waitlist_if_full": "on"},
    )

    assert response.status_code == 200
    assert REFUSAL in " ".join(response.context["form"].errors["client"])
    assert Membership.objects.count() == before


def test_the_admin_enrol_action_refuses_the_client_and_enrols_the_others(
    gate_on, staff_client, staff_user, client_record, other_client, process_group
):
    orient(other_client, staff_user)

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "enrol_in_group",
            "_selected_action": [client_record.pk, other_client.pk],
            "apply": "1",
            "group": process_group.pk,
            "waitlist_if_full": "on",
        },
        follow=True,
    )

    assert REFUSAL in response.content.decode()
    assert list(Membership.objects.values_list("client", flat=True)) == [other_client.pk]


def test_a_waitlisted_client_who_has_not_finished_keeps_their_place_and_the_seat_goes_to_the_next(
    settings, staff_user, process_group
):
    # Waitlisted while the program did not ask for it; then it does.
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = False
    seated = [enroll_client(client=ClientFactory(), group=process_group) for _ in range(8)]
    unprepared = enroll_client(client=ClientFactory(), group=process_group)
    prepared = enroll_client(client=ClientFactory(), group=process_group)
    orient(prepared.client, staff_user)
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = True

    promoted = end_membership(membership=seated[0], reason=Membership.EndReason.COMPLETED)

    assert promoted == prepared
    unprepared.refresh_from_db()
    assert unprepared.status == Membership.Status.WAITLISTED


def test_a_waitlisted_client_moves_up_once_they_have_finished(settings, staff_user, process_group):
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = False
    seated = [enroll_client(client=ClientFactory(), group=process_group) for _ in range(8)]
    waiting = enroll_client(client=ClientFactory(), group=process_group)
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = True
    end_membership(membership=seated[0], reason=Membership.EndReason.COMPLETED)
    waiting.refresh_from_db()
    assert waiting.status == Membership.Status.WAITLISTED

    orient(waiting.client, staff_user)
    promoted = fill_free_seats(group=process_group)

    assert promoted == [waiting]
