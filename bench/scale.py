"""Benchmark data: a PostgreSQL database holding a program of realistic size, for bench/pages.py.

    .venv/bin/python bench/scale.py --database iop_scale [--scale 1.0] [--replace]

At ``--scale 1`` it makes what a multi-site program holds after a year: 10,000 clients (each
with the confidentiality agreement signed, some revoked and signed again), 50 therapists, 800
groups of the four kinds with 3–5 weekly slots each, memberships (every seat filled, a history of
ended ones, a few waitlists), a year of sessions (~160,000: 44 weeks back, the generation horizon
ahead) made by ``scheduling.services.generate_sessions``, attendance (~1,000,000 rows), group
notes and individualized notes (~900,000), reminders (~300,000: sent, failed, cancelled, pending)
and an audit trail with a valid hash chain. ``--scale 0.02`` makes a small copy in seconds; each
count has its own option too (``--clients``, ``--groups``, ...).

History is written with ``bulk_create`` through the models, in chunks, with every constraint
kept; the sessions come from the real generation service, whose time and memory are printed.
The logins the pages bench signs in with (password ``demo-pass-2026``, as the demo's):

- ``client``: a client with several active groups, a portal login and a calendar link;
- ``therapist``: a therapist who facilitates 16 groups;
- ``staff``: a superuser, in the clinic staff group, who reaches every admin page.

Staff and therapists have an authenticator app (django-otp TOTP device) as production requires;
bench/pages.py types its codes. Nobody owes a first-password change.

The database is created (``--replace`` drops it first; without it an existing database must
be empty). It runs with debug off and a fixed bench secret key (``DJANGO_SECRET_KEY`` if set),
which bench/pages.py uses too, so that the audit chain stays verifiable with the same settings.
Not part of the test suite.
"""

import argparse
import datetime
import itertools
import os
import random
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")
# Production settings (debug off): what a clinic's server runs. The key is the bench's own, shared
# with bench/pages.py; the audit chain's key derives from it.
BENCH_SECRET_KEY = "bench-only-secret-key-never-use-in-production-4f1d2c"
os.environ.setdefault("DJANGO_SECRET_KEY", BENCH_SECRET_KEY)
os.environ.setdefault("DJANGO_DEBUG", "off")

PASSWORD = "demo-pass-2026"
WEEKS_BACK = 44
CHUNK = 5000
# Reminder rows are kept for the sessions of the last weeks (older ones are cleaned up in a real
# outbox too) and planned for the next day.
REMINDER_WEEKS = 12

FULL = {"clients": 10_000, "groups": 800, "therapists": 50, "audit_events": 200_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="PostgreSQL database to create and fill")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 10,000 clients and 800 groups")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--groups", type=int)
    parser.add_argument("--therapists", type=int)
    parser.add_argument("--audit-events", type=int)
    parser.add_argument("--weeks-back", type=int, default=WEEKS_BACK, help="weeks of history before this week")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--replace", action="store_true", help="drop the database first if it exists")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the demo clinic instead (seed_demo), with the bench's logins: for query counts at demo size",
    )
    parser.add_argument(
        "--sessions-only",
        action="store_true",
        help="stop after generating the sessions: to measure generate_sessions at this size",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="measure session generation's peak with tracemalloc too (slower: its time is then inflated)",
    )
    options = parser.parse_args()
    for name, full in FULL.items():
        if getattr(options, name) is None:
            setattr(options, name, max(2 if name != "audit_events" else 0, round(full * options.scale)))
    options.therapists = max(2, min(options.therapists, options.groups))

    create_database(options)
    os.environ["DATABASE_URL"] = f"postgres://{options.user}@{options.host}:5432/{options.database}"

    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.monotonic() - started:.1f} s")
    if options.demo:
        call_command("seed_demo")
        bench_logins_for_demo()
        return
    Builder(options).build()


