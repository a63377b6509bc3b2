"""No input gives a 500, and a refused submission changes nothing.

Every page is found, not listed: each admin model (changelist with its filters, search and date
hierarchy; add and change pages; every action and its form), every URL the resolver knows with its
parameters filled by hostile values, and every form on every page a person can open, each with its
owner logged in (staff in the admin, the facilitating therapist on /therapist/, the client on
/schedule/, nobody on the login pages). A page added tomorrow is driven the day it lands.

Each form is first posted as the browser would send it untouched ("Save" without a change), then
once per field and hostile value of that field's kind. A 500 (or an exception) is a failure; so is
a refused submission (a 4xx, the form shown again, or only error messages) that changed any row.
"""

import datetime
import itertools
import re
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin

import pytest
from django.apps import apps
from django.contrib import admin, messages
from django.db import connection, transaction
from django.test import Client as WebClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.models import AuditEvent
from progress import attendance, notes, plans
from scheduling.enrolment import enroll_client
from scheduling.models import Closure, Reminder, Session, WeeklySlot
from scheduling.reminders import plan_reminders
from scheduling.services import save_closure, save_slot
from tests.factories import PASSWORD, ClientFactory, TherapistFactory, TherapyGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = str(2**66)
LONG = "Zoë 🙂 ‮漢字 " * 600

# The hostile values of each kind of field. Each value goes into every field of its kind at once,
# one submission per value: a page is tried with a few dozen posts, not thousands.
HOSTILE = {
    "text": [NUL, LONG],
    "int": [HUGE, "-" + HUGE, "-1", "abc"],
    "date": ["0001-01-01", "9999-12-31", "2026-02-30"],
    "time": ["24:00", "23:59:59.999999"],
    "choice": [HUGE, "no-such-choice", ""],
}
# Query-string values; every parameter of a page carries the same value in one request.
QUERY_VALUES = [NUL, HUGE, "99999999", "9999", "0", "-1", "0001-01-01", "abc", LONG]
ID_VALUES = ["0", HUGE, "abc", NUL, LONG[:300]]
# Query parameters every page is tried with, besides a changelist's own filters.
COMMON_QUERY = ["q", "o", "p", "e", "week", "next", "all", "_to_field", "_popup", "_changelist_filters"]

# Rows that change on their own: the login session and messages, Django's admin log (written only
# when a submission is accepted), django-axes' record of wrong passwords (a refused password is
# counted toward the lockout on purpose), and the audit trail, checked on its own below.
NOT_COMPARED = {"sessions.Session", "admin.LogEntry", "axes.AccessAttempt", "axes.AccessLog", "audit.AuditEvent"}
# A refused form shown again is a read of what it shows, and a refused sign-in is itself recorded:
# those audit rows belong to a refused request. Any other audit row would record a change.
RECORDED_WHEN_REFUSED = [AuditEvent.Action.VIEW, AuditEvent.Action.LOGIN_FAILED, AuditEvent.Action.LOCKOUT]


# --- The clinic the pages are tried on ------------------------------------------------------


