"""iop.statements.rows_of: a query compiled once gives, for any key, the rows the queryset gives."""

import datetime

import pytest
from django.db.models import Q

from groups.models import Membership
from iop.statements import rows_of
from tests.factories import TherapistFactory, TherapyGroupFactory
from tests.helpers import add_members

pytestmark = pytest.mark.django_db


def members_led_by(therapist_id: int):
    return (
        Membership.objects.filter(Q(group__facilitator_id=therapist_id) | Q(group__co_facilitator_id=therapist_id))
        .order_by("client__legal_last_name", "pk")
        .values_list("pk", "client__legal_last_name", "joined_on", "created_at")[:3]
    )


def test_the_rows_for_each_key_are_the_rows_the_queryset_gives():
    leading, co_leading, neither = TherapistFactory(), TherapistFactory(), TherapistFactory()
    group = TherapyGroupFactory(facilitator=leading, co_facilitator=co_leading)
    add_members(group, 4)
    rows = rows_of(members_led_by)

    for therapist in (leading, co_leading, neither):
        assert rows(therapist.pk) == list(members_led_by(therapist.pk))
    # Dates and times are read as the ORM reads them (SQLite gives text, turned into them).
    pk, last_name, joined_on, created_at = rows(leading.pk)[0]
    assert last_name == "Oyelaran" and isinstance(joined_on, datetime.date) and created_at.tzinfo is not None
    assert len(rows(leading.pk)) == 3 and rows(neither.pk) == []


def test_a_statement_that_does_not_depend_on_its_key_is_refused():
    with pytest.raises(ValueError):
        rows_of(lambda key: Membership.objects.values_list("pk"))
