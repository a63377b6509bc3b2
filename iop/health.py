"""Whether the parts the web depends on answer: read by /healthz and by
``manage.py check_reminders``, which a supervisor runs."""

from django.conf import settings
from django.db import connection


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def broker_ok() -> bool:
    """The Celery broker answers within IOP_BROKER_TIMEOUT_MS (reminders depend on it): a hung
    broker makes /healthz say so in well under a second, not wait for it."""
    from iop.celery import quick_broker_connection

    try:
        with quick_broker_connection() as broker:
            broker.ensure_connection(max_retries=0, timeout=settings.IOP_BROKER_TIMEOUT_MS / 1000)
        return True
    except Exception:
        return False
