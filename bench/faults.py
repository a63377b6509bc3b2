"""Fault injection (issue 11): drop database connections, pause and kill Redis, kill the worker,
under load, and count what it cost in requests and reminders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/iop_faults \\
    .venv/bin/python bench/faults.py [--scenario db-drop --scenario redis-kill ...] [--wait 150]

It builds its own PostgreSQL database (``iop_faults_bench``, dropped at the end; only the server
part of DATABASE_URL is used) and starts, as its own children: a ``redis-server`` on port 6391
(no persistence, so a restart comes back empty), gunicorn with 2 sync workers on a free port, one
``celery worker`` (4 processes, the project's settings otherwise) and ``celery beat`` (its
schedule file in a temporary folder). They run with production settings (DJANGO_DEBUG off, a
secret key, static files collected for WhiteNoise), except what plain http on localhost needs:
DJANGO_SECURE_SSL_REDIRECT, DJANGO_SECURE_COOKIES and the HSTS header off, and IOP_REQUIRE_2FA off
so that the bench signs in with a password. The worker's mail goes to files through
``bench.slow_mail.EmailBackend``, whose answer delay the bench sets per scenario.

Every scenario plans its own reminders (rows of sessions three days or more ahead, so the
sweep plans nothing of its own), due over the time of the fault, and two threads ask pages all
along (/healthz, the login page, the therapist's dashboard, the admin's session list).

    db-drop       pg_terminate_backend on every connection to the database but the bench's,
                  5 times, 10 s apart
    redis-pause   SIGSTOP Redis for 20 s, then SIGCONT; an admin "cancel 5 sessions" meanwhile
    redis-kill    kill -9 Redis right after the sweep published a batch; 30 s later it starts
                  again, empty; an admin "cancel 5 sessions" meanwhile
    worker-kill   kill -9 the worker and its processes while it holds prefetched messages (the
                  mail server answers in 100 ms); the bench restarts it 5 s later
    crash-window  the mail server answers in 200 ms; kill -9 the worker's processes 3 times while
                  they send (the worker replaces them)

For each: requests, 5xx answers (and /healthz's 503, which says a part is down), requests with no
answer, the slowest request during the fault; reminders planned / sent / duplicated (a Message-ID
delivered twice) / lost (due but not delivered within ``--wait`` seconds of the end of the fault);
the longest delay from the end of the fault to a delivery, max(delivery − max(send_at, fault
end)), the delivery being the time the mail file was written. The bench plays the supervisor: a
process that exits on its own is restarted 5 s later, and the report says so. Everything it
started, and the database, is removed at the end, also on Ctrl-C or an error. Not part of the
test suite.

A row left "sending" or "published" by a fault goes out again only when a timer fires
(REMINDER_STALE_AFTER_SECONDS, REMINDER_REQUEUE_AFTER_SECONDS); ``--linger 330`` keeps everything
running that long after the last scenario, and the summary's dup@end and late@end columns count
what those re-sends delivered. All five scenarios take about 14 minutes without it.
"""

