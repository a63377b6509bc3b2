"""Benchmark: generate a year of sessions for 800 groups on PostgreSQL, timed and weighed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iop_bench \\
    .venv/bin/python bench/session_generation.py [--groups 800] [--slots 4] [--weeks 52]

It creates (and afterwards drops) its own database (``test_`` and the name in DATABASE_URL), makes
the groups and their weekly slots in bulk, then runs ``scheduling.services.generate_sessions``
twice on the same slots: once timed (wall clock, this process's CPU, the CPU of the database's
backend serving it when the database runs on this machine, and the growth of the process's peak
resident memory), once, after deleting what the first made, under ``tracemalloc`` for the peak of memory
Python allocated while it ran. Not part of the test suite.
"""

import argparse
import datetime
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
os.environ.setdefault("DJANGO_DEBUG", "on")

WEEKDAYS_AND_HOURS = [(0, 9), (1, 13), (2, 17), (3, 10), (4, 15), (5, 11), (6, 16)]


def make_groups(count: int, slots_per_group: int, start: datetime.date) -> None:
    from django.contrib.auth import get_user_model

    from groups.models import Therapist, TherapyGroup
    from scheduling.models import WeeklySlot

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-therapist-{n}") for n in range(count // 4 + 1)
    )
    therapists = Therapist.objects.bulk_create(Therapist(user=user, credentials="LCSW") for user in users)
    groups = TherapyGroup.objects.bulk_create(
        TherapyGroup(
            name=f"Bench group {n}",
            kind=TherapyGroup.Kind.SKILLS_DEVELOPMENT,
            capacity=12,
            facilitator=therapists[n // 4],
            room=f"Room {n}",
            start_date=start,
        )
        for n in range(count)
    )
    WeeklySlot.objects.bulk_create(
        WeeklySlot(
            group=group,
            weekday=weekday,
            start_time=datetime.time(hour),
            duration_minutes=90,
            default_objective="Identify triggers",
            effective_from=start,
        )
        for group in groups
        for weekday, hour in WEEKDAYS_AND_HOURS[:slots_per_group]
    )


def backend_cpu_seconds(pid: int) -> float | None:
    """The CPU time the database's backend process has used, when it runs on this machine and
    /proc can be read: on a shared machine, the part of the wall clock that is the database's
    own work."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def watch_lanes(services) -> list[float]:
    """The CPU of the backend of each connection generate_sessions opens for its lanes, read as
    each lane ends (its backend is new: all its CPU is the lane's)."""
    lanes_cpu: list[float] = []
    on_own_connection = services._on_own_connection

    def watched(work):
        def lane(*args):
            from django.db import connection

            def work_then_read(*args):
                try:
                    return work(*args)
                finally:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_backend_pid()")
                        lanes_cpu.append(backend_cpu_seconds(cursor.fetchone()[0]) or 0.0)

            return on_own_connection(work_then_read)(*args)

        return lane

    services._on_own_connection = watched
    return lanes_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=800)
    parser.add_argument("--slots", type=int, default=4, help="weekly slots per group")
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument(
        "--connections", type=int, help="connections making batches at once (default: GENERATION_CONNECTIONS)"
    )
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://...")

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases
    from django.utils import timezone

    from iop.clock import monday_of
    from scheduling import services
    from scheduling.models import Session
    from scheduling.services import generate_sessions

    if options.connections:
        services.GENERATION_CONNECTIONS = options.connections
    lanes_cpu = watch_lanes(services)

    databases = setup_databases(verbosity=0, interactive=False)
    # As a server runs: with debug on, Django would keep every statement's text in memory.
    settings.DEBUG = False
    try:
        today = timezone.localdate()
        make_groups(options.groups, options.slots, monday_of(today))

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        backend_started = backend_cpu_seconds(backend)
        lanes_cpu.clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        generation = generate_sessions(today=today, weeks=options.weeks)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        backend_finished = backend_cpu_seconds(backend)
        timed_lanes = list(lanes_cpu)
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        made = len(generation.made)
        assert Session.objects.count() == made, (Session.objects.count(), made)

        Session.objects.all().delete()
        tracemalloc.start()
        generate_sessions(today=today, weeks=options.weeks)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        print(f"groups: {options.groups}, slots per group: {options.slots}, weeks: {options.weeks}")
        print(f"connections making batches at once: {services.GENERATION_CONNECTIONS}")
        print(f"sessions made: {made}, refused: {len(generation.refused)}")
        # On a shared machine the wall clock includes waiting for a CPU; the process time does not
        # (nor the database's own work).
        print(f"time: {seconds:.2f} s (this process's CPU: {cpu_seconds:.2f} s)")
        if backend_started is not None and backend_finished is not None:
            # The connections of the other lanes are the threads' own, not counted here.
            lanes = "" if services.GENERATION_CONNECTIONS == 1 else " (this connection's only)"
            print(f"database backend's CPU{lanes}: {backend_finished - backend_started:.2f} s")
        if timed_lanes:
            # On a quiet machine with a core for each, the wall clock is about the longest lane.
            print(f"each lane's database backend's CPU: {', '.join(f'{cpu:.2f} s' for cpu in timed_lanes)}")
        print(f"peak resident memory grew by: {rss_growth / 1024:.0f} MB")
        print(f"peak traced allocation: {peak / 1024 / 1024:.0f} MB")
    finally:
        teardown_databases(databases, verbosity=0)


if __name__ == "__main__":
    main()
