"""The reads of a request are written together when it ends: one turn of the chain (its lock, its
last link, one INSERT) for the page and every part of it (the safety banner, the dashboard's
lists), each read keeping its own rows. Writes are recorded when they are made; reads outside a
request at once; a request that fails after reading still records what it read; and a page whose
record cannot be written is not shown."""

import threading

import pytest
from django.db import DatabaseError, connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit import trail
from audit.context import Actor
from audit.models import AuditEvent
from audit.trail import Action, prepare, reads_of_request, record, verify
from clients.models import Client
from progress.checkins import record_measure
from scheduling.models import Session
from tests.helpers import add_members, make_session

pytestmark = pytest.mark.django_db


def phq9(item_9: int) -> dict:
    return {**{f"item_{n}": 1 for n in range(1, 9)}, "item_9": item_9}


def audit_inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].lstrip().upper().startswith('INSERT INTO "AUDIT_AUDITEVENT"'))


def chain_locks(queries) -> int:
    return sum(q["sql"].count("pg_advisory_xact_lock") for q in queries)


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def reads_since(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=since, action__in=trail.READS).order_by("id"))


@pytest.fixture
def members(group):
    return add_members(group, 3)


@pytest.fixture
def alert(members):
    """An open safety alert of a member: the banner at the top of the therapist's pages names them."""
    return record_measure(client=members[0], instrument="phq9", answers=phq9(2)).safety_alert


def test_a_page_and_its_banner_are_one_insert_in_one_turn_of_the_chain(client, therapist, group, members, alert):
    session = make_session(group)
    client.force_login(therapist.user)
    before = last_id()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("therapist:session", args=[session.pk]))

    assert response.status_code == 200
    assert 'data-testid="safety-alerts"' in response.content.decode()
    rows = reads_since(before)
    # Each part keeps its own rows: who read what, of which clients, from which request.
    assert {(row.model, row.object_id, row.client_id, row.detail) for row in rows} == {
        ("progress.safetyalert", "", members[0].pk, "open safety alerts"),
        *{("scheduling.session", str(session.pk), member.pk, "session page") for member in members},
    }
    assert {(row.user_id, row.role, row.request_id) for row in rows} == {
        (therapist.user.pk, "therapist", response["X-Request-ID"])
    }
    assert [row.pk for row in rows] == list(range(rows[0].pk, rows[0].pk + len(rows)))  # one turn, not interleaved
    assert audit_inserts(queries.captured_queries) == 1
    if connection.vendor == "postgresql":
        assert chain_locks(queries.captured_queries) == 1
    assert verify().intact


def test_the_dashboard_with_its_banner_takes_one_turn_of_the_chain(client, therapist, members, alert):
    client.force_login(therapist.user)
    before = last_id()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("therapist:dashboard"))

    assert response.status_code == 200
    assert {(row.model, row.client_id) for row in reads_since(before)} == {
        ("progress.safetyalert", members[0].pk),
        ("scheduling.session", None),
    }
    assert audit_inserts(queries.captured_queries) == 1
    assert verify().intact


def test_outside_a_request_a_read_is_written_at_once(client_record):
    (row,) = record(Action.VIEW, target=client_record, clients=[client_record], detail="read by a command")

    assert row.pk is not None
    assert AuditEvent.objects.get(pk=row.pk).role == "system"


def test_in_a_request_a_write_is_recorded_when_made_and_the_reads_when_the_request_ends(client_record, other_client):
    before = last_id()

    with reads_of_request():
        record(Action.VIEW, target=client_record, clients=[client_record], detail="page")
        assert AuditEvent.objects.filter(pk__gt=before).count() == 0
        (change,) = record(Action.CHANGE, target=client_record, clients=[client_record], detail="changed: notes")
        assert change.pk is not None
        record(Action.EXPORT, target=Client, clients=[client_record, other_client], detail="exported")
        assert AuditEvent.objects.filter(pk__gt=before).count() == 1

    rows = list(AuditEvent.objects.filter(pk__gt=before).order_by("id"))
    assert [(row.action, row.client_id, row.detail) for row in rows] == [
        ("change", client_record.pk, "changed: notes"),
        ("view", client_record.pk, "page"),
        ("export", min(client_record.pk, other_client.pk), "exported"),
        ("export", max(client_record.pk, other_client.pk), "exported"),
    ]
    # Each read keeps the moment it was made, though written after the write.
    assert rows[1].at <= rows[0].at <= rows[2].at
    assert verify().intact


