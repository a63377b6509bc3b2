"""Every page that shows client data leaves exactly its audit rows: one VIEW per client on it (one
row when it names none), written by one INSERT, as the person who asked and in their role. A
refused request (404, another's data) and pages without client data (static files, healthz, the
sign-in page, lists that name no client) record nothing."""

import datetime
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from clients.models import AgreementSignature, Client
from groups.models import Membership, TherapyGroup
from iop.permissions import CLINIC_STAFF, CLINICAL_SUPERVISOR
from progress import notes
from progress.models import Addendum, Attendance, GroupNote
from scheduling.enrolment import enroll_client
from scheduling.models import Reminder, Session
from tests.factories import PASSWORD, ReminderFactory, TherapistFactory, TherapyGroupFactory, UserFactory
from tests.helpers import MEMBER_NAMES, add_members, make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db


@dataclass
class Story:
    """A group of three (the story's client with a portal login, and two more) at a meeting that
    began two hours ago: everyone present, the note written, signed and amended; a reminder."""

    client: Client
    members: list[Client]
    group: TherapyGroup
    session: Session
    note: GroupNote
    addendum: Addendum
    attendance: Attendance
    membership: Membership
    signature: AgreementSignature
    reminder: Reminder
    users: dict

    @property
    def everyone(self) -> set[int]:
        return {c.pk for c in self.members}


@pytest.fixture
def story(client_record, therapist, group, staff_user):
    others = add_members(group, 2)
    enroll_client(client=client_record, group=group, on=group.start_date)
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])
    members = [client_record, *others]
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    addendum = notes.add_addendum(note=note, author=therapist.user, text="Late entry.")
    supervisor = UserFactory(username="supervisor", is_staff=True)
    supervisor.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, CLINICAL_SUPERVISOR]))
    return Story(
        client=client_record,
        members=members,
        group=group,
        session=session,
        note=note,
        addendum=addendum,
        attendance=Attendance.objects.get(session=session, client=client_record),
        membership=Membership.objects.get(group=group, client=client_record),
        signature=client_record.signatures.get(),
        reminder=ReminderFactory(session=session, client=client_record),
        users={
            "client": client_record.portal_user,
            "therapist": therapist.user,
            "staff": staff_user,
            "supervisor": supervisor,
            "anonymous": None,
        },
    )


def admin(name, *args):
    return reverse(f"admin:{name}", args=args)


def every(model):
    return lambda s: set(model.objects.values_list("client_id", flat=True))


