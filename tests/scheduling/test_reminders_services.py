"""Reminders on any database: planning, sending once, discretion, preferences, changes, the broker
down. Tasks run eagerly (tests/conftest.py); test_reminders_worker.py uses a real worker."""

import datetime
import time

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from clients.models import Client
from groups.models import Membership, TherapyGroup
from iop.celery import app
from iop.discretion import undiscreet_words
from scheduling import reminders
from scheduling.channels import ChannelError, MemorySmsBackend
from scheduling.enrolment import discharge_client, end_membership, enroll_client
from scheduling.models import Closure, Reminder, Session
from scheduling.reminders import follow_client_preferences
from scheduling.services import cancel_session, save_closure, update_session
from tests.factories import ClientFactory, TherapistFactory

pytestmark = pytest.mark.django_db

CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


def make_session(group: TherapyGroup, *, hours_ahead: float, **fields) -> Session:
    starts_at = timezone.now().replace(microsecond=0) + datetime.timedelta(hours=hours_ahead)
    values = {
        "group": group,
        "starts_at": starts_at,
        "ends_at": starts_at + datetime.timedelta(minutes=90),
        "objective": "Identify triggers for relapse",
        "facilitator": group.facilitator,
        "room": group.room,
    } | fields
    return Session.objects.create(**values)


def rows(**filters):
    return list(Reminder.objects.filter(**filters).order_by("kind").values_list("kind", "status"))


def test_planning_twice_plans_nothing_new(member, group):
    make_session(group, hours_ahead=20)

    assert reminders.plan_reminders() == 2
    assert reminders.plan_reminders() == 0
    assert rows(client=member) == [("24h", "pending"), ("2h", "pending")]


def test_session_seen_late_gets_one_late_reminder_and_the_ones_still_ahead(member, group):
    ten_hours = make_session(group, hours_ahead=10)
    one_hour = make_session(group, hours_ahead=1, room="Room 202")

    reminders.plan_reminders()

    assert rows(session=ten_hours) == [("24h", "pending"), ("2h", "pending")]
    assert rows(session=one_hour) == [("2h", "pending")]


def test_sweep_sends_a_due_reminder_once(member, group):
    make_session(group, hours_ahead=10)

    reminders.sweep()
    reminders.sweep()

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert rows(client=member) == [("24h", "sent"), ("2h", "pending")]


def test_second_claim_of_the_same_row_sends_nothing(member, group):
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    reminder = Reminder.objects.get(kind="24h")

    first = reminders.send_reminder(reminder_id=reminder.pk)
    second = reminders.send_reminder(reminder_id=reminder.pk)

    assert (first.status, second.status) == ("sent", "skipped")
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "preferences",
    [
        {"reminder_consent": False},
        {"reminder_channel": Client.ReminderChannel.NONE},
        {"reminder_channel": Client.ReminderChannel.SMS, "phone": ""},
    ],
)
def test_no_consent_or_no_channel_means_no_reminder(member, group, preferences):
    Client.objects.filter(pk=member.pk).update(**preferences)
    make_session(group, hours_ahead=10)

    reminders.sweep()

    assert Reminder.objects.count() == 0
    assert mail.outbox == [] and MemorySmsBackend.outbox == []


def test_sms_client_gets_a_text_message(member, group):
    Client.objects.filter(pk=member.pk).update(reminder_channel=Client.ReminderChannel.SMS, phone="+1-555-0100")
    make_session(group, hours_ahead=10)

    reminders.sweep()

    assert [sms["to"] for sms in MemorySmsBackend.outbox] == ["+1-555-0100"]
    assert mail.outbox == []


def test_rolling_admission_reminds_only_members_on_the_day(member, group, other_client):
    enroll_client(client=other_client, group=group, on=timezone.localdate() + datetime.timedelta(days=5))
    make_session(group, hours_ahead=10)

    reminders.plan_reminders()

    assert set(Reminder.objects.values_list("client_id", flat=True)) == {member.pk}


# --- Discretion -------------------------------------------------------------------------------


@pytest.fixture
def virtual_group(therapist):
    co_facilitator = TherapistFactory(user__first_name="Quinn", user__last_name="Halvorsen")
    return TherapyGroup.objects.create(
        name="Opioid Recovery Circle",
        kind=TherapyGroup.Kind.PROCESS,
        capacity=10,
        facilitator=therapist,
        co_facilitator=co_facilitator,
        modality=TherapyGroup.Modality.VIRTUAL,
        video_link="https://meet.example.org/r/7f3k2",
        start_date=datetime.date(2026, 1, 5),
    )


