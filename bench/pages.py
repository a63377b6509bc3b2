"""Benchmark: every user page and every admin page, timed through gunicorn against /healthz.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \\
    .venv/bin/python bench/pages.py --database iop_scale_copy [--demo-database iop_demo_copy]
        [--rounds 60] [--only REGEX] [--port 8765]

The database is one bench/scale.py made (``--demo`` for the demo clinic, at demo size): the pages
write audit rows and sessions, so give it a copy (``createdb -T iop_scale <copy>``), never the
template. It starts gunicorn (2 workers, production settings: debug off, the bench's secret key)
on that database, signs in over HTTP as ``client``, ``therapist`` and ``staff`` (password, then
the authenticator code for those who have one), and asks each page once to warm up and then
``--rounds`` times, one request at a time, with a /healthz request (one database round trip and
a broker ping) before each page request. It prints, per page, the median and 95th percentile in
ms and the ratio of the page's median to /healthz's median from the same run.

The pages are found, not listed: the client's week and calendar feed (and its repeat poll with
If-None-Match when the feed sends an ETag), the therapist's dashboard, session, note and group
pages, the admin index, and for every model in the admin registry its changelist, a search
(when it has search fields), one value of each list filter, and the change page of one object.
A therapist or scheduling URL with no page here is reported, so that a new page is not missed.

Query counts are measured in this process (Django's test client, ``CaptureQueriesContext``) on
the same database, the second of two requests; with ``--demo-database`` they are measured there
too, and the table shows both ("demo → scale"). Not part of the test suite.
"""

import argparse
import contextlib
import datetime
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iop.settings")

from scale import BENCH_SECRET_KEY, PASSWORD, course_client  # noqa: E402

# Production settings, reachable over plain http on this machine.
SERVER_ENV = {
    "DJANGO_DEBUG": "off",
    "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", BENCH_SECRET_KEY),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_SECURE_SSL_REDIRECT": "off",
    "DJANGO_SECURE_COOKIES": "off",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
}
# Pages that only answer POST (a form's target), not measured.
POST_ONLY = {"therapist:session_held", "therapist:note_sign", "therapist:note_addendum", "scheduling:rotate_feed"}
POST_ONLY |= {"therapist:plan_start", "therapist:plan_goal_add", "therapist:plan_review", "therapist:goal_status"}
POST_ONLY |= {"therapist:session_topic", "therapist:discharge_sign", "therapist:plan_group_kinds"}


@dataclass
class Page:
    name: str
    who: str  # "client", "therapist", "staff", or "anonymous"
    url: str
    headers: dict = field(default_factory=dict)
    expect: int = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a copy of a database bench/scale.py made")
    parser.add_argument("--demo-database", help="a copy of the demo database (scale.py --demo): its query counts too")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--only", help="measure only the pages whose name matches this regular expression")
    parser.add_argument("--counts-only", action="store_true", help="query counts only, as JSON (no server)")
    options = parser.parse_args()
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis"):
        sys.exit("Set CELERY_BROKER_URL=redis://127.0.0.1:6379/<db> (/healthz pings the broker).")
    os.environ.update(SERVER_ENV)
    os.environ["DATABASE_URL"] = database_url(options, options.database)

    import django

    django.setup()
    collect_static()
    pages = discover_pages()
    if options.only:
        pages = [page for page in pages if re.search(options.only, page.name)]
    if options.counts_only:
        print(json.dumps(query_counts(pages)))
        return

    counts = query_counts(pages)
    demo_counts = {}
    if options.demo_database:
        demo = subprocess.run(
            [sys.executable, __file__, "--database", options.demo_database, "--counts-only"]
            + (["--only", options.only] if options.only else [])
            + ["--host", options.host, "--user", options.user],
            check=True,
            capture_output=True,
            text=True,
            env=os.environ | {"DATABASE_URL": database_url(options, options.demo_database)},
        )
        demo_counts = json.loads(demo.stdout.strip().splitlines()[-1])

    server = start_gunicorn(options)
    try:
        browsers = {who: Browser(options.port) for who in ("client", "therapist", "staff", "anonymous")}
        for who in ("client", "therapist", "staff"):
            browsers[who].sign_in(who)
        timings, statuses = measure(pages, browsers, options.rounds)
    finally:
        stop(server)
    print_table(pages, timings, statuses, counts, demo_counts, options)


