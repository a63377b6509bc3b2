"""Session reminders: planning the outbox, sending each row exactly once, following changes.

The ``Reminder`` row is the truth; Celery only carries its id. Every path — the periodic sweep,
``send_due_reminders``, the admin, the hooks in the scheduling, groups and clients services —
goes through these functions.

The audit trail: a reminder that goes out discloses to a carrier that the client has an
appointment, so each one sent is recorded (an export, by the system, one row by one INSERT in the
transaction that marks it sent), and so are staff's retries and cancellations. Planning rows and
cancelling them when the schedule or the client's record changes are not: they follow writes that
are recorded where they are made (the client's record, a membership), and recording the outbox's
own bookkeeping would add a row per client per session to every sweep.
"""

import datetime
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from kombu.exceptions import KombuError

from audit.trail import Action, commit_change, hold_chain, prepare, record
from clients.models import Client
from groups.models import Membership, member_at, was_member_at
from iop.db import CONNECTION_ERRORS, persist
from iop.i18n import local_date, local_time, supported_language
from scheduling import channels
from scheduling.models import Reminder, Session

log = logging.getLogger(__name__)

# Longest wait between two attempts of a reminder that failed for a passing reason.
MAX_BACKOFF_SECONDS = 3600
# A task sending one reminder is stopped after SEND_SOFT_TIME_LIMIT and killed after
# SEND_TIME_LIMIT: a row "sending" for longer than that (REMINDER_STALE_AFTER_SECONDS) belongs to
# no living task and goes out again (that setting's minimum keeps it longer).
SEND_SOFT_TIME_LIMIT = 15
SEND_TIME_LIMIT = 20
PUBLISH_ERRORS = (KombuError, OSError)


def reminder_kinds() -> dict[str, datetime.timedelta]:
    """Each kind and how long before the session it goes out, earliest first."""
    hours = sorted(set(settings.REMINDER_HOURS_BEFORE), reverse=True)
    return {f"{h}h": datetime.timedelta(hours=h) for h in hours}


def _kinds_to_plan(*, starts_at: datetime.datetime, now: datetime.datetime) -> list[tuple[str, datetime.datetime]]:
    """The kinds still ahead, plus the latest one already due.

    A session first seen 10 hours ahead (planned late, moved, or the client just joined) gets
    its 24-hour reminder now and its 2-hour one later; one seen 1 hour ahead gets one reminder
    now, never two at once.
    """
    if starts_at <= now:
        return []
    # Hours before are elapsed hours: in UTC, not on a wall clock that may change overnight.
    starts_at = starts_at.astimezone(datetime.UTC)
    planned = [(kind, starts_at - before) for kind, before in reminder_kinds().items()]
    ahead = [(kind, send_at) for kind, send_at in planned if send_at > now]
    passed = [(kind, send_at) for kind, send_at in planned if send_at <= now]
    if passed:
        ahead.append(max(passed, key=lambda item: item[1]))
    return ahead


def _reachable_clients() -> Q:
    """Clients who may get reminders: active, consenting, with an address for their channel."""
    return Q(status=Client.Status.ACTIVE, reminder_consent=True) & (
        Q(reminder_channel=Client.ReminderChannel.EMAIL, email__gt="")
        | Q(reminder_channel=Client.ReminderChannel.SMS, phone__gt="")
    )


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_current_timezone())


# --- Planning -------------------------------------------------------------------------------


