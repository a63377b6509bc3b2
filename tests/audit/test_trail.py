"""The audit trail: one INSERT per access, sign-in events, the hash chain that catches an altered
row, the database and the model refusing changes, and the privacy officer's admin and export."""

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.context import Actor
from audit.models import AuditEvent, AuditTrailIsAppendOnly
from audit.trail import Action, record, verify
from tests.factories import PASSWORD, ClientFactory, UserFactory
from tests.helpers import code_for, with_authenticator

pytestmark = pytest.mark.django_db

PRIVACY_OFFICER = "Privacy officer"
AT_THE_DESK = Actor(ip="203.0.113.7", user_agent="Clinic desk", request_id="7d0e8a52-5f4b-4f27-9f57-3a9b6f0f6c11")


@pytest.fixture
def privacy_officer(db):
    user = UserFactory(username="privacy-officer", is_staff=True)
    user.groups.add(Group.objects.get(name=PRIVACY_OFFICER))
    return user


def _some_events(count=5):
    clients = ClientFactory.create_batch(2, signed=False)  # a signature is a recorded write
    for turn in range(count):
        record(Action.VIEW, target=clients[turn % 2], clients=[clients[turn % 2]], actor=AT_THE_DESK)
    return list(AuditEvent.objects.order_by("id"))