def database_url(options, name: str) -> str:
    return f"postgres://{options.user}@{options.host}:5432/{name}"


def collect_static() -> None:
    """Debug off serves static files from the manifest collectstatic writes (var/staticfiles)."""
    from django.conf import settings

    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)


# --- Which pages --------------------------------------------------------------------------


def discover_pages() -> list[Page]:
    return user_pages() + admin_pages()


def bench_users():
    from django.contrib.auth import get_user_model

    User = get_user_model()
    return {who: User.objects.get(username=who) for who in ("client", "therapist", "staff")}


def user_pages() -> list[Page]:
    from django.db.models import Exists, OuterRef
    from django.urls import get_resolver, reverse
    from django.utils import timezone

    from iop.clock import monday_of
    from progress.models import Attendance, Goal, GroupNote
    from progress.safety import open_alerts_for_therapist
    from progress.selectors import groups_for_therapist, memberships_led_by, sessions_for_therapist
    from scheduling.models import Session

    users = bench_users()
    client = users["client"].client
    therapist = users["therapist"].therapist
    now = timezone.now()
    next_week = (monday_of(timezone.localdate()) + datetime.timedelta(weeks=1)).isocalendar()
    mine = sessions_for_therapist(therapist).order_by("-starts_at")
    signed = mine.filter(group_note__signed_at__isnull=False).first()
    unsigned = (
        mine.met().filter(ends_at__lt=now).exclude(group_note__signed_at__isnull=False).first()
        or mine.filter(ends_at__lt=now).exclude(status=Session.Status.CANCELLED).first()
    )
    with_attendance = Attendance.objects.filter(session=OuterRef("pk"))
    upcoming = (
        mine.filter(starts_at__gt=now, status=Session.Status.SCHEDULED)
        .exclude(Exists(with_attendance))
        .order_by("starts_at")
        .first()
    )
    group = groups_for_therapist(therapist).order_by("pk").first()
    week = reverse("scheduling:week")
    pages = [
        Page("client: week", "client", week),
        Page("client: next week", "client", week + f"?week={next_week[0]}-W{next_week[1]:02d}"),
        Page("client: calendar feed", "anonymous", reverse("scheduling:feed", args=[client.calendar_token])),
        Page("client: two-step page", "client", reverse("two_factor")),
        Page("therapist: dashboard", "therapist", reverse("therapist:dashboard")),
        Page("therapist: dashboard, the whole week", "therapist", reverse("therapist:dashboard") + "?week=all"),
        Page("therapist: unsigned notes", "therapist", reverse("therapist:overdue_notes")),
    ]
    for label, session in [("held, signed note", signed), ("met, note unsigned", unsigned), ("upcoming", upcoming)]:
        if session is None:
            continue
        session_page = reverse("therapist:session", args=[session.pk])
        pages.append(Page(f"therapist: session page ({label})", "therapist", session_page))
        if label != "upcoming" or GroupNote.objects.filter(session=session).exists():
            note_page = reverse("therapist:note", args=[session.pk])
            pages.append(Page(f"therapist: note page ({label})", "therapist", note_page))
    if group is not None:
        pages.append(Page("therapist: group page", "therapist", reverse("therapist:group", args=[group.pk])))
    # The longest course the therapist can open (a client of their groups, now or before): its
    # treatment plan, a goal of it and its progress page.
    longest = course_client(therapist)
    if longest is not None:
        pages.append(Page("therapist: treatment plan", "therapist", reverse("therapist:plan", args=[longest.pk])))
        goal = Goal.objects.filter(plan__client=longest).order_by("pk").first()
        if goal is not None:
            pages.append(Page("therapist: treatment goal", "therapist", reverse("therapist:goal", args=[goal.pk])))
        progress = reverse("therapist:progress", args=[longest.pk])
        pages.append(Page("therapist: client progress (the longest course)", "therapist", progress))
    pages.append(Page("client: my progress", "client", reverse("portal:progress")))
    pages.append(Page("client: before your first group", "client", reverse("scheduling:preparation")))
    pages.append(Page("client: language", "client", reverse("scheduling:language")))
    sheet = upcoming or unsigned
    if sheet is not None:
        pages.append(Page("therapist: sign-in sheet", "therapist", reverse("therapist:sign_in_sheet", args=[sheet.pk])))
    alert = open_alerts_for_therapist(therapist).first()
    if alert is not None:
        pages.append(
            Page("therapist: safety alert follow-up", "therapist", reverse("therapist:alert", args=[alert.pk]))
        )
    # A client discharged from one of the therapist's groups: the summary page the therapist writes.
    left = memberships_led_by(therapist, history=True).filter(client__status="discharged").order_by("-pk").first()
    if left is not None:
        discharge = reverse("therapist:discharge", args=[left.client_id])
        pages.append(Page("therapist: discharge summary", "therapist", discharge))

    covered = {"scheduling:week", "scheduling:feed", "therapist:dashboard", "therapist:session", "therapist:note"}
    covered |= {"therapist:group", "therapist:overdue_notes", "therapist:plan", "therapist:goal"}
    covered |= {"therapist:progress", "portal:progress", "scheduling:preparation", "scheduling:language"}
    covered |= {"therapist:sign_in_sheet", "therapist:alert", "therapist:discharge"}
    for namespace in ("scheduling", "therapist"):
        for name in get_resolver().namespace_dict[namespace][1].reverse_dict:
            if isinstance(name, str) and f"{namespace}:{name}" not in covered | POST_ONLY:
                print(f"warning: {namespace}:{name} is not measured (add it to bench/pages.py)", file=sys.stderr)
    return pages