def test_every_text_is_discreet(
    virtual_group, client_record, other_client, therapist, django_capture_on_commit_callbacks
):
    group = virtual_group
    enroll_client(client=client_record, group=group, on=datetime.date(2026, 1, 5))
    enroll_client(client=other_client, group=group, on=datetime.date(2026, 1, 5))
    Client.objects.filter(pk=other_client.pk).update(reminder_channel=Client.ReminderChannel.SMS, phone="+1-555-0199")
    session = make_session(group, hours_ahead=10, room="", video_link=group.video_link)
    reminders.sweep()
    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=session, reason="Facilitator of the addiction group is ill")
    texts = [" ".join([m.subject, m.body, m.alternatives[0][0]]) for m in mail.outbox]
    texts += [sms["body"] for sms in MemorySmsBackend.outbox]
    assert len(texts) == 4  # a reminder and a cancellation notice, by email and by SMS

    names = [
        group.name,
        group.get_kind_display(),
        session.objective,
        *(
            part
            for person in (client_record, other_client)
            for part in (person.legal_first_name, person.legal_last_name)
        ),
        therapist.user.first_name,
        therapist.user.last_name,
        "Quinn",
        "Halvorsen",
        "Facilitator of the addiction group is ill",
    ]
    for text in texts:
        assert undiscreet_words(text) == [], text
        for name in names:
            assert name.lower() not in text.lower(), (name, text)
        assert "Riverside Health" in text
    assert all("meet.example.org" not in text for text in texts)
    reminder_email = next(m for m in mail.outbox if "cancelled" not in m.subject)
    assert "the join link is in your portal" in reminder_email.body


def test_reminder_gives_local_date_and_time(member, group):
    session = make_session(group, hours_ahead=10)

    reminders.sweep()

    local = timezone.localtime(session.starts_at)
    assert local.strftime("%-I:%M") in mail.outbox[0].subject
    assert local.strftime("%B %-d") in mail.outbox[0].body


# --- Changes follow ---------------------------------------------------------------------------


def test_cancelled_session_cancels_pending_and_tells_those_already_reminded(
    member, group, other_client, django_capture_on_commit_callbacks
):
    enroll_client(client=other_client, group=group, on=datetime.date(2026, 1, 5))
    Client.objects.filter(pk=other_client.pk).update(reminder_consent=False)
    session = make_session(group, hours_ahead=10)
    reminders.sweep()
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=session, reason="Snow")

    assert rows(session=session, client=member) == [("24h", "sent"), ("2h", "cancelled"), ("cancellation", "sent")]
    assert [m.to for m in mail.outbox] == [[member.email]]
    assert "cancelled" in mail.outbox[0].subject


def test_closure_cancels_the_day_and_no_reminder_goes(member, group):
    session = make_session(group, hours_ahead=20)
    reminders.plan_reminders()
    day = timezone.localdate(session.starts_at)

    save_closure(closure=Closure(name="Weather", starts_on=day, ends_on=day))
    reminders.sweep()

    assert rows(session=session) == [("24h", "cancelled"), ("2h", "cancelled")]
    assert mail.outbox == []


def test_moved_session_replans_for_the_new_time(member, group):
    session = make_session(group, hours_ahead=20)
    reminders.plan_reminders()
    new_start = session.starts_at + datetime.timedelta(hours=3)

    update_session(session=session, starts_at=new_start, ends_at=new_start + datetime.timedelta(minutes=90))

    live = Reminder.objects.filter(session=session, status=Reminder.Status.PENDING)
    assert {r.session_starts_at for r in live} == {new_start}
    assert sorted(r.kind for r in live) == ["24h", "2h"]
    assert Reminder.objects.filter(session=session, status=Reminder.Status.CANCELLED).count() == 2


def test_left_group_discharged_or_consent_withdrawn_stops_reminders(member, group, other_client):
    enroll_client(client=other_client, group=group, on=datetime.date(2026, 1, 5))
    third = ClientFactory()
    enroll_client(client=third, group=group, on=datetime.date(2026, 1, 5))
    make_session(group, hours_ahead=20)
    reminders.plan_reminders()

    end_membership(membership=Membership.objects.get(client=member), reason=Membership.EndReason.WITHDREW)
    discharge_client(client=other_client, on=timezone.localdate())
    Client.objects.filter(pk=third.pk).update(reminder_consent=False)
    follow_client_preferences(client=third)
    reminders.sweep()

    assert Reminder.objects.exclude(status=Reminder.Status.CANCELLED).count() == 0
    assert Reminder.objects.count() == 6


