import datetime

import pytest
from django.core.exceptions import ValidationError

from clients.models import Client
from clients.services import discharge_client, revoke_signature, sign_agreement
from groups.models import Membership, TherapyGroup
from groups.services import GroupFull, change_capacity, end_membership, enroll_client, seat_count
from tests.factories import AgreementFactory, ClientFactory, TherapyGroupFactory, UserFactory, start_monday

pytestmark = pytest.mark.django_db


def fill(group, seats):
    return [enroll_client(client=ClientFactory(), group=group) for _ in range(seats)]


def test_active_signed_client_takes_a_seat(client_record, group):
    membership = enroll_client(client=client_record, group=group)

    assert membership.status == Membership.Status.ACTIVE
    assert membership.joined_on is not None
    assert seat_count(group) == "1 / 8"


def test_full_group_puts_client_on_waitlist(client_record, group):
    fill(group, 8)

    membership = enroll_client(client=client_record, group=group)

    assert membership.status == Membership.Status.WAITLISTED
    assert Membership.objects.active().filter(group=group).count() == 8


def test_full_group_refuses_when_waitlist_declined(client_record, group):
    fill(group, 8)
    before = Membership.objects.count()

    with pytest.raises(GroupFull) as refused:
        enroll_client(client=client_record, group=group, allow_waitlist=False)

    assert "full (8 / 8)" in refused.value.message_dict["group"][0]
    assert Membership.objects.count() == before


def test_client_still_in_intake_is_refused(group, agreement):
    client = ClientFactory(status=Client.Status.INTAKE, admission_date=None)

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client, group=group)

    assert "is not an active client (status: Intake)" in refused.value.message_dict["client"][0]
    assert not Membership.objects.exists()


def test_discharged_client_is_refused(group, client_record):
    discharge_client(client=client_record, on=start_monday() + datetime.timedelta(days=27))

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=group)

    assert "is not an active client (status: Discharged)" in refused.value.message_dict["client"][0]
    assert not Membership.objects.exists()


def test_client_without_signature_is_refused(group, agreement):
    client = ClientFactory(signed=False)

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client, group=group)

    assert "has not signed the current version" in refused.value.message_dict["client"][0]
    assert not Membership.objects.exists()


def test_client_who_signed_only_an_older_version_is_refused(group, client_record):
    AgreementFactory(version=2, text="Revised wording.")

    with pytest.raises(ValidationError, match="has not signed the current version"):
        enroll_client(client=client_record, group=group)


def test_client_whose_signature_was_revoked_is_refused(group, client_record, staff_user):
    revoke_signature(signature=client_record.signatures.get(), reason="Asked to withdraw", revoked_by=staff_user)

    with pytest.raises(ValidationError, match="has not signed the current version"):
        enroll_client(client=client_record, group=group)


def test_client_already_in_group_is_refused(client_record, group):
    enroll_client(client=client_record, group=group)

    with pytest.raises(ValidationError, match="already a member of, or waitlisted for"):
        enroll_client(client=client_record, group=group)

    assert Membership.objects.filter(client=client_record).count() == 1


def test_waitlisted_client_is_refused_a_second_place(client_record, group):
    fill(group, 8)
    enroll_client(client=client_record, group=group)

    with pytest.raises(ValidationError, match="already a member of, or waitlisted for"):
        enroll_client(client=client_record, group=group)


def test_client_may_rejoin_after_leaving(client_record, group):
    first = enroll_client(client=client_record, group=group)
    end_membership(membership=first, reason=Membership.EndReason.WITHDREW)

    again = enroll_client(client=client_record, group=group)

    assert again.status == Membership.Status.ACTIVE
    assert Membership.objects.filter(client=client_record).count() == 2


def test_adolescent_is_refused_an_adult_group(group, agreement):
    teen = ClientFactory(level_of_care="adolescent_iop")

    with pytest.raises(ValidationError, match="is for Adult IOP clients"):
        enroll_client(client=teen, group=group)


def test_closed_group_that_started_is_refused(client_record, therapist):
    closed = TherapyGroupFactory(
        facilitator=therapist, enrolment=TherapyGroup.Enrolment.CLOSED, start_date=start_monday()
    )

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=closed, on=start_monday() + datetime.timedelta(days=27))

    assert "closed group and has already started" in refused.value.message_dict["group"][0]


