import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clients.models import AgreementSignature, Client
from clients.services import link_partners, revoke_signature, sign_agreement, unlink_partner
from groups.models import TherapyGroup
from tests.factories import ClientFactory, TherapyGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_duplicate_chart_number_is_refused_with_a_clear_message(client_record):
    duplicate = Client(
        chart_number=client_record.chart_number,
        legal_first_name="Alex",
        legal_last_name="Doe",
        date_of_birth=datetime.date(1990, 1, 1),
    )
    before = Client.objects.count()

    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()

    assert refused.value.message_dict["chart_number"] == ["Another client already has this chart number."]
    assert Client.objects.count() == before


@pytest.mark.parametrize("capacity", [7, 13])
def test_capacity_outside_8_to_12_is_refused(therapist, capacity):
    group = TherapyGroupFactory.build(facilitator=therapist, capacity=capacity)

    with pytest.raises(ValidationError, match="between 8 and 12"):
        group.full_clean()
    with pytest.raises(IntegrityError, match="groups_therapygroup_capacity_8_to_12"), transaction.atomic():
        group.save()

    assert not TherapyGroup.objects.exists()


@pytest.mark.parametrize("capacity", [8, 12])
def test_capacity_at_the_limits_is_accepted(therapist, capacity):
    group = TherapyGroupFactory.build(facilitator=therapist, capacity=capacity)
    group.full_clean()
    group.save()

    assert TherapyGroup.objects.get().capacity == capacity


def test_virtual_group_needs_a_video_link(therapist):
    group = TherapyGroupFactory.build(facilitator=therapist, modality="virtual", room="", video_link="")

    with pytest.raises(ValidationError, match="virtual groups a video link"):
        group.full_clean()


def test_co_facilitator_must_differ_from_facilitator(therapist):
    group = TherapyGroupFactory.build(facilitator=therapist, co_facilitator=therapist)

    with pytest.raises(IntegrityError, match="groups_therapygroup_cofacilitator_differs"), transaction.atomic():
        group.save()


def test_discharge_before_admission_is_refused(agreement):
    client = ClientFactory.build(
        admission_date=datetime.date(2026, 3, 1), discharge_date=datetime.date(2026, 2, 1), status="discharged"
    )

    with pytest.raises(ValidationError, match="cannot be before the admission date"):
        client.full_clean()


def test_active_client_needs_an_admission_date(agreement):
    with pytest.raises(IntegrityError, match="clients_client_active_has_admission_date"), transaction.atomic():
        ClientFactory(admission_date=None, signed=False)


def test_a_second_signature_in_force_of_the_same_version_is_refused(client_record):
    before = AgreementSignature.objects.count()

    with pytest.raises(ValidationError, match="already has a signature of version 1 in force"):
        sign_agreement(client=client_record, witnessed_by=UserFactory())

    assert AgreementSignature.objects.count() == before


def test_revoking_needs_a_reason_and_happens_once(client_record, staff_user):
    signature = client_record.signatures.get()

    with pytest.raises(ValidationError, match="Say why"):
        revoke_signature(signature=signature, reason="  ", revoked_by=staff_user)
    revoke_signature(signature=signature, reason="Client asked", revoked_by=staff_user)
    with pytest.raises(ValidationError, match="already revoked"):
        revoke_signature(signature=signature, reason="Again", revoked_by=staff_user)

    signature.refresh_from_db()
    assert signature.revoked_reason == "Client asked"


def test_partners_point_at_each_other(client_record, other_client):
    link_partners(client=client_record, partner=other_client)

    client_record.refresh_from_db()
    other_client.refresh_from_db()
    assert client_record.partner == other_client
    assert other_client.partner == client_record

    unlink_partner(client=client_record)

    other_client.refresh_from_db()
    assert other_client.partner is None


def test_relinking_clears_the_old_partner(client_record, other_client, agreement):
    third = ClientFactory()
    link_partners(client=client_record, partner=other_client)

    link_partners(client=client_record, partner=third)

    other_client.refresh_from_db()
    assert other_client.partner is None


def test_client_cannot_be_their_own_partner(client_record):
    with pytest.raises(ValidationError, match="own partner"):
        link_partners(client=client_record, partner=client_record)


def test_initials_use_the_preferred_name(agreement):
    client = ClientFactory.build(legal_first_name="Rebecca", preferred_name="Becca", legal_last_name="Stein")

    assert client.initials == "B.S."


@pytest.mark.parametrize("spelling", ["lower", "upper", "swapcase"])
def test_a_chart_number_differing_only_in_letter_case_is_taken(agreement, spelling):
    ClientFactory(chart_number="Iop-0042")
    duplicate = Client(
        chart_number=getattr("Iop-0042", spelling)(),
        legal_first_name="Alex",
        legal_last_name="Doe",
        date_of_birth=datetime.date(1990, 1, 1),
    )

    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()

    assert refused.value.message_dict["chart_number"] == ["Another client already has this chart number."]
    assert Client.objects.count() == 1
