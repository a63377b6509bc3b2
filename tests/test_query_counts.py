"""Every page costs the same number of queries in a small clinic and in one ten times its size.

The pages are found, not listed: every model registered in the admin (its changelist, the
changelist searched, the changelist under each of its filters, its add page, the change page of
one of its rows) and every URL outside the admin that the resolver knows, each opened by its
owner (a superuser in the admin, the facilitating therapist on /therapist/, the client on
/schedule/). A page added tomorrow is counted the day it lands.

The clinic grows around the rows the pages show: the therapist leads more groups, the client
belongs to more of them, the session's roster and note gain members, every list gains rows. A
page whose count changes between the two sizes runs a query per row somewhere.
"""

import datetime
import re
import time
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.db import connection
from django.test import Client as WebClient
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from clients.models import Client, OrientationItem, OrientationStep
from clients.services import link_partners
from groups.models import Membership
from iop.admin_filters import AutocompleteFilter
from iop.dashboard import section_names
from iop.middleware import LAST_ACTIVITY
from iop.models import PasswordChangeDue
from progress import reports
from progress.checkins import record_measure
from progress.models import DischargeSummary, GroupNote, NoteGoal, TreatmentPlan
from progress.plans import change_goal_status
from scheduling.models import Reminder, Session, Topic
from tests.factories import (
    AddendumFactory,
    AttendanceFactory,
    CheckInFactory,
    ClientFactory,
    ClosureFactory,
    GoalFactory,
    GroupNoteFactory,
    IndividualNoteFactory,
    MeasureResponseFactory,
    MembershipFactory,
    PlanReviewFactory,
    ReminderFactory,
    SessionFactory,
    TherapistFactory,
    TherapyGroupFactory,
    TreatmentPlanFactory,
    UserFactory,
    WeeklySlotFactory,
)

pytestmark = pytest.mark.django_db

SMALL, LARGE = 1, 10
# A search term every searchable list can match (chart numbers start with it).
SEARCH_TERM = "T-0"


# --- The clinic, in units that each add a bit of everything -------------------------------------


def build_clinic(now):
    """The people and rows the pages are opened for; ``grow`` adds units around them."""
    reader = UserFactory(username="admin-reader", is_staff=True, is_superuser=True)
    therapist = TherapistFactory(user__username="facilitator")
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    WeeklySlotFactory(group=group)
    client = ClientFactory()
    client.portal_user = UserFactory(username="portal-client")
    client.save(update_fields=["portal_user"])
    MembershipFactory(client=client, group=group)
    session = SessionFactory(group=group, starts_at=now - datetime.timedelta(hours=2))
    AttendanceFactory(session=session, client=client)
    note = GroupNoteFactory(session=session)
    IndividualNoteFactory(group_note=note, client=client)
    # The client's PHQ-9 with item 9 above 0: an open safety alert on the therapist's pages.
    alert_response = record_measure(client=client, instrument="phq9", answers={f"item_{n}": 2 for n in range(1, 10)})
    # The client's treatment plan, long unreviewed (on the dashboard), its goal linked from the note.
    plan = TreatmentPlanFactory(
        client=client,
        created_by=therapist.user,
        started_on=timezone.localdate(now) - datetime.timedelta(days=90),
    )
    goal = GoalFactory(plan=plan)
    NoteGoal.objects.create(individual_note=note.individual_notes.get(client=client), goal=goal)
    # The group's topic cycle, and the client's orientation begun.
    Topic.objects.create(group=group, position=1, title="Anxiety")
    OrientationStep.objects.create(
        client=client, item=OrientationItem.values[0], covered_on=timezone.localdate(now), covered_by=reader
    )
    return {
        "plan": plan,
        "goal": goal,
        "alert": alert_response.safety_alert,
        "response": alert_response,
        "reader": reader,
        "therapist": therapist,
        "group": group,
        "client": client,
        "session": session,
        "note": note,
        "units": 0,
    }


