"""Living through a lost database connection outside a request: a failover, a restart of
PostgreSQL, ``pg_terminate_backend``.

A request meets a broken connection once at most: ``CONN_HEALTH_CHECKS`` replaces it before the
request uses it. Work that runs on its own (a Celery task) may lose it halfway, after it has done
something outside the database that cannot be undone — a reminder delivered — and must still
record it. ``persist`` reconnects and tries again for a while instead of giving up at once.
"""

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connection

log = logging.getLogger(__name__)

T = TypeVar("T")

# The errors of a connection that went away (or never came): the statement did not run, or its
# answer was lost. Constraint violations and bad SQL are other errors and are never retried.
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def persist(write: Callable[[], T], *, within: float, what: str) -> T:
    """Run ``write``; when the connection is lost, reconnect and run it again, for ``within``
    seconds at most (waits of 0.2, 0.4 … 3.2 s), then raise the last error.

    ``write`` must be safe to run twice: its first run may have committed before its answer was
    lost. Inside a transaction nothing can be retried (the transaction is gone with its
    connection), so there the first error is raised at once.
    """
    deadline = time.monotonic() + within
    wait = 0.2
    while True:
        try:
            return write()
        except CONNECTION_ERRORS as error:
            if connection.in_atomic_block:
                raise
            drop_broken_connection()
            if time.monotonic() + wait > deadline:
                raise
            log.warning("Database connection lost while %s; reconnecting in %.1f s: %s", what, wait, error)
            time.sleep(wait)
            wait = min(wait * 2, 3.2)


def drop_broken_connection() -> None:
    """Close this thread's connection after it failed, so the next statement opens a new one
    (Django reconnects only at the start of a request or a task)."""
    with contextlib.suppress(*CONNECTION_ERRORS):
        connection.close()