def plan_reminders(*, now: datetime.datetime | None = None, sessions: Iterable[Session] | None = None) -> int:
    """Add the missing outbox rows for scheduled sessions entering the reminder window.

    Idempotent: a row that exists (in any state but cancelled) is never planned again. Returns
    how many rows were added.
    """
    now = now or timezone.now()
    horizon = now + max(reminder_kinds().values())
    if sessions is None:
        sessions = _sessions_to_remind(now=now)
    sessions = [s for s in sessions if s.status == Session.Status.SCHEDULED and now < s.starts_at <= horizon]
    if not sessions:
        return 0
    members_by_group = defaultdict(list)
    memberships = (
        Membership.objects.filter(group_id__in={s.group_id for s in sessions}, joined_at__isnull=False)
        .filter(client__in=Client.objects.filter(_reachable_clients()))
        .values_list("group_id", "client_id", "joined_at", "ended_on", "client__reminder_channel")
    )
    for group_id, *member in memberships:
        members_by_group[group_id].append(member)
    existing = set(
        Reminder.objects.filter(session__in=sessions)
        .exclude(status=Reminder.Status.CANCELLED)
        .values_list("session_id", "client_id", "channel", "kind", "session_starts_at")
    )
    new_rows = []
    for session in sessions:
        kinds = _kinds_to_plan(starts_at=session.starts_at, now=now)
        for client_id, joined_at, ended_on, channel in members_by_group[session.group_id]:
            if not was_member_at(session.starts_at, joined_at, ended_on):
                continue
            for kind, send_at in kinds:
                key = (session.pk, client_id, channel, kind, session.starts_at)
                if key in existing:
                    continue
                existing.add(key)
                new_rows.append(
                    Reminder(
                        session_id=session.pk,
                        client_id=client_id,
                        channel=channel,
                        kind=kind,
                        session_starts_at=session.starts_at,
                        send_at=send_at,
                    )
                )
    # ignore_conflicts: a concurrent sweep that planned the same row wins, ours is skipped.
    Reminder.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
    return len(new_rows)


# --- Dispatching ----------------------------------------------------------------------------


