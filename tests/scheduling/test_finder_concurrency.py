"""Partners enrolled into one process group at the same moment, each without the clinical
decision: the group's lock makes them take turns, so the second is asked for it and refused."""

import pytest

from clients.services import link_partners
from groups.models import Membership
from scheduling.enrolment import enroll_client
from tests.factories import TherapyGroupFactory
from tests.groups.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_partners_enrolled_into_one_process_group_at_once_do_not_both_get_in_unasked(
    client_record, other_client, therapist
):
    link_partners(client=client_record, partner=other_client)
    process = TherapyGroupFactory(facilitator=therapist, kind="process")

    errors = run_at_once([lambda c=c: enroll_client(client=c, group=process) for c in (client_record, other_client)])

    assert len(errors) == 1
    assert "partner_reason" in errors[0].message_dict
    assert Membership.objects.filter(group=process).count() == 1
