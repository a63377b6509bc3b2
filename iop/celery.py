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