def test_rows_that_differ_in_every_value_are_written_and_read_back_as_they_were(client_record, staff_user):
    before = last_id()
    first = Actor(user=staff_user, ip="192.0.2.7", user_agent="Firefox", request_id="req-1")
    second = Actor(user=None, ip="2001:db8::1", user_agent="", request_id="")
    rows = [
        *prepare(Action.VIEW, target=client_record, clients=[client_record], detail="one", actor=first),
        *prepare(Action.EXPORT, target=Client, detail="two", actor=second),
        *prepare(Action.VIEW, target=Session, clients=[client_record.pk, None], actor=Actor(ip=None)),
    ]

    trail.write(rows)

    stored = list(AuditEvent.objects.filter(pk__gt=before).order_by("id"))
    assert [row.pk for row in stored] == [row.pk for row in rows]
    for written, read in zip(rows, stored, strict=True):
        assert {name: getattr(read, name) for name in trail.CHAINED_FIELDS} == {
            name: getattr(written, name) for name in trail.CHAINED_FIELDS
        }
        assert read.chain == written.chain
    assert [row.ip for row in stored] == ["192.0.2.7", "2001:db8::1", None]
    assert verify().intact


# --- A request that fails, and a record that cannot be written ---------------------------------


@pytest.mark.urls("tests.audit.failing_views")
@pytest.mark.parametrize("page", ["read-then-fail", "read-in-a-transaction-then-fail"])
def test_a_request_that_fails_after_reading_still_records_what_it_read(client_record, page):
    before = last_id()
    browser = Browser(raise_request_exception=False)

    response = browser.get(f"/test/{page}/{client_record.pk}/")

    assert response.status_code == 500
    (row,) = reads_since(before)
    assert (row.action, row.model, row.client_id) == ("view", "clients.client", client_record.pk)
    assert row.request_id == response["X-Request-ID"]
    assert verify().intact


@pytest.mark.urls("tests.audit.failing_views")
def test_a_page_whose_record_cannot_be_written_is_not_shown(client_record, monkeypatch):
    def refuse(rows):
        raise DatabaseError("the audit trail cannot be written")

    monkeypatch.setattr(trail, "write", refuse)
    browser = Browser(raise_request_exception=False)
    before = AuditEvent.objects.count()

    response = browser.get(f"/test/read-and-show/{client_record.pk}/")

    assert response.status_code == 500
    assert f"client {client_record.pk}" not in response.content.decode()
    assert AuditEvent.objects.count() == before


@pytest.mark.urls("tests.audit.failing_views")
def test_a_page_that_reads_is_recorded_before_it_is_shown(client_record):
    before = last_id()

    response = Browser().get(f"/test/read-and-show/{client_record.pk}/")

    assert response.content.decode() == f"client {client_record.pk}"
    assert [row.request_id for row in reads_since(before)] == [response["X-Request-ID"]]


# --- Many requests at once (PostgreSQL: real threads, each its own connection) ------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_pages_asked_at_once_each_take_one_turn_and_the_chain_holds(therapist, group, members, alert):
    session = make_session(group)
    url = reverse("therapist:session", args=[session.pk])
    before = last_id()
    browsers = []
    for _ in range(6):
        browser = Browser()
        browser.force_login(therapist.user)
        browsers.append(browser)
    barrier = threading.Barrier(len(browsers))
    answers, errors = [], []

    def ask(browser):
        try:
            barrier.wait(timeout=30)
            for _ in range(5):
                response = browser.get(url)
                answers.append((response.status_code, response["X-Request-ID"]))
        except Exception as error:  # collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(browser,)) for browser in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert len(answers) == 30 and {status for status, _ in answers} == {200}
    rows = reads_since(before)
    by_request: dict[str, list[int]] = {}
    for row in rows:
        by_request.setdefault(row.request_id, []).append(row.pk)
    assert set(by_request) == {request_id for _, request_id in answers}
    # Each request's rows: the banner's one and the page's three, written in one turn.
    for ids in by_request.values():
        assert ids == list(range(ids[0], ids[0] + 4))
    assert verify().intact
