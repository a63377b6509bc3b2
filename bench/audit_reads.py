"""Benchmark: what recording reads costs the pages that show client data, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iop_bench \\
    .venv/bin/python bench/audit_reads.py [--requests 40] [--rounds 5]

It creates (and afterwards drops) its own database, makes a group of ten members at a meeting
with attendance and a signed note, and 200 more clients, then asks four pages through Django's
test client (the whole middleware stack, no network): the therapist's session page and note
page, the client's week, and the admin's client list. Each round asks every page ``--requests``
times with the audit recording on and with it off (``record`` replaced by a no-op in the
modules that call it, inside this process only), which goes first changing from round to round,
so that drift in the machine's load falls on both. It prints the median time per request of each
page, on and off, and their ratio. Not part of the test suite.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")

MEMBERS = 10
MORE_CLIENTS = 200
# Every module that records a read imports ``record`` by name; "off" replaces it in each.
RECORDING_MODULES = ["progress.views", "progress.selectors", "scheduling.views", "audit.admin"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="requests per page, mode and round")
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://...")

    import django

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    setup_test_environment(debug=False)
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        pages, clients = _clinic()
        timings = {(name, mode): [] for name in pages for mode in ("on", "off")}
        for turn in range(options.rounds):
            for mode in ("on", "off") if turn % 2 else ("off", "on"):
                with _recording(mode == "on"):
                    for name, (who, url) in pages.items():
                        timings[(name, mode)].extend(_ask(clients[who], url, options.requests))
        from audit.models import AuditEvent

        print(f"{options.rounds} rounds x {options.requests} requests per page and mode; median ms per request")
        print(f"{'page':<28}{'audit off':>12}{'audit on':>12}{'ratio':>8}")
        for name in pages:
            off = statistics.median(timings[(name, "off")]) * 1000
            on = statistics.median(timings[(name, "on")]) * 1000
            print(f"{name:<28}{off:>12.2f}{on:>12.2f}{on / off:>8.3f}")
        print(f"audit rows written: {AuditEvent.objects.count()}")
    finally:
        teardown_databases(databases, verbosity=0)


def _ask(client, url: str, count: int) -> list[float]:
    client.get(url)  # warm: templates, the session, the user's permissions
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return times


@contextlib.contextmanager
def _recording(on: bool):
    if on:
        yield
        return
    with contextlib.ExitStack() as stack:
        for module in RECORDING_MODULES:
            stack.enter_context(mock.patch(f"{module}.record", lambda *args, **kwargs: []))
        yield


def _clinic():
    from django.contrib.auth.models import Group
    from django.test import Client as Browser
    from django.urls import reverse

    from iop.permissions import CLINIC_STAFF
    from progress import notes
    from tests.factories import (
        PASSWORD,
        AgreementFactory,
        ClientFactory,
        TherapistFactory,
        TherapyGroupFactory,
        UserFactory,
    )
    from tests.helpers import MEMBER_NAMES, add_members, make_session, record_everyone_present, write_note

    AgreementFactory()
    therapist = TherapistFactory(user__username="bench-therapist")
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    members = add_members(group, MEMBERS, names=MEMBER_NAMES)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    ClientFactory.create_batch(MORE_CLIENTS)
    portal = members[0]
    portal.portal_user = UserFactory(username="bench-client")
    portal.save(update_fields=["portal_user"])
    staff = UserFactory(username="bench-staff", is_staff=True)
    staff.groups.add(Group.objects.get(name=CLINIC_STAFF))

    clients = {}
    for who, user in [("therapist", therapist.user), ("client", portal.portal_user), ("staff", staff)]:
        clients[who] = Browser()
        clients[who].force_login(user)
    pages = {
        "therapist session page": ("therapist", reverse("therapist:session", args=[session.pk])),
        "therapist note page": ("therapist", reverse("therapist:note", args=[session.pk])),
        "client week": ("client", reverse("scheduling:week")),
        "admin client list (100)": ("staff", reverse("admin:clients_client_changelist")),
    }
    return pages, clients


if __name__ == "__main__":
    main()