def test_an_access_to_several_clients_is_one_insert_with_a_row_per_client(staff_user):
    clients = ClientFactory.create_batch(3)
    actor = Actor(user=staff_user, ip="198.51.100.4", user_agent="Firefox", request_id="req-1")

    with CaptureQueriesContext(connection) as queries:
        rows = record(Action.VIEW, target=clients[0].__class__, clients=clients, detail="list of 3", actor=actor)

    inserts = [q for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert len(rows) == 3
    assert {(r.client_id, r.username, r.role, r.action, r.model, r.ip, r.user_agent, r.request_id) for r in rows} == {
        (c.pk, "staff-member", "staff", "view", "clients.client", "198.51.100.4", "Firefox", "req-1") for c in clients
    }


def test_an_access_about_no_client_is_one_row_and_outside_a_request_the_actor_is_the_system():
    (row,) = record(Action.CHANGE, target=AuditEvent, detail="settings")

    assert (row.client_id, row.role, row.username, row.ip, row.request_id) == (None, "system", "", None, "")


def test_sign_in_sign_out_and_a_failed_sign_in_are_recorded_with_address_and_request_id(client, therapist):
    headers = {"HTTP_USER_AGENT": "Phone browser", "REMOTE_ADDR": "192.0.2.10"}

    failed = client.post(reverse("login"), {"username": "facilitator", "password": "wrong"}, **headers)
    signed_in = client.post(reverse("login"), {"username": "facilitator", "password": PASSWORD}, **headers)
    client.post(reverse("logout"), **headers)

    events = list(AuditEvent.objects.order_by("id").values_list("action", "username", "ip", "user_agent", "request_id"))
    assert [e[:4] for e in events] == [
        ("login_failed", "", "192.0.2.10", "Phone browser"),
        ("login", "facilitator", "192.0.2.10", "Phone browser"),
        ("logout", "facilitator", "192.0.2.10", "Phone browser"),
    ]
    assert events[0][4] == failed["X-Request-ID"] and events[1][4] == signed_in["X-Request-ID"]
    assert AuditEvent.objects.get(action="login_failed").detail == "username typed: facilitator"


def test_verify_audit_reports_an_intact_trail():
    _some_events()
    out = io.StringIO()

    call_command("verify_audit", stdout=out)

    assert verify().intact and verify().checked == 5
    assert "intact: 5 rows checked" in out.getvalue()


def _without_the_trigger():
    """On PostgreSQL the trigger refuses the tampering itself; a superuser can switch it off for
    the session, as an attacker with the database's owner could."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")


def test_a_row_altered_by_raw_sql_breaks_the_chain_at_that_row():
    events = _some_events()
    altered = events[2]
    _without_the_trigger()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET username = %s WHERE id = %s", ["someone-else", altered.pk])

    result = verify()

    assert (result.intact, result.broken_at, result.checked) == (False, altered.pk, 2)
    with pytest.raises(CommandError, match=f"broken at row {altered.pk}"):
        call_command("verify_audit", stdout=io.StringIO())


def test_a_row_removed_by_raw_sql_breaks_the_chain_at_the_next_row():
    events = _some_events()
    _without_the_trigger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    assert verify().broken_at == events[2].pk


def test_a_row_forged_with_a_recomputed_chain_but_without_the_key_is_caught(settings):
    events = _some_events()
    settings.AUDIT_CHAIN_KEY = "a key the forger guessed"
    record(Action.VIEW, target=events[0].__class__, actor=AT_THE_DESK)  # chained with the wrong key
    settings.AUDIT_CHAIN_KEY = "restored"

    assert verify().broken_at == events[0].pk  # every link was made with the other key


def test_the_model_and_its_queryset_refuse_to_change_or_remove_a_row():
    event = _some_events(1)[0]
    event.username = "someone-else"

    with pytest.raises(AuditTrailIsAppendOnly):
        event.save()
    with pytest.raises(AuditTrailIsAppendOnly):
        event.delete()
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.update(username="x")
    with pytest.raises(AuditTrailIsAppendOnly):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get().username == ""


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET username = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_postgresql_refuses_update_delete_and_truncate(statement):
    _some_events(2)
    with connection.cursor() as cursor:  # off for the test database only: see tests/conftest.py
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_truncate")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)

    assert AuditEvent.objects.count() == 2 and verify().intact


# --- The privacy officer's admin -----------------------------------------------------------------


def test_clinic_staff_cannot_read_the_trail(staff_client):
    _some_events(1)

    assert staff_client.get(reverse("admin:audit_auditevent_changelist")).status_code == 403


def test_the_privacy_officer_reads_the_trail_filtered_by_client_and_cannot_change_it(client, privacy_officer):
    events = _some_events(4)
    client.force_login(privacy_officer)
    url = reverse("admin:audit_auditevent_changelist")

    page = client.get(url, {"client_id": events[0].client_id})
    shown = {row.pk for row in page.context["cl"].result_list}

    assert page.status_code == 200
    assert shown == {e.pk for e in events if e.client_id == events[0].client_id}
    change = client.post(reverse("admin:audit_auditevent_change", args=[events[0].pk]), {"username": "x"})
    assert change.status_code == 403
    delete = client.post(reverse("admin:audit_auditevent_delete", args=[events[0].pk]), {"post": "yes"})
    assert delete.status_code == 403
    assert AuditEvent.objects.filter(pk=events[0].pk, username="").exists()


def test_a_bad_client_filter_shows_the_whole_trail_not_an_error(client, privacy_officer):
    _some_events(2)
    client.force_login(privacy_officer)

    page = client.get(reverse("admin:audit_auditevent_changelist"), {"client_id": "1; DROP TABLE"})

    assert page.status_code == 200


def test_the_csv_export_escapes_formulas_and_is_itself_recorded(client, privacy_officer):
    record(Action.LOGIN_FAILED, detail='=HYPERLINK("http://x")', actor=AT_THE_DESK)
    record(Action.LOGIN_FAILED, detail="+1", actor=Actor(user_agent="@evil", request_id="r"))
    selected = list(AuditEvent.objects.values_list("pk", flat=True))
    client.force_login(privacy_officer)
    before = AuditEvent.objects.count()

    response = client.post(
        reverse("admin:audit_auditevent_changelist"), {"action": "export_csv", "_selected_action": selected}
    )

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [r["detail"] for r in rows] == ['\'=HYPERLINK("http://x")', "'+1"]
    assert rows[1]["user_agent"] == "'@evil"
    assert AuditEvent.objects.count() == before + 1
    assert AuditEvent.objects.order_by("-id").first().action == Action.EXPORT
    assert verify().intact


def test_a_lockout_is_recorded_with_the_username_typed(client, therapist, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "facilitator", "password": "wrong"}, REMOTE_ADDR="192.0.2.20")

    lockout = AuditEvent.objects.get(action=Action.LOCKOUT)
    assert (lockout.detail, lockout.ip) == ("username typed: facilitator", "192.0.2.20")
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == settings.AXES_FAILURE_LIMIT


def test_each_change_to_a_second_factor_is_recorded_for_its_owner():
    from iop import two_factor

    user = UserFactory()
    key, _ = with_authenticator(user)
    two_factor.regenerate_recovery_codes(user=user)
    two_factor.turn_off_two_factor(user=user, token=code_for(key, steps_ahead=1))

    rows = list(AuditEvent.objects.filter(action=Action.TWO_FACTOR).order_by("id").values_list("username", "detail"))
    assert rows == [
        (user.username, "authenticator app set up; new recovery codes"),
        (user.username, "new recovery codes"),
        (user.username, "second factor turned off"),
    ]


def test_a_password_changed_by_its_owner_is_recorded_without_the_password(client, therapist):
    from django.contrib.auth.models import User

    client.force_login(therapist.user)
    before = AuditEvent.objects.count()

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "a-new-harbour-4471", "new_password2": "a-new-harbour-4471"},
    )

    assert response.status_code == 302
    row = AuditEvent.objects.get(action=Action.PASSWORD)
    assert (row.username, row.model, row.object_id, row.detail) == (
        "facilitator",
        "auth.user",
        str(therapist.user.pk),
        "changed by the user",
    )
    assert AuditEvent.objects.count() == before + 1
    assert "a-new-harbour" not in str(AuditEvent.objects.values_list().get(pk=row.pk))
    assert User.objects.get(pk=therapist.user.pk).check_password("a-new-harbour-4471")