@pytest.fixture
def clinic(today, now, staff_user):
    """One of everything, in the states a clinic day has: a session today that is still
    scheduled but has attendance and an unsigned note, one last week with a signed note and an
    addendum, a closure ahead, a waitlist, pending reminders, a client with a portal login."""
    therapist = TherapistFactory(user__username="facilitator")
    group = TherapyGroupFactory(facilitator=therapist, capacity=8, start_date=today - datetime.timedelta(weeks=8))
    slot = save_slot(
        slot=WeeklySlot(
            group=group,
            weekday=today.weekday(),
            start_time=datetime.time(9, 0),
            duration_minutes=90,
            default_objective="Identify triggers",
            effective_from=group.start_date,
        )
    )
    members = [ClientFactory() for _ in range(8)]
    for member in members:
        enroll_client(client=member, group=group, on=group.start_date)
    waiting = ClientFactory()
    enroll_client(client=waiting, group=group)
    portal_client = members[0]
    portal_client.portal_user = UserFactory(username="portal-client")
    portal_client.save(update_fields=["portal_user"])

    def met(session, *, sign):
        session.starts_at = now - datetime.timedelta(hours=2) if not sign else session.starts_at
        session.ends_at = session.starts_at + datetime.timedelta(minutes=90)
        session.save(update_fields=["starts_at", "ends_at"])
        attendance.record_attendance(
            session=session,
            entries=[
                attendance.AttendanceEntry(client=m, status="present", minutes_attended=90, participation=2)
                for m in progress_roster(session)
            ],
            recorded_by=therapist.user,
        )
        note = notes.save_group_note(
            session=session,
            author=therapist.user,
            topic="Triggers",
            objective=session.objective,
            interventions="Psychoeducation.",
            group_dynamics="Members listened well.",
            individual={m.pk: {"behaviour": "Shared one trigger."} for m in notes.attending_clients(session)},
        )
        if sign:
            note = notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
            notes.add_addendum(note=note, author=therapist.user, text="Late entry.")
        return session

    sessions = list(slot.sessions.order_by("starts_at"))
    today_session = next(s for s in sessions if s.slot_date == today)
    met(today_session, sign=False)
    last_week = now - datetime.timedelta(days=7)
    earlier = Session.objects.create(
        group=group,
        starts_at=last_week,
        ends_at=last_week + datetime.timedelta(minutes=90),
        objective="Name one coping skill",
        facilitator=therapist,
        room="Room 7",
    )
    met(earlier, sign=True)
    save_closure(
        closure=Closure(
            name="Staff day", starts_on=today + datetime.timedelta(days=20), ends_on=today + datetime.timedelta(days=21)
        )
    )
    next_week = next(s for s in sessions if s.slot_date > today)
    plan_reminders(now=next_week.starts_at - datetime.timedelta(hours=3))
    assert Reminder.objects.exists()
    # A treatment plan with a goal for one member; another member has none yet.
    plan = plans.start_plan(client=members[0], by=therapist.user, started_on=group.start_date)
    goal = plans.add_goal(
        plan=plan,
        by=therapist.user,
        problem="I drink when I can't sleep.",
        goal="Sleep without drinking.",
        objectives="Wind-down routine 5 of 7 nights.",
        target_date=today + datetime.timedelta(days=30),
    )
    return {
        "plan_clients": [members[0], members[1]],
        "goal": goal,
        "therapist": therapist,
        "group": group,
        "portal_client": portal_client,
        "sessions": [today_session, earlier],
        "staff": staff_user,
    }


def progress_roster(session):
    from progress.selectors import session_roster

    return session_roster(session)


# --- Reading pages as a browser does --------------------------------------------------------


