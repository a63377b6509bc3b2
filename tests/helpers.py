"""Steps many tests share: a group's members, its meetings, a roster POST, a written note, a browser page.

Imported by test modules (never from a conftest); fixtures built on them live in the conftests.
"""

import contextlib
import datetime
from pathlib import Path

from django.db import connection
from django.utils import timezone

from progress import attendance, notes
from progress.models import Attendance
from scheduling.enrolment import enroll_client
from scheduling.models import Session, WeeklySlot
from scheduling.services import save_slot
from tests.factories import ClientFactory, SessionFactory

# What the audit record of a page costs its query count in a test: the page's reads, however
# many of its parts read (the banner, the dashboard's lists), are written together when the
# request ends (audit.trail.reads_of_request): the chain's last link (sent with the chain's lock
# on PostgreSQL) and the one INSERT. (Outside a test's own transaction, BEGIN goes with the first
# and COMMIT with the second.)
AUDIT_READ_QUERIES = 2
# A write is recorded when it is made: the chain's last link, the one INSERT, and on PostgreSQL
# the advisory lock that makes the writers take turns, which the service has also taken at its
# start, before its row locks (audit.trail.hold_chain). (record() makes no savepoint inside a
# transaction.)
AUDIT_WRITE_QUERIES = 4 if connection.vendor == "postgresql" else 2
# The open safety alerts at the top of every therapist page (progress/templatetags/progress_safety.py).
SAFETY_BANNER_QUERIES = 1

# The Monday the scheduling suite's slots are saved on (see tests/scheduling/conftest.py).
MONDAY = datetime.date(2026, 11, 23)

MEMBER_NAMES = [
    ("Quentin", "Zabriskie"),
    ("Ursula", "Vandermeer"),
    ("Xavier", "Quimby"),
    ("Yolanda", "Oyelaran"),
    ("Imogen", "Haverford"),
    ("Bartholomew", "Ashcombe"),
    ("Cornelius", "Pemberton"),
    ("Delphine", "Marchetti"),
    ("Evander", "Kowalczyk"),
    ("Ottoline", "Fairweather"),
]


def add_members(group, count: int, *, names=MEMBER_NAMES):
    """Enrol members with names no clinical sentence contains by accident."""
    members = []
    for first, last in names[:count]:
        client = ClientFactory(legal_first_name=first, legal_last_name=last)
        enroll_client(client=client, group=group, on=group.start_date)
        members.append(client)
    # In roster order, so that members[i] is row i of the roster form.
    return sorted(members, key=lambda c: (c.legal_last_name, c.legal_first_name))


def make_session(
    group,
    *,
    starts_at=None,
    minutes=90,
    facilitator=None,
    objective="Identify triggers",
    status=Session.Status.SCHEDULED,
):
    """A meeting of ``group`` (by default one that started two hours ago), made without the schedule."""
    return SessionFactory(
        group=group,
        starts_at=starts_at or timezone.now() - datetime.timedelta(hours=2),
        minutes=minutes,
        facilitator=facilitator or group.facilitator,
        objective=objective,
        status=status,
    )


def make_slot(group, *, weekday, start="18:00", minutes=90, today=None, **extra):
    """A weekly slot saved through the service, so its sessions are generated from ``today``."""
    slot = WeeklySlot(
        group=group,
        weekday=weekday,
        start_time=datetime.time.fromisoformat(start),
        duration_minutes=minutes,
        default_objective=extra.pop("default_objective", "Identify triggers"),
        effective_from=extra.pop("effective_from", group.start_date),
        **extra,
    )
    return save_slot(slot=slot, today=today or timezone.localdate())


def attendance_post(session, roster, **overrides) -> dict:
    """The POST of the roster form, every value chosen: everyone present for the whole session and
    taking part, unless overridden.

    ``overrides`` maps "<row>-<field>" to a value, e.g. ``{"0-status": "absent"}``."""
    data = {"form-TOTAL_FORMS": str(len(roster)), "form-INITIAL_FORMS": str(len(roster))}
    for index, member in enumerate(roster):
        data.update(
            {
                f"form-{index}-client": str(member.pk),
                f"form-{index}-status": "present",
                f"form-{index}-minutes_attended": str(session.duration_minutes),
                f"form-{index}-mode": "in_person",
                f"form-{index}-participation": "2",
                f"form-{index}-observation": "",
            }
        )
    data.update({f"form-{key}": value for key, value in overrides.items()})
    return data


