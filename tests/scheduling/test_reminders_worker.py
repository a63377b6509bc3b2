"""Reminders through a real Celery worker on the real Redis, against PostgreSQL: exactly once and
nothing lost. Each test publishes to a queue of its own and deletes it afterwards."""

import datetime
import threading
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from audit.trail import Action, record, verify
from iop.celery import app
from scheduling import reminders
from scheduling.enrolment import enroll_client
from scheduling.models import Reminder
from scheduling.tasks import send_reminder
from tests import factories
from tests.scheduling.test_reminders_services import CLOSED_PORT_BROKER, make_session

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def real_broker():
    """Tasks go through Redis, on a queue only this test uses."""
    queue = f"test-reminders-{uuid.uuid4().hex}"
    previous = app.conf.task_always_eager, app.conf.task_default_queue
    app.conf.task_always_eager, app.conf.task_default_queue = False, queue
    yield queue
    app.conf.task_always_eager, app.conf.task_default_queue = previous
    # The worker's threads keep their database connections between tasks (CELERY_DB_REUSE_MAX)
    # and are gone now; end those sessions so the test database can be dropped.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    with app.connection_for_write() as broker:
        broker.default_channel.queue_delete(queue)


def wait_for(condition, seconds=20):
    deadline = timezone.now() + datetime.timedelta(seconds=seconds)
    while timezone.now() < deadline:
        if condition():
            return True
        threading.Event().wait(0.1)
    return condition()


@pytest.fixture
def due_reminders(client_record, other_client, group):
    for member in (client_record, other_client):
        enroll_client(client=member, group=group, on=datetime.date(2026, 1, 5))
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    return Reminder.objects.filter(kind="24h")


def test_real_worker_delivers_each_reminder_once(due_reminders, real_broker):
    with start_worker(app, pool="threads", concurrency=4, queues=[real_broker], perform_ping_check=False):
        reminders.enqueue_due()
        for reminder in due_reminders:  # each id published a second time: still one message each
            send_reminder.delay(reminder.pk)
        assert wait_for(lambda: not due_reminders.exclude(status="sent").exists())

    assert len(mail.outbox) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.client.email for r in due_reminders)


def test_two_workers_claiming_the_same_row_send_once(due_reminders):
    reminder = due_reminders.first()
    barrier = threading.Barrier(8)
    outcomes = []

    def worker():
        barrier.wait()
        try:
            outcomes.append(reminders.send_reminder(reminder_id=reminder.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["sent"] + ["skipped"] * 7
    assert len(mail.outbox) == 1


def test_reminders_wait_out_a_broker_outage_and_go_when_it_returns(due_reminders, real_broker):
    working_url = app.conf.broker_write_url
    app.conf.broker_write_url = CLOSED_PORT_BROKER
    try:
        assert reminders.enqueue_due() == 0
    finally:
        app.conf.broker_write_url = working_url
        assert set(due_reminders.values_list("status", flat=True)) == {"pending"}

    with start_worker(app, pool="threads", concurrency=2, queues=[real_broker], perform_ping_check=False):
        assert reminders.sweep()[1] == 2
        assert wait_for(lambda: not due_reminders.exclude(status="sent").exists())

    assert len(mail.outbox) == 2


def test_processes_recording_reminders_at_once_keep_the_audit_chain_whole(group, agreement):
    """Four senders mark their reminders sent while a page records a read: each mark takes the
    chain's lock, makes its UPDATE and reads the last link in one round trip, then writes and
    commits in a second, so every row links to the one committed before it."""
    for member in factories.ClientFactory.create_batch(8):
        enroll_client(client=member, group=group, on=datetime.date(2026, 1, 5))
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    ids = list(Reminder.objects.filter(kind="24h").order_by("pk").values_list("pk", flat=True))
    barrier = threading.Barrier(5)

    def sender(share):
        barrier.wait()
        try:
            for reminder_id in share:
                reminders.send_reminders(reminder_ids=[reminder_id])
        finally:
            connection.close()

    def reader():
        barrier.wait()
        try:
            for _ in range(4):
                record(Action.VIEW, target=Reminder, detail="reminder list")
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(ids[n::4],)) for n in range(4)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Reminder.objects.filter(pk__in=ids, status="sent").count() == len(ids) == 8
    assert AuditEvent.objects.filter(action="export", model="scheduling.reminder").count() == 8
    assert verify().intact
