"""Reminders through faults (issue 11): a claim is never lost, a delivered reminder is recorded
though the database connection drops, a message lost with a worker or a broker is published
again within a sweep or two, and /healthz says when reminders are late or nobody sweeps."""

import datetime

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import OperationalError
from django.db.models.signals import post_save
from django.utils import timezone

from audit.models import AuditEvent
from clients.models import Client
from scheduling import reminders
from scheduling.enrolment import enroll_client
from scheduling.models import Reminder, Session
from tests import factories
from tests.factories import UserFactory
from tests.scheduling.test_reminders_services import make_session
from tests.test_faults import drop_connection_from_outside


@pytest.fixture(autouse=True)
def no_sweep_seen():
    """The last sweep's time lives in the cache, which outlives a test."""
    cache.delete(reminders.LAST_SWEEP_CACHE_KEY)
    yield
    cache.delete(reminders.LAST_SWEEP_CACHE_KEY)


@pytest.fixture
def due(member, group):
    """One due reminder (the 24-hour one of a session 10 hours ahead); its 2-hour one is later."""
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    return Reminder.objects.get(kind="24h")


def exports_of(reminder: Reminder) -> int:
    return AuditEvent.objects.filter(action="export", model="scheduling.reminder", object_id=str(reminder.pk)).count()


# --- The claim ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_retried_task_finds_its_own_claim_and_no_other_task_does(due):
    """The first try claimed the row and lost the answer with its connection: the same task, tried
    again, sends it at once instead of leaving it "sending" until the stale timeout."""
    assert reminders.claim(reminder_ids=[due.pk], token="task-1") == 1

    assert reminders.claim(reminder_ids=[due.pk], token="task-2") == 0
    assert reminders.send_reminder(reminder_id=due.pk, token="task-2").status == "skipped"
    assert reminders.send_reminder(reminder_id=due.pk, token="task-1").status == "sent"

    due.refresh_from_db()
    assert (due.status, due.attempts, len(mail.outbox), exports_of(due)) == ("sent", 2, 1, 1)


@pytest.mark.django_db
def test_a_row_reclaimed_as_stale_is_not_finished_by_the_task_that_lost_it(due, settings):
    """A worker stalled past the stale timeout; the row went to another task, which sent it. The
    first task's late "sent" changes nothing and records nothing."""
    assert reminders.claim(reminder_ids=[due.pk], token="slow-task") == 1
    slow = Reminder.objects.get(pk=due.pk)
    later = timezone.now() + datetime.timedelta(seconds=settings.REMINDER_STALE_AFTER_SECONDS + 1)
    assert reminders.reclaim_stale(now=later) == 1
    assert reminders.send_reminder(reminder_id=due.pk, token="other-task").status == "sent"

    reminders._mark_sent(slow, sent_at=timezone.now(), now=timezone.now())

    assert Reminder.objects.get(pk=due.pk).claimed_by == "other-task"
    assert (len(mail.outbox), exports_of(due)) == (1, 1)


# --- A dropped database connection ----------------------------------------------------------