def add_unit(clinic, now):
    """One more of everything: a group the therapist leads and the client belongs to, with its
    members, a slot, a met session with attendance, a signed note and an addendum, a session
    ahead with reminders, a waitlist and a past member; a member more in the session's group,
    on its roster and in its note; a closure, a password to change and a failed sign-in."""
    index = clinic["units"] = clinic["units"] + 1
    therapist, client = clinic["therapist"], clinic["client"]
    co_facilitator = TherapistFactory()
    group = TherapyGroupFactory(facilitator=therapist, co_facilitator=co_facilitator, capacity=8)
    WeeklySlotFactory(group=group, weekday=index % 7)
    WeeklySlotFactory(
        group=clinic["group"], weekday=index % 7, start_time=datetime.time(7 + index, 0), duration_minutes=60
    )
    members = [client, ClientFactory(), ClientFactory()]
    for member in members:
        MembershipFactory(client=member, group=group)
    MembershipFactory(
        group=group, status=Membership.Status.WAITLISTED, joined_on=None, joined_at=None, waitlisted_at=now
    )
    MembershipFactory(
        group=group,
        status=Membership.Status.ENDED,
        ended_on=timezone.localdate(now),
        end_reason=Membership.EndReason.COMPLETED,
    )

    met = SessionFactory(group=group, starts_at=now - datetime.timedelta(days=1, minutes=index))
    note = GroupNoteFactory(session=met)
    for member in members:
        AttendanceFactory(session=met, client=member)
        part = IndividualNoteFactory(group_note=note, client=member)
        if member == client:
            NoteGoal.objects.create(individual_note=part, goal=clinic["goal"])
    GroupNote.objects.filter(pk=note.pk).update(signed_at=now, signed_by=therapist.user)
    Session.objects.filter(pk=met.pk).update(note_signed_at=now)  # as sign_note leaves it
    AddendumFactory(group_note=note, author=therapist.user)
    SessionFactory(group=group, starts_at=now - datetime.timedelta(hours=3, minutes=index))  # note overdue
    ahead = SessionFactory(group=group, starts_at=now + datetime.timedelta(days=1, minutes=index))
    for member in members:
        ReminderFactory(session=ahead, client=member)
    SessionFactory(group=group, starts_at=now + datetime.timedelta(days=2), status=Session.Status.CANCELLED)

    # The session's roster and its note gain a member.
    newcomer = ClientFactory()
    MembershipFactory(client=newcomer, group=clinic["group"])
    AttendanceFactory(session=clinic["session"], client=newcomer, status="absent", minutes_attended=0, participation=0)
    newcomer_part = IndividualNoteFactory(group_note=clinic["note"], client=newcomer)

    # The client's plan gains a goal that changed status and a review; the newcomer has a plan
    # overdue for review, whose goal their part of the session's note addressed.
    goal = GoalFactory(plan=clinic["plan"])
    change_goal_status(goal=goal, by=therapist.user, to_status="met", note="Reached.")
    PlanReviewFactory(plan=clinic["plan"], reviewed_on=clinic["plan"].started_on + datetime.timedelta(days=index))
    newcomer_plan = TreatmentPlanFactory(
        client=newcomer, created_by=therapist.user, started_on=timezone.localdate(now) - datetime.timedelta(days=60)
    )
    NoteGoal.objects.create(individual_note=newcomer_part, goal=GoalFactory(plan=newcomer_plan))

    # The client's history grows a week of check-in and questionnaires; a member of the therapist's
    # group gains an open alert, another is not on track.
    CheckInFactory(client=client, week=timezone.localdate(now) - datetime.timedelta(weeks=index, days=now.weekday()))
    for instrument in ("phq9", "gad7"):
        MeasureResponseFactory(
            client=client, instrument=instrument, total=8, taken_on=now - datetime.timedelta(weeks=2 * index)
        )
    record_measure(client=newcomer, instrument="phq9", answers={f"item_{n}": 1 for n in range(1, 10)})
    MeasureResponseFactory(client=members[1], total=6, taken_on=now - datetime.timedelta(weeks=8))
    MeasureResponseFactory(client=members[1], total=14, taken_on=now - datetime.timedelta(weeks=1))

    # A member of the therapist's group discharged today, their summary a draft (on the dashboard).
    leaver = ClientFactory()
    leaver.status, leaver.discharge_date = Client.Status.DISCHARGED, timezone.localdate(now)
    Client.objects.filter(pk=leaver.pk).update(status=leaver.status, discharge_date=leaver.discharge_date)
    MembershipFactory(
        client=leaver,
        group=group,
        status=Membership.Status.ENDED,
        ended_on=timezone.localdate(now),
        end_reason=Membership.EndReason.DISCHARGED,
    )
    DischargeSummary.objects.create(client=leaver, discharge_date=leaver.discharge_date, written_by=therapist.user)

    # The session's group's cycle gains a topic and a meeting to come that takes it; the client's
    # orientation an item (as long as there are items).
    Topic.objects.create(group=clinic["group"], position=index + 1, title=f"Topic {index}")
    SessionFactory(
        group=clinic["group"], starts_at=now + datetime.timedelta(days=3, minutes=index), cycle_step=index + 1
    )
    if index < len(OrientationItem.values):
        OrientationStep.objects.create(
            client=client,
            item=OrientationItem.values[index],
            covered_on=timezone.localdate(now),
            covered_by=clinic["reader"],
        )

    start = timezone.localdate(now) + datetime.timedelta(days=30 + 3 * index)
    ClosureFactory(name=f"Staff day {index}", starts_on=start, ends_on=start)
    PasswordChangeDue.objects.create(user=co_facilitator.user)
    AccessAttempt.objects.create(
        username=f"someone-{index}",
        ip_address=f"10.0.0.{index}",
        user_agent="test",
        get_data="",
        post_data="",
        http_accept="text/html",
        path_info="/accounts/login/",
        failures_since_start=1,
    )