# The object whose change page is measured: the one the bench's people work with, where it
# matters; otherwise the newest of the model.
def preferred_objects(users) -> dict:
    from django.utils import timezone

    from progress.selectors import groups_for_therapist, sessions_for_therapist
    from scheduling.models import Session

    therapist = users["therapist"].therapist
    upcoming = (
        sessions_for_therapist(therapist)
        .filter(starts_at__gt=timezone.now(), status=Session.Status.SCHEDULED)
        .order_by("starts_at")
        .first()
    )
    return {
        "scheduling.session": upcoming,
        "groups.therapygroup": groups_for_therapist(therapist).order_by("pk").first(),
        "clients.client": users["client"].client,
        "auth.user": users["therapist"],
        "groups.therapist": therapist,
    }


def admin_pages() -> list[Page]:
    from django.contrib import admin
    from django.test import RequestFactory
    from django.urls import reverse

    users = bench_users()
    staff = users["staff"]
    preferred = preferred_objects(users)
    from iop import dashboard
    from progress import reports

    pages = [Page("admin: index (the clinic's dashboard)", "staff", reverse("admin:index"))]
    for name in dashboard.section_names():
        section = reverse("admin:dashboard_section", args=[name])
        pages.append(Page(f"admin: dashboard section: {name}", "staff", section))
    pages.append(Page("admin: reports", "staff", reverse("reports:index")))
    for kind in reports.REPORTS:
        pages.append(Page(f"admin: report: {kind.slug}", "staff", reverse("reports:report", args=[kind.slug])))
    client = users["client"].client
    pages.append(Page("admin: find a group", "staff", reverse("admin:progress_find_group", args=[client.pk])))
    pages.append(Page("admin: generate sessions (form)", "staff", reverse("admin:scheduling_session_generate")))
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower):
        meta = model._meta
        request = RequestFactory().get("/")
        request.user = staff
        if not model_admin.has_view_or_change_permission(request):
            continue
        label = f"admin: {meta.verbose_name_plural}"
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        pages.append(Page(f"{label} list", "staff", changelist))
        obj = preferred.get(meta.label_lower) or model_admin.get_queryset(request).order_by("-pk").first()
        term = search_term(model_admin.get_search_fields(request), obj)
        if term:
            pages.append(Page(f"{label} search", "staff", changelist + "?" + urlencode({"q": term})))
        for title, query in filter_choices(model_admin, staff, changelist, obj):
            pages.append(Page(f"{label} filter: {title}", "staff", changelist + query))
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            pages.append(Page(f"{label} change page", "staff", change))
    return pages