def bench_logins_for_demo() -> None:
    """The demo's logins as the pages bench uses them: staff a superuser (every admin page),
    staff and the therapist with an authenticator app, as on the scale database."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from iop import two_factor
    from iop.permissions import CLINICAL_SUPERVISOR
    from tests.helpers import code_for

    users = get_user_model().objects
    users.filter(username="staff").update(is_superuser=True)
    users.get(username="staff").groups.add(*Group.objects.filter(name=CLINICAL_SUPERVISOR))
    for username in ("staff", "therapist"):
        key = two_factor.new_authenticator_key()
        two_factor.turn_on_authenticator(user=users.get(username=username), key=key, token=code_for(key))
    print("demo logins ready: staff (superuser), therapist, client; staff and therapist with an authenticator app")


def create_database(options) -> None:
    import psycopg

    with psycopg.connect(host=options.host, user=options.user, dbname="postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [options.database]).fetchone()
        if exists and options.replace:
            connection.execute(f'DROP DATABASE "{options.database}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{options.database}"')
            return
    with psycopg.connect(host=options.host, user=options.user, dbname=options.database) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    if tables:
        sys.exit(f"{options.database} exists and is not empty: give --replace to drop it first.")


class Phase:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            print(f"{self.name}: {time.monotonic() - self.started:.1f} s", flush=True)


def copy_rows(model, fields: list[str], rows: list[tuple]) -> None:
    """Rows written with PostgreSQL's COPY, in the columns of the model's ``fields``."""
    from django.db import connection

    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def next_ids(model, count: int) -> list[int]:
    """``count`` ids from the model's id sequence, for rows written with COPY."""
    from django.db import connection

    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def chunks(iterable, size: int = CHUNK):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Builder:
    def __init__(self, options):
        from django.utils import timezone

        from iop.clock import monday_of

        self.options = options
        self.random = random.Random(options.seed)
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.first_day = monday_of(self.today) - datetime.timedelta(weeks=options.weeks_back)

    def build(self) -> None:
        from django.db import connection

        started = time.monotonic()
        with Phase("people (users, therapists, agreement)"):
            self.people()
        with Phase("groups and weekly slots"):
            self.groups_and_slots()
        with Phase("memberships planned"):
            self.plan_memberships()
        with Phase("clients, signatures, memberships"):
            self.clients_and_memberships()
        self.sessions()
        if self.options.sessions_only:
            print(f"stopped after the sessions (--sessions-only): {self.options.database} has no history")
            return
        with Phase("attendance and notes"):
            self.attendance_and_notes()
        with Phase("reminders"):
            self.reminders()
        with Phase("audit trail"):
            self.audit_trail()
        with Phase("logins (second factor, portal)"):
            self.logins()
        with Phase("courses (check-ins, questionnaires, plans)"):
            self.courses()
        with Phase("VACUUM ANALYZE"), connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        self.summary(time.monotonic() - started)

    # --- People ---------------------------------------------------------------------------

    def people(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.hashers import make_password
        from django.contrib.auth.models import Group

        from clients.models import ConfidentialityAgreement
        from groups.models import Therapist
        from iop.permissions import CLINIC_STAFF, CLINICAL_SUPERVISOR
        from progress.management.commands.seed_demo import AGREEMENT_TEXT

        User = get_user_model()
        # One hash for every bench login: hashing 50 passwords costs seconds and proves nothing.
        self.password_hash = make_password(PASSWORD)
        self.staff = User.objects.create(
            username="staff",
            first_name="Sam",
            last_name="Rivera",
            email="staff@clinic.example.org",
            is_staff=True,
            is_superuser=True,
            password=self.password_hash,
        )
        self.staff.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, CLINICAL_SUPERVISOR]))
        firsts = ["Dana", "Marcus", "Priya", "Elena", "Jamal", "Ruth", "Tomas", "Keiko", "Aaron", "Bianca"]
        lasts = ["Whitfield", "Bell", "Raman", "Ortiz", "Hughes", "Moreno", "Lindholm", "Sato", "Grant", "Ivanova"]
        users = User.objects.bulk_create(
            User(
                username="therapist" if n == 0 else f"therapist{n:02d}",
                first_name=firsts[n % len(firsts)],
                last_name=f"{lasts[(n // len(firsts)) % len(lasts)]}{'' if n < 100 else n}",
                email=f"therapist{n}@clinic.example.org",
                password=self.password_hash,
            )
            for n in range(self.options.therapists)
        )
        self.therapists = Therapist.objects.bulk_create(
            Therapist(user=user, credentials=("LCSW", "LPC", "LMFT", "PhD", "LCADC")[n % 5])
            for n, user in enumerate(users)
        )
        self.user_of_therapist = {t.pk: t.user_id for t in self.therapists}
        self.agreement = ConfidentialityAgreement.objects.create(
            version=1, text=AGREEMENT_TEXT, effective_on=self.first_day - datetime.timedelta(weeks=30)
        )

    # --- Groups and their weekly slots ---------------------------------------------------------

    def groups_and_slots(self) -> None:
        from clients.models import LevelOfCare
        from groups.models import TherapyGroup
        from scheduling.models import Closure, WeeklySlot

        kinds = list(TherapyGroup.Kind)
        topics = {
            "psychoeducational": ["Understanding Anxiety", "Mood and Sleep", "How Stress Works", "Family Roles"],
            "skills_development": ["Coping Skills", "Mindfulness & Grounding", "Relapse Prevention", "DBT Skills"],
            "process": ["Open Process", "Men's Process", "Women's Process", "Young Adults Process"],
            "support": ["Weekend Planning Check-in", "Peer Support", "Aftercare Support", "Grupo de Apoyo"],
        }
        count = self.options.groups
        # The first therapist leads exactly 16 groups (the pages bench's "therapist"); the others
        # share the rest evenly.
        leads = [0] * min(16, count)
        others = list(range(1, len(self.therapists))) or [0]
        leads += [others[n % len(others)] for n in range(count - len(leads))]
        self.random.shuffle(leads)
        groups = []
        for n in range(count):
            kind = kinds[n % 4]
            modality = self.random.choices(["in_person", "virtual", "hybrid"], weights=[70, 20, 10])[0]
            lead = self.therapists[leads[n]]
            co = None
            if len(self.therapists) > 2 and self.random.random() < 0.3:
                co = self.random.choice([t for t in self.therapists[1:] if t.pk != lead.pk])
            spanish = self.random.random() < 0.08
            groups.append(
                TherapyGroup(
                    name=f"{topics[kind][(n // 4) % 4]} {n // 16 + 1:03d}-{n % 16 + 1:02d}",
                    kind=kind,
                    capacity=self.random.randint(8, 12),
                    facilitator=lead,
                    co_facilitator=co,
                    modality=modality,
                    room="" if modality == "virtual" else f"Room {100 + n % 90}",
                    video_link="" if modality == "in_person" else f"https://video.example.org/j/{4000 + n}",
                    language="es" if spanish else "en",
                    audience=LevelOfCare.ADOLESCENT_IOP if self.random.random() < 0.15 else LevelOfCare.ADULT_IOP,
                    enrolment="closed" if self.random.random() < 0.1 else "open",
                    start_date=self.first_day - datetime.timedelta(weeks=self.random.randint(0, 20)),
                )
            )
        self.groups = TherapyGroup.objects.bulk_create(groups)
        times = [datetime.time(h, m) for h, m in [(9, 0), (10, 30), (13, 0), (14, 30), (16, 0), (17, 30), (19, 0)]]
        objectives = [
            "Identify triggers and plan coping skills",
            "Practise grounding techniques",
            "Open sharing of challenges and successes",
            "Psychoeducation: how mood and anxiety work",
            "Support check-in and weekend planning",
        ]
        slots = []
        for group in self.groups:
            per_week = self.random.choices([3, 4, 5], weights=[35, 45, 20])[0]
            start = self.random.choice(times)
            for weekday in sorted(self.random.sample(range(5), per_week)):
                slots.append(
                    WeeklySlot(
                        group=group,
                        weekday=weekday,
                        start_time=start,
                        duration_minutes=self.random.choice([60, 75, 90]),
                        is_virtual=group.modality == "virtual",
                        default_objective=self.random.choice(objectives),
                        effective_from=group.start_date,
                    )
                )
        self.slots = WeeklySlot.objects.bulk_create(slots)
        holidays = [("Thanksgiving", 4, 3), ("Winter break", 12, 24), ("Independence Day", 7, 4), ("Labor Day", 9, 1)]
        for name, month, day in holidays:
            for year in (self.first_day.year, self.first_day.year + 1):
                starts = datetime.date(year, month, day)
                if self.first_day <= starts <= self.today + datetime.timedelta(weeks=8):
                    ends = starts + datetime.timedelta(days=1 if name == "Winter break" else 0)
                    Closure.objects.create(name=name, starts_on=starts, ends_on=ends)

    # --- Memberships ----------------------------------------------------------------------

    def plan_memberships(self) -> None:
        """Every seat of every group filled from before the first week to today, one member after
        another (6–16 weeks each, a few days between), by clients drawn at random, so a client
        belongs to several groups over the year and, now, to about one active group in three."""
        from iop.clock import start_of_day

        self.memberships = []  # dicts, inserted once the clients exist
        clients = self.options.clients
        # Per group, the days each client was a member: one client never holds two seats at once.
        busy = defaultdict(lambda: defaultdict(list))
        for group in self.groups:
            for _seat in range(group.capacity):
                day = self.first_day - datetime.timedelta(days=self.random.randint(0, 90))
                while day <= self.today:
                    length = datetime.timedelta(weeks=self.random.randint(6, 16))
                    ended = day + length if day + length <= self.today else None
                    client = self._free_client(clients, busy[group.pk], day, ended)
                    self.memberships.append(
                        {
                            "client": client,
                            "group": group.pk,
                            "status": "ended" if ended else "active",
                            "joined_on": day,
                            "joined_at": start_of_day(day),
                            "ended_on": ended,
                            "end_reason": self.random.choices(
                                ["completed", "discharged", "transferred", "withdrew"], weights=[70, 15, 8, 7]
                            )[0]
                            if ended
                            else "",
                        }
                    )
                    if ended is None:
                        break
                    day = ended + datetime.timedelta(days=self.random.randint(0, 28))
        active_clients = {m["client"] for m in self.memberships if m["status"] == "active"}
        # Full groups with a short waitlist: clients in care, not already in the group.
        for group in self.random.sample(self.groups, k=len(self.groups) // 7):
            for n in range(self.random.randint(1, 3)):
                client = self._free_client(clients, busy[group.pk], self.today, None, among=sorted(active_clients))
                self.memberships.append(
                    {
                        "client": client,
                        "group": group.pk,
                        "status": "waitlisted",
                        "waitlisted_at": self.now - datetime.timedelta(days=10 - n),
                    }
                )

    def _free_client(self, clients: int, busy, first: datetime.date, end: datetime.date | None, among=None) -> int:
        """A client index not in the group between ``first`` and ``end`` (open: None), and marks
        them so: the database allows one open membership per client and group, and a roster
        counts a client once."""
        end = end or datetime.date.max
        while True:
            client = self.random.choice(among) if among else self.random.randrange(clients)
            if all(end <= start or until <= first for start, until in busy[client]):
                busy[client].append((first, end))
                return client

    def clients_and_memberships(self) -> None:
        from clients.models import AgreementSignature, Client
        from groups.models import Membership

        by_client = defaultdict(list)
        for membership in self.memberships:
            by_client[membership["client"]].append(membership)
        firsts = "Jordan Maria Tyrone Linh Samuel Rebecca Carlos Aisha Daniel Grace Omar Emily Robert Sofia Patrick "
        firsts += "Naomi Victor Jasmine Ahmed Claire Ethan Fatima George Isabel Kevin Monica Noah Olivia Peter Rosa"
        lasts = "Avery Gonzalez Jackson Nguyen Okafor Stein Ramirez Rahman Kowalski Kim Freeman Lindqvist Herrera "
        lasts += "Thompson Haddad Carter Nakamura Castillo O'Brien Brooks Petrov Wright Yusuf Dubois Morales Ali "
        lasts += "Papadopoulos Reyes Walsh Patel Schmidt Bennett Lindgren Jimenez Murphy Chen Johnson Williams"
        firsts, lasts = firsts.split(), lasts.split()
        rows = []
        for n in range(self.options.clients):
            mine = by_client.get(n, [])
            joined = [m["joined_on"] for m in mine if m.get("joined_on")]
            if any(m["status"] != "ended" for m in mine) and joined:
                status, admitted, discharged = "active", min(joined) - datetime.timedelta(days=3), None
            elif joined:
                admitted = min(joined) - datetime.timedelta(days=3)
                status, discharged = "discharged", max(m["ended_on"] for m in mine)
                # As scheduling.enrolment.discharge_client ends them: the discharge ends each
                # membership still open that day.
                for membership in mine:
                    if membership["ended_on"] == discharged:
                        membership["end_reason"] = "discharged"
            else:
                status, admitted, discharged = "intake", None, None
            first, last = firsts[n % len(firsts)], lasts[(n * 7 + n // 97) % len(lasts)]
            rows.append(
                Client(
                    chart_number=f"IOP-{20000 + n}",
                    legal_first_name=first,
                    legal_last_name=last,
                    preferred_name=first[:3] if n % 9 == 0 else "",
                    date_of_birth=datetime.date(1960 + n % 45, 1 + n % 12, 1 + n % 28),
                    email=f"{first.lower()}.{n}@example.org",
                    phone=f"+1-555-{n % 10000:04d}",
                    status=status,
                    admission_date=admitted,
                    discharge_date=discharged,
                    level_of_care="adolescent_iop" if n % 8 == 0 else "adult_iop",
                    preferred_language="es" if n % 12 == 0 else "en",
                    reminder_channel="sms" if n % 3 == 0 else "email",
                    reminder_consent=n % 5 != 0,
                )
            )
        self.clients = []
        for chunk in chunks(rows):
            self.clients += Client.objects.bulk_create(chunk)
        # A few couples treated together.
        for a, b in zip(self.clients[1:400:40], self.clients[2:400:40], strict=True):
            Client.objects.filter(pk=a.pk).update(partner=b.pk)
            Client.objects.filter(pk=b.pk).update(partner=a.pk)
        signatures = []
        for n, client in enumerate(self.clients):
            signed = client.admission_date or (self.today - datetime.timedelta(days=2))
            signed_at = datetime.datetime.combine(
                signed - datetime.timedelta(days=1), datetime.time(11), tzinfo=datetime.UTC
            )
            if n % 31 == 0:  # signed, revoked (a mistake on the form), signed again
                signatures.append(
                    AgreementSignature(
                        client=client,
                        agreement=self.agreement,
                        signed_at=signed_at - datetime.timedelta(days=1),
                        witnessed_by=self.staff,
                        revoked_at=signed_at - datetime.timedelta(hours=2),
                        revoked_reason="Signed on the wrong form; signed again.",
                        revoked_by=self.staff,
                    )
                )
            signature = AgreementSignature(
                client=client, agreement=self.agreement, signed_at=signed_at, witnessed_by=self.staff
            )
            signatures.append(signature)
        for chunk in chunks(signatures):
            AgreementSignature.objects.bulk_create(chunk)
        rows = []
        for planned in self.memberships:
            fields = dict(planned)
            client, group = fields.pop("client"), fields.pop("group")
            rows.append(Membership(client_id=self.clients[client].pk, group_id=group, **fields))
        self.memberships = []
        for chunk in chunks(rows):
            self.memberships += Membership.objects.bulk_create(chunk)

    # --- Sessions -------------------------------------------------------------------------

    def sessions(self) -> None:
        """A year of sessions through the service that makes them every night."""
        from django.conf import settings

        from scheduling.models import Session
        from scheduling.services import generate_sessions

        weeks = settings.SESSION_GENERATION_WEEKS
        if self.options.trace_memory:
            tracemalloc.start()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.monotonic()
        generation = generate_sessions(start=self.first_day, today=self.today, weeks=weeks)
        seconds = time.monotonic() - started
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        made = len(generation.made)
        del generation
        print(
            f"generate_sessions: {made} sessions for {len(self.groups)} groups "
            f"({self.options.weeks_back} weeks back, {weeks} ahead) in {seconds:.1f} s, "
            f"peak RSS +{(rss_after - rss_before) / 1024:.0f} MB",
            flush=True,
        )
        if self.options.trace_memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"generate_sessions: tracemalloc peak {peak / 2**20:.0f} MB (time above includes tracing)")
        if self.options.sessions_only:
            return
        with Phase("sessions: the past marked held, substitutes"):
            start_today = self._start_today()
            past = Session.objects.filter(ends_at__lt=start_today).exclude(status=Session.Status.CANCELLED)
            # Attendance is taken (first_recorded_at) at the end of each meeting.
            past.update(status=Session.Status.HELD, first_recorded_at=_ends_at_expression())
            # A substitute covers about one meeting in fifty.
            ids = list(Session.objects.values_list("pk", flat=True))
            substitutes = defaultdict(list)
            for pk in self.random.sample(ids, k=len(ids) // 50):
                substitutes[self.random.choice(self.therapists).pk].append(pk)
            for therapist_id, pks in substitutes.items():
                Session.objects.filter(pk__in=pks).update(facilitator_id=therapist_id)

    def _start_today(self):
        from iop.clock import start_of_day

        return start_of_day(self.today)

    # --- Attendance and notes -------------------------------------------------------------

    def attendance_and_notes(self) -> None:
        """A year of meetings as recorded: attendance for every member at the start, a group note
        (signed, but for a few; the last two days' half written and unsigned) with an
        individualized note per attending member. Written with COPY: a million rows through
        ``bulk_create`` take minutes on two CPUs."""
        from django.db import transaction
        from django.db.models import OuterRef, Subquery
        from django.utils import timezone

        from progress.models import Attendance, GroupNote, IndividualNote
        from scheduling.models import Session

        members = defaultdict(list)
        for m in self.memberships:
            if m.joined_at is not None:
                members[m.group_id].append((m.client_id, m.joined_at, m.ended_on))
        sessions = (
            Session.objects.filter(status=Session.Status.HELD)
            .order_by("starts_at", "pk")
            .values_list("pk", "group_id", "starts_at", "ends_at", "facilitator_id", "room", "video_link", "objective")
        )
        two_days_ago = self.now - datetime.timedelta(days=2)
        statuses = ["present", "late", "left_early", "absent", "excused"]
        observations = [
            "Quiet throughout; listened, declined to share when invited.",
            "Spoke briefly when invited; eye contact improving.",
            "Took part in the exercise and offered one example.",
            "Engaged actively and gave supportive feedback to peers.",
            "Spoke at length several times; needed prompting to leave room for others.",
        ]
        attendance_columns = [
            "session",
            "client",
            "status",
            "minutes_attended",
            "mode",
            "participation",
            "observation",
            "recorded_by",
            "recorded_at",
            "updated_at",
        ]
        note_columns = [
            "id",
            "session",
            "topic",
            "objective",
            "interventions",
            "group_dynamics",
            "created_by",
            "created_at",
            "updated_at",
            "signed_by",
            "signed_at",
        ]
        individual_columns = ["group_note", "client", "behaviour", "intervention", "response", "plan"]
        self.attendance_count = self.note_count = self.individual_count = 0
        for chunk in chunks(list(sessions), 2000):
            attendance, notes, individual = [], [], []
            note_ids = iter(next_ids(GroupNote, len(chunk)))
            for pk, group_id, starts_at, ends_at, facilitator_id, room, video_link, objective in chunk:
                recorder = self.user_of_therapist[facilitator_id]
                minutes = int((ends_at - starts_at).total_seconds() // 60)
                day = timezone.localdate(starts_at)
                attending = []
                for client_id, joined_at, ended_on in members[group_id]:
                    # groups.models.was_member_at, with the session's day reckoned once.
                    if joined_at > starts_at or (ended_on is not None and ended_on <= day):
                        continue
                    status = self.random.choices(statuses, weights=[86, 5, 3, 4, 2])[0]
                    came = status in ("present", "late", "left_early")
                    level = self.random.choices(range(5), weights=[8, 20, 40, 25, 7])[0] if came else 0
                    by_video = not room or (video_link and self.random.random() < 0.3)
                    attendance.append(
                        (
                            pk,
                            client_id,
                            status,
                            (minutes - (15 if status != "present" else 0)) if came else 0,
                            "virtual" if by_video else "in_person",
                            level,
                            observations[level] if came else "",
                            recorder,
                            ends_at,
                            ends_at,
                        )
                    )
                    if came:
                        attending.append(client_id)
                if not attending:
                    continue
                recent = ends_at > two_days_ago
                if recent and self.random.random() < 0.5:
                    continue  # the note of a meeting of the last two days is not written yet
                signed = not recent and self.random.random() > 0.02
                note_id = next(note_ids)
                written = ends_at + datetime.timedelta(hours=1)
                notes.append(
                    (
                        note_id,
                        pk,
                        "Recognising early warning signs",
                        objective,
                        "Psychoeducation on the stress cycle; guided grounding; paired practice.",
                        "Cohesive overall; quieter members were invited in through a round.",
                        recorder,
                        written,
                        written,
                        recorder if signed else None,
                        ends_at + datetime.timedelta(hours=3) if signed else None,
                    )
                )
                individual.extend(
                    (
                        note_id,
                        client_id,
                        "Named a trigger from the week and a coping skill used.",
                        "Reflective listening; invited to name one coping skill.",
                        "Named a coping skill to try before the next session.",
                        "Continue attending; practise the grounding exercise daily.",
                    )
                    for client_id in attending
                )
            with transaction.atomic():
                copy_rows(Attendance, attendance_columns, attendance)
                copy_rows(GroupNote, note_columns, notes)
                copy_rows(IndividualNote, individual_columns, individual)
            self.attendance_count += len(attendance)
            self.note_count += len(notes)
            self.individual_count += len(individual)
        # Each session carries its note's signature, as progress.notes.sign_note leaves it.
        signed_at = GroupNote.objects.filter(session=OuterRef("pk")).values("signed_at")
        Session.objects.filter(group_note__signed_at__isnull=False).update(note_signed_at=Subquery(signed_at))
        print(
            f"  {self.attendance_count} attendance rows, {self.note_count} group notes, "
            f"{self.individual_count} individualized notes"
        )

    # --- Reminders ------------------------------------------------------------------------

    def reminders(self) -> None:
        """The outbox of the last weeks (sent, a few failed or cancelled) and of the next day
        (pending), for consenting active clients, two kinds per session."""
        from django.db import transaction
        from django.utils import timezone

        from clients.models import Client
        from scheduling.models import Reminder, Session

        reachable = {
            c.pk: c.reminder_channel
            for c in self.clients
            if c.reminder_consent and c.status == Client.Status.ACTIVE and c.reminder_channel != "none"
        }
        members = defaultdict(list)
        for m in self.memberships:
            if m.joined_at is not None and m.client_id in reachable:
                members[m.group_id].append((m.client_id, m.joined_at, m.ended_on))
        since = self._start_today() - datetime.timedelta(weeks=REMINDER_WEEKS)
        sessions = (
            Session.objects.filter(starts_at__gte=since, starts_at__lte=self.now + datetime.timedelta(hours=24))
            .exclude(status=Session.Status.CANCELLED)
            .order_by("starts_at", "pk")
            .values_list("pk", "group_id", "starts_at")
        )
        columns = [
            "session",
            "client",
            "channel",
            "kind",
            "session_starts_at",
            "send_at",
            "status",
            "attempts",
            "last_error",
            "enqueued_at",
            "claimed_at",
            "claimed_by",
            "sent_at",
            "created_at",
            "updated_at",
        ]
        kinds = {"24h": datetime.timedelta(hours=24), "2h": datetime.timedelta(hours=2)}
        self.reminder_count = 0
        for chunk in chunks(list(sessions), 2000):
            rows = []
            for pk, group_id, starts_at in chunk:
                planned = starts_at - datetime.timedelta(hours=30)
                day = timezone.localdate(starts_at)
                for client_id, joined_at, ended_on in members[group_id]:
                    if joined_at > starts_at or (ended_on is not None and ended_on <= day):
                        continue
                    for kind, before in kinds.items():
                        send_at = starts_at - before
                        status, attempts, error, enqueued, sent = "pending", 0, "", None, None
                        if send_at <= self.now:
                            outcome = self.random.random()
                            attempts, enqueued = 1, send_at + datetime.timedelta(seconds=5)
                            if outcome < 0.03:
                                status, attempts = "failed", 5
                                error = "SMTPRecipientsRefused: mailbox unavailable"
                            elif outcome < 0.05:
                                status = "cancelled"
                            else:
                                status, sent = "sent", send_at + datetime.timedelta(seconds=7)
                        rows.append(
                            (
                                pk,
                                client_id,
                                reachable[client_id],
                                kind,
                                starts_at,
                                send_at,
                                status,
                                attempts,
                                error,
                                enqueued,
                                enqueued,
                                "",
                                sent,
                                planned,
                                sent or enqueued or planned,
                            )
                        )
            with transaction.atomic():
                copy_rows(Reminder, columns, rows)
            self.reminder_count += len(rows)
        print(f"  {self.reminder_count} reminders")

    # --- The audit trail ------------------------------------------------------------------

    def audit_trail(self) -> None:
        """Reads and writes of a year, in time order, each row linked to the one before as
        ``audit.trail.record`` links them (the same chain: manage.py verify_audit holds)."""
        from types import SimpleNamespace

        from django.db import transaction

        from audit.models import AuditEvent
        from audit.trail import CHAINED_FIELDS, GENESIS, hold_chain, link

        count = self.options.audit_events
        if not count:
            return
        end = self.now - datetime.timedelta(minutes=5)
        start = datetime.datetime.combine(self.first_day, datetime.time(8), tzinfo=datetime.UTC)
        step = (end - start) / count
        therapist_users = {t.user_id: t.user.username for t in self.therapists}
        user_ids = list(therapist_users)
        client_ids = [c.pk for c in self.clients]
        kinds = [
            ("therapist", "view", "scheduling.session", "session page"),
            ("therapist", "view", "progress.groupnote", "note page"),
            ("therapist", "view", "groups.therapygroup", "group page"),
            ("staff", "view", "clients.client", "client change page"),
            ("staff", "change", "groups.membership", "membership ended"),
            ("therapist", "login", "auth.user", "signed in"),
        ]
        columns = ["id", *CHAINED_FIELDS, "chain"]
        with transaction.atomic():
            hold_chain()
            previous = AuditEvent.objects.order_by("-id").values_list("chain", flat=True).first() or GENESIS
            for numbers in chunks(range(count), 20_000):
                rows = []
                ids = iter(next_ids(AuditEvent, len(numbers)))
                for n in numbers:
                    role, action, model, detail = kinds[n % len(kinds)]
                    user_id = self.staff.pk if role == "staff" else user_ids[n % len(user_ids)]
                    event = SimpleNamespace(
                        at=start + step * n,
                        user_id=user_id,
                        username="staff" if role == "staff" else therapist_users[user_id],
                        role=role,
                        action=action,
                        model=model,
                        object_id=str(n % 5000 + 1),
                        client_id=None if action == "login" else client_ids[(n * 7919) % len(client_ids)],
                        detail=detail,
                        ip=f"10.0.0.{n % 250 + 1}",
                        user_agent="Mozilla/5.0 (bench)",
                        request_id=f"00000000-0000-4000-8000-{n:012d}",
                    )
                    previous = link(previous, event)
                    rows.append((next(ids), *(getattr(event, name) for name in CHAINED_FIELDS), previous))
                copy_rows(AuditEvent, columns, rows)

    # --- The bench's logins ---------------------------------------------------------------

    def logins(self) -> None:
        from django.contrib.auth import get_user_model

        from clients.models import Client
        from groups.models import Membership
        from iop import two_factor
        from tests.helpers import code_for

        # The client with the most active groups (at least one) gets the portal login.
        active = Membership.objects.active().values_list("client_id", flat=True)
        counts = defaultdict(int)
        for client_id in active:
            counts[client_id] += 1
        client = Client.objects.get(pk=max(counts, key=lambda pk: (counts[pk], -pk)))
        client.portal_user = get_user_model().objects.create(
            username="client",
            first_name=client.first_name,
            last_name=client.legal_last_name,
            password=self.password_hash,
        )
        client.save(update_fields=["portal_user"])
        self.portal_client = client
        self.portal_groups = counts[client.pk]
        for user in (self.staff, self.therapists[0].user):
            key = two_factor.new_authenticator_key()
            two_factor.turn_on_authenticator(user=user, key=key, token=code_for(key))

    # --- A year of the progress measures -------------------------------------------------

    def courses(self) -> None:
        """The portal client and the therapist's client with the most attendance (whose progress
        page the pages bench opens, ``course_client``) get what a long stay holds beside its
        attendance: a check-in every week, a PHQ-9 and a GAD-7 every two weeks, and a treatment
        plan with goals and their histories. A current client of the therapist answers PHQ-9 item 9
        above 0 this morning: an open safety alert on the therapist's pages and the clinic's dashboard."""
        from django.utils import timezone

        from progress.checkins import record_measure
        from progress.models import CheckIn, Goal, GoalStatusChange, MeasureResponse, TreatmentPlan
        from progress.selectors import memberships_led_by

        rng = random.Random(self.options.seed + 13)
        today = timezone.localdate()
        monday = today - datetime.timedelta(days=today.weekday())
        therapist = self.therapists[0]
        for client in {self.portal_client, course_client(therapist)} - {None}:
            weeks = [monday - datetime.timedelta(weeks=n) for n in range(self.options.weeks_back, -1, -1)]
            CheckIn.objects.bulk_create(
                CheckIn(
                    client=client,
                    week=week,
                    mood=min(10, 3 + n // 8 + rng.randint(0, 2)),
                    coping=min(10, 3 + n // 9 + rng.randint(0, 2)),
                    cravings=max(0, 7 - n // 8 - rng.randint(0, 2)),
                    what_helped=rng.choice(["Calling my sister.", "Walking after dinner.", "", "Going to group."]),
                )
                for n, week in enumerate(weeks)
            )
            responses = []
            for n, week in enumerate(weeks[::2]):
                for instrument, items, start in (("phq9", 9, 17), ("gad7", 7, 13)):
                    total = max(2, start - n // 2 + rng.randint(-1, 1))
                    answers = [0] * 9
                    remaining = total
                    for item in range(items - 1 if items == 9 else items):  # PHQ-9 item 9 stays 0
                        answers[item] = min(3, remaining)
                        remaining -= answers[item]
                    responses.append(
                        MeasureResponse(
                            client=client,
                            instrument=instrument,
                            occasion="admission" if n == 0 else "follow_up",
                            source="portal",
                            taken_on=timezone.make_aware(datetime.datetime.combine(week, datetime.time(19))),
                            total=total,
                            **{f"item_{i + 1}": answers[i] if i < items else None for i in range(9)},
                        )
                    )
            MeasureResponse.objects.bulk_create(responses)
            plan = TreatmentPlan.objects.create(
                client=client, started_on=weeks[0], last_reviewed_on=monday, created_by=therapist.user
            )
            for n in range(6):
                status = (
                    Goal.Status.ACTIVE
                    if n < 3
                    else [Goal.Status.MET, Goal.Status.REVISED, Goal.Status.PARTLY_MET][n - 3]
                )
                goal = Goal.objects.create(
                    plan=plan,
                    problem="I drink when I can't sleep.",
                    goal=f"Goal {n + 1}: sleep without drinking.",
                    objectives="Uses the wind-down routine 5 of 7 nights.",
                    target_date=weeks[0] + datetime.timedelta(weeks=8 * (n + 1)),
                    status=status,
                    created_by=therapist.user,
                )
                GoalStatusChange.objects.create(
                    goal=goal, from_status="", to_status="active", changed_at=goal.created_at, changed_by=therapist.user
                )
                if status != Goal.Status.ACTIVE:
                    GoalStatusChange.objects.create(
                        goal=goal,
                        from_status="active",
                        to_status=status,
                        changed_at=goal.created_at,
                        changed_by=therapist.user,
                        note="Reviewed with the client.",
                    )

        current = memberships_led_by(therapist, history=False).order_by("pk").first()
        if current is not None:
            answers = {f"item_{number}": 1 for number in range(1, 10)}
            record_measure(client=current.client, instrument="phq9", answers=answers, difficulty=1)

    def summary(self, seconds: float) -> None:
        from django.apps import apps

        print(f"built {self.options.database} in {seconds:.0f} s (after migrating)")
        labels = [
            "clients.client",
            "clients.agreementsignature",
            "groups.therapist",
            "groups.therapygroup",
            "groups.membership",
            "scheduling.weeklyslot",
            "scheduling.session",
            "progress.attendance",
            "progress.groupnote",
            "progress.individualnote",
            "scheduling.reminder",
            "audit.auditevent",
        ]
        for label in labels:
            print(f"  {label:<28}{apps.get_model(label).objects.count():>10}")
        led = sum(1 for group in self.groups if group.facilitator_id == self.therapists[0].pk)
        print(
            f"logins (password {PASSWORD}): staff (superuser), therapist ({led} groups), "
            f"client ({self.portal_client.chart_number}, {self.portal_groups} active groups)"
        )


def course_client(therapist):
    """The client of the therapist's groups (now or before) with the most attendance: the longest
    course the therapist can open, whose progress page bench/pages.py measures."""
    from django.db.models import Count

    from progress.selectors import clients_of_therapist

    return (
        clients_of_therapist(therapist, history=True)
        .annotate(sessions=Count("attendances"))
        .order_by("-sessions", "pk")
        .first()
    )


def _ends_at_expression():
    from django.db.models import F

    return F("ends_at")


if __name__ == "__main__":
    main()