def note_post(members, **overrides) -> dict:
    """The POST of the note page: every field filled, a part for each member."""
    data = {
        "topic": "Triggers and cravings",
        "objective": "Identify triggers",
        "interventions": "Psychoeducation; urge surfing practice.",
        "group_dynamics": "Cohesive; members gave each other feedback.",
        "form-TOTAL_FORMS": str(len(members)),
        "form-INITIAL_FORMS": str(len(members)),
    }
    for index, member in enumerate(members):
        data.update(
            {
                f"form-{index}-client": str(member.pk),
                f"form-{index}-behaviour": "Shared a recent trigger.",
                f"form-{index}-intervention": "Reflective listening.",
                f"form-{index}-response": "Named two coping skills.",
                f"form-{index}-plan": "Practise urge surfing daily.",
            }
        )
    data.update(overrides)
    return data


def record_everyone_present(session, members, *, by):
    """Everyone present for the whole session, taking part: each value chosen, as the page asks."""
    return attendance.record_attendance(
        session=session,
        entries=[
            attendance.AttendanceEntry(
                client=member,
                status=Attendance.Status.PRESENT,
                minutes_attended=session.duration_minutes,
                participation=Attendance.Participation.TOOK_PART,
            )
            for member in members
        ],
        recorded_by=by,
    )


def write_note(session, members, *, by, **shared):
    fields = {
        "topic": "Triggers and cravings",
        "objective": session.objective,
        "interventions": "Psychoeducation on triggers; paired practice of urge surfing.",
        "group_dynamics": "Members listened well and gave each other feedback.",
        **shared,
    }
    individual = {
        member.pk: {"behaviour": "Engaged and shared one trigger.", "plan": "Practise daily."} for member in members
    }
    return notes.save_group_note(session=session, author=by, individual=individual, **fields)


SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# axe-core's rules for WCAG 2.1 A and AA, and what fails a test: a serious or critical violation.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING_IMPACTS = {"serious", "critical"}
TABLET = {"width": 820, "height": 1180}


@contextlib.contextmanager
def chromium_page(viewport=PHONE):
    """A page in Debian's Chromium (Playwright cannot download its own browser here).

    Do the ORM work before entering and after leaving: Playwright's event loop makes ORM calls in
    this thread unsafe while it runs."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def session_change_post(session, **changes) -> dict:
    """The admin's session change form as it opens (times on the clinic's clock), with ``changes``."""
    local_start, local_end = timezone.localtime(session.starts_at), timezone.localtime(session.ends_at)
    return {
        "starts_at_0": local_start.date().isoformat(),
        "starts_at_1": local_start.strftime("%H:%M:%S"),
        "ends_at_0": local_end.date().isoformat(),
        "ends_at_1": local_end.strftime("%H:%M:%S"),
        "objective": session.objective,
        "facilitator": session.facilitator_id,
        "room": session.room,
        "video_link": session.video_link,
        **changes,
    }


def sign_in(browser, username: str, password: str) -> bool:
    """``Client.login`` with the request django-axes needs to count the attempt (from 127.0.0.1)."""
    from django.test import RequestFactory

    return browser.login(request=RequestFactory().post("/accounts/login/"), username=username, password=password)


def code_for(key: str, *, steps_ahead: int = 0) -> str:
    """The 6 digits an authenticator app shows for ``key`` (hex) now, or some 30-second steps later."""
    import time
    from binascii import unhexlify

    from django_otp.oath import TOTP

    totp = TOTP(unhexlify(key), step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def with_authenticator(user) -> tuple[str, list[str]]:
    """The second factor turned on for ``user`` as the set-up page does: its key and recovery codes."""
    from iop import two_factor

    key = two_factor.new_authenticator_key()
    codes = two_factor.turn_on_authenticator(user=user, key=key, token=code_for(key))
    return key, codes


def serious_axe_violations(page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now, each as
    "rule (impact): the elements". The script comes from axe-playwright-python (no CDN)."""
    import json

    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    results = page.evaluate(f"axe.run(document, {json.dumps(options)})")
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:6])
        + (f" and {len(violation['nodes']) - 6} more" if len(violation["nodes"]) > 6 else "")
        for violation in results["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
    ]


def restore_clinic_groups() -> None:
    """Give the clinic's permission groups ("Clinic staff", "Clinical supervisor") back what the
    data migrations gave them. A live-server test flushes the database after itself, migration
    data too, so a later one that signs staff in calls this first (the migrations' own ``grant``
    functions, run again in order on the migrated models)."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    loader = MigrationLoader(connection)
    models = loader.project_state().apps
    plan = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        plan += [node for node in loader.graph.forwards_plan(leaf) if node not in plan]
    for node in plan:
        for operation in loader.graph.nodes[node].operations:
            if isinstance(operation, RunPython) and operation.code.__name__ == "grant":
                operation.code(models, None)
