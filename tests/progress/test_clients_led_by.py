"""``selectors.client_ids_led_by``: the clients of ``memberships_led_by``, as SQL written once
for every therapist."""

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


def test_each_therapist_gets_their_own_clients_from_the_sql_written_once(db):
    therapist, other_therapist = TherapistFactory(), TherapistFactory()
    theirs = MembershipFactory(group=TherapyGroupFactory(facilitator=therapist))
    others = MembershipFactory(group=TherapyGroupFactory(co_facilitator=other_therapist))

    for who, member in ((therapist, theirs), (other_therapist, others), (therapist, theirs)):
        assert list(Client.objects.filter(pk__in=client_ids_led_by(who, history=False))) == [member.client]