class FormParser(HTMLParser):
    """The <form>s of a page: action, method and the fields a browser would post."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(), "fields": []}
            )
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text").lower()
            if kind in {"checkbox", "radio"}:
                if "checked" in attrs:
                    fields.append([name, attrs.get("value", "on"), "flag"])
            elif kind in {"submit", "button", "image", "file", "reset"}:
                if kind == "submit" and name == "_save":
                    fields.append([name, attrs.get("value", ""), "submit"])
            else:
                fields.append([name, attrs.get("value", ""), _kind(kind, attrs)])
        elif tag == "select" and name:
            self._select = [name, None, "choice", "multiple" in attrs]
        elif tag == "option" and self._select is not None:
            # The selected option, else the first one (what a browser posts for a single select).
            if "selected" in attrs or (self._select[1] is None and not self._select[3]):
                self._select[1] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = [name, "", "text"]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            name, value, kind, _ = self._select
            self.forms[-1]["fields"].append([name, value or "", kind])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.forms[-1]["fields"].append(self._textarea)
            self._textarea = None


def _kind(input_type: str, attrs: dict) -> str:
    css = attrs.get("class", "")
    if input_type == "date" or "vDateField" in css:
        return "date"
    if input_type == "time" or "vTimeField" in css:
        return "time"
    if input_type == "number" or "vIntegerField" in css or "vForeignKeyRawIdAdminField" in css:
        return "int"
    if input_type == "hidden":
        return "int" if attrs.get("name", "").endswith(("FORMS", "-id", "client", "_selected_action")) else "text"
    return "text"


def post_forms(html: str, page_url: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    forms = []
    for form in parser.forms:
        fields = [f for f in form["fields"] if f[0] != "csrfmiddlewaretoken"]
        if form["method"] == "post" and fields:
            forms.append({"action": urljoin(page_url, form["action"]), "fields": fields})
    return forms


# --- Judging an answer ----------------------------------------------------------------------


def snapshot() -> dict:
    with connection.cursor():
        tables = {
            model._meta.label: list(model._base_manager.order_by("pk").values_list())
            for model in apps.get_models()
            if model._meta.label not in NOT_COMPARED
        }
        trail = AuditEvent.objects.exclude(action__in=RECORDED_WHEN_REFUSED)
        tables["audit.AuditEvent"] = list(trail.order_by("pk").values_list())
        return tables


def accepted(response) -> bool:
    """The submission went through: a redirect that carries no error, or a file."""
    if response.status_code != 302:
        return False
    queued = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])
    return not queued or any(m.level < messages.WARNING for m in queued)


class Trial:
    """Sends requests, each inside a savepoint rolled back after it, and collects what broke."""

    def __init__(self):
        self.failures: list[str] = []
        self.requests = 0

    def send(self, browser: WebClient, method: str, url: str, data=None, *, expect_change_free=False) -> object:
        self.requests += 1
        label = f"{method.upper()} {url[:160]!r} {_short(data)}"
        before = snapshot() if method == "post" else None
        savepoint = transaction.savepoint()
        response = None
        try:
            response = getattr(browser, method)(url, data or {})
        except Exception as error:
            self.failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
        else:
            if response.status_code >= 500:
                self.failures.append(f"{label}: answered {response.status_code}")
            elif before is not None and not accepted(response):
                after = snapshot()
                changed = [label_ for label_ in before if before[label_] != after[label_]]
                if changed:
                    self.failures.append(f"{label}: refused ({response.status_code}) but changed {changed}")
        finally:
            transaction.savepoint_rollback(savepoint)
        return response

    def report(self) -> str:
        return f"{len(self.failures)} of {self.requests} requests broke:\n" + "\n".join(self.failures)


def _short(data) -> str:
    if not data:
        return ""
    return str({k: (v[:20] + "…" if isinstance(v, str) and len(v) > 20 else v) for k, v in dict(data).items()})[:300]


def send_hostile(trial: Trial, browser: WebClient, form: dict, baseline: dict, *, keep=()) -> None:
    """The form as the browser sends it untouched, then once per hostile value of each kind of
    field, that value in every field of the kind."""
    trial.send(browser, "post", form["action"], baseline)
    kinds: dict[str, list[str]] = {}
    for name, _, kind in form["fields"]:
        if kind not in {"submit", "flag"} and name not in keep:
            kinds.setdefault(kind, []).append(name)
    for kind, names in kinds.items():
        for value in HOSTILE.get(kind, HOSTILE["text"]):
            trial.send(browser, "post", form["action"], {**baseline, **dict.fromkeys(names, value)})


def drive_forms(trial: Trial, browser: WebClient, page_url: str, *, extra: dict | None = None) -> int:
    """Open the page, then post each of its forms untouched and with each hostile value."""
    response = trial.send(browser, "get", page_url)
    if response is None or response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return 0
    forms = post_forms(response.content.decode(), page_url)
    for form in forms:
        baseline = dict(extra or {})
        for name, value, _ in form["fields"]:
            baseline.setdefault(name, value)
        send_hostile(trial, browser, form, baseline)
    return len(forms)


# --- Finding every page ---------------------------------------------------------------------


def url_patterns(resolver=None, prefix=""):
    """(route, pattern, namespace) of every URL the project answers."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def fill(route: str, values: dict[str, str]) -> str | None:
    """A concrete path from a route such as ``sessions/<int:pk>/`` (regex routes: None)."""
    if route.startswith("^") or "(?P" in route:
        return None
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
    return "/" + path


