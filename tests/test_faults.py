"""Faults cost no request (issue 11): a dropped database connection, a hung broker.

The requests go through Django's own WSGI handler, as under gunicorn: the test client skips the
request_started/request_finished handlers that check and close database connections, and those
handlers are what these tests are about.
"""

import datetime
import io
import socket
import threading
import time

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory
from django.utils import timezone

from iop.celery import app
from scheduling import reminders
from scheduling.models import Reminder, Session
from scheduling.services import cancel_session
from tests.factories import ReminderFactory, UserFactory

# What a request that touches a hung broker may take on this shared, sometimes loaded machine: the
# broker timeout is 0.5 s, and the budgets stay well under the 5 s that each publish used to wait.
# (How fast /healthz answers a hung broker on a quiet machine is measured by bench/faults.py.)
REQUEST_BUDGET_SECONDS = 2.5
HEALTHZ_BUDGET_SECONDS = 2.5


def wsgi_get(path: str, *, cookies: dict[str, str] | None = None) -> tuple[int, bytes]:
    """One GET through the WSGI application, the way a WSGI server runs it (response closed last)."""
    environ = RequestFactory().get(path).environ
    environ["wsgi.input"] = io.BytesIO(b"")
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    statuses = []
    response = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    try:
        body = b"".join(response)
    finally:
        response.close()
    return int(statuses[0].split()[0]), body


def drop_connection_from_outside() -> None:
    """Terminate this thread's database connection from a second one, as a restart or failover does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


# --- A dropped database connection ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_request_after_a_dropped_database_connection_succeeds(client):
    """The signed-in request reads its session from the database first: without the health check
    the kept connection, terminated by the server, answers that request with a 500."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    assert wsgi_get("/admin/", cookies=cookies)[0] == 200
    kept = connection.connection
    assert kept is not None, "the connection is kept between requests"

    drop_connection_from_outside()

    assert wsgi_get("/admin/", cookies=cookies)[0] == 200
    assert connection.connection is not kept, "the dropped connection was replaced"
    status, body = wsgi_get("/healthz")
    assert status in {200, 503}
    assert b'"database": "ok"' in body


def drop_at_query(number: int):
    """A database wrapper that terminates the connection just before the request's ``number``-th
    query, once: the connection breaks halfway through the page, as in a failover under load."""
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        if len(seen) == number:
            drop_connection_from_outside()
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("at_query", [1, 3, 6])
def test_a_page_that_loses_its_connection_halfway_is_asked_again_not_answered_500(client, at_query):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    assert wsgi_get("/admin/scheduling/session/", cookies=cookies)[0] == 200

    with connection.execute_wrapper(drop_at_query(at_query)):
        status, body = wsgi_get("/admin/scheduling/session/", cookies=cookies)

    assert status == 200, body[:500]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_form_that_loses_its_connection_is_not_sent_twice(client, group):
    """A POST is rolled back whole and answers 500; asking it again is the person's choice."""
    from django.core.handlers.wsgi import WSGIHandler

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    token = "a" * 32  # a CSRF secret, in the cookie and in the form
    form = {"action": "x", "csrfmiddlewaretoken": token}
    environ = RequestFactory().post("/admin/groups/therapygroup/", form).environ
    cookies = {name: morsel.value for name, morsel in client.cookies.items()} | {"csrftoken": token}
    environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    statuses, queries = [], []

    def counting(execute, sql, params, many, context):
        queries.append(sql)
        if len(queries) == 3:
            drop_connection_from_outside()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        response = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
        response.close()

    assert statuses[0].startswith("500")
    assert len([sql for sql in queries if "django_session" in sql]) == 1  # the request ran once


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_first_task_after_a_dropped_database_connection_succeeds():
    """A worker keeps its connection across tasks (CELERY_DB_REUSE_MAX); before each task it does
    what Django does before each request (iop.celery), so the dropped connection is replaced."""
    from iop.celery import drop_unusable_database_connections

    reminders.sweep()
    kept = connection.connection
    drop_connection_from_outside()

    drop_unusable_database_connections()
    assert reminders.sweep() == (0, 0)
    assert connection.connection is not kept


# --- A hung broker --------------------------------------------------------------------------


@pytest.fixture
def hung_broker():
    """A "Redis" that accepts connections and never answers (paused, or behind a stuck proxy):
    a real socket, so every wait is a real one. The Celery app publishes to it for one test."""
    server = socket.create_server(("127.0.0.1", 0))
    held = []

    def accept_and_hold():
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_hold, daemon=True).start()
    previous = app.conf.broker_write_url, app.conf.task_always_eager
    app.conf.broker_write_url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    app.conf.task_always_eager = False
    yield
    app.conf.broker_write_url, app.conf.task_always_eager = previous
    server.close()
    for peer in held:
        peer.close()


def failed_reminders(count: int) -> list[Reminder]:
    return ReminderFactory.create_batch(
        count,
        status=Reminder.Status.FAILED,
        attempts=5,
        send_at=timezone.now() - datetime.timedelta(minutes=5),
    )


@pytest.mark.django_db(transaction=True)
def test_an_admin_action_publishing_to_a_hung_broker_completes_at_once(client, agreement, hung_broker):
    """Retrying 5 failed reminders commits and publishes row by row: each publish used to wait
    ~5 s on a hung Redis (gunicorn's 30 s timeout with 10 rows). Now the first waits at most the
    broker timeout, the others are left for the sweep, and every row is written."""
    rows = failed_reminders(5)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    started = time.monotonic()
    response = client.post(
        "/admin/scheduling/reminder/",
        {"action": "retry", "_selected_action": [row.pk for row in rows], "index": 0},
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < REQUEST_BUDGET_SECONDS, f"the request took {elapsed:.2f} s"
    assert Reminder.objects.filter(status=Reminder.Status.PENDING, attempts=0, enqueued_at=None).count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_service_that_publishes_after_commit_never_raises_into_the_request(agreement, hung_broker):
    """Cancelling a session plans a notice for the client already reminded and publishes it once
    the cancellation committed: with the broker hung, the cancellation and its notice are there,
    unpublished, for the next sweep."""
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    sent = ReminderFactory(status=Reminder.Status.SENT, send_at=an_hour_ago, sent_at=an_hour_ago)

    started = time.monotonic()
    cancel_session(session=sent.session, reason="Snow")
    elapsed = time.monotonic() - started

    assert elapsed < REQUEST_BUDGET_SECONDS, f"the cancellation took {elapsed:.2f} s"
    assert Session.objects.get(pk=sent.session_id).status == Session.Status.CANCELLED
    notice = Reminder.objects.get(kind=Reminder.CANCELLATION)
    assert (notice.status, notice.enqueued_at) == (Reminder.Status.PENDING, None)


@pytest.mark.django_db
def test_healthz_names_a_hung_broker_within_a_second(client, hung_broker):
    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert elapsed < HEALTHZ_BUDGET_SECONDS, f"/healthz took {elapsed:.2f} s"
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert response.json()["checks"] == {"database": "ok", "broker": "down", "reminders": "ok"}
