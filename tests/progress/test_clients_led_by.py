"""``selectors.client_ids_led_by``: the clients of ``memberships_led_by``, as SQL written once."""

import pytest

from clients.models import Client
from groups.models import Membership
from progress.selectors import client_ids_led_by, memberships_led_by
from tests.factories import MembershipFactory, TherapistFactory, TherapyGroupFactory


@pytest.mark.parametrize("history", [False, True])
def test_the_written_ids_are_the_clients_of_the_therapists_memberships(db, history):
    therapist, other_therapist = TherapistFactory(), TherapistFactory()
    led = TherapyGroupFactory(facilitator=therapist)
    co_led = TherapyGroupFactory(facilitator=other_therapist, co_facilitator=therapist)
    not_theirs = TherapyGroupFactory(facilitator=other_therapist)
    active, co_led_member = MembershipFactory(group=led), MembershipFactory(group=co_led)
    ended = MembershipFactory(
        group=led,
        status=Membership.Status.ENDED,
        ended_on=led.start_date,
        end_reason=Membership.EndReason.COMPLETED,
    )
    MembershipFactory(group=not_theirs)

    written = set(Client.objects.filter(pk__in=client_ids_led_by(therapist, history=history)))

    expected = {active.client, co_led_member.client} | ({ended.client} if history else set())
    assert written == expected
    assert written == {m.client for m in memberships_led_by(therapist, history=history)}


def test_the_ids_are_written_once_for_the_therapists_row(db):
    therapist = TherapistFactory()
    MembershipFactory(group=TherapyGroupFactory(facilitator=therapist))

    assert client_ids_led_by(therapist, history=False) is client_ids_led_by(therapist, history=False)
    assert client_ids_led_by(therapist, history=True) is not client_ids_led_by(therapist, history=False)