def route_params(route: str) -> list[str]:
    return re.findall(r"<(?:\w+:)?(\w+)>", route)


@pytest.fixture
def browsers(clinic, client):
    def logged_in(user):
        browser = WebClient()
        if user is not None:
            browser.force_login(user)
        return browser

    return {
        "staff": logged_in(clinic["staff"]),
        "therapist": logged_in(clinic["therapist"].user),
        "client": logged_in(clinic["portal_client"].portal_user),
        "anonymous": logged_in(None),
    }


def test_every_admin_page_filter_action_and_form_survives_hostile_input(clinic, browsers):
    trial = Trial()
    staff = browsers["staff"]
    request = staff.get(reverse("admin:index")).wsgi_request
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        first = model._base_manager.order_by("pk").first()
        # The changelist with each filter, search and date-hierarchy parameter.
        page = trial.send(staff, "get", changelist)
        params = set(COMMON_QUERY)
        if page is not None and page.status_code == 200 and "cl" in (page.context or {}):
            for spec in page.context["cl"].filter_specs:
                params.update(spec.expected_parameters())
        if model_admin.date_hierarchy:
            params.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day"))
        for value in QUERY_VALUES:
            trial.send(staff, "get", f"{changelist}?{urlencode(dict.fromkeys(sorted(params), value))}")
        if model_admin.date_hierarchy:
            # The date hierarchy reads year, month and day together; each is tried on its own too.
            for param in (f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month", "day")):
                for value in (HUGE, "9999", "0", "12"):
                    trial.send(staff, "get", f"{changelist}?{urlencode({param: value})}")
            for year, month, day in (("9999", "12", "31"), ("1", "1", "1"), ("9999", "12", None), ("2026", "2", "30")):
                query = {f"{model_admin.date_hierarchy}__year": year, f"{model_admin.date_hierarchy}__month": month}
                if day:
                    query[f"{model_admin.date_hierarchy}__day"] = day
                trial.send(staff, "get", f"{changelist}?{urlencode(query)}")
        # Every action, with hostile row ids and then through its own form.
        for action in model_admin.get_actions(request):
            for value in ID_VALUES:
                trial.send(staff, "post", changelist, {"action": action, "_selected_action": value, "index": "0"})
            if first is not None:
                rows = list(model._base_manager.order_by("pk").values_list("pk", flat=True)[:3])
                post = {"action": action, "_selected_action": [str(pk) for pk in rows], "index": "0"}
                answer = trial.send(staff, "post", changelist, post)
                if answer is not None and answer.status_code == 200:
                    for form in post_forms(answer.content.decode(), changelist):
                        baseline = {**{name: value for name, value, _ in form["fields"]}, **post, "apply": "1"}
                        keep = {"action", "_selected_action", "select_across", "index"}
                        send_hostile(trial, staff, {**form, "action": changelist}, baseline, keep=keep)
        # The add and change pages, untouched and with each hostile value.
        drive_forms(trial, staff, reverse("admin:{}_{}_add".format(*info)))
        if first is not None:
            for object_id in [str(first.pk), *ID_VALUES]:
                for view in ("change", "history", "delete"):
                    path = f"/admin/{info[0]}/{info[1]}/{object_id}/{view}/".replace(NUL, "%00")
                    if object_id == str(first.pk) and view == "change":
                        drive_forms(trial, staff, path)
                    else:
                        trial.send(staff, "get", path)
    # The admin's own pages that take parameters (autocomplete, view on site, app index).
    for value in QUERY_VALUES:
        for param in ("app_label", "model_name", "field_name", "term", "page"):
            query = {"app_label": "groups", "model_name": "therapygroup", "field_name": "facilitator", param: value}
            trial.send(staff, "get", f"{reverse('admin:autocomplete')}?{urlencode(query)}")
    for value in ID_VALUES:
        trial.send(staff, "get", f"/admin/r/{value}/{value}/".replace(NUL, "%00"))
    assert not trial.failures, trial.report()


def owned_ids(route: str, clinic: dict) -> dict[str, list[str]]:
    """The real ids a page's owner may ask for, by route parameter name."""
    if "clients/" in route:
        pks = [client.pk for client in clinic["plan_clients"]]
    elif "goals/" in route:
        pks = [clinic["goal"].pk]
    else:
        pks = [clinic["group"].pk] if "group" in route else [s.pk for s in clinic["sessions"]]
    return {
        "pk": [str(pk) for pk in pks],
        "token": [clinic["portal_client"].calendar_token],
    }


def owner_of(route: str) -> str:
    if route.startswith("therapist/"):
        return "therapist"
    if route.startswith("schedule/"):
        return "client"
    return "anonymous"


def test_every_page_outside_the_admin_survives_hostile_ids_queries_and_forms(clinic, browsers):
    trial = Trial()
    pages = 0
    for route, _pattern in url_patterns():
        if route.startswith("admin/"):
            continue
        params = route_params(route)
        owners = {owner_of(route), "staff"}
        for who in sorted(owners):
            browser = browsers[who]
            real = owned_ids(route, clinic)
            candidates = [dict(zip(params, values, strict=True)) for values in _each(params, real)]
            for values in candidates:
                path = fill(route, values)
                if path is None:
                    continue
                pages += 1
                drive_forms(trial, browser, path)
                for value in QUERY_VALUES:
                    trial.send(browser, "get", f"{path}?{urlencode(dict.fromkeys(COMMON_QUERY, value))}")
            for param in params:
                for value in ID_VALUES:
                    values = {p: (real.get(p) or ["1"])[0] for p in params}
                    values[param] = value.replace(NUL, "%00")
                    path = fill(route, values)
                    if path is not None:
                        trial.send(browser, "get", path)
                        trial.send(browser, "post", path, {})
    assert pages
    assert not trial.failures, trial.report()


def _each(params, real):
    if not params:
        return [()]
    return list(itertools.product(*[real.get(p, ["1"]) for p in params]))


# --- The 500s found by hand, each named ------------------------------------------------------


def untouched_form(browser: WebClient, url: str) -> dict:
    """The first form of a page as the browser would post it without a change."""
    form = post_forms(browser.get(url).content.decode(), url)[0]
    return {name: value for name, value, _ in form["fields"]}


def refused_without_change(browser: WebClient, url: str, data: dict):
    before = snapshot()
    response = browser.post(url, data)
    assert response.status_code in {200, 400}
    assert snapshot() == before
    return response


def test_saving_a_met_session_unchanged_shows_why_it_cannot_change(clinic, browsers):
    staff, session = browsers["staff"], clinic["sessions"][0]
    url = reverse("admin:scheduling_session_change", args=[session.pk])

    response = refused_without_change(staff, url, untouched_form(staff, url))

    assert "Attendance or a note is recorded for this session" in str(response.context["adminform"].form.errors)


def test_lowering_capacity_below_the_active_members_is_a_field_error(clinic, browsers):
    staff, group = browsers["staff"], clinic["group"]
    group.capacity = 9
    group.save(update_fields=["capacity"])
    enroll_client(client=ClientFactory(), group=group)
    url = reverse("admin:groups_therapygroup_change", args=[group.pk])

    response = refused_without_change(staff, url, {**untouched_form(staff, url), "capacity": "8"})

    assert "9 members are active" in response.context["adminform"].form.errors["capacity"][0]


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("page", "fields"),
    [
        ("group", ["end_date"]),
        ("group", ["start_date"]),
        ("group", ["slots-0-effective_from"]),
        ("group", ["slots-0-effective_until"]),
        ("closure", ["starts_on", "ends_on"]),
        ("closure", ["ends_on"]),
    ],
)
def test_a_date_far_from_today_is_a_field_error(clinic, browsers, day, page, fields):
    staff = browsers["staff"]
    if page == "group":
        url = reverse("admin:groups_therapygroup_change", args=[clinic["group"].pk])
    else:
        url = reverse("admin:scheduling_closure_change", args=[Closure.objects.get().pk])

    response = refused_without_change(staff, url, {**untouched_form(staff, url), **dict.fromkeys(fields, day)})

    assert "Give a date between" in response.content.decode()


