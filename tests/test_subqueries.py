import datetime

import pytest
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from clients.models import Client
from iop.subqueries import written_for_key, written_once
from progress.models import MeasureResponse
from tests.factories import ClientFactory, MeasureResponseFactory


def _first_answer(value: str) -> Subquery:
    return Subquery(MeasureResponse.objects.filter(client=OuterRef("pk")).order_by("taken_on", "pk").values(value)[:1])


def test_a_subquery_written_once_reads_what_the_subquery_reads(db):
    now = timezone.now().replace(microsecond=0)
    answered, unanswered = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=answered, total=14, taken_on=now - datetime.timedelta(days=30))
    MeasureResponseFactory(client=answered, total=6, taken_on=now)
    subqueries = {"first_total": _first_answer("total"), "first_at": _first_answer("taken_on")}

    written = written_once(Client, **subqueries)

    as_written = {c.pk: (c.first_total, c.first_at) for c in Client.objects.annotate(**written)}
    as_asked = {c.pk: (c.first_total, c.first_at) for c in Client.objects.annotate(**subqueries)}
    assert as_written == as_asked
    # Read as the subquery's field is: a date and time with its zone, on SQLite too.
    assert as_written[answered.pk] == (14, now - datetime.timedelta(days=30))
    assert as_written[unanswered.pk] == (None, None)


def test_a_condition_written_once_filters_and_excludes_as_the_condition_does(db):
    answered, unanswered = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=answered)
    has_answered = Exists(MeasureResponse.objects.filter(client=OuterRef("pk")))

    written = written_once(Client, answered=has_answered)["answered"]

    assert list(Client.objects.filter(written)) == [answered] == list(Client.objects.filter(has_answered))
    assert list(Client.objects.exclude(written)) == [unanswered] == list(Client.objects.exclude(has_answered))


def test_sql_written_for_a_key_asks_for_each_key_what_the_query_asks(db):
    first, second = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=first, total=3)
    MeasureResponseFactory(client=second, total=12)

    def answered_by(key: int):
        return MeasureResponse.objects.filter(client_id=key).values("client_id")

    written = written_for_key(answered_by)

    for client in (first, second, first):
        assert list(Client.objects.filter(pk__in=written(client.pk))) == [client]
        assert list(Client.objects.filter(pk__in=answered_by(client.pk))) == [client]


def test_a_query_that_does_not_ask_for_the_key_is_refused(db):
    with pytest.raises(ValueError, match="does not ask for the key"):
        written_for_key(lambda key: MeasureResponse.objects.values("client_id"))