# (who, url, expected): expected(story) is (model, object_id, client ids), or None for no row.
PAGES = [
    # The client portal and the calendar feed (fetched by the calendar app, signed in as no one).
    ("client", lambda s: reverse("scheduling:week"), lambda s: ("scheduling.session", "", {s.client.pk})),
    (
        "client",
        lambda s: reverse("scheduling:week") + "?week=2026-W40",
        lambda s: ("scheduling.session", "", {s.client.pk}),
    ),
    (
        "anonymous",
        lambda s: reverse("scheduling:feed", args=[s.client.calendar_token]),
        lambda s: ("scheduling.session", "", {s.client.pk}),
    ),
    # The therapist's pages.
    ("therapist", lambda s: reverse("therapist:dashboard"), lambda s: ("scheduling.session", "", {None})),
    (
        "therapist",
        lambda s: reverse("therapist:session", args=[s.session.pk]),
        lambda s: ("scheduling.session", str(s.session.pk), s.everyone),
    ),
    (
        "therapist",
        lambda s: reverse("therapist:note", args=[s.session.pk]),
        lambda s: ("progress.groupnote", str(s.note.pk), s.everyone),
    ),
    (
        "therapist",
        lambda s: reverse("therapist:group", args=[s.group.pk]),
        lambda s: ("groups.therapygroup", str(s.group.pk), s.everyone),
    ),
    # The admin's pages with client data, as the front desk.
    ("staff", lambda s: admin("clients_client_changelist"), lambda s: ("clients.client", "", s.everyone)),
    (
        "staff",
        lambda s: admin("clients_client_change", s.client.pk),
        lambda s: ("clients.client", str(s.client.pk), {s.client.pk}),
    ),
    (
        "staff",
        lambda s: admin("groups_membership_changelist"),
        lambda s: ("groups.membership", "", every(Membership)(s)),
    ),
    (
        "staff",
        lambda s: admin("groups_membership_change", s.membership.pk),
        lambda s: ("groups.membership", str(s.membership.pk), {s.client.pk}),
    ),
    (
        "staff",
        lambda s: admin("clients_agreementsignature_changelist"),
        lambda s: ("clients.agreementsignature", "", every(AgreementSignature)(s)),
    ),
    (
        "staff",
        lambda s: admin("clients_agreementsignature_change", s.signature.pk),
        lambda s: ("clients.agreementsignature", str(s.signature.pk), {s.client.pk}),
    ),
    ("staff", lambda s: admin("progress_attendance_changelist"), lambda s: ("progress.attendance", "", s.everyone)),
    (
        "staff",
        lambda s: admin("progress_attendance_change", s.attendance.pk),
        lambda s: ("progress.attendance", str(s.attendance.pk), {s.client.pk}),
    ),
    ("staff", lambda s: admin("progress_groupnote_changelist"), lambda s: ("progress.groupnote", "", s.everyone)),
    (
        "staff",
        lambda s: admin("progress_groupnote_change", s.note.pk),
        lambda s: ("progress.groupnote", str(s.note.pk), s.everyone),
    ),
    ("staff", lambda s: admin("progress_addendum_changelist"), lambda s: ("progress.addendum", "", s.everyone)),
    (
        "staff",
        lambda s: admin("progress_addendum_change", s.addendum.pk),
        lambda s: ("progress.addendum", str(s.addendum.pk), s.everyone),
    ),
    (
        "staff",
        lambda s: admin("scheduling_session_change", s.session.pk),
        lambda s: ("scheduling.session", str(s.session.pk), s.everyone),
    ),
    (
        "staff",
        lambda s: admin("groups_therapygroup_change", s.group.pk),
        lambda s: ("groups.therapygroup", str(s.group.pk), s.everyone),
    ),
    ("staff", lambda s: admin("scheduling_reminder_changelist"), lambda s: ("scheduling.reminder", "", {s.client.pk})),
    (
        "staff",
        lambda s: admin("scheduling_reminder_change", s.reminder.pk),
        lambda s: ("scheduling.reminder", str(s.reminder.pk), {s.client.pk}),
    ),
    # The supervisor reads the notes in full, and it is recorded the same way.
    (
        "supervisor",
        lambda s: admin("progress_groupnote_changelist"),
        lambda s: ("progress.groupnote", "", s.everyone),
    ),
    (
        "supervisor",
        lambda s: admin("progress_groupnote_change", s.note.pk),
        lambda s: ("progress.groupnote", str(s.note.pk), s.everyone),
    ),
    (
        "supervisor",
        lambda s: admin("progress_addendum_change", s.addendum.pk),
        lambda s: ("progress.addendum", str(s.addendum.pk), s.everyone),
    ),
    # Lists that name no client: nothing to record (the dashboard's reads: tests/test_dashboard.py).
    ("staff", lambda s: admin("scheduling_session_changelist"), lambda s: None),
    ("staff", lambda s: admin("groups_therapygroup_changelist"), lambda s: None),
    ("staff", lambda s: admin("groups_therapist_changelist"), lambda s: None),
    ("staff", lambda s: admin("clients_confidentialityagreement_changelist"), lambda s: None),
    ("staff", lambda s: admin("scheduling_closure_changelist"), lambda s: None),
]

ROLES = {
    "client": "client",
    "therapist": "therapist",
    "staff": "staff",
    "supervisor": "staff",
    "anonymous": "anonymous",
}


def new_rows(since: int):
    """The reads recorded since ``since`` (a test's force_login adds sign-in rows of its own)."""
    return list(
        AuditEvent.objects.filter(pk__gt=since, action__in=["view", "export"])
        .order_by("id")
        .values_list("action", "model", "object_id", "client_id", "user_id", "role", "request_id")
    )


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def audit_inserts(queries) -> int:
    return sum(1 for q in queries if q["sql"].lstrip().upper().startswith('INSERT INTO "AUDIT_AUDITEVENT"'))