@pytest.mark.parametrize("born", ["1899-12-31", "9999-12-31"])
def test_a_date_of_birth_lies_between_1900_and_today(clinic, browsers, born):
    staff = browsers["staff"]
    url = reverse("admin:clients_client_change", args=[clinic["portal_client"].pk])

    response = refused_without_change(staff, url, {**untouched_form(staff, url), "date_of_birth": born})

    assert "date_of_birth" in response.context["adminform"].form.errors


def test_a_slot_lasting_2_to_the_66_minutes_is_a_field_error(clinic, browsers):
    staff = browsers["staff"]
    url = reverse("admin:groups_therapygroup_change", args=[clinic["group"].pk])

    response = refused_without_change(staff, url, {**untouched_form(staff, url), "slots-0-duration_minutes": HUGE})

    assert response.context["inline_admin_formsets"][0].formset.errors[0]["duration_minutes"]


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("anonymous", "/schedule/feed/%00.ics"),
        ("staff", "/admin/scheduling/session/?q=%00"),
        ("staff", "/admin/scheduling/session/?status__exact=%00"),
        ("client", "/schedule/?week=%00"),
    ],
)
def test_a_nul_byte_in_the_url_answers_400(browsers, who, path):
    assert browsers[who].get(path).status_code == 400


def test_a_nul_byte_in_a_posted_field_answers_400_and_changes_nothing(clinic, browsers):
    staff = browsers["staff"]
    url = reverse("admin:scheduling_closure_change", args=[Closure.objects.get().pk])

    response = refused_without_change(staff, url, {**untouched_form(staff, url), "name": "Staff\x00day"})

    assert response.status_code == 400


@pytest.mark.parametrize("selected", ["abc", HUGE, "1.5"])
def test_an_action_on_rows_that_are_not_ids_answers_400(clinic, browsers, selected):
    url = reverse("admin:scheduling_session_changelist")

    response = refused_without_change(
        browsers["staff"], url, {"action": "cancel_sessions", "_selected_action": selected, "reason": "Ill"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"starts_on__year": "99999999"}, 400),
        ({"starts_on__year": "9999"}, 400),
        ({"starts_on__year": HUGE}, 400),
        ({"starts_on__year": "9998", "starts_on__month": "12", "starts_on__day": "31"}, 200),
        ({"starts_on__year": "2026", "starts_on__month": "13"}, 400),
    ],
)
def test_the_date_hierarchy_answers_400_for_a_day_no_calendar_has(clinic, browsers, query, status):
    url = reverse("admin:scheduling_closure_changelist")

    assert browsers["staff"].get(url, query).status_code == status


def test_a_search_of_hundreds_of_words_answers_400(clinic, browsers):
    url = reverse("admin:scheduling_session_changelist")

    assert browsers["staff"].get(url, {"q": "word " * 500}).status_code == 400
