"""The Celery application: configured from Django settings (``CELERY_`` names), tasks found in
each app's ``tasks.py``."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")

app = Celery("iop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
def drop_unusable_database_connections(sender=None, **kwargs) -> None:
    """What Django does around each request: with connections reused across tasks
    (CELERY_DB_REUSE_MAX), one that broke or outlived CONN_MAX_AGE is replaced first. An eager
    task runs inside its caller's transaction and keeps the caller's connection."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def quick_broker_connection():
    """A broker connection for work done on behalf of a web request (publishing after its commit,
    /healthz): every connect and every read waits at most IOP_BROKER_TIMEOUT_MS, and nothing is
    retried, so a broker that is down or hung (paused, a full network buffer) fails fast with a
    ``kombu.exceptions.OperationalError`` instead of holding the request."""
    from django.conf import settings

    timeout = settings.IOP_BROKER_TIMEOUT_MS / 1000
    return app.connection_for_write(
        connect_timeout=timeout,
        transport_options={
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            "retry_on_timeout": False,
            "max_retries": 0,
        },
    )
