"""Writes of client information are recorded by the services, in the write's own transaction:
each successful write leaves exactly its rows (action, model, object, clients, actor), a refused
write leaves none, a write rolled back takes its rows with it, and the chain stays intact."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.context import Actor, reset_actor, set_actor
from audit.models import AuditEvent
from audit.trail import verify
from clients import services as client_services
from clients.models import Client
from groups import services as group_services
from groups.models import Membership
from iop.accounts import record_password_change
from progress import attendance, notes
from progress.models import Attendance
from scheduling import enrolment, group_changes, reminders
from scheduling.models import Reminder
from scheduling.services import rotate_calendar_token
from tests.factories import (
    PASSWORD,
    ClientFactory,
    ReminderFactory,
    TherapyGroupFactory,
    UserFactory,
)
from tests.helpers import add_members, attendance_post, make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db

AT_THE_DESK = {"ip": "198.51.100.20", "user_agent": "Desk browser", "request_id": "0b7e6c1e-desk"}


def mark() -> int:
    """The last row of the trail so far: a test reads only the rows its write adds."""
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def rows_since(since: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(id__gt=since).order_by("id"))


def summary(since: int) -> set[tuple]:
    """(action, model, object id, client id) of each row written since ``since``."""
    return {(r.action, r.model, r.object_id, r.client_id) for r in rows_since(since)}


@pytest.fixture
def acting_staff(staff_user):
    """The staff member at the desk, as the audit middleware names them during a request."""
    token = set_actor(Actor(user=staff_user, **AT_THE_DESK))
    yield staff_user
    reset_actor(token)


@pytest.fixture
def facilitator_on_page(client, therapist):
    client.force_login(therapist.user)
    return client


def audit_inserts(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith('INSERT INTO "AUDIT_')]


# --- Clients ----------------------------------------------------------------------------------


def test_a_new_client_record_and_a_change_record_field_names_never_values(acting_staff, agreement):
    client = Client(
        chart_number="C-1",
        legal_first_name="Ada",
        legal_last_name="Lowell",
        date_of_birth=datetime.date(1990, 1, 2),
        phone="555-0100",
    )
    since = mark()
    enrolment.update_client(client=client, partner=None)
    created = mark()
    client.phone, client.email = "555-0199", "ada@example.org"
    enrolment.update_client(client=client, partner=None, changed=["phone", "email"])

    assert summary(since) == {
        ("create", "clients.client", str(client.pk), client.pk),
        ("change", "clients.client", str(client.pk), client.pk),
    }
    (change,) = rows_since(created)
    assert change.detail == "changed: email, phone"
    assert "555-0199" not in change.detail and "ada@" not in change.detail
    assert (change.username, change.role, change.ip, change.request_id) == (
        "staff-member",
        "staff",
        AT_THE_DESK["ip"],
        AT_THE_DESK["request_id"],
    )


def test_linking_partners_records_both_clients_and_the_former_partner(client_record, other_client):
    former = ClientFactory()
    client_services.link_partners(client=client_record, partner=former)
    since = mark()

    client_services.link_partners(client=client_record, partner=other_client)

    assert summary(since) == {
        ("change", "clients.client", str(client_record.pk), pk) for pk in (client_record.pk, other_client.pk, former.pk)
    }


def test_a_signature_and_its_revocation_are_recorded_and_a_refused_signature_is_not(staff_user, agreement):
    client = ClientFactory(signed=False)
    since = mark()
    signature = client_services.sign_agreement(client=client, witnessed_by=staff_user)
    client_services.revoke_signature(signature=signature, reason="Signed the wrong form", revoked_by=staff_user)

    assert summary(since) == {
        ("create", "clients.agreementsignature", str(signature.pk), client.pk),
        ("change", "clients.agreementsignature", str(signature.pk), client.pk),
    }
    assert "wrong form" not in " ".join(r.detail for r in rows_since(since))

    discharged = ClientFactory(
        signed=False, status=Client.Status.DISCHARGED, discharge_date=timezone.localdate() - datetime.timedelta(days=1)
    )
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        client_services.sign_agreement(client=discharged, witnessed_by=staff_user)
    assert AuditEvent.objects.count() == before


def test_admission_portal_login_and_calendar_link_are_recorded(agreement):
    client = ClientFactory(status=Client.Status.INTAKE, admission_date=None)
    since = mark()

    client_services.admit_client(client=client)
    login = client_services.open_portal_account(client=client, username="ada-portal", password="a-Long-pass-2026")
    client_services.close_portal_account(client=client)
    rotate_calendar_token(client=client)

    rows = rows_since(since)
    assert [(r.action, r.model, r.object_id, r.client_id, r.role) for r in rows] == [
        ("change", "clients.client", str(client.pk), client.pk, "system"),
        ("create", "auth.user", str(login.pk), client.pk, "system"),
        ("change", "auth.user", str(login.pk), client.pk, "system"),
        ("change", "clients.client", str(client.pk), client.pk, "system"),
    ]
    assert "a-Long-pass-2026" not in " ".join(r.detail for r in rows)


def test_a_refused_portal_login_records_nothing(client_record):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        client_services.open_portal_account(client=client_record, username="short", password="123")
    assert AuditEvent.objects.count() == before


def test_the_admin_deletes_a_client_through_the_service_and_records_it(admin_client, agreement):
    mistaken = ClientFactory(signed=False, status=Client.Status.INTAKE, admission_date=None)
    pk = mistaken.pk
    since = mark()

    response = admin_client.post(reverse("admin:clients_client_delete", args=[pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Client.objects.filter(pk=pk).exists()
    (row,) = rows_since(since)
    assert (row.action, row.model, row.object_id, row.client_id, row.username) == (
        "delete",
        "clients.client",
        str(pk),
        pk,
        "admin",
    )
    assert row.request_id == response["X-Request-ID"]


def test_the_admin_bulk_delete_records_each_client(admin_client, agreement):
    mistaken = ClientFactory.create_batch(2, signed=False, status=Client.Status.INTAKE, admission_date=None)
    since = mark()

    admin_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "delete_selected", "_selected_action": [c.pk for c in mistaken], "post": "yes"},
    )

    assert summary(since) == {("delete", "clients.client", str(c.pk), c.pk) for c in mistaken}


def test_a_client_with_history_is_not_deleted_and_nothing_is_recorded(admin_client, client_record):
    before = AuditEvent.objects.count()
    admin_client.post(reverse("admin:clients_client_delete", args=[client_record.pk]), {"post": "yes"})
    assert Client.objects.filter(pk=client_record.pk).exists()
    assert AuditEvent.objects.count() == before


# --- Logins and passwords ---------------------------------------------------------------------


def test_a_therapist_login_is_recorded_without_a_client():
    since = mark()
    therapist = group_services.add_therapist(
        username="new-therapist", password="a-Long-pass-2026", first_name="Pat", last_name="Lee", credentials="LPC"
    )
    assert summary(since) == {("create", "auth.user", str(therapist.user_id), None)}


def test_a_password_change_is_recorded_by_whom_it_was_made(staff_user):
    person = UserFactory(username="someone")
    since = mark()

    record_password_change(user=person)
    for actor_user in (person, staff_user):
        token = set_actor(Actor(user=actor_user, **AT_THE_DESK))
        try:
            record_password_change(user=person)
        finally:
            reset_actor(token)

    rows = rows_since(since)
    assert [(r.action, r.object_id, r.username, r.detail) for r in rows] == [
        ("password", str(person.pk), "", "set by the system"),
        ("password", str(person.pk), "someone", "changed by the user"),
        ("password", str(person.pk), "staff-member", "set by staff"),
    ]


def test_a_password_set_on_the_admin_user_page_is_recorded(admin_client):
    person = UserFactory(username="someone")
    since = mark()

    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {"password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026", "usable_password": "true"},
    )

    assert response.status_code == 302
    (row,) = rows_since(since)
    assert (row.action, row.model, row.object_id, row.username, row.detail) == (
        "password",
        "auth.user",
        str(person.pk),
        "admin",
        "set by staff",
    )
    assert "a-Long-pass-2026" not in row.detail


def test_a_refused_password_on_the_admin_user_page_records_nothing(admin_client):
    person = UserFactory(username="someone")
    before = AuditEvent.objects.count()
    admin_client.post(
        reverse("admin:auth_user_password_change", args=[person.pk]), {"password1": "a", "password2": "b"}
    )
    assert AuditEvent.objects.count() == before


def test_deleting_a_portal_login_on_the_admin_user_page_is_recorded_for_its_client(admin_client, client_record):
    login = client_services.open_portal_account(
        client=client_record, username="jordan-portal", password="a-Long-pass-2026"
    )
    since = mark()

    response = admin_client.post(reverse("admin:auth_user_delete", args=[login.pk]), {"post": "yes"})

    assert response.status_code == 302
    client_record.refresh_from_db()
    assert client_record.portal_user is None
    assert summary(since) == {("delete", "auth.user", str(login.pk), client_record.pk)}


# --- Memberships ------------------------------------------------------------------------------


def test_enrolment_waitlist_leaving_and_promotion_are_recorded(group, agreement):
    members = add_members(group, group.capacity)
    waiting = ClientFactory()
    since = mark()

    waitlisted = enrolment.enroll_client(client=waiting, group=group)
    leaving = Membership.objects.get(group=group, client=members[0])
    enrolment.end_membership(membership=leaving, reason=Membership.EndReason.COMPLETED, note="Doing well at work")

    rows = rows_since(since)
    assert [(r.action, r.model, r.object_id, r.client_id) for r in rows] == [
        ("create", "groups.membership", str(waitlisted.pk), waiting.pk),
        ("change", "groups.membership", str(leaving.pk), members[0].pk),
        ("change", "groups.membership", str(waitlisted.pk), waiting.pk),
    ]
    assert [r.detail for r in rows[1:]] == ["ended: completed", f"moved from the waitlist into group {group.pk}"]


def test_a_refused_enrolment_records_nothing(group, agreement):
    unsigned = ClientFactory(signed=False)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        enrolment.enroll_client(client=unsigned, group=group)
    assert AuditEvent.objects.count() == before


def test_discharge_records_the_client_and_each_membership_it_ends(client_record, therapist):
    groups = [TherapyGroupFactory(facilitator=therapist), TherapyGroupFactory(facilitator=therapist)]
    memberships = [enrolment.enroll_client(client=client_record, group=g, on=g.start_date) for g in groups]
    since = mark()

    enrolment.discharge_client(client=client_record, note="Moved to residential care")

    assert summary(since) == {
        ("change", "clients.client", str(client_record.pk), client_record.pk),
        *{("change", "groups.membership", str(m.pk), client_record.pk) for m in memberships},
    }
    assert "residential" not in " ".join(r.detail for r in rows_since(since))


def test_ending_a_group_records_each_member_who_leaves_it(group, agreement):
    members = add_members(group, 3)
    since = mark()

    group_changes.end_group(group=group)

    assert {(r.action, r.model, r.client_id, r.detail) for r in rows_since(since)} == {
        ("change", "groups.membership", m.pk, "ended: completed") for m in members
    }


# --- Attendance and notes ---------------------------------------------------------------------


def test_attendance_of_twelve_members_is_one_audit_insert(therapist, agreement):
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    members = add_members(group, 10) + [ClientFactory(), ClientFactory()]
    for extra in members[10:]:
        enrolment.enroll_client(client=extra, group=group, on=group.start_date)
    session = make_session(group)
    since = mark()

    with CaptureQueriesContext(connection) as queries:
        record_everyone_present(session, members, by=therapist.user)

    assert len(audit_inserts(queries)) == 1
    rows = rows_since(since)
    assert len(rows) == 12
    assert {(r.action, r.model, r.object_id, r.client_id) for r in rows} == {
        ("create", "progress.attendance", f"session {session.pk}", m.pk) for m in members
    }
    assert rows[0].detail == f"attendance of session {session.pk}: 12 created, 0 changed"


def test_attendance_taken_on_the_page_names_the_therapist_and_the_request(facilitator_on_page, therapist, agreement):
    group = TherapyGroupFactory(facilitator=therapist)
    members = add_members(group, 3)
    session = make_session(group)
    since = mark()

    response = facilitator_on_page.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members),
        HTTP_USER_AGENT="Clinic tablet",
        REMOTE_ADDR="192.0.2.44",
    )

    assert response.status_code == 302
    rows = rows_since(since)
    assert {(r.client_id, r.username, r.role, r.ip, r.user_agent, r.request_id) for r in rows} == {
        (m.pk, "facilitator", "therapist", "192.0.2.44", "Clinic tablet", response["X-Request-ID"]) for m in members
    }


def test_refused_attendance_records_nothing(therapist, other_therapist, agreement):
    group = TherapyGroupFactory(facilitator=therapist)
    members = add_members(group, 2)
    session = make_session(group)
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        record_everyone_present(session, members, by=other_therapist.user)
    assert AuditEvent.objects.count() == before


def test_writing_signing_and_amending_a_note_are_recorded_without_its_text(therapist, agreement):
    group = TherapyGroupFactory(facilitator=therapist)
    members = add_members(group, 3)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    since = mark()

    note = write_note(session, members, by=therapist.user)
    write_note(session, members, by=therapist.user, topic="Cravings at the weekend")
    before_wrong_password = AuditEvent.objects.count()
    with pytest.raises(ValidationError):
        notes.sign_note(note=note, user=therapist.user, password="not-it")
    assert AuditEvent.objects.count() == before_wrong_password
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    addendum = notes.add_addendum(note=note, author=therapist.user, text="Late entry: urge surfing went well.")

    ids = {m.pk for m in members}
    assert summary(since) == {
        *{("create", "progress.groupnote", str(note.pk), pk) for pk in ids},
        *{("change", "progress.groupnote", str(note.pk), pk) for pk in ids},
        *{("sign", "progress.groupnote", str(note.pk), pk) for pk in ids},
        *{("create", "progress.addendum", str(addendum.pk), pk) for pk in ids},
    }
    details = " ".join(r.detail for r in rows_since(since))
    assert "Cravings" not in details and "urge surfing" not in details and "trigger" not in details


# --- Reminders --------------------------------------------------------------------------------


def test_a_reminder_sent_is_recorded_as_an_export_by_the_system(client_record, group):
    enrolment.enroll_client(client=client_record, group=group, on=group.start_date)
    reminder = ReminderFactory(
        client=client_record, session__group=group, send_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    since = mark()

    assert reminders.send_reminder(reminder_id=reminder.pk).status == "sent"

    (row,) = rows_since(since)
    assert (row.action, row.model, row.object_id, row.client_id, row.role) == (
        "export",
        "scheduling.reminder",
        str(reminder.pk),
        client_record.pk,
        "system",
    )
    assert row.detail == "24h reminder sent by email"


def test_staff_retry_and_cancel_of_reminders_are_recorded(acting_staff, client_record):
    failed = ReminderFactory(client=client_record, status=Reminder.Status.FAILED)
    pending = ReminderFactory(client=client_record)
    since = mark()

    assert reminders.retry_failed(reminder=failed)
    assert reminders.cancel_reminder(reminder=pending)
    assert not reminders.cancel_reminder(reminder=pending)  # no longer pending: nothing changed, nothing recorded

    assert summary(since) == {
        ("change", "scheduling.reminder", str(failed.pk), client_record.pk),
        ("change", "scheduling.reminder", str(pending.pk), client_record.pk),
    }


# --- The transaction and the chain ------------------------------------------------------------


def test_a_write_rolled_back_after_it_was_recorded_leaves_no_audit_row(group, agreement):
    client = ClientFactory()
    before = AuditEvent.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        enrolment.enroll_client(client=client, group=group)
        assert AuditEvent.objects.count() == before + 1
        raise RuntimeError("the caller's transaction fails after the service returned")

    assert AuditEvent.objects.count() == before
    assert not Membership.objects.filter(client=client).exists()


def test_the_chain_holds_after_a_day_of_writes(acting_staff, therapist, agreement):
    group = TherapyGroupFactory(facilitator=therapist)
    members = add_members(group, 3)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    notes.add_addendum(note=note, author=therapist.user, text="Late entry.")
    rotate_calendar_token(client=members[0])
    enrolment.discharge_client(client=members[1])
    attendance.mark_held(session=session, user=therapist.user)
    group_changes.end_group(group=group)

    result = verify()

    assert result.intact
    assert result.checked == AuditEvent.objects.count() > 20
    assert Attendance.objects.filter(session=session).count() == 3
