"""Benchmark: plan and dispatch 10,000 reminders through Redis with one worker against PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iop_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
    .venv/bin/python bench/reminders.py [--reminders 10000] [--concurrency 4]

It creates (and afterwards drops) its own database, starts one ``celery worker`` process whose
email backend writes every message to a temporary folder, publishes the due rows on a queue of its
own, and counts the Message-IDs that arrived: duplicates are ids seen twice, lost are rows that
never arrived. When it ends, the worker is asked to finish its tasks (TERM, a warm shutdown); if it
has not stopped after ``--grace`` seconds it is killed with its processes, so the bench never leaves
a worker behind or a database it cannot drop. Not part of the test suite.
"""

import argparse
import contextlib
import datetime
import email
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")

from pages import SERVER_ENV  # noqa: E402

# Production settings, as a clinic's worker runs, and as bench/pages.py runs gunicorn: with debug
# settings each query is also logged and timed, some 12% of the worker's CPU a reminder.
os.environ.update(SERVER_ENV)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4, help="processes of the one worker")
    parser.add_argument("--grace", type=float, default=30, help="seconds the worker has to stop before it is killed")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "CELERY_BROKER_URL", ""
    ).startswith("redis"):
        sys.exit("Set DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...")

    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases, teardown_databases

    outbox = Path(tempfile.mkdtemp(prefix="iop-bench-outbox-"))
    queue = f"bench-reminders-{uuid.uuid4().hex}"
    databases = setup_databases(verbosity=0, interactive=False)
    database_name = settings.DATABASES["default"]["NAME"]
    worker = None
    try:
        from iop.celery import app
        from scheduling import reminders
        from scheduling.models import Reminder

        session_count = build_clinic(options.reminders)
        started = time.monotonic()
        planned = reminders.plan_reminders()
        planning_seconds = time.monotonic() - started

        env = os.environ | {
            "DATABASE_URL": os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{database_name}",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(outbox),
            # Each process keeps its database connection for the whole run, so that the PostgreSQL
            # processes counted at the end are the ones that did the work.
            "DJANGO_CONN_MAX_AGE": "3600",
        }
        worker = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "iop", "worker", "-Q", queue, "-c", str(options.concurrency)]
            + ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own process group, so that a kill reaches the pool's processes too.
            start_new_session=True,
        )
        time.sleep(3)  # the worker connects and forks its processes

        app.conf.task_default_queue = queue
        started = time.monotonic()
        published = reminders.enqueue_due()
        # A second publication of every id, as after a lost acknowledgement: the claim must hold.
        from scheduling.tasks import send_reminder

        for reminder_id in Reminder.objects.values_list("pk", flat=True)[:1000]:
            send_reminder.delay(reminder_id)
        while Reminder.objects.filter(status__in=["pending", "sending"]).exists():
            if time.monotonic() - started > 600:
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started

        worker_cpu, database_cpu = cpu_seconds(worker_processes(worker.pid)), cpu_seconds(database_backends())
        delivered = Counter(message_ids(outbox))
        expected = {f"reminder-{pk}" for pk in Reminder.objects.values_list("pk", flat=True)}
        sent_rows = Reminder.objects.filter(status="sent").count()
        print(f"sessions: {session_count}, reminders planned: {planned} in {planning_seconds:.2f} s")
        print(f"published: {published} (+1000 duplicate messages), one worker with {options.concurrency} processes")
        print(f"delivered: {sum(delivered.values())} messages, rows sent: {sent_rows}, in {seconds:.2f} s")
        print(f"reminders/second: {sent_rows / seconds:.0f}")
        if sent_rows:
            print(
                f"CPU per reminder: worker {worker_cpu / sent_rows * 1000:.2f} ms, "
                f"PostgreSQL {database_cpu / sent_rows * 1000:.2f} ms (this machine's load: {os.getloadavg()[0]:.1f})"
            )
        print(f"duplicates: {sum(count - 1 for count in delivered.values())}")
        print(f"lost: {len(expected - set(delivered))}")
    finally:
        if worker is not None:
            stop_worker(worker, grace=options.grace)
        from iop.celery import app

        with app.connection_for_write() as broker:
            broker.default_channel.queue_delete(queue)
        teardown_databases(databases, verbosity=0)
        for path in outbox.iterdir():
            path.unlink()
        outbox.rmdir()


def stop_worker(worker: subprocess.Popen, *, grace: float) -> None:
    """TERM (a warm shutdown: running tasks finish), then KILL the worker's process group if it
    is still there after ``grace`` seconds, as when a task hangs and the warm shutdown with it."""
    worker.terminate()
    try:
        worker.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(f"worker still running {grace:g} s after TERM: killed")
    # The pool's processes outlive a main process that died or hung; none may keep the database.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def worker_processes(worker_pid: int) -> list[int]:
    """The worker's main process and its pool's processes (this machine only)."""
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children")
    return [worker_pid, *map(int, children.read_text().split())] if children.exists() else [worker_pid]


def database_backends() -> list[int]:
    """The PostgreSQL processes serving this bench's database (PostgreSQL on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return [pid for (pid,) in cursor.fetchall()]


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes used so far: on a machine shared with other work, how much each
    reminder costs tells more than how many went out a second."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def build_clinic(reminder_count: int) -> int:
    """Groups of ten consenting members, one session each an hour ahead: one reminder per member
    (the 2-hour one, due now), so 10,000 reminders are 1,000 groups."""
    from django.utils import timezone

    from bench.clinic import MEMBERS_PER_GROUP, groups_of_consenting_members
    from groups.models import Therapist
    from scheduling.models import Session
    from tests.factories import UserFactory

    group_count = max(1, reminder_count // MEMBERS_PER_GROUP)
    therapist = Therapist.objects.create(user=UserFactory(username="bench-therapist"), credentials="LCSW")
    groups, _ = groups_of_consenting_members(therapist, group_count, tag="bench")
    starts_at = timezone.now() + datetime.timedelta(hours=1)
    Session.objects.bulk_create(
        Session(
            group=group,
            starts_at=starts_at,
            ends_at=starts_at + datetime.timedelta(minutes=90),
            objective="Bench",
            facilitator=therapist,
            room=group.room,
        )
        for group in groups
    )
    return len(groups)


def message_ids(outbox: Path):
    for path in outbox.iterdir():
        # The file backend writes each message followed by a line of 79 dashes.
        for raw in path.read_text().split("-" * 79 + "\n"):
            if raw.strip():
                yield email.message_from_string(raw)["Message-ID"].strip("<>").split("@")[0]


if __name__ == "__main__":
    main()