def grow(clinic, now, units):
    while clinic["units"] < units:
        add_unit(clinic, now)


def queries(browser: WebClient, url: str, *, first_visit: bool = False) -> tuple[int, int]:
    """The status and the number of queries of a GET. A first visit is made twice and counted
    the second time: what it caches (content types, the sign-in session's activity stamp) is
    then counted at neither size."""
    if first_visit:
        browser.get(url)
    # The sign-in session's activity stamp is rewritten once a minute; fresh, it is not counted.
    session = browser.session
    session[LAST_ACTIVITY] = time.time()
    session.save()
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
        # A file sent as it is written (a report's CSV) reads its rows as it is sent.
        if response.streaming:
            b"".join(response.streaming_content)
    return response.status_code, len(captured)


# --- The admin -----------------------------------------------------------------------------------


def focus_object(model, clinic):
    """The row whose change page is opened: the one the clinic grows around, where there is one."""
    for value in clinic.values():
        if isinstance(value, model):
            return value
    return model._base_manager.order_by("pk").first()


def filter_queries(browser: WebClient, changelist: str) -> list[str]:
    """Each choice of each list filter, as the query string the filter's link carries."""
    response = browser.get(changelist)
    assert response.status_code == 200, changelist
    cl = response.context["cl"]
    found = []
    for spec in cl.filter_specs:
        if isinstance(spec, AutocompleteFilter):
            # Its choices come from the search-as-you-type view; the first row stands for them.
            first = spec.field.related_model._base_manager.order_by("pk").first()
            found.append(urlencode({spec.lookup_kwarg: first.pk}))
            continue
        for choice in spec.choices(cl):
            query = choice["query_string"].lstrip("?")
            if query and not choice["selected"]:
                found.append(query)
    return found


def admin_pages(browser: WebClient, clinic) -> list[str]:
    # The dashboard, and the page of each of its sections (iop.dashboard).
    pages = [reverse("admin:index"), *(reverse("admin:dashboard_section", args=[name]) for name in section_names())]
    for model, model_admin in admin.site._registry.items():
        info = model._meta.app_label, model._meta.model_name
        changelist = reverse("admin:{}_{}_changelist".format(*info))
        pages.append(changelist)
        if model_admin.search_fields:
            pages.append(f"{changelist}?{urlencode({'q': SEARCH_TERM})}")
        pages.extend(f"{changelist}?{query}" for query in filter_queries(browser, changelist))
        pages.append(reverse("admin:{}_{}_add".format(*info)))
        row = focus_object(model, clinic)
        if row is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[row.pk]))
    return pages


def test_every_admin_page_costs_the_same_queries_in_a_clinic_ten_times_larger(client, now):
    clinic = build_clinic(now)
    grow(clinic, now, SMALL)
    client.force_login(clinic["reader"])
    pages = admin_pages(client, clinic)
    small = {page: queries(client, page, first_visit=True) for page in pages}

    grow(clinic, now, LARGE)
    large = {page: queries(client, page) for page in pages}

    assert {status for status, _ in small.values()} <= {200, 403}
    grown = {page: (small[page], large[page]) for page in pages if small[page] != large[page]}
    assert not grown, "(status, queries) at 1× and at 10×:\n" + "\n".join(
        f"{page}: {before} → {after}" for page, (before, after) in grown.items()
    )
    # The pages were found: each registered model's list, its filters and its pages.
    assert len(pages) > 4 * len(admin.site._registry)


# --- The reports (admin pages of their own, under /admin/reports/) ------------------------------


def report_pages(clinic, today) -> list[str]:
    """Each report as it opens, over days that hold the clinic's rows, narrowed to a group and to
    a therapist, and as a CSV file."""
    days = {"start": (today - datetime.timedelta(days=35)).isoformat(), "end": today.isoformat()}
    pages = [reverse("reports:index")]
    for kind in reports.REPORTS:
        url = reverse("reports:report", args=[kind.slug])
        pages += [
            url,
            f"{url}?{urlencode(days)}",
            f"{url}?{urlencode({**days, 'group': clinic['group'].pk})}",
            f"{url}?{urlencode({**days, 'therapist': clinic['therapist'].pk})}",
            f"{url}?{urlencode({**days, 'format': 'csv'})}",
        ]
    return pages