class DropsTheConnectionWhileSending(EmailBackend):
    """The mail server takes the message; meanwhile the database restarts."""

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        drop_connection_from_outside()
        return sent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reminder_delivered_as_the_connection_drops_is_recorded_sent_once(due, settings):
    """Before: the task failed on "sent", the row stayed "sending", and the stale timeout sent the
    reminder a second time. Now the worker reconnects and records it."""
    settings.EMAIL_BACKEND = f"{__name__}.DropsTheConnectionWhileSending"

    assert reminders.send_reminder(reminder_id=due.pk).status == "sent"

    due.refresh_from_db()
    assert (due.status, len(mail.outbox), exports_of(due)) == ("sent", 1, 1)
    reminders.sweep(now=timezone.now() + datetime.timedelta(seconds=settings.REMINDER_STALE_AFTER_SECONDS + 1))
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_first_claim_after_a_dropped_connection_succeeds(due):
    drop_connection_from_outside()

    assert reminders.send_reminder(reminder_id=due.pk).status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_out_of_reach_before_sending_raises_and_the_same_task_sends_later(due, monkeypatch):
    """Out of reach longer than the worker waits: nothing was sent, the task is told to try
    again (iop.db.CONNECTION_ERRORS), and its retry, under the same id, sends once."""
    monkeypatch.setattr(reminders, "PERSIST_BEFORE_SENDING", 0)
    drop_connection_from_outside()

    with pytest.raises(OperationalError):
        reminders.send_reminder(reminder_id=due.pk, token="task-1")

    assert len(mail.outbox) == 0
    assert reminders.send_reminder(reminder_id=due.pk, token="task-1").status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_admin_action_reports_the_row_the_database_dropped_and_does_the_others(client, group):
    """Cancelling three sessions, the connection drops inside the second one's transaction: that
    one is reported not done and is untouched; the first and the third are cancelled, each with
    its pending reminders cancelled. No 500, no half-cancelled session."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))  # a flushed database has no roles
    sessions = [make_session(group, hours_ahead=30 + day * 24) for day in range(3)]
    victim = sessions[1]
    dropped = []

    def drop_during(sender, instance, **kwargs):
        if instance.pk == victim.pk and not dropped:
            dropped.append(instance.pk)
            drop_connection_from_outside()

    post_save.connect(drop_during, sender=Session)
    try:
        response = client.post(
            "/admin/scheduling/session/",
            {
                "action": "cancel_sessions",
                "_selected_action": [s.pk for s in sessions],
                "apply": "1",
                "reason": "Therapist unwell",
            },
            follow=True,
        )
    finally:
        post_save.disconnect(drop_during, sender=Session)

    assert response.status_code == 200
    assert dropped == [victim.pk]
    statuses = dict(Session.objects.filter(pk__in=[s.pk for s in sessions]).values_list("pk", "status"))
    assert statuses == {sessions[0].pk: "cancelled", victim.pk: "scheduled", sessions[2].pk: "cancelled"}
    texts = [str(message) for message in response.context["messages"]]
    assert any(text.startswith(f"{victim}: not done, the database did not answer") for text in texts), texts


# --- Lost messages --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_published_row_whose_message_was_lost_goes_out_with_a_sweep_after_the_requeue_time(due, settings):
    """Published, then the broker restarted empty (or the worker holding it was killed): the row
    is pending with the time it was published. A sweep within the requeue time leaves it (its
    message may still be queued); the first sweep after it publishes it again."""
    published_at = timezone.now()
    Reminder.objects.filter(pk=due.pk).update(enqueued_at=published_at)

    reminders.sweep(now=published_at + datetime.timedelta(seconds=settings.REMINDER_REQUEUE_AFTER_SECONDS - 1))
    assert len(mail.outbox) == 0

    reminders.sweep(now=published_at + datetime.timedelta(seconds=settings.REMINDER_REQUEUE_AFTER_SECONDS + 1))
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_lost_message_is_sent_again_within_a_minute_of_the_fault(settings):
    """The defaults promise it: requeue time plus a sweep interval, and a stale row (a worker
    killed mid-send) after the longest a task may live, plus a sweep interval."""
    assert settings.REMINDER_REQUEUE_AFTER_SECONDS + settings.REMINDER_SWEEP_SECONDS <= 60
    assert reminders.SEND_TIME_LIMIT < settings.REMINDER_STALE_AFTER_SECONDS
    assert settings.REMINDER_STALE_AFTER_SECONDS + settings.REMINDER_SWEEP_SECONDS <= 60
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


@pytest.mark.django_db
def test_a_passing_failure_puts_the_row_back_for_the_sweep_not_in_a_worker(member, group, settings):
    settings.SMS_BACKEND = "tests.scheduling.test_reminders_services.BrokenSmsBackend"
    type(member).objects.filter(pk=member.pk).update(reminder_channel="sms", phone="+1-555-0100")
    make_session(group, hours_ahead=10)

    reminders.sweep()

    waiting = Reminder.objects.get(kind="24h")
    assert (waiting.status, waiting.attempts, waiting.enqueued_at) == ("pending", 1, None)
    assert waiting.send_at > timezone.now()


# --- Health ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_says_ok_when_nothing_is_due_and_no_session_is_near(client, group):
    make_session(group, hours_ahead=30)  # beyond the 24-hour window: nothing to plan yet

    body = client.get("/healthz").json()

    assert (body["status"], body["checks"]["reminders"]) == ("ok", "ok")
    assert body["reminders"] == {"late_reminders": 0, "seconds_since_sweep": None}


@pytest.mark.django_db
def test_healthz_says_stalled_when_no_sweep_runs_though_sessions_are_near(client, member, group, settings):
    make_session(group, hours_ahead=10)

    stalled = client.get("/healthz")
    reminders.sweep()
    swept = client.get("/healthz").json()

    assert stalled.status_code == 200  # the web works: a load balancer must keep it
    assert (stalled.json()["status"], stalled.json()["checks"]["reminders"]) == ("degraded", "stalled")
    assert (swept["status"], swept["checks"]["reminders"], swept["reminders"]["seconds_since_sweep"]) == ("ok", "ok", 0)


@pytest.mark.django_db
def test_healthz_counts_reminders_waiting_past_the_late_time(client, due, settings):
    long_ago = timezone.now() - datetime.timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS + 1)
    Reminder.objects.filter(pk=due.pk).update(created_at=long_ago, send_at=long_ago, enqueued_at=long_ago)
    reminders.plan_reminders()  # the sweep's heartbeat is not what this test is about
    cache.set(reminders.LAST_SWEEP_CACHE_KEY, timezone.now().timestamp())

    body = client.get("/healthz").json()

    assert (body["status"], body["checks"]["reminders"], body["reminders"]["late_reminders"]) == ("degraded", "late", 1)


@pytest.mark.django_db
def test_a_row_planned_after_its_nominal_time_is_not_late_at_once(client, due):
    """The 24-hour reminder of a session 10 hours ahead is due from its planning on."""
    cache.set(reminders.LAST_SWEEP_CACHE_KEY, timezone.now().timestamp())

    assert client.get("/healthz").json()["checks"]["reminders"] == "ok"


@pytest.mark.django_db
def test_check_reminders_exits_1_for_the_supervisor_only_when_the_worker_is_the_stuck_part(due, settings, capsys):
    cache.set(reminders.LAST_SWEEP_CACHE_KEY, timezone.now().timestamp())
    call_command("check_reminders")
    assert "Reminders ok: 0 late" in capsys.readouterr().out

    long_ago = timezone.now() - datetime.timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS + 1)
    Reminder.objects.filter(pk=due.pk).update(created_at=long_ago, send_at=long_ago)
    with pytest.raises(SystemExit) as exit_:
        call_command("check_reminders")
    assert exit_.value.code == 1
    assert "Reminders late: 1 late" in capsys.readouterr().out


# --- Batches --------------------------------------------------------------------------------


class CountingEmailBackend(EmailBackend):
    """Django's test outbox, counting connections, and noting at each close which rows the
    database already calls sent."""

    opened = 0
    sent_when_closed: list[int] = []

    def open(self):
        type(self).opened += 1
        return True

    def close(self):
        type(self).sent_when_closed.append(Reminder.objects.filter(status=Reminder.Status.SENT).count())


@pytest.fixture
def counting_mail(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingEmailBackend"
    CountingEmailBackend.opened, CountingEmailBackend.sent_when_closed = 0, []
    return CountingEmailBackend


@pytest.fixture
def five_due(group, agreement):
    members = factories.ClientFactory.create_batch(5)
    for client in members:
        enroll_client(client=client, group=group, on=datetime.date(2026, 1, 5))
    make_session(group, hours_ahead=10)
    reminders.plan_reminders()
    return list(Reminder.objects.filter(kind="24h").order_by("pk"))


@pytest.mark.django_db
def test_a_batch_shares_one_mail_connection_and_records_each_row_before_it_closes(five_due, counting_mail):
    outcomes = reminders.send_reminders(reminder_ids=[row.pk for row in five_due])

    assert [outcome.status for outcome in outcomes.values()] == ["sent"] * 5
    assert (counting_mail.opened, len(mail.outbox)) == (1, 5)
    # Every row was recorded while the connection was still open: the goodbye to the mail server
    # is outside the window in which a killed worker would send a reminder twice.
    assert counting_mail.sent_when_closed == [5]


@pytest.mark.django_db
def test_a_row_that_must_not_go_does_not_hold_up_the_others(five_due, counting_mail):
    Session.objects.filter(pk=five_due[0].session_id).update(room="Room 12")  # still fine to send
    Client.objects.filter(pk=five_due[2].client_id).update(reminder_consent=False)

    outcomes = reminders.send_reminders(reminder_ids=[row.pk for row in five_due])

    assert [outcome.status for outcome in outcomes.values()] == ["sent", "sent", "cancelled", "sent", "sent"]
    assert len(mail.outbox) == 4


@pytest.mark.django_db
def test_rows_a_batch_had_no_time_for_go_back_to_the_outbox_untouched(five_due, counting_mail, monkeypatch):
    monkeypatch.setattr(reminders, "SEND_BUDGET_SECONDS", -1)

    outcomes = reminders.send_reminders(reminder_ids=[row.pk for row in five_due], token="task-1")

    assert {outcome.status for outcome in outcomes.values()} == {"released"}
    rows = Reminder.objects.filter(pk__in=[row.pk for row in five_due])
    assert set(rows.values_list("status", "attempts", "claimed_by", "enqueued_at")) == {("pending", 0, "", None)}
    assert len(mail.outbox) == 0
    monkeypatch.undo()  # time enough again
    reminders.sweep()
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_the_sweep_publishes_due_rows_in_batches(group, agreement, monkeypatch):
    monkeypatch.setattr(reminders, "SEND_BATCH_SIZE", 2)
    for client in factories.ClientFactory.create_batch(5):
        enroll_client(client=client, group=group, on=datetime.date(2026, 1, 5))
    make_session(group, hours_ahead=10)
    batches = []
    sent = reminders.send_reminders

    def recording(*, reminder_ids, **kwargs):
        batches.append(len(list(reminder_ids)))
        return sent(reminder_ids=reminder_ids, **kwargs)

    monkeypatch.setattr(reminders, "send_reminders", recording)

    reminders.sweep()

    assert batches == [2, 2, 1]
    assert len(mail.outbox) == 5