@pytest.mark.parametrize(("who", "url", "expected"), PAGES, ids=[f"{n:02d}-{p[0]}" for n, p in enumerate(PAGES)])
def test_each_page_with_client_data_leaves_exactly_its_rows(client, story, who, url, expected):
    user = story.users[who]
    if user is not None:
        client.force_login(user)
    before = last_id()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(story))

    assert response.status_code == 200
    rows = new_rows(before)
    wanted = expected(story)
    if wanted is None:
        assert rows == []
        return
    model, object_id, clients = wanted
    assert {row[:5] for row in rows} == {
        ("view", model, object_id, client_id, user.pk if user else None) for client_id in clients
    }
    assert len(rows) == len(clients)
    assert {row[5] for row in rows} == {ROLES[who]}
    assert {row[6] for row in rows} == {response["X-Request-ID"]}
    assert audit_inserts(queries.captured_queries) == 1  # one INSERT, however many clients


def test_a_page_shown_again_after_a_refused_form_is_recorded_like_the_page(client, story):
    client.force_login(story.users["therapist"])
    before = last_id()

    response = client.post(reverse("therapist:note_sign", args=[story.session.pk]), {"password": "wrong"})

    assert response.status_code == 200
    assert {row[1:4] for row in new_rows(before)} == {
        ("progress.groupnote", str(story.note.pk), pk) for pk in story.everyone
    }


# --- What records nothing ---------------------------------------------------------------------
# A refused request records nothing: the access helper answers 404 before anything is read, so
# there is no read to account for (a refused sign-in is recorded by audit.receivers instead).


@pytest.fixture
def other_therapist_story(story):
    return TherapistFactory(user__username="someone-else")


def test_refused_requests_record_nothing(client, story, other_client, other_therapist_story):
    other_client.portal_user = UserFactory(username="other-portal")
    other_client.save(update_fields=["portal_user"])
    before = last_id()

    assert client.get(reverse("scheduling:feed", args=["not-a-token"])).status_code == 404
    client.force_login(other_therapist_story.user)
    for name, pk in [
        ("therapist:session", story.session.pk),
        ("therapist:note", story.session.pk),
        ("therapist:group", story.group.pk),
    ]:
        assert client.get(reverse(name, args=[pk])).status_code == 404
    client.force_login(other_client.portal_user)
    for name, pk in [("therapist:session", story.session.pk), ("therapist:note", story.session.pk)]:
        assert client.get(reverse(name, args=[pk])).status_code == 404
    client.force_login(story.users["staff"])
    assert client.get(reverse("therapist:note", args=[story.session.pk])).status_code == 404
    assert client.get(admin("audit_auditevent_changelist")).status_code == 403
    missing = client.get(admin("clients_client_change", 987654))
    assert missing.status_code == 302  # the admin's "no such client" goes back to the index

    assert new_rows(before) == []


def test_pages_without_client_data_record_nothing(client, story):
    before = last_id()

    client.get("/static/css/clinic.css")
    client.get(reverse("healthz"))
    client.get(reverse("login"))
    client.get(reverse("admin:login"))

    assert new_rows(before) == []


def test_a_calendar_feed_fetch_is_the_clients_with_no_user(client, story):
    before = last_id()

    client.get(reverse("scheduling:feed", args=[story.client.calendar_token]), HTTP_USER_AGENT="Phone calendar")

    (event,) = AuditEvent.objects.filter(pk__gt=before)
    assert (event.user_id, event.username, event.role, event.client_id, event.detail, event.user_agent) == (
        None,
        "",
        "anonymous",
        story.client.pk,
        "calendar feed",
        "Phone calendar",
    )


# --- Who has looked at this record -------------------------------------------------------------


@pytest.fixture
def privacy_officer(db):
    user = UserFactory(username="privacy-officer", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, "Privacy officer"]))
    return user


def test_the_privacy_officer_sees_who_has_looked_at_a_clients_record(client, story, privacy_officer):
    client.force_login(story.users["staff"])
    client.get(admin("clients_client_change", story.client.pk))
    client.force_login(story.users["therapist"])
    client.get(reverse("therapist:note", args=[story.session.pk]))
    client.force_login(privacy_officer)

    page = client.get(admin("clients_client_change", story.client.pk)).content.decode()

    assert "Who has looked at this record" in page
    section = page[page.index("Who has looked at this record") :]
    assert "staff-member" in section and "facilitator" in section and "Therapist" in section
    assert f"{admin('audit_auditevent_changelist')}?client_id={story.client.pk}" in section