def test_closed_group_accepts_members_before_it_starts(client_record, therapist):
    closed = TherapyGroupFactory(
        facilitator=therapist,
        enrolment=TherapyGroup.Enrolment.CLOSED,
        start_date=start_monday() + datetime.timedelta(weeks=8),
    )

    membership = enroll_client(client=client_record, group=closed, on=start_monday() + datetime.timedelta(days=27))

    assert membership.status == Membership.Status.ACTIVE


def test_ended_group_is_refused(client_record, therapist):
    ended = TherapyGroupFactory(facilitator=therapist, status=TherapyGroup.Status.ENDED)

    with pytest.raises(ValidationError, match="has ended"):
        enroll_client(client=client_record, group=ended)


def test_every_reason_is_reported_at_once(group, agreement):
    client = ClientFactory(status=Client.Status.INTAKE, admission_date=None, signed=False)

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client, group=group)

    assert len(refused.value.message_dict["client"]) == 2


def test_ending_a_membership_promotes_the_first_waitlisted_client(group):
    members = fill(group, 8)
    first_waiting = enroll_client(client=ClientFactory(), group=group)
    second_waiting = enroll_client(client=ClientFactory(), group=group)

    promoted = end_membership(membership=members[0], reason=Membership.EndReason.COMPLETED)

    assert promoted == first_waiting
    first_waiting.refresh_from_db()
    second_waiting.refresh_from_db()
    assert first_waiting.status == Membership.Status.ACTIVE
    assert second_waiting.status == Membership.Status.WAITLISTED
    assert Membership.objects.active().filter(group=group).count() == 8


def test_promotion_skips_a_waitlisted_client_who_can_no_longer_join(group, staff_user):
    members = fill(group, 8)
    revoked = enroll_client(client=ClientFactory(), group=group)
    eligible = enroll_client(client=ClientFactory(), group=group)
    revoke_signature(signature=revoked.client.signatures.get(), reason="Withdrew consent", revoked_by=staff_user)

    promoted = end_membership(membership=members[0], reason=Membership.EndReason.COMPLETED)

    assert promoted == eligible
    revoked.refresh_from_db()
    assert revoked.status == Membership.Status.WAITLISTED


def test_leaving_the_waitlist_promotes_no_one(group):
    fill(group, 8)
    waiting = enroll_client(client=ClientFactory(), group=group)
    behind = enroll_client(client=ClientFactory(), group=group)

    assert end_membership(membership=waiting, reason=Membership.EndReason.LEFT_WAITLIST) is None

    behind.refresh_from_db()
    assert behind.status == Membership.Status.WAITLISTED


def test_ending_twice_is_refused(client_record, group):
    membership = enroll_client(client=client_record, group=group)
    end_membership(membership=membership, reason=Membership.EndReason.COMPLETED)

    with pytest.raises(ValidationError, match="already ended"):
        end_membership(membership=membership, reason=Membership.EndReason.COMPLETED)


def test_unknown_end_reason_is_refused(client_record, group):
    membership = enroll_client(client=client_record, group=group)

    with pytest.raises(ValidationError, match="Unknown reason"):
        end_membership(membership=membership, reason="bored")

    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE


def test_discharge_ends_every_membership_and_promotes(group, therapist):
    members = fill(group, 8)
    waiting = enroll_client(client=ClientFactory(), group=group)

    discharge_client(client=members[0].client, on=members[0].joined_on)

    members[0].refresh_from_db()
    waiting.refresh_from_db()
    assert members[0].status == Membership.Status.ENDED
    assert members[0].end_reason == Membership.EndReason.DISCHARGED
    assert waiting.status == Membership.Status.ACTIVE


def test_raising_the_cap_fills_new_seats_from_the_waitlist(group):
    fill(group, 8)
    waiting = [enroll_client(client=ClientFactory(), group=group) for _ in range(3)]

    promoted = change_capacity(group=group, capacity=10)

    assert promoted == waiting[:2]
    group.refresh_from_db()
    assert seat_count(group) == "10 / 10"


def test_lowering_the_cap_below_the_active_members_is_refused(group):
    fill(group, 8)
    change_capacity(group=group, capacity=10)
    fill(group, 2)

    with pytest.raises(ValidationError, match="10 members are active"):
        change_capacity(group=group, capacity=9)

    group.refresh_from_db()
    assert group.capacity == 10


def test_signing_again_after_revocation_restores_eligibility(group, client_record, staff_user):
    revoke_signature(signature=client_record.signatures.get(), reason="Lost paperwork", revoked_by=staff_user)
    sign_agreement(client=client_record, witnessed_by=UserFactory())

    assert enroll_client(client=client_record, group=group).status == Membership.Status.ACTIVE
