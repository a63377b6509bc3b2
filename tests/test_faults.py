"""Faults cost no request (issue 11): a dropped database connection, a hung broker.

The requests go through Django's own WSGI handler, as under gunicorn: the test client skips the
request_started/request_finished handlers that check and close database connections, and those
handlers are what these tests are about.
"""

import io

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory


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
def test_the_request_after_a_dropped_database_connection_succeeds(client, staff_user, settings):
    """The signed-in request reads its session from the database first: without the health check
    the kept connection, terminated by the server, answers that request with a 500."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0
    client.force_login(staff_user)
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