def test_every_report_costs_the_same_queries_in_a_clinic_ten_times_larger(client, now, today):
    clinic = build_clinic(now)
    grow(clinic, now, SMALL)
    client.force_login(clinic["reader"])
    pages = report_pages(clinic, today)
    small = {page: queries(client, page, first_visit=True) for page in pages}

    grow(clinic, now, LARGE)
    large = {page: queries(client, page) for page in pages}

    assert {status for status, _ in small.values()} == {200}
    grown = {page: (small[page], large[page]) for page in pages if small[page] != large[page]}
    assert not grown, "(status, queries) at 1× and at 10×:\n" + "\n".join(
        f"{page}: {before} → {after}" for page, (before, after) in grown.items()
    )


# --- Everything outside the admin ----------------------------------------------------------------


def url_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from url_routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def user_pages() -> list[str]:
    return sorted(
        route
        for route in url_routes()
        if not route.startswith("admin/") and not route.startswith("^") and "(?P" not in route
    )


def owner(route: str, clinic) -> object:
    if route.startswith("therapist/"):
        return clinic["therapist"].user
    if route.startswith("accounts/"):
        return clinic["reader"]
    return clinic["client"].portal_user


def path_for(route: str, clinic) -> str:
    if "alerts/" in route:
        pk = clinic["alert"].pk
    elif "clients/" in route:
        pk = clinic["client"].pk
    elif "goals/" in route:
        pk = clinic["goal"].pk
    elif "questionnaires/" in route:
        pk = clinic["response"].pk
    else:
        pk = clinic["group"].pk if "groups/" in route else clinic["session"].pk
    values = {
        "pk": str(pk),
        "token": clinic["client"].calendar_token,
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "x"), route)


@pytest.mark.parametrize("route", user_pages())
def test_every_page_outside_the_admin_costs_the_same_queries_in_a_clinic_ten_times_larger(client, now, route):
    clinic = build_clinic(now)
    grow(clinic, now, SMALL)
    client.force_login(owner(route, clinic))
    path = path_for(route, clinic)
    small = queries(client, path, first_visit=True)

    grow(clinic, now, LARGE)
    large = queries(client, path)

    assert small[0] < 500
    if route in ("therapist/clients/<int:pk>/progress/", "therapist/clients/<int:pk>/discharge/", "schedule/progress/"):
        assert small[0] == 200, path
    assert small == large, f"{path}: (status, queries) {small} at 1×, {large} at 10×"


def test_the_pages_that_grow_with_the_clinic_are_among_those_counted():
    routes = user_pages()

    for route in [
        "schedule/",
        "schedule/feed/<str:token>.ics",
        "schedule/my-answers/",
        "schedule/check-in/",
        "schedule/questionnaires/phq-9/",
        "schedule/questionnaires/<int:pk>/",
        "schedule/before-your-first-group/",
        "therapist/",
        "therapist/groups/<int:pk>/",
        "therapist/sessions/<int:pk>/",
        "therapist/sessions/<int:pk>/sign-in-sheet/",
        "therapist/alerts/<int:pk>/",
        "therapist/clients/<int:pk>/plan/",
        "therapist/goals/<int:pk>/",
        "therapist/clients/<int:pk>/progress/",
        "therapist/clients/<int:pk>/discharge/",
        "schedule/progress/",
    ]:
        assert route in routes
    assert Reminder in admin.site._registry and Session in admin.site._registry


# --- Pages the admin adds beside its models' own -------------------------------------------------


def test_the_group_finder_costs_the_same_queries_in_a_clinic_ten_times_larger(client, now):
    """Every unit adds a group the client belongs to (with slots, members and a waitlist) and
    groups the client is not in; the client's partner is in the groups of the grown clinic too."""
    clinic = build_clinic(now)
    partner = ClientFactory()
    link_partners(client=clinic["client"], partner=partner)
    TreatmentPlan.objects.filter(pk=clinic["plan"].pk).update(recommended_group_kinds=["process"])
    grow(clinic, now, SMALL)
    MembershipFactory(client=partner, group=clinic["group"])
    client.force_login(clinic["reader"])
    url = reverse("admin:progress_find_group", args=[clinic["client"].pk])
    small = queries(client, url, first_visit=True)

    grow(clinic, now, LARGE)
    for group in Membership.objects.filter(client=clinic["client"]).values_list("group", flat=True):
        Membership.objects.get_or_create(
            client=partner, group_id=group, defaults={"status": "waitlisted", "waitlisted_at": now}
        )
    large = queries(client, url)

    assert small[0] == 200
    assert small == large, f"(status, queries) {small} at 1×, {large} at 10×"