import argparse
import contextlib
import datetime
import email
import http.client
import http.cookiejar
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_NAME = "iop_faults_bench"
# The bench's own database connection carries this name, so that dropping "every connection but
# the bench's" can tell them apart.
BENCH_APPLICATION_NAME = "iop-faults-bench"
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "iop.settings",
    "DJANGO_DEBUG": "off",
    "DJANGO_SECRET_KEY": "bench-faults-not-a-real-secret-0123456789abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    # Plain http on localhost: no redirect to https, cookies without the Secure flag, no HSTS.
    "DJANGO_SECURE_SSL_REDIRECT": "off",
    "DJANGO_SECURE_COOKIES": "off",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    # The bench signs in with a password; a second factor would need a TOTP device per user.
    "IOP_REQUIRE_2FA": "off",
}
SCENARIOS = ["db-drop", "redis-pause", "redis-kill", "worker-kill", "crash-window"]
REMINDER_KINDS = ["24h", "2h"]
CANCELLED_PER_ACTION = 5
REMINDED_PER_CANCELLED_SESSION = 3
RESTART_AFTER_SECONDS = 5  # what a supervisor waits before starting an exited process again
LOAD_PAGES = ["/healthz", "/accounts/login/", "/therapist/", "/admin/scheduling/session/"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    parser.add_argument("--wait", type=float, default=150, help="seconds to wait for reminders after each fault")
    parser.add_argument("--pause", type=float, default=10, help="seconds between scenarios")
    parser.add_argument("--reminders", type=int, default=200, help="reminders planned per scenario")
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument(
        "--linger",
        type=float,
        default=0,
        help="seconds to keep everything running after the last scenario, so that re-sends by the 5- and "
        "10-minute timers show in the summary's dup@end and late@end",
    )
    options = parser.parse_args()
    scenarios = [name for name in SCENARIOS if name in (options.scenario or SCENARIOS)]

    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/iop_faults")
    if not server_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL=postgres://... (the bench creates its own database on that server).")
    server_url = server_url.rsplit("/", 1)[0]
    broker_url = f"redis://127.0.0.1:{options.redis_port}/0"
    os.environ.update(
        PRODUCTION_ENV | {"DATABASE_URL": f"{server_url}/{DATABASE_NAME}", "CELERY_BROKER_URL": broker_url}
    )
    # Ctrl-C and TERM both end in the clean-up below.
    signal.signal(signal.SIGTERM, interrupt)

    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    settings_dict = connections["default"].settings_dict
    settings_dict["TEST"]["NAME"] = DATABASE_NAME
    settings_dict["OPTIONS"]["application_name"] = BENCH_APPLICATION_NAME

    workdir = Path(tempfile.mkdtemp(prefix="iop-faults-"))
    (workdir / "outbox").mkdir()
    child_env = os.environ | {
        "DATABASE_URL": f"{server_url}/{DATABASE_NAME}",
        "EMAIL_BACKEND": "bench.slow_mail.EmailBackend",
        "EMAIL_FILE_PATH": str(workdir / "outbox"),
        "BENCH_MAIL_DELAY_FILE": str(workdir / "mail-delay-ms"),
        "PYTHONPATH": str(ROOT),
    }
    bench = Bench(options=options, workdir=workdir, env=child_env)
    databases = None
    started = time.monotonic()
    try:
        print(f"Building database {DATABASE_NAME} ...", flush=True)
        databases = setup_databases(verbosity=0, interactive=False)
        bench.clinic = build_clinic(scenario_count=len(SCENARIOS), reminders=options.reminders)
        bench.start_all()
        bench.start_load()
        for number, name in enumerate(scenarios):
            if number:
                bench.sleep(options.pause)
            bench.run(name)
        if options.linger:
            print(f"\nLingering {options.linger:g} s for late deliveries ...", flush=True)
            bench.sleep(options.linger)
        bench.stop_load()
        bench.report()
    except KeyboardInterrupt:
        print("\nInterrupted: cleaning up.", flush=True)
    finally:
        bench.stop_load()
        bench.stop_all()
        if databases is not None:
            terminate_backends()  # nothing may hold the database it is about to drop
            connections.close_all()
            teardown_databases(databases, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"Total time: {time.monotonic() - started:.0f} s", flush=True)


# --- The clinic -----------------------------------------------------------------------------


@dataclass
class Clinic:
    # Per scenario, the sessions its reminders are about: (session, its members' client ids).
    scenario_sessions: list[list[tuple[object, list[int]]]]
    # Sessions that the admin cancels during broker faults; their clients were already reminded.
    cancellable: list[int]
    usernames: dict[str, str]


def build_clinic(*, scenario_count: int, reminders: int) -> Clinic:
    """Groups of ten consenting members with one session per scenario each, three days ahead and
    later (beyond the sweep's 24-hour window), and one group whose sessions have reminders sent."""
    from django.utils import timezone

    from bench.clinic import MEMBERS_PER_GROUP, groups_of_consenting_members
    from groups.models import Therapist
    from scheduling.models import Reminder, Session
    from tests.factories import PASSWORD, UserFactory

    group_count = max(1, math.ceil(reminders / (MEMBERS_PER_GROUP * len(REMINDER_KINDS))))
    therapist = Therapist.objects.create(user=UserFactory(username="bench-therapist"), credentials="LCSW")
    UserFactory(username="bench-staff", is_staff=True, is_superuser=True)
    groups, clients = groups_of_consenting_members(therapist, group_count + 1, tag="faults")
    members = defaultdict(list)
    for n, client in enumerate(clients):
        members[groups[n // MEMBERS_PER_GROUP].pk].append(client.pk)
    first_day = timezone.localtime().replace(hour=10, minute=0, second=0, microsecond=0) + datetime.timedelta(days=3)

    def sessions_of(group, count):
        return [
            Session(
                group=group,
                starts_at=first_day + datetime.timedelta(days=day),
                ends_at=first_day + datetime.timedelta(days=day, minutes=90),
                objective="Bench",
                facilitator=therapist,
                room=group.room,
            )
            for day in range(count)
        ]

    *reminder_groups, cancel_group = groups
    scenario_sessions = [[] for _ in range(scenario_count)]
    for group in reminder_groups:
        for number, session in enumerate(Session.objects.bulk_create(sessions_of(group, scenario_count))):
            scenario_sessions[number].append((session, members[group.pk]))
    cancellable = Session.objects.bulk_create(sessions_of(cancel_group, 4 * CANCELLED_PER_ACTION))
    now = timezone.now()
    Reminder.objects.bulk_create(
        Reminder(
            session=session,
            client_id=client_id,
            channel=Reminder.Channel.EMAIL,
            kind=REMINDER_KINDS[0],
            session_starts_at=session.starts_at,
            send_at=now,
            status=Reminder.Status.SENT,
            sent_at=now,
        )
        for session in cancellable
        for client_id in members[cancel_group.pk][:REMINDED_PER_CANCELLED_SESSION]
    )
    return Clinic(
        scenario_sessions=scenario_sessions,
        cancellable=[session.pk for session in cancellable],
        usernames={"therapist": "bench-therapist", "staff": "bench-staff", "password": PASSWORD},
    )


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def reminder_slots(sessions: list[tuple[object, list[int]]]) -> list[tuple[object, int, str]]:
    """Every (session, client, kind) a scenario's sessions can hold one reminder row for."""
    return [
        (session, client_id, kind)
        for session, client_ids in sessions
        for client_id in client_ids
        for kind in REMINDER_KINDS
    ]


def plan(slots: list[tuple[object, int, str]], offsets: list[float]) -> list[int]:
    """One reminder row per offset (seconds from now), in these slots, due then."""
    from django.utils import timezone

    from scheduling.models import Reminder

    if len(offsets) > len(slots):
        raise ValueError(f"{len(offsets)} reminders asked, the clinic holds {len(slots)} per scenario")
    now = timezone.now()
    rows = Reminder.objects.bulk_create(
        Reminder(
            session=session,
            client_id=client_id,
            channel=Reminder.Channel.EMAIL,
            kind=kind,
            session_starts_at=session.starts_at,
            send_at=now + datetime.timedelta(seconds=offset),
        )
        for (session, client_id, kind), offset in zip(slots, offsets, strict=False)
    )
    return [row.pk for row in rows]


def spread(count: int, start: float, end: float) -> list[float]:
    return [start + (end - start) * n / max(count - 1, 1) for n in range(count)]


def terminate_backends() -> int:
    """pg_terminate_backend on every connection to the bench database except the bench's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name <> %s",
            [BENCH_APPLICATION_NAME],
        )
        return len(cursor.fetchall())


# --- Processes ------------------------------------------------------------------------------


class Process:
    """One child in its own process group (a kill reaches its children), logging to a file."""

    def __init__(self, name: str, command: list[str], *, env: dict, logdir: Path):
        self.name, self.command, self.env, self.logdir = name, command, env, logdir
        self.popen: subprocess.Popen | None = None
        self.down_on_purpose = False
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.logdir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115 (the child keeps it)
        self.popen = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.down_on_purpose = False

    def log_tail(self, lines: int = 3) -> str:
        path = self.logdir / f"{self.name}-{self.starts}.log"
        text = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
        return " | ".join(line.strip() for line in text[-lines:])

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def signal_group(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def stop(self, grace: float = 10) -> None:
        if self.popen is None:
            return
        self.signal_group(signal.SIGCONT)  # a paused process cannot act on TERM
        self.signal_group(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace)
        self.kill()  # what is left of the group: pool processes that outlived their parent

    def children(self) -> list[int]:
        """The pids whose parent is this process (a worker's pool processes)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.popen.pid:
                    found.append(int(stat.parent.name))
        return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def redis_integer(port: int, command: str) -> int | None:
    """The answer of a Redis command that answers an integer (LLEN, HLEN), or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(command.encode() + b"\r\n")
            answer = conn.recv(64)
    except OSError:
        return None
    return int(answer[1:].strip()) if answer.startswith(b":") else None


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


# --- Measures -------------------------------------------------------------------------------


@dataclass
class Request:
    started: float
    seconds: float
    path: str
    status: int | None  # None: no answer (refused, reset, timed out)


@dataclass
class Result:
    name: str
    fault_start: float = 0.0
    fault_end: float = 0.0
    rows: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    admin_write: str = "-"
    requests: int = 0
    errors: int = 0
    healthz_503: int = 0
    no_answer: int = 0
    slowest: float = 0.0
    slowest_path: str = ""
    planned: int = 0
    sent: int = 0
    duplicates: int = 0
    lost: int = 0
    longest_delay: float | None = None
    exits: list[str] = field(default_factory=list)
    capped: bool = False
    cancelled_sessions: list[int] = field(default_factory=list)


# File name → (when it was written, the Message-IDs in it); a file a second old is complete.
_read_files: dict[str, tuple[float, list[str]]] = {}


def outbox_deliveries(outbox: Path) -> dict[str, list[float]]:
    """Message-ID's local part (``reminder-<pk>``) → the times (file mtimes) it was delivered."""
    deliveries = defaultdict(list)
    for path in outbox.iterdir():
        if path.name in _read_files:
            written, message_ids = _read_files[path.name]
        else:
            try:
                written = path.stat().st_mtime
                text = path.read_text(errors="replace")
            except OSError:
                continue
            message_ids = []
            for raw in text.split("-" * 79 + "\n"):
                message_id = email.message_from_string(raw)["Message-ID"] if raw.strip() else None
                if message_id:
                    message_ids.append(message_id.strip("<>").split("@")[0])
            if time.time() - written > 1:
                _read_files[path.name] = (written, message_ids)
        for message_id in message_ids:
            deliveries[message_id].append(written)
    return deliveries


ERROR_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?([A-Z]\w*(?:Error|Exception|Lost|Timeout)\w*)(?::\s*(.*))?$")


def logged_errors(logs: Path, *, since: dict[Path, int]) -> list[str]:
    """The exceptions the processes logged since these file sizes: "worker: OperationalError: …
    (×3)", the last line of each traceback, so a 500 or a failed task says why."""
    found = Counter()
    for path in sorted(logs.iterdir()):
        with open(path, errors="replace") as log:
            log.seek(since.get(path, 0))
            for line in log:
                match = ERROR_LINE.match(line.strip())
                if match:
                    process = path.stem.rsplit("-", 1)[0]
                    message = re.sub(r"\d+", "N", match.group(2) or "")[:100]
                    found[f"{process}: {match.group(1)}: {message}"] += 1
    return [f"logged {line} (x{count})" for line, count in found.most_common(8)]


# --- The bench ------------------------------------------------------------------------------


class Bench:
    def __init__(self, *, options, workdir: Path, env: dict):
        self.options, self.workdir, self.env = options, workdir, env
        self.outbox = workdir / "outbox"
        self.clinic: Clinic | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        venv = ROOT / ".venv/bin"
        redis_dir = workdir / "redis"
        redis_dir.mkdir()
        logs = self.logs = workdir / "logs"
        logs.mkdir()
        redis_command = ["redis-server", "--port", str(options.redis_port), "--bind", "127.0.0.1"]
        redis_command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(redis_dir)]
        self.redis = Process("redis", redis_command, env=env, logdir=logs)
        self.gunicorn = Process(
            "gunicorn",
            [str(venv / "gunicorn"), "iop.wsgi:application", "--workers", "2", "--bind", f"127.0.0.1:{self.port}"],
            env=env,
            logdir=logs,
        )
        self.worker = Process(
            "worker",
            [str(venv / "celery"), "-A", "iop", "worker", "--concurrency", "4", "--loglevel", "WARNING"],
            env=env,
            logdir=logs,
        )
        self.beat = Process(
            "beat",
            [
                str(venv / "celery"),
                "-A",
                "iop",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(workdir / "celerybeat-schedule"),
            ],
            env=env,
            logdir=logs,
        )
        self.processes = [self.redis, self.gunicorn, self.worker, self.beat]
        self.exited_at: dict[str, float] = {}
        self.exits: list[str] = []
        self.requests: list[Request] = []
        self.load_stop = threading.Event()
        self.load_threads: list[threading.Thread] = []
        self.results: list[Result] = []
        self.set_mail_delay(0)

    # Processes

    def start_all(self) -> None:
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=self.env,
            check=True,
        )
        self.redis.start()
        self.wait_for(lambda: redis_answers(self.options.redis_port), 10, "redis-server to answer")
        for process in (self.gunicorn, self.worker, self.beat):
            process.start()
        self.wait_for(
            lambda: self.ask(urllib.request.build_opener(), "/healthz")[0] == 200, 60, "/healthz to answer 200"
        )
        time.sleep(3)  # the worker forks its processes and connects
        print(
            f"Started redis-server :{self.options.redis_port}, gunicorn {self.base_url}, celery worker, celery beat.",
            flush=True,
        )

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def wait_for(self, condition, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"Gave up waiting {seconds:g} s for {what}.")
            time.sleep(0.2)

    def supervise(self) -> None:
        """The supervisor's part: a process that exited on its own starts again 5 s later."""
        for process in self.processes:
            if process.down_on_purpose or process.exited() is None:
                continue
            now = time.monotonic()
            if process.name not in self.exited_at:
                self.exited_at[process.name] = now
                note = f"{process.name} exited on its own (code {process.exited()}): {process.log_tail()}"
                self.exits.append(note)
                print(f"  ! {note}", flush=True)
            elif now - self.exited_at[process.name] >= RESTART_AFTER_SECONDS:
                del self.exited_at[process.name]
                process.start()
                print(f"  ! {process.name} restarted by the bench", flush=True)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.supervise()
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def set_mail_delay(self, milliseconds: int) -> None:
        (self.workdir / "mail-delay-ms").write_text(str(milliseconds))

    # Load

    def ask(self, opener, path: str, data: dict | None = None, timeout: float = 40) -> tuple[int | None, float]:
        started = time.monotonic()
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with opener.open(self.base_url + path, data=body, timeout=timeout) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (OSError, http.client.HTTPException):
            status = None
        return status, time.monotonic() - started

    def signed_in(self, username: str):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
        self.ask(opener, "/accounts/login/")
        token = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        data = {"csrfmiddlewaretoken": token, "username": username, "password": self.clinic.usernames["password"]}
        status, _ = self.ask(opener, "/accounts/login/", data)
        if status != 302:
            raise RuntimeError(f"Signing in as {username} answered {status}.")
        return opener, jar

    def start_load(self) -> None:
        therapist, _ = self.signed_in(self.clinic.usernames["therapist"])
        self.staff, self.staff_jar = self.signed_in(self.clinic.usernames["staff"])
        staff_pages, _ = self.signed_in(self.clinic.usernames["staff"])
        anonymous = urllib.request.build_opener(NoRedirect())
        openers = {"/healthz": anonymous, "/accounts/login/": anonymous, "/therapist/": therapist}
        openers["/admin/scheduling/session/"] = staff_pages
        for path, opener in openers.items():
            status, _ = self.ask(opener, path)
            if status != 200:
                raise RuntimeError(f"{path} answered {status} before any fault.")

        def load(offset: int) -> None:
            n = offset
            while not self.load_stop.is_set():
                path = LOAD_PAGES[n % len(LOAD_PAGES)]
                started = time.monotonic()
                status, seconds = self.ask(openers[path], path)
                self.requests.append(Request(started, seconds, path, status))
                n += 1
                self.load_stop.wait(0.05)

        self.load_threads = [threading.Thread(target=load, args=(n,), daemon=True) for n in (0, 2)]
        for thread in self.load_threads:
            thread.start()

    def stop_load(self) -> None:
        self.load_stop.set()
        for thread in self.load_threads:
            thread.join(timeout=45)
        self.load_threads = []

    def admin_cancel(self, result: Result) -> threading.Thread:
        """The admin's "Cancel selected sessions" on 5 sessions whose clients were reminded: each
        cancel plans notices and publishes them after its commit."""
        session_ids = self.clinic.cancellable[:CANCELLED_PER_ACTION]
        del self.clinic.cancellable[:CANCELLED_PER_ACTION]
        token = next(cookie.value for cookie in self.staff_jar if cookie.name == "csrftoken")
        data = {
            "csrfmiddlewaretoken": token,
            "action": "cancel_sessions",
            "select_across": "0",
            "_selected_action": [str(pk) for pk in session_ids],
            "reason": "Bench: the room is unavailable.",
            "apply": "Apply",
        }

        def cancel() -> None:
            status, seconds = self.ask(self.staff, "/admin/scheduling/session/", data)
            result.admin_write = f"cancel {len(session_ids)} sessions: {status or 'no answer'} in {seconds:.2f} s"
            result.cancelled_sessions = session_ids

        thread = threading.Thread(target=cancel, daemon=True)
        thread.start()
        return thread

    # Scenarios

    def run(self, name: str) -> None:
        from django.db import close_old_connections

        close_old_connections()
        result = Result(name)
        slots = reminder_slots(self.clinic.scenario_sessions[SCENARIOS.index(name)])
        exits_before = len(self.exits)
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        log_sizes = {path: path.stat().st_size for path in self.logs.iterdir()}
        getattr(self, "fault_" + name.replace("-", "_"))(result, slots)
        self.settle(result)
        result.exits = self.exits[exits_before:]
        self.measure(result, started)
        result.notes += logged_errors(self.logs, since=log_sizes)
        self.set_mail_delay(0)
        self.results.append(result)
        self.print_result(result)

    def fault_db_drop(self, result: Result, slots) -> None:
        result.rows = plan(slots, spread(self.options.reminders, 0, 50))
        result.fault_start = time.time()
        terminated = []
        for event in range(5):
            self.sleep(5 if event == 0 else 10)
            terminated.append(terminate_backends())
        result.fault_end = time.time()
        result.notes.append(f"connections terminated per event: {terminated}")

    def fault_redis_pause(self, result: Result, slots) -> None:
        result.rows = plan(slots, spread(self.options.reminders, 0, 30))
        self.sleep(5)
        result.fault_start = time.time()
        self.redis.down_on_purpose = True
        self.redis.signal_group(signal.SIGSTOP)
        self.sleep(1)
        writer = self.admin_cancel(result)
        self.sleep(19)
        self.redis.signal_group(signal.SIGCONT)
        self.redis.down_on_purpose = False
        result.fault_end = time.time()
        writer.join(timeout=60)

    def fault_redis_kill(self, result: Result, slots) -> None:
        from scheduling.models import Reminder

        batch_size = self.options.reminders * 3 // 5
        batch = plan(slots[:batch_size], [0.0] * batch_size)
        # Wait for the sweep to publish the batch; kill Redis the moment it has.
        deadline = time.monotonic() + 45
        while not Reminder.objects.filter(pk__in=batch, enqueued_at__isnull=False).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("The sweep did not publish the batch within 45 s.")
            self.supervise()
            time.sleep(0.01)
        self.redis.down_on_purpose = True
        self.redis.kill()
        result.fault_start = time.time()
        done = Reminder.objects.filter(pk__in=batch, status=Reminder.Status.SENT).count()
        result.notes.append(f"batch of {len(batch)} published; {done} already sent when Redis was killed")
        writer = self.admin_cancel(result)
        # More rows fall due while Redis is down.
        later = plan(slots[batch_size:], spread(self.options.reminders - batch_size, 0, 30))
        result.rows = batch + later
        self.sleep(30)
        self.redis.start()
        self.wait_for(lambda: redis_answers(self.options.redis_port), 10, "redis-server to answer")
        result.fault_end = time.time()
        writer.join(timeout=60)

    def fault_worker_kill(self, result: Result, slots) -> None:
        from scheduling.models import Reminder

        self.set_mail_delay(100)
        batch_size = self.options.reminders * 3 // 4
        result.rows = plan(slots, [0.0] * batch_size + spread(self.options.reminders - batch_size, 0, 20))
        batch = result.rows[:batch_size]
        deadline = time.monotonic() + 45
        while Reminder.objects.filter(pk__in=batch, status=Reminder.Status.SENT).count() < 8:
            if time.monotonic() > deadline:
                raise RuntimeError("The worker sent nothing of the batch within 45 s.")
            self.supervise()
            time.sleep(0.05)
        self.worker.down_on_purpose = True
        self.worker.kill()
        result.fault_start = time.time()
        counts = Counter(Reminder.objects.filter(pk__in=batch).values_list("status", flat=True))
        port = self.options.redis_port
        result.notes.append(
            f"worker killed with the batch at {dict(counts)}; in Redis then: "
            f"{redis_integer(port, 'HLEN unacked')} unacknowledged (delivered to the dead worker), "
            f"{redis_integer(port, 'LLEN celery')} waiting in the queue"
        )
        self.sleep(RESTART_AFTER_SECONDS)
        self.worker.start()
        result.fault_end = time.time()

    def fault_crash_window(self, result: Result, slots) -> None:

        from scheduling.models import Reminder

        self.set_mail_delay(200)
        # Due over a minute, so that each of the three kills finds messages on their way.
        result.rows = plan(slots, spread(self.options.reminders, 0, 60))
        killed = []
        for kill in range(3):
            # Mid-send: once the (new) processes are warm, 8 messages later, the moment a message
            # reaches the mail server, whose answer takes 200 ms.
            for wanted in (8, 1):
                written = set(os.listdir(self.outbox))
                deadline = time.monotonic() + 45
                while len(set(os.listdir(self.outbox)) - written) < wanted:
                    if time.monotonic() > deadline:
                        left = Reminder.objects.filter(pk__in=result.rows).exclude(status=Reminder.Status.SENT)
                        if not left.exists():
                            break  # everything went out before this kill
                        raise RuntimeError("The worker sent nothing within 45 s.")
                    self.supervise()
                    time.sleep(0.005)
            children = self.worker.children()
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if kill == 0:
                result.fault_start = time.time()
            killed.append(len(children))
            self.sleep(3)
        result.fault_end = time.time()
        result.notes.append(f"worker processes killed per kill: {killed}; the worker replaces them")

    def settle(self, result: Result) -> None:
        """Wait until every row due by now is done, the last one included, or --wait has passed."""
        from django.utils import timezone

        from scheduling.models import Reminder

        if result.cancelled_sessions:
            notices = Reminder.objects.filter(session_id__in=result.cancelled_sessions, kind=Reminder.CANCELLATION)
            result.rows += list(notices.values_list("pk", flat=True))
        rows = Reminder.objects.filter(pk__in=result.rows).exclude(status=Reminder.Status.CANCELLED)
        last_due = max(rows.values_list("send_at", flat=True), default=timezone.now())
        deadline = time.monotonic() + self.options.wait
        while True:
            unfinished = rows.filter(
                send_at__lte=timezone.now(), status__in=[Reminder.Status.PENDING, Reminder.Status.SENDING]
            ).values_list("pk", flat=True)
            # A row left "sending" whose message was delivered is done, as far as the client knows.
            delivered = outbox_deliveries(self.outbox) if unfinished else {}
            undelivered = [pk for pk in unfinished if f"reminder-{pk}" not in delivered]
            if timezone.now() >= last_due and not undelivered:
                break
            if time.monotonic() > deadline:
                result.capped = True
                break
            self.sleep(1)
        self.sleep(1)  # a send that is writing its file now

    def measure(self, result: Result, started: float) -> None:
        from django.utils import timezone

        from scheduling.models import Reminder, Session

        window = [r for r in self.requests if r.started >= started]
        result.requests = len(window)
        result.errors = sum(
            1 for r in window if r.status and r.status >= 500 and not (r.path == "/healthz" and r.status == 503)
        )
        result.healthz_503 = sum(1 for r in window if r.path == "/healthz" and r.status == 503)
        result.no_answer = sum(1 for r in window if r.status is None)
        wall_offset = time.time() - time.monotonic()
        during = [
            r
            for r in window
            if r.started + wall_offset <= result.fault_end and r.started + r.seconds + wall_offset >= result.fault_start
        ]
        if during:
            slowest = max(during, key=lambda r: r.seconds)
            result.slowest, result.slowest_path = slowest.seconds, slowest.path

        now = timezone.now()
        rows = Reminder.objects.filter(pk__in=result.rows).exclude(status=Reminder.Status.CANCELLED)
        rows = list(rows.values_list("pk", "send_at", "status"))
        # Read after the rows: a row marked sent has its file by then (the file is written first).
        deliveries = outbox_deliveries(self.outbox)
        statuses = Counter()
        delays = []
        in_the_window = 0
        for pk, send_at, status in rows:
            statuses[status] += 1
            times = deliveries.get(f"reminder-{pk}", [])
            in_the_window += bool(times) and status == Reminder.Status.SENDING
            result.planned += 1
            result.duplicates += max(0, len(times) - 1)
            if times:
                result.sent += 1
                delays.append(min(times) - max(send_at.timestamp(), result.fault_end))
            elif send_at <= now:
                result.lost += 1
        result.longest_delay = max(delays, default=None)
        result.notes.append(f"rows: {dict(statuses)}")
        if in_the_window:
            result.notes.append(
                f"{in_the_window} delivered but still 'sending' (the crash window): sent again if reclaimed as stale"
            )
        failed_pages = Counter(
            f"{r.path} {r.status or 'no answer'}" for r in window if r.status is None or r.status >= 500
        )
        if failed_pages:
            result.notes.append(f"failed requests: {dict(failed_pages)}")
        if result.cancelled_sessions:
            cancelled = Session.objects.filter(
                pk__in=result.cancelled_sessions, status=Session.Status.CANCELLED
            ).count()
            notices = Reminder.objects.filter(
                session_id__in=result.cancelled_sessions, kind=Reminder.CANCELLATION
            ).count()
            result.notes.append(
                f"admin cancel: {cancelled}/{len(result.cancelled_sessions)} sessions cancelled, "
                f"{notices} notices planned (expected {cancelled * REMINDED_PER_CANCELLED_SESSION})"
            )
        if result.capped:
            result.notes.append(
                f"stopped waiting {self.options.wait:g} s after the fault: rows still undelivered count as lost"
            )

    def print_result(self, result: Result) -> None:
        delay = "-" if result.longest_delay is None else f"{result.longest_delay:.1f} s"
        print(
            f"requests: {result.requests}, 5xx: {result.errors}, /healthz 503: {result.healthz_503},"
            f" no answer: {result.no_answer}"
        )
        print(f"slowest request during the fault: {result.slowest:.2f} s ({result.slowest_path or '-'})")
        print(f"fault lasted {result.fault_end - result.fault_start:.1f} s; admin write: {result.admin_write}")
        print(
            f"reminders planned: {result.planned}, sent: {result.sent}, duplicated: {result.duplicates},"
            f" lost: {result.lost}"
        )
        print(f"longest delay after the end of the fault: {delay}")
        for note in result.notes + [f"unexpected exit: {exit}" for exit in result.exits]:
            print(f"  - {note}")
        sys.stdout.flush()

    def report(self) -> None:
        """The summary, with duplicates and deliveries counted again at the very end: a row
        re-sent by a timer after its scenario was over shows up here."""
        from scheduling.models import Reminder

        deliveries = outbox_deliveries(self.outbox)
        header = [
            "scenario",
            "requests",
            "5xx",
            "no answer",
            "slowest s",
            "planned",
            "sent",
            "dup",
            "lost",
            "delay s",
            "dup@end",
            "late@end",
            "exits",
        ]
        table = [header]
        for result in self.results:
            rows = (
                Reminder.objects.filter(pk__in=result.rows)
                .exclude(status=Reminder.Status.CANCELLED)
                .values_list("pk", flat=True)
            )
            counts = [len(deliveries.get(f"reminder-{pk}", [])) for pk in rows]
            table.append(
                [
                    result.name,
                    str(result.requests),
                    str(result.errors),
                    str(result.no_answer),
                    f"{result.slowest:.2f}",
                    str(result.planned),
                    str(result.sent),
                    str(result.duplicates),
                    str(result.lost) + ("*" if result.capped and result.lost else ""),
                    "-" if result.longest_delay is None else f"{result.longest_delay:.1f}",
                    str(sum(max(0, c - 1) for c in counts)),
                    str(sum(1 for c in counts if c) - result.sent),
                    str(len(result.exits)),
                ]
            )
        widths = [max(len(row[n]) for row in table) for n in range(len(header))]
        print("\n=== summary ===")
        for row in table:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        print(
            "5xx: answers 500-599 except /healthz's 503; delay: longest delivery after the end of the fault;"
            " *: still undelivered after --wait; dup@end / late@end: duplicates, and lost rows delivered"
            " after all, counted again when the run ended."
        )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (302 after signing in or an admin action), not a page to follow."""

    def redirect_request(self, *args, **kwargs):
        return None


if __name__ == "__main__":
    main()