def test_staff_without_the_permission_do_not_see_who_has_looked(staff_client, story):
    page = staff_client.get(admin("clients_client_change", story.client.pk)).content.decode()

    assert "Who has looked at this record" not in page


def test_who_has_looked_is_one_query_and_shows_the_last_twenty(client, story, privacy_officer):
    client.force_login(story.users["staff"])
    for _ in range(25):
        client.get(admin("clients_client_change", story.client.pk))
    url = admin("clients_client_change", story.client.pk)
    with CaptureQueriesContext(connection) as as_staff:
        client.get(url)
    staff_trail_queries = [q for q in as_staff.captured_queries if "audit_auditevent" in q["sql"]]
    client.force_login(privacy_officer)
    client.get(url)  # the officer's permissions and role, looked up once

    with CaptureQueriesContext(connection) as as_officer:
        page = client.get(url).content.decode()

    section = page[page.index("Who has looked at this record") :]
    assert section.count("<tr><td>") == 20
    trail_queries = [q for q in as_officer.captured_queries if "audit_auditevent" in q["sql"]]
    assert len(trail_queries) == len(staff_trail_queries) + 1  # the recent views, in one query


def test_the_audit_trail_filtered_by_client_lists_the_reads(client, story, privacy_officer):
    client.force_login(story.users["therapist"])
    client.get(reverse("therapist:session", args=[story.session.pk]))
    client.force_login(privacy_officer)

    response = client.get(admin("audit_auditevent_changelist"), {"client_id": story.client.pk})

    shown = {(e.action, e.model, e.client_id) for e in response.context["cl"].result_list}
    assert ("view", "scheduling.session", story.client.pk) in shown
    assert all(e.client_id == story.client.pk for e in response.context["cl"].result_list)


def test_a_week_page_records_the_week_it_shows(client, story):
    client.force_login(story.users["client"])
    before = last_id()
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday())
    year, week, _ = monday.isocalendar()

    client.get(reverse("scheduling:week"))

    assert AuditEvent.objects.get(pk__gt=before).detail == f"portal week {year}-W{week:02d}"


# --- The lists' audit rows cost the same however long the list ----------------------------------

AUDITED_LISTS = [
    "clients_client_changelist",
    "groups_membership_changelist",
    "clients_agreementsignature_changelist",
    "progress_attendance_changelist",
    "progress_groupnote_changelist",
    "progress_addendum_changelist",
    "scheduling_reminder_changelist",
]


def another_meeting(therapist, size):
    """One more group of ``size`` at a meeting with attendance, a signed and amended note, and a
    reminder for each member: a row more in every audited list per member or meeting."""
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    members = add_members(group, size, names=MEMBER_NAMES[3 : 3 + size])
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    notes.add_addendum(note=note, author=therapist.user, text="Late entry.")
    for member in members:
        ReminderFactory(session=session, client=member)


@pytest.mark.parametrize("name", AUDITED_LISTS)
def test_an_audited_list_costs_the_same_queries_however_many_rows(client, story, therapist, name):
    client.force_login(story.users["supervisor"])
    url = admin(name)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        shorter = len(client.get(url).context["cl"].result_list)
    another_meeting(therapist, 6)

    with CaptureQueriesContext(connection) as more:
        response = client.get(url)

    assert len(response.context["cl"].result_list) > shorter
    assert len(more.captured_queries) == len(few.captured_queries)


def test_search_as_you_type_in_the_admin_records_the_clients_it_names(staff_client, client_record, other_client):
    before = AuditEvent.objects.count()

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "clients", "model_name": "client", "field_name": "partner", "term": "Jordan"},
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(client_record.pk)]
    rows = AuditEvent.objects.order_by("id")[before:]
    assert [(r.action, r.model, r.client_id, r.username, r.detail) for r in rows] == [
        ("view", "clients.client", client_record.pk, "staff-member", "search as you type: 1 clients")
    ]


def test_search_as_you_type_for_records_without_client_data_records_nothing(staff_client, therapist):
    before = AuditEvent.objects.count()

    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "groups", "model_name": "therapygroup", "field_name": "facilitator", "term": "Dana"},
    )

    assert response.status_code == 200
    assert AuditEvent.objects.count() == before