def search_term(search_fields, obj) -> str:
    """What staff would type: the object's value of the first search field that has one (its
    first word for a longer text)."""
    if obj is None:
        return ""
    for path in search_fields:
        value = obj
        for part in path.lstrip("^=@").split("__"):
            value = getattr(value, part, None)
            if value is None:
                break
        if value is None or value == "":
            continue
        text = str(value)
        return text if path.startswith("=") or len(text) <= 20 else text.split()[0]
    return ""


def filter_choices(model_admin, user, changelist: str, obj) -> list[tuple[str, str]]:
    """One value of each list filter: the first choice after "All", as the filter offers it. A
    filter that offers none (a filter by id, reached from a link) gets the object's value."""
    from django.test import RequestFactory

    request = RequestFactory().get(changelist)
    request.user = user
    cl = model_admin.get_changelist_instance(request)
    chosen = []
    for spec in cl.filter_specs:
        choices = [c for c in spec.choices(cl) if not c.get("selected") and c.get("query_string") not in ("?", "")]
        if choices:
            chosen.append((str(spec.title), choices[0]["query_string"]))
            continue
        parameter = getattr(spec, "parameter_name", None)
        value = getattr(obj, parameter, None) if parameter and obj is not None else None
        if value is not None:
            chosen.append((str(spec.title), "?" + urlencode({parameter: value})))
    return chosen


# --- Query counts, in this process ----------------------------------------------------------


