"""Benchmark: the window in which a killed worker would send a reminder twice.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iop_bench \\
    .venv/bin/python bench/crash_window.py [--reminders 2000]

A reminder is sent twice only when its worker dies after the mail server accepted it and before
the database committed it as sent (the stale timeout then sends it again). This measures that
interval for each reminder — from the channel's return to the commit of "sent" with its audit
row — sending in batches exactly as the worker does (``scheduling.reminders.send_reminders``),
in this process, against PostgreSQL, with Django's file email backend. It creates (and
afterwards drops) its own database. Not part of the test suite.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
os.environ.setdefault("DJANGO_DEBUG", "on")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=2000)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://...")
    outbox = tempfile.mkdtemp(prefix="iop-bench-window-")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.filebased.EmailBackend"
    os.environ["EMAIL_FILE_PATH"] = outbox

    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    from bench.reminders import build_clinic
    from scheduling import reminders
    from scheduling.models import Reminder

    databases = setup_databases(verbosity=0, interactive=False)
    windows: list[float] = []
    mark_sent = reminders._mark_sent

    def timed_mark_sent(reminder, *, sent_at, now):
        left = time.perf_counter()  # the channel has just returned: the message is out
        mark_sent(reminder, sent_at=sent_at, now=now)
        windows.append(time.perf_counter() - left)  # committed

    reminders._mark_sent = timed_mark_sent
    try:
        build_clinic(options.reminders)
        reminders.plan_reminders()
        ids = list(Reminder.objects.order_by("pk").values_list("pk", flat=True))
        started = time.perf_counter()
        for start in range(0, len(ids), reminders.SEND_BATCH_SIZE):
            reminders.send_reminders(reminder_ids=ids[start : start + reminders.SEND_BATCH_SIZE])
        seconds = time.perf_counter() - started
        windows_ms = sorted(window * 1000 for window in windows)
        rate = len(windows_ms) / seconds
        print(f"reminders sent: {len(windows_ms)} in {seconds:.2f} s by one process ({rate:.0f}/s)")
        print(
            "window from the channel's return to the commit of 'sent', ms: "
            f"median {statistics.median(windows_ms):.2f}, p95 {windows_ms[int(len(windows_ms) * 0.95)]:.2f}, "
            f"max {windows_ms[-1]:.2f}"
        )
    finally:
        reminders._mark_sent = mark_sent
        teardown_databases(databases, verbosity=0)
        for path in Path(outbox).iterdir():
            path.unlink()
        Path(outbox).rmdir()


if __name__ == "__main__":
    main()