# --- Failures, retries, workers that die ------------------------------------------------------


class BrokenSmsBackend:
    def send(self, *, to, body, reference):
        raise ChannelError("Provider answered 503", transient=True)


def test_transient_failures_retry_then_fail_and_staff_can_retry(member, group, settings, staff_client):
    Client.objects.filter(pk=member.pk).update(reminder_channel=Client.ReminderChannel.SMS, phone="+1-555-0100")
    settings.SMS_BACKEND = f"{__name__}.BrokenSmsBackend"
    make_session(group, hours_ahead=10)

    reminders.sweep()
    waiting = Reminder.objects.get(kind="24h")
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.send_at > timezone.now() + datetime.timedelta(seconds=29)  # backed off
    for day in range(1, 5):  # the clock moves past each backoff
        reminders.enqueue_due(now=timezone.now() + datetime.timedelta(days=day))

    failed = Reminder.objects.get(kind="24h")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 5, "Provider answered 503")
    changelist = staff_client.get(reverse("admin:scheduling_reminder_changelist") + "?status__exact=failed")
    assert "Provider answered 503" in changelist.content.decode()

    settings.SMS_BACKEND = "scheduling.channels.MemorySmsBackend"
    with_commit = staff_client.post(
        reverse("admin:scheduling_reminder_changelist"), {"action": "retry", "_selected_action": [failed.pk]}
    )

    assert with_commit.status_code == 302
    reminders.sweep()
    failed.refresh_from_db()
    assert failed.status == "sent" and len(MemorySmsBackend.outbox) == 1


def test_backoff_grows_and_has_jitter():
    delays = {reminders.backoff_seconds(3) for _ in range(50)}

    assert all(120 <= delay <= 240 for delay in delays) and len(delays) > 1
    assert reminders.backoff_seconds(30) <= reminders.MAX_BACKOFF_SECONDS


def test_row_left_sending_by_a_dead_worker_goes_out_after_the_timeout(member, group, settings):
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    reminder = Reminder.objects.get(kind="24h")
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.REMINDER_STALE_AFTER_SECONDS + 1)
    Reminder.objects.filter(pk=reminder.pk).update(status="sending", claimed_at=long_ago, attempts=1)
    Reminder.objects.filter(kind="2h").update(status="cancelled")

    reminders.sweep()

    reminder.refresh_from_db()
    assert reminder.status == "sent" and reminder.attempts == 2
    assert len(mail.outbox) == 1


def test_send_due_reminders_command_sends_without_celery(member, group):
    make_session(group, hours_ahead=10)
    app.conf.task_always_eager = False  # prove no broker is involved

    call_command("send_due_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert len(mail.outbox) == 1
    assert rows(client=member) == [("24h", "sent"), ("2h", "pending")]


# --- The broker is down ------------------------------------------------------------------------


@pytest.fixture
def broker_down():
    """Point the Celery app at a closed port for one test (a real, refused connection)."""
    previous = app.conf.broker_write_url
    app.conf.task_always_eager = False
    app.conf.broker_write_url = CLOSED_PORT_BROKER
    yield
    app.conf.broker_write_url = previous


def test_broker_down_loses_nothing_and_hangs_nothing(member, group, broker_down, staff_client):
    session = make_session(group, hours_ahead=10)

    started = time.monotonic()
    planned, published = reminders.sweep()
    health = staff_client.get("/healthz")
    cancel_session(session=make_session(group, hours_ahead=5, room="Room 9"), reason="Moved")
    elapsed = time.monotonic() - started

    assert elapsed < 10
    assert (planned, published) == (2, 0)
    assert set(Reminder.objects.filter(session=session).values_list("status", flat=True)) == {"pending"}
    assert health.status_code == 503
    assert health.json()["checks"] == {"database": "ok", "broker": "down", "reminders": "ok"}


def test_healthz_reports_database_and_broker(client, settings):
    response = client.get("/healthz")

    assert response.json()["checks"].keys() == {"database", "broker", "reminders"}


def test_plain_texts_are_not_html_escaped(member, group, settings):
    settings.CLINIC_SHORT_NAME = "Smith & Lee Health"
    Client.objects.filter(pk=member.pk).update(reminder_channel=Client.ReminderChannel.SMS, phone="+1-555-0100")
    make_session(group, hours_ahead=10)

    reminders.sweep()

    assert MemorySmsBackend.outbox[0]["body"].startswith("Smith & Lee Health: reminder")