def signed_in_clients() -> dict:
    """Django test clients signed in as the bench's people (and one anonymous), second step done."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    browsers = {"anonymous": Client()}
    for who, user in bench_users().items():
        browser = Client()
        browser.force_login(user)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            # As the verify page leaves the session (django_otp.login).
            session = browser.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        browsers[who] = browser
    return browsers


def query_counts(pages: list[Page]) -> dict[str, int | str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from iop.middleware import LAST_ACTIVITY

    browsers = signed_in_clients()
    counts = {}
    for page in pages:
        browser = browsers[page.who]
        browser.get(page.url, headers=page.headers)  # warm: permissions, content types, templates
        if page.who != "anonymous":
            # Activity just recorded, as on a page asked within the minute: a request after a
            # minute without one also writes the session, and a slow page would count it.
            session = browser.session
            session[LAST_ACTIVITY] = time.time()
            session.save()
        with CaptureQueriesContext(connection) as queries:
            response = browser.get(page.url, headers=page.headers)
        counts[page.name] = len(queries) if response.status_code == page.expect else f"HTTP {response.status_code}"
        if page.name == "client: calendar feed" and response.has_header("ETag"):
            repeat = Page("client: calendar feed, repeat poll (If-None-Match)", page.who, page.url, expect=304)
            repeat.headers = {"If-None-Match": response["ETag"]}
            with CaptureQueriesContext(connection) as queries:
                response = browser.get(repeat.url, headers=repeat.headers)
            counts[repeat.name] = len(queries) if response.status_code == 304 else f"HTTP {response.status_code}"
    return counts


# --- Over HTTP --------------------------------------------------------------------------------


def start_gunicorn(options) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "iop.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{options.port}"]
        + ["--log-level", "warning", "--timeout", "120"],
        cwd=ROOT,
        env=os.environ.copy(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            status, _ = Browser(options.port).get("/healthz")
            if status == 200:
                return server
        time.sleep(0.3)
    stop(server)
    sys.exit("gunicorn did not answer /healthz with 200 within 60 s")


def stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class Browser:
    """One person's cookies; a new connection per request (gunicorn's sync workers close it)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        self.last_headers = response.headers
        return response.status, content

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict):
        _, page = self.get(path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        return self.request("POST", path, body={"csrfmiddlewaretoken": token.group(1).decode(), **fields})

    def sign_in(self, username: str) -> None:
        """The sign-in page, then the authenticator's code when the person has one."""
        status, _ = self.post_form("/accounts/login/", {"username": username, "password": PASSWORD})
        if status != 302:
            sys.exit(f"{username} could not sign in (HTTP {status})")
        # The first page after the password sends whoever still owes a step to it.
        self.get(self.last_headers.get("Location", "/"))
        if "two-step/verify" in self.last_headers.get("Location", ""):
            status, _ = self.post_form("/accounts/two-step/verify/", {"otp_token": next_code(username)})
            if status != 302:
                sys.exit(f"{username}'s authenticator code was refused (HTTP {status})")
        self.get("/")
        if "/accounts/" in self.last_headers.get("Location", ""):
            sys.exit(f"{username} still owes a sign-in step: {self.last_headers['Location']}")


def next_code(username: str) -> str:
    """A code the device accepts now: a 30-second step within its tolerance that it has not seen
    (django-otp refuses a step at or before the last one used), waiting for one if needed."""
    from binascii import unhexlify

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    while True:
        now_step = int(time.time()) // device.step + device.drift
        step = max(now_step - device.tolerance, device.last_t + 1)
        if step <= now_step + device.tolerance:
            totp = TOTP(unhexlify(device.key), step=device.step, t0=device.t0, digits=device.digits)
            totp.time = step * device.step
            return f"{totp.token():0{device.digits}d}"
        time.sleep(5)


def measure(pages: list[Page], browsers: dict, rounds: int):
    timings = {page.name: [] for page in pages}
    timings["/healthz"] = []
    statuses = {}
    probe = browsers["anonymous"]
    # Warm-up: each page once (templates, connections, caches); its status is what is reported.
    for page in list(pages):
        browser = browsers[page.who]
        status, _ = browser.get(page.url, page.headers)
        statuses[page.name] = status
        if page.name == "client: calendar feed" and status == 200 and browser.last_headers.get("ETag"):
            repeat = Page(
                "client: calendar feed, repeat poll (If-None-Match)",
                page.who,
                page.url,
                headers={"If-None-Match": browser.last_headers["ETag"]},
                expect=304,
            )
            pages.insert(pages.index(page) + 1, repeat)
            timings[repeat.name] = []
            statuses[repeat.name], _ = browser.get(repeat.url, repeat.headers)
    started = time.monotonic()
    for turn in range(rounds):
        for page in pages:
            if statuses[page.name] != page.expect:
                continue
            timings["/healthz"].append(timed(probe, Page("/healthz", "anonymous", "/healthz")))
            timings[page.name].append(timed(browsers[page.who], page))
        if turn == 0:
            print(f"one round: {time.monotonic() - started:.0f} s; {rounds} rounds", file=sys.stderr, flush=True)
    return timings, statuses


def timed(browser: Browser, page: Page) -> float:
    started = time.perf_counter()
    status, _ = browser.get(page.url, page.headers)
    elapsed = time.perf_counter() - started
    if status != page.expect:
        print(f"warning: {page.name} answered {status}", file=sys.stderr)
    return elapsed * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def print_table(pages, timings, statuses, counts, demo_counts, options) -> None:
    from django.utils import timezone

    healthz = statistics.median(timings["/healthz"])
    # The therapist's dashboard shows all of today's sessions and a few of the week's others: a
    # weekday morning draws more of them than a Sunday, so the clinic's day is part of the figure.
    clinic_now = timezone.localtime()
    print(
        f"Measured {timezone.now():%Y-%m-%d %H:%M} UTC ({clinic_now:%A %H:%M} in the clinic's zone) on "
        f"{options.database}: gunicorn 2 workers, one request at "
        f"a time, {options.rounds} rounds; /healthz median {healthz:.1f} ms (p95 {p95(timings['/healthz']):.1f} ms)."
    )
    print()
    column = "queries (demo → scale)" if demo_counts else "queries"
    print(f"| page | median ms | p95 ms | × healthz | {column} |")
    print("|---|---:|---:|---:|---:|")
    for page in pages:
        queries = counts.get(page.name, "–")
        if demo_counts:
            queries = f"{demo_counts.get(page.name, '–')} → {queries}"
        values = timings[page.name]
        if not values:
            print(f"| {page.name} | HTTP {statuses.get(page.name)} | | | {queries} |")
            continue
        median = statistics.median(values)
        print(f"| {page.name} | {median:.0f} | {p95(values):.0f} | {median / healthz:.1f} | {queries} |")


if __name__ == "__main__":
    main()