def reclaim_stale(*, now: datetime.datetime | None = None) -> int:
    """Put back rows left in "sending" by a worker that died mid-send, so they go out after all."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(seconds=settings.REMINDER_STALE_AFTER_SECONDS)
    return Reminder.objects.filter(status=Reminder.Status.SENDING, claimed_at__lt=cutoff).update(
        status=Reminder.Status.PENDING,
        enqueued_at=None,
        claimed_by="",
        last_error="The worker sending it stopped; it goes out again.",
        updated_at=now,
    )


# Published by name: scheduling.tasks imports this module, so this one never imports it back.
SEND_REMINDERS_TASK = "scheduling.tasks.send_reminders"


def enqueue_due(
    *,
    now: datetime.datetime | None = None,
    session_ids: Iterable[int] | None = None,
    limit: int | None = None,
    raise_errors: bool = False,
) -> int:
    """Publish the id of every due pending row that is not already on its way.

    When the broker does not answer, publishing gives up within IOP_BROKER_TIMEOUT_MS, without
    retrying (iop.celery.quick_broker_connection); the rows stay pending and the next sweep
    publishes them. The error is logged, or raised with ``raise_errors``. Returns how many ids
    were published.
    """
    from iop.celery import app, quick_broker_connection

    now = now or timezone.now()
    reclaim_stale(now=now)
    requeue_before = now - datetime.timedelta(seconds=settings.REMINDER_REQUEUE_AFTER_SECONDS)
    due = Reminder.objects.filter(status=Reminder.Status.PENDING, send_at__lte=now).filter(
        Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=requeue_before)
    )
    if session_ids is not None:
        due = due.filter(session_id__in=list(session_ids))
    ids = list(due.order_by("send_at", "pk").values_list("pk", flat=True)[:limit])
    if not ids:
        return 0
    # Marked before publishing: a task that runs at once (and, failing for a passing reason, puts
    # its row back for later) finds the mark already there and is not overwritten by it.
    _mark_enqueued(ids, at=now)
    published: list[int] = []
    try:
        batches = [ids[start : start + SEND_BATCH_SIZE] for start in range(0, len(ids), SEND_BATCH_SIZE)]
        if app.conf.task_always_eager:
            for batch in batches:
                published.extend(batch)
                app.signature(SEND_REMINDERS_TASK, args=[batch]).apply_async()
        else:
            # A connection of its own, opened now: the broker's address is read afresh and a broker
            # that went away since the last sweep fails here, quickly, instead of in a stale pool.
            # Short timeouts and no retry: a hung broker costs at most IOP_BROKER_TIMEOUT_MS.
            with quick_broker_connection() as broker:
                producer = app.amqp.Producer(broker)
                for batch in batches:
                    app.signature(SEND_REMINDERS_TASK, args=[batch]).apply_async(producer=producer, retry=False)
                    published.extend(batch)
    except PUBLISH_ERRORS as error:
        log.warning(
            "Broker unreachable, %d reminders stay pending for the next sweep: %s", len(ids) - len(published), error
        )
        if raise_errors:
            raise
    finally:
        # The ones not published are due for the next sweep, not after the requeue time.
        unpublished = set(ids).difference(published)
        _mark_enqueued([reminder_id for reminder_id in ids if reminder_id in unpublished], at=None)
    return len(published)


def _mark_enqueued(ids: list[int], *, at: datetime.datetime | None) -> None:
    for start in range(0, len(ids), 1000):
        Reminder.objects.filter(pk__in=ids[start : start + 1000], status=Reminder.Status.PENDING).update(enqueued_at=at)


# After a failed publish, the publishing that follows web requests' commits is skipped this long:
# an admin action that commits row by row then waits on a hung broker once, not once per row.
PUBLISH_PAUSE_SECONDS = 30
_publish_paused_until = 0.0


def enqueue_after_commit(*, session_ids: Iterable[int]) -> None:
    """Publish the due rows of these sessions once the caller's transaction has committed.

    The caller's write is done by then: whatever goes wrong in publishing is logged and never
    reaches the request; the rows stay pending and the next sweep publishes them."""
    session_ids = list(session_ids)
    transaction.on_commit(lambda: _publish_for_request(session_ids))


def _publish_for_request(session_ids: list[int]) -> None:
    global _publish_paused_until
    from iop.celery import app

    if app.conf.task_always_eager:  # debugging and tests: the task's own errors propagate
        enqueue_due(session_ids=session_ids)
        return
    if time.monotonic() < _publish_paused_until:
        log.warning("Broker unreachable a moment ago; sessions %s are left for the next sweep.", session_ids)
        return
    try:
        enqueue_due(session_ids=session_ids, raise_errors=True)
    except Exception as error:
        _publish_paused_until = time.monotonic() + PUBLISH_PAUSE_SECONDS
        log.warning("Reminders of sessions %s not published now, the next sweep does: %s", session_ids, error)


# When the last sweep ran, in the cache every process shares (the database): /healthz and
# ``manage.py check_reminders`` tell from it whether the scheduler and a worker are alive.
LAST_SWEEP_CACHE_KEY = "scheduling:reminders:last-sweep"


def sweep(*, now: datetime.datetime | None = None) -> tuple[int, int]:
    """One periodic pass: plan the rows of sessions entering the window, publish the due ones."""
    now = now or timezone.now()
    planned = plan_reminders(now=now)
    published = enqueue_due(now=now)
    cache.set(LAST_SWEEP_CACHE_KEY, now.timestamp(), timeout=None)
    return planned, published


def health(*, now: datetime.datetime | None = None) -> dict[str, object]:
    """Whether reminders are flowing: "ok"; "late" when due rows have waited longer than
    REMINDER_LATE_AFTER_SECONDS (no worker takes them: stopped, stuck, or cut off from the broker
    or the database); "stalled" when no sweep ran for four of its intervals although sessions are
    coming up within the reminder window (the scheduler or every worker is down)."""
    now = now or timezone.now()
    late_before = now - datetime.timedelta(seconds=settings.REMINDER_LATE_AFTER_SECONDS)
    # A row planned after its nominal time (a session first seen 10 hours ahead gets its 24-hour
    # reminder now) is due from its planning on, not from that time.
    late = Reminder.objects.filter(
        Q(status=Reminder.Status.PENDING, send_at__lt=late_before, created_at__lt=late_before)
        | Q(status=Reminder.Status.SENDING, claimed_at__lt=late_before)
    ).count()
    last_sweep = cache.get(LAST_SWEEP_CACHE_KEY)
    since_sweep = None if last_sweep is None else max(0, round(now.timestamp() - last_sweep))
    report: dict[str, object] = {"late_reminders": late, "seconds_since_sweep": since_sweep}
    if late:
        return {"state": "late", **report}
    sweep_overdue = since_sweep is None or since_sweep > 4 * settings.REMINDER_SWEEP_SECONDS
    if sweep_overdue and _sessions_to_remind(now=now).exists():
        return {"state": "stalled", **report}
    return {"state": "ok", **report}


def _sessions_to_remind(*, now: datetime.datetime):
    horizon = now + max(reminder_kinds().values())
    return Session.objects.filter(status=Session.Status.SCHEDULED, starts_at__gt=now, starts_at__lte=horizon)


def send_due_now(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """One pass without Celery (``manage.py send_due_reminders``, for cron-only deployments)."""
    now = now or timezone.now()
    plan_reminders(now=now)
    reclaim_stale(now=now)
    outcomes: dict[str, int] = defaultdict(int)
    due = Reminder.objects.filter(status=Reminder.Status.PENDING, send_at__lte=now).order_by("send_at", "pk")
    ids = list(due.values_list("pk", flat=True))
    for start in range(0, len(ids), SEND_BATCH_SIZE):
        for outcome in send_reminders(reminder_ids=ids[start : start + SEND_BATCH_SIZE]).values():
            outcomes[outcome.status] += 1
    return dict(outcomes)


# --- Sending one row ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    status: str
    retry_in: int | None = None


def claim(*, reminder_ids: Iterable[int], token: str, now: datetime.datetime | None = None) -> int:
    """Pending → sending, under ``token`` (the sending task's id): one conditional update, so each
    row goes to one task only however many messages name it. Returns how many rows were claimed.

    A row already sending under the same token is this task's own claim, made by a first try
    whose answer the lost connection swallowed: it is claimed again, not left to the stale
    timeout."""
    now = now or timezone.now()
    return Reminder.objects.filter(
        Q(status=Reminder.Status.PENDING) | Q(status=Reminder.Status.SENDING, claimed_by=token),
        pk__in=list(reminder_ids),
    ).update(
        status=Reminder.Status.SENDING, claimed_at=now, claimed_by=token, attempts=F("attempts") + 1, updated_at=now
    )


# How long a worker keeps reconnecting to the database before giving up on a row. Before sending,
# the task then tries again later (nothing left the clinic); after sending, the row stays
# "sending" and the stale timeout sends it again: the one duplicate the outbox cannot rule out.
PERSIST_BEFORE_SENDING = 5
PERSIST_AFTER_SENDING = 8
# Ids per task: one claim, one read and one mail connection for them all; each row is still
# recorded as sent the moment it left. Sending stops after SEND_BUDGET_SECONDS (well within the
# task's time limit) and the rows not reached go back to the outbox for the next sweep. 50 rows
# take well under a second; a worker killed mid-batch leaves the rest "sending" for the stale
# timeout, so that they still go out within a minute.
SEND_BATCH_SIZE = 50
SEND_BUDGET_SECONDS = 10


def send_reminder(*, reminder_id: int, token: str = "", now: datetime.datetime | None = None) -> SendOutcome:
    """``send_reminders`` for one row."""
    return send_reminders(reminder_ids=[reminder_id], token=token, now=now)[reminder_id]


def send_reminders(
    *, reminder_ids: Iterable[int], token: str = "", now: datetime.datetime | None = None
) -> dict[int, SendOutcome]:
    """Claim the rows, and for each: check it still should go, send it, record the result.

    Each row's outcome: "skipped" when another task has the row (or it is no longer pending),
    "cancelled" when the session or the client's preferences changed, "sent", "failed", "retry"
    with the delay before the next attempt, "released" when the batch ran out of time before it,
    or "unrecorded" when the message left but the database stayed out of reach too long to record
    it (the batch stops there). A database out of reach before anything is sent raises
    (``iop.db.CONNECTION_ERRORS``): the caller tries again later with the same ``token``.
    """
    now = now or timezone.now()
    token = token or uuid.uuid4().hex
    reminder_ids = list(reminder_ids)
    outcomes = dict.fromkeys(reminder_ids, SendOutcome("skipped"))
    persist(
        lambda: claim(reminder_ids=reminder_ids, token=token, now=now),
        within=PERSIST_BEFORE_SENDING,
        what="claiming reminders",
    )
    claimed = persist(
        lambda: list(
            _with_membership(Reminder.objects.select_related("session", "client"))
            .filter(pk__in=reminder_ids, status=Reminder.Status.SENDING, claimed_by=token)
            .order_by("send_at", "pk")
        ),
        within=PERSIST_BEFORE_SENDING,
        what="reading reminders",
    )
    stop_at = time.monotonic() + SEND_BUDGET_SECONDS
    rendered: dict = {}  # each session's text, drawn once for all its members
    with channels.Outbox() as outbox:
        for index, reminder in enumerate(claimed):
            if time.monotonic() > stop_at:
                rest = claimed[index:]
                persist(partial(_release, rest, now=now), within=PERSIST_BEFORE_SENDING, what="releasing reminders")
                outcomes.update((row.pk, SendOutcome("released")) for row in rest)
                break
            outcomes[reminder.pk] = outcome = _send_one(reminder, outbox=outbox, rendered=rendered, now=now)
            if outcome.status == "unrecorded":
                break  # the rest stay claimed: the stale timeout puts them back
    return outcomes


def _send_one(reminder: Reminder, *, outbox: channels.Outbox, rendered: dict, now: datetime.datetime) -> SendOutcome:
    reason = why_not_send(reminder, now=now)
    if reason:
        persist(
            partial(_finish, reminder, status=Reminder.Status.CANCELLED, last_error=reason, now=now),
            within=PERSIST_BEFORE_SENDING,
            what="cancelling a reminder",
        )
        return SendOutcome("cancelled")
    message = render_message(reminder, rendered=rendered)
    address = reminder.client.email if reminder.channel == Reminder.Channel.EMAIL else reminder.client.phone
    try:
        sent_at = outbox.send(channel=reminder.channel, to=address, message=message)
    except channels.ChannelError as error:
        return persist(
            partial(_record_failure, reminder, error=error, now=now),
            within=PERSIST_BEFORE_SENDING,
            what="recording a failed reminder",
        )
    # From here on the message has left: never raise, so that nothing sends it again except the
    # stale timeout, and only when the database stayed away longer than PERSIST_AFTER_SENDING.
    try:
        persist(
            partial(_mark_sent, reminder, sent_at=sent_at, now=now),
            within=PERSIST_AFTER_SENDING,
            what="recording a sent reminder",
        )
    except CONNECTION_ERRORS as error:
        log.error("Reminder %s was sent but could not be recorded as sent: %s", reminder.pk, error)
        return SendOutcome("unrecorded")
    return SendOutcome("sent")


def _release(rows: list[Reminder], *, now: datetime.datetime) -> int:
    """Claimed but not reached: back to the outbox as they were, for the next sweep."""
    return Reminder.objects.filter(
        pk__in=[row.pk for row in rows], status=Reminder.Status.SENDING, claimed_by=rows[0].claimed_by
    ).update(
        status=Reminder.Status.PENDING,
        claimed_by="",
        enqueued_at=None,
        attempts=F("attempts") - 1,
        updated_at=now,
    )


def _mark_sent(reminder: Reminder, *, sent_at: datetime.datetime, now: datetime.datetime) -> None:
    """Sending → sent, with its audit row, in one transaction. Safe to run twice: a second run
    finds the row no longer sending under this claim and records nothing.

    The message has left: from here to this COMMIT is the window in which a killed worker would
    send the reminder twice, and the chain's lock taken here is the one turn every process
    sending reminders waits for. So the audit row is built before the lock, the lock is held for
    two round trips (audit.trail.commit_change), and the COMMIT does not wait for the disk: a
    worker killed after it returns cannot undo it, and a crash of PostgreSQL itself within a
    fraction of a second can only put the row back to "sending" without its audit row, so that
    the reminder goes out once more (a duplicate with the same Message-ID, and then recorded),
    never that one is lost."""
    export = prepare(
        Action.EXPORT,
        target=reminder,
        clients=[reminder.client_id],
        detail=f"{reminder.kind} reminder sent by {reminder.get_channel_display().lower()}",
    )
    adapt = connection.ops.adapt_datetimefield_value
    commit_change(
        export,
        change=_MARK_SENT_SQL,
        params=[adapt(sent_at), adapt(now), reminder.pk, Reminder.Status.SENDING.value, reminder.claimed_by],
        wait_for_disk=False,
    )


# ``_finish`` to "sent", written out: it runs under the chain's lock (see _mark_sent), where
# building the ORM's query was most of the UPDATE's time (0.4 ms of CPU on the development VM).
_MARK_SENT_SQL = (
    f"UPDATE {connection.ops.quote_name(Reminder._meta.db_table)} "
    f"SET status = '{Reminder.Status.SENT.value}', sent_at = %s, last_error = '', updated_at = %s "
    "WHERE id = %s AND status = %s AND claimed_by = %s RETURNING id"
)


def _with_membership(reminders):
    """Each row knows, in the same query, whether its client is a member at the session's start."""
    return reminders.annotate(
        client_was_member=Exists(
            Membership.objects.filter(
                member_at(OuterRef("session__starts_at")), client=OuterRef("client"), group=OuterRef("session__group")
            )
        )
    )


def why_not_send(reminder: Reminder, *, now: datetime.datetime) -> str:
    """The reason this row must not go out any more, or "" when it should.

    ``reminder`` comes from ``_with_membership``."""
    session, client = reminder.session, reminder.client
    if session.starts_at <= now:
        return "The session has already started."
    if reminder.kind == Reminder.CANCELLATION:
        if session.status != Session.Status.CANCELLED:
            return "The session is no longer cancelled."
    elif session.status != Session.Status.SCHEDULED:
        return f"The session is {session.get_status_display().lower()}."
    elif session.starts_at != reminder.session_starts_at:
        return "The session moved; a reminder for the new time is planned."
    if client.status != Client.Status.ACTIVE:
        return "The client is not active."
    if not client.reminder_consent:
        return "The client has not consented to reminders."
    if client.reminder_channel != reminder.channel:
        return "The client now prefers another channel."
    if not reminder.client_was_member:
        return "The client is not a member of this session's group at its start."
    return ""


def _finish(reminder: Reminder, *, status: str, now: datetime.datetime, **fields) -> bool:
    """Sending → ``status``; False when the row is no longer this claim's (reclaimed as stale, or
    already finished by a first try whose answer was lost)."""
    finished = Reminder.objects.filter(
        pk=reminder.pk, status=Reminder.Status.SENDING, claimed_by=reminder.claimed_by
    ).update(status=status, updated_at=now, **fields)
    return finished == 1


def backoff_seconds(attempts: int) -> int:
    """Exponential backoff with jitter: about 1, 2, 4 … minutes, never more than an hour."""
    base = min(60 * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return max(1, int(base * random.uniform(0.5, 1.0)))


def _record_failure(reminder: Reminder, *, error: channels.ChannelError, now: datetime.datetime) -> SendOutcome:
    if error.transient and reminder.attempts < settings.REMINDER_MAX_ATTEMPTS:
        delay = backoff_seconds(reminder.attempts)
        # Back in the outbox, due later: the sweep publishes it then. No message waits in a worker
        # for it (a countdown would be lost with the worker, or with the broker).
        _finish(
            reminder,
            status=Reminder.Status.PENDING,
            send_at=now + datetime.timedelta(seconds=delay),
            enqueued_at=None,
            last_error=str(error),
            now=now,
        )
        return SendOutcome("retry", retry_in=delay)
    _finish(reminder, status=Reminder.Status.FAILED, last_error=str(error), now=now)
    log.warning("Reminder %s failed after %d attempts: %s", reminder.pk, reminder.attempts, error)
    return SendOutcome("failed")


def render_message(reminder: Reminder, *, rendered: dict | None = None) -> channels.Message:
    """The discreet text: the clinic's short name, the date, the time and where (for a meeting by
    video, that the join link is in the portal), and the clinic's phone number. Nothing else about
    the session or the people in it, so every member of a session gets the same text: a batch
    passes ``rendered`` and draws each session's text once."""
    language = supported_language(reminder.client.preferred_language)
    key = (
        reminder.session_id,
        reminder.session_starts_at,
        reminder.kind == Reminder.CANCELLATION,
        reminder.channel,
        language,
    )
    rendered = {} if rendered is None else rendered
    if key not in rendered:
        # In the client's language, drawn here in the worker at send time: a change of language
        # reaches the reminders still to go.
        with translation.override(language):
            rendered[key] = _render(reminder)
    return replace(rendered[key], reference=f"reminder-{reminder.pk}")


def _render(reminder: Reminder) -> channels.Message:
    starts_at = timezone.localtime(reminder.session_starts_at)
    context = {
        "clinic": settings.CLINIC_SHORT_NAME,
        "date": local_date(starts_at, "long_day"),
        "time": local_time(starts_at),
        "place": reminder.session.where.outside(clinic=settings.CLINIC_SHORT_NAME),
        "phone": settings.CLINIC_PHONE,
    }
    template = "cancellation" if reminder.kind == Reminder.CANCELLATION else "reminder"
    if reminder.channel != Reminder.Channel.EMAIL:
        text = " ".join(render_to_string(f"reminders/{template}_sms.txt", context).split())
        return channels.Message(reference="", subject="", text=text, html="")
    subject = " ".join(render_to_string(f"reminders/{template}_subject.txt", context).split())
    return channels.Message(
        reference="",
        subject=subject,
        text=render_to_string(f"reminders/{template}.txt", context),
        html=render_to_string(f"reminders/{template}.html", context),
    )


# --- Following changes ----------------------------------------------------------------------


def _cancel(rows, *, reason: str) -> int:
    return rows.filter(status=Reminder.Status.PENDING).update(
        status=Reminder.Status.CANCELLED, last_error=reason, updated_at=timezone.now()
    )


@transaction.atomic
def cancel_for_session(*, session: Session) -> int:
    """The session is cancelled: drop its pending reminders, and tell the clients who were
    already reminded, once each. Returns how many notices were planned."""
    now = timezone.now()
    _cancel(session.reminders.exclude(kind=Reminder.CANCELLATION), reason="The session was cancelled.")
    if session.starts_at <= now:
        return 0
    reminded = (
        session.reminders.filter(status=Reminder.Status.SENT)
        .exclude(kind=Reminder.CANCELLATION)
        .values_list("client_id", "channel")
        .distinct()
    )
    notices = [
        Reminder(
            session=session,
            client_id=client_id,
            channel=channel,
            kind=Reminder.CANCELLATION,
            session_starts_at=session.starts_at,
            send_at=now,
        )
        for client_id, channel in reminded
    ]
    Reminder.objects.bulk_create(notices, ignore_conflicts=True)
    enqueue_after_commit(session_ids=[session.pk])
    return len(notices)


@transaction.atomic
def replan_for_session(*, session: Session) -> int:
    """The session changed: reminders announcing another time are dropped and the new time is
    planned. Returns how many rows were added."""
    _cancel(
        session.reminders.exclude(kind=Reminder.CANCELLATION).exclude(session_starts_at=session.starts_at),
        reason="The session moved; a reminder for the new time is planned.",
    )
    planned = plan_reminders(sessions=[session])
    if planned:
        enqueue_after_commit(session_ids=[session.pk])
    return planned


@transaction.atomic
def stop_for_membership(*, membership: Membership) -> int:
    """The client left the group: no reminders for its sessions from the day the membership ended."""
    rows = Reminder.objects.filter(client_id=membership.client_id, session__group_id=membership.group_id)
    if membership.ended_on:
        rows = rows.filter(session__starts_at__gte=_day_start(membership.ended_on))
    return _cancel(rows, reason="The client left the group.")


@transaction.atomic
def stop_for_client(*, client: Client, reason: str) -> int:
    """No more reminders for this client (discharged, consent withdrawn)."""
    return _cancel(Reminder.objects.filter(client=client), reason=reason)


@transaction.atomic
def follow_client_preferences(*, client: Client) -> int:
    """After consent, channel, address or status changed: drop the rows that no longer fit.

    New rows for a newly chosen channel are planned by the next sweep. Returns how many rows were
    cancelled.
    """
    client = Client.objects.get(pk=client.pk)
    if not Client.objects.filter(_reachable_clients(), pk=client.pk).exists():
        return stop_for_client(client=client, reason="The client's reminder preferences changed.")
    return _cancel(
        Reminder.objects.filter(client=client).exclude(channel=client.reminder_channel),
        reason="The client now prefers another channel.",
    )


@transaction.atomic
def retry_failed(*, reminder: Reminder) -> bool:
    """Staff asked to try a failed reminder again: it goes out at once when the broker answers,
    or with the next sweep."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    changed = Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.FAILED).update(
        status=Reminder.Status.PENDING, attempts=0, enqueued_at=None, send_at=timezone.now(), updated_at=timezone.now()
    )
    if changed:
        record(Action.CHANGE, target=reminder, clients=[reminder.client_id], detail="failed reminder sent again")
        enqueue_after_commit(session_ids=[reminder.session_id])
    return changed == 1


@transaction.atomic
def cancel_reminder(*, reminder: Reminder, reason: str = "Cancelled by staff.") -> bool:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    cancelled = _cancel(Reminder.objects.filter(pk=reminder.pk), reason=reason) == 1
    if cancelled:
        record(Action.CHANGE, target=reminder, clients=[reminder.client_id], detail="cancelled")
    return cancelled
