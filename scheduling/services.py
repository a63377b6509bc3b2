"""Slots, sessions and closures. Every write with a rule is here; views, the admin, tasks and
tests call these functions.

The audit trail records writes of client information. A group's schedule (slots, sessions,
closures, cancellations) is not: it is about a group, not a client, and what reaches clients of
it is recorded where it does (reminders sent, memberships ended). The calendar link is a client's
and is recorded."""

import contextlib
import dataclasses
import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client, new_calendar_token
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import local_start, minutes_after, monday_of, start_of, start_of_day, start_of_day_after
from scheduling import reminders
from scheduling.models import Closure, Session, WeeklySlot


def _overlaps(start_a, end_a, start_b, end_b) -> bool:
    return start_a < end_b and start_b < end_a


def _ranges_overlap(from_a, until_a, from_b, until_b) -> bool:
    return (until_b is None or from_a <= until_b) and (until_a is None or from_b <= until_a)


def _leaders(group: TherapyGroup) -> set[int]:
    return {pk for pk in (group.facilitator_id, group.co_facilitator_id) if pk}


# --- Slots --------------------------------------------------------------------------------


def slots_clash(slot: WeeklySlot, other: WeeklySlot) -> bool:
    """Two weekly slots meet on the same weekday at overlapping times while both are in effect."""
    return (
        slot.weekday == other.weekday
        and _overlaps(slot.start_time, slot.end_time, other.start_time, other.end_time)
        and _ranges_overlap(slot.effective_from, slot.effective_until, other.effective_from, other.effective_until)
    )


def slot_conflicts(slot: WeeklySlot) -> dict[str, list[str]]:
    """Why this slot cannot be kept: a room booked twice, a facilitator in two places, or members
    who would be due in another of their groups at the same time."""
    errors: dict[str, list[str]] = {}
    if slot.start_time and slot.duration_minutes and slot.end_time <= slot.start_time:
        errors.setdefault("start_time", []).append("A session must end on the day it starts.")
        return errors
    group = slot.group
    if slot.is_virtual and not group.video_link:
        errors.setdefault("is_virtual", []).append(f"{group.name} has no video link for virtual meetings.")
    if not slot.is_virtual and not (slot.room or group.room):
        errors.setdefault("room", []).append("Give a room: the group has none.")
    others = (
        WeeklySlot.objects.filter(weekday=slot.weekday)
        .exclude(pk=slot.pk)
        .exclude(group__status=TherapyGroup.Status.ENDED)
        .select_related("group")
    )
    leaders = _leaders(group)
    for other in others:
        if not slots_clash(slot, other):
            continue
        when = f"{other.get_weekday_display()} {other.start_time:%H:%M}–{other.end_time:%H:%M}"
        if slot.place and slot.place == other.place:
            errors.setdefault("room", []).append(f"{slot.place} is already booked by {other.group.name} on {when}.")
        shared = leaders & _leaders(other.group)
        if shared and other.group_id != group.pk:
            names = ", ".join(str(t) for t in Therapist.objects.filter(pk__in=shared).select_related("user"))
            errors.setdefault("start_time", []).append(f"{names} already leads {other.group.name} on {when}.")
        elif other.group_id == group.pk:
            errors.setdefault("start_time", []).append(f"{group.name} already meets on {when}.")
        elif group.pk:
            shared_members = _shared_members(group, other.group)
            if shared_members:
                names = ", ".join(client.display_name for client in shared_members)
                errors.setdefault("start_time", []).append(
                    f"{names} also attend{'s' if len(shared_members) == 1 else ''} {other.group.name} on {when}."
                )
    return errors


def _shared_members(group_a: TherapyGroup, group_b: TherapyGroup) -> list[Client]:
    """Clients with an open membership (active or waitlisted) in both groups."""
    in_b = Membership.objects.open().filter(group=group_b).values("client")
    return list(Client.objects.filter(memberships__in=Membership.objects.open().filter(group=group_a, client__in=in_b)))


def _group_slots_clash(group_a: TherapyGroup, group_b: TherapyGroup) -> list[tuple[WeeklySlot, WeeklySlot]]:
    slots_b = list(group_b.slots.all())
    return [(a, b) for a in group_a.slots.all() for b in slots_b if slots_clash(a, b)]


def client_schedule_conflicts(*, client: Client, group: TherapyGroup) -> list[str]:
    """Meetings of ``group`` that overlap meetings of the client's other groups."""
    reasons = []
    others = TherapyGroup.objects.filter(memberships__in=Membership.objects.open().filter(client=client)).exclude(
        pk=group.pk
    )
    for other in others.prefetch_related("slots"):
        for mine, theirs in _group_slots_clash(group, other):
            reasons.append(
                f"{group.name} meets {mine.get_weekday_display()} {mine.start_time:%H:%M}, "
                f"at the same time as {other.name} ({theirs.start_time:%H:%M}–{theirs.end_time:%H:%M}), "
                f"which {client.display_name} already attends."
            )
    return reasons


@transaction.atomic
def save_slot(*, slot: WeeklySlot, today: datetime.date | None = None) -> WeeklySlot:
    """Create or change a slot. Its future, unmet sessions follow the change; past sessions and
    those with attendance or a note never move."""
    # Two slots saved at once could each miss the other's booking: serialise on the group row.
    TherapyGroup.objects.select_for_update().get(pk=slot.group_id)
    slot.full_clean()
    conflicts = slot_conflicts(slot)
    if conflicts:
        raise ValidationError(conflicts)
    before = WeeklySlot.objects.filter(pk=slot.pk).first() if slot.pk else None
    slot.save()
    if before is not None:
        not_yet_met = slot.sessions.unmet(after=start_of(today))
        if any(getattr(before, f) != getattr(slot, f) for f in WHEN_FIELDS):
            when = f"{slot.get_weekday_display()}s at {slot.start_time:%H:%M}"
            supersede(not_yet_met, reason=f"Rescheduled: this meeting is now on {when}.")
        else:
            outside = Q(slot_date__lt=slot.effective_from)
            if slot.effective_until:
                outside |= Q(slot_date__gt=slot.effective_until)
            supersede(not_yet_met.filter(outside), reason="This meeting time has been discontinued.")
            _follow_place_and_objective(not_yet_met.exclude(outside), slot=slot, old_objective=before.default_objective)
    refused = generate_sessions(slots=[slot], today=today).refused
    if refused:
        raise ValidationError([str(refusal) for refusal in refused])
    return slot


# A change to any of these moves the meetings. A shorter date range drops the meetings outside
# it; other changes reach the meetings in place.
WHEN_FIELDS = ("weekday", "start_time", "duration_minutes")


def supersede(sessions, *, reason: str) -> int:
    """Cancel meetings that no longer happen at their time (clients and calendars see the
    cancellation, reminders follow) and detach them from the slot so new ones can be made."""
    superseded = [cancel_session(session=session, reason=reason) for session in sessions]
    Session.objects.filter(pk__in=[s.pk for s in superseded]).update(slot=None)
    return len(superseded)


def _follow_place_and_objective(sessions, *, slot: WeeklySlot, old_objective: str) -> None:
    # The time of the change goes with it: calendar entries and the feed's version follow it.
    now = timezone.now()
    sessions.update(room=slot.place, video_link=slot.video_link, updated_at=now)
    # A meeting whose objective was edited on its own keeps it.
    sessions.filter(objective=old_objective).update(objective=slot.default_objective, updated_at=now)


@transaction.atomic
def delete_slot(*, slot: WeeklySlot, today: datetime.date | None = None) -> None:
    """Remove a slot: its future, unmet meetings are cancelled; the others stay as history."""
    supersede(slot.sessions.unmet(after=start_of(today)), reason="This meeting time has been discontinued.")
    slot.delete()


@transaction.atomic
def end_slot(*, slot: WeeklySlot, last_day: datetime.date) -> WeeklySlot:
    slot.effective_until = last_day
    slot.full_clean()
    slot.save(update_fields=["effective_until"])
    after = start_of_day_after(last_day)
    supersede(slot.sessions.unmet(after=after), reason="This meeting time has been discontinued.")
    return slot


# --- Sessions -----------------------------------------------------------------------------


def _closure_on(day: datetime.date, closures: Iterable[Closure]) -> Closure | None:
    return next((c for c in closures if c.starts_on <= day <= c.ends_on), None)


@dataclass
class Generation:
    """What ``generate_sessions`` made (the new sessions' ids), and the occurrences the database
    refused, with why."""

    made: list[int] = dataclasses.field(default_factory=list)
    refused: list["Refusal"] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class Refusal:
    slot: WeeklySlot
    day: datetime.date
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.slot}, {self.day:%b %d, %Y}: {' '.join(self.reasons)}"


# Groups whose meetings are looked up and made together: bounds the memory a year for every
# group takes (the meetings of a few groups at a time, never all of them at once).
GENERATION_GROUPS_PER_BATCH = 50


def generate_sessions(
    *,
    weeks: int | None = None,
    today: datetime.date | None = None,
    start: datetime.date | None = None,
    slots: Iterable[WeeklySlot] | None = None,
) -> Generation:
    """Make the sessions of every slot from ``start`` (default: this week's Monday) up to
    ``weeks`` weeks ahead of today. Idempotent: a slot occurrence that has a session is skipped.

    Each group's meetings are made in a transaction of their own, a few groups at a time. A
    meeting the database refuses (say a virtual slot of a group that no longer has a video link)
    is reported in ``refused`` and every other meeting is still made: one group's problem never
    leaves the others without sessions. ``made`` holds the ids of the sessions made."""
    today = today or timezone.localdate()
    weeks = weeks or settings.SESSION_GENERATION_WEEKS
    start = start or monday_of(today)
    horizon = today + datetime.timedelta(weeks=weeks)
    if slots is None:
        slots = WeeklySlot.objects.exclude(group__status=TherapyGroup.Status.ENDED).filter(
            Q(effective_until__isnull=True) | Q(effective_until__gte=start), effective_from__lte=horizon
        )
    slots_by_group: dict[int, list[WeeklySlot]] = {}
    for slot in slots:
        slots_by_group.setdefault(slot.group_id, []).append(slot)
    generation = Generation()
    if not slots_by_group:
        return generation
    closures = list(Closure.objects.filter(ends_on__gte=start, starts_on__lte=horizon))
    group_ids = sorted(slots_by_group)
    with _commits_not_waiting_for_the_disk():
        for first in range(0, len(group_ids), GENERATION_GROUPS_PER_BATCH):
            batch = group_ids[first : first + GENERATION_GROUPS_PER_BATCH]
            groups = TherapyGroup.objects.in_bulk(batch)
            batch_slots = [slot for group_id in batch for slot in slots_by_group[group_id]]
            existing = set(
                Session.objects.filter(slot__in=batch_slots, slot_date__gte=start, slot_date__lte=horizon).values_list(
                    "slot_id", "slot_date"
                )
            )
            for group_id in batch:
                occurrences = []
                for slot in slots_by_group[group_id]:
                    slot.group = groups[group_id]
                    days = [day for day in _slot_days(slot, start, horizon) if (slot.pk, day) not in existing]
                    if days:
                        occurrences.append([(slot, day) for day in days])
                if occurrences:
                    _insert_group_sessions(occurrences, closures, generation)
    return generation


@contextlib.contextmanager
def _commits_not_waiting_for_the_disk():
    """On PostgreSQL, commit each group's meetings without waiting for the disk to confirm it.

    Generating is idempotent: meetings lost to a crash in the instant before the disk caught up
    are made again by the next run. The setting holds for this connection during this run only.
    Not waiting at each commit is what lets every group have a transaction of its own at little
    cost."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        if connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _slot_days(slot: WeeklySlot, start: datetime.date, horizon: datetime.date) -> list[datetime.date]:
    """The days a slot meets from ``start`` to ``horizon``, within its group's dates."""
    group = slot.group
    first = max(start, slot.effective_from, group.start_date)
    last = min(d for d in (horizon, slot.effective_until, group.end_date) if d is not None)
    day = first + datetime.timedelta(days=(slot.weekday - first.weekday()) % 7)
    days = []
    while day <= last:
        days.append(day)
        day += datetime.timedelta(days=7)
    return days


def _session_for(slot: WeeklySlot, day: datetime.date, closures: list[Closure]) -> Session:
    group = slot.group
    starts_at = local_start(day, slot.start_time)
    closure = _closure_on(day, closures)
    return Session(
        group=group,
        slot=slot,
        slot_date=day,
        starts_at=starts_at,
        ends_at=minutes_after(starts_at, slot.duration_minutes),
        objective=slot.default_objective,
        facilitator_id=group.facilitator_id,
        room=slot.place,
        video_link=slot.video_link,
        status=Session.Status.CANCELLED if closure else Session.Status.SCHEDULED,
        cancellation_reason=f"Clinic closed: {closure.name}" if closure else "",
        closure=closure,
    )


def _insert_group_sessions(
    occurrences: list[list[tuple[WeeklySlot, datetime.date]]], closures: list[Closure], generation: Generation
) -> None:
    """Insert one group's meetings (``occurrences``: per slot, its days) in one transaction; if
    the database refuses it, slot by slot, and a slot refused, meeting by meeting, so that only
    the refused meetings are missing.

    The fallback costs nothing on a normal night and a few statements per slot on a bad one."""

    def insert(batch: list[tuple[WeeklySlot, datetime.date]]) -> list[int]:
        with transaction.atomic():
            return _insert_session_rows(batch, closures)

    try:
        generation.made += insert([occurrence for days in occurrences for occurrence in days])
        return
    except IntegrityError:
        pass
    for days in occurrences:
        try:
            generation.made += insert(days)
            continue
        except IntegrityError:
            pass
        for slot, day in days:
            try:
                generation.made += insert([(slot, day)])
            except IntegrityError as error:
                generation.refused.append(Refusal(slot, day, _why_refused(_session_for(slot, day, closures), error)))


# The columns a generated meeting fills (``_session_for`` says the same for one meeting), and the
# rows per INSERT: a year of a group's meetings is one statement, well inside every database's
# limit on parameters.
GENERATED_SESSION_FIELDS = (
    "group",
    "slot",
    "slot_date",
    "starts_at",
    "ends_at",
    "objective",
    "facilitator",
    "room",
    "video_link",
    "status",
    "cancellation_reason",
    "closure",
    "updated_at",
)
GENERATION_ROWS_PER_INSERT = 500


def _insert_session_rows(occurrences: list[tuple[WeeklySlot, datetime.date]], closures: list[Closure]) -> list[int]:
    """Insert the meetings of ``occurrences`` and return their ids, in the caller's transaction.

    A year for every group is some 160,000 meetings: written as rows of values straight into an
    INSERT, not as model instances through ``bulk_create``, which would spend most of the night
    building and converting objects. The one conflict passed over is an occurrence a concurrent run
    made after we looked (the id of that meeting is returned); every other refusal (a check, a
    second meeting of the group at that moment) raises ``IntegrityError``, as ``bulk_create`` with
    ``update_conflicts`` would: ``ignore_conflicts`` would also let SQLite drop rows that fail a
    check, silently."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = []
    for slot, day in occurrences:
        group = slot.group
        starts_at = local_start(day, slot.start_time)
        closure = _closure_on(day, closures)
        rows.append(
            (
                group.pk,
                slot.pk,
                ops.adapt_datefield_value(day),
                ops.adapt_datetimefield_value(starts_at),
                ops.adapt_datetimefield_value(minutes_after(starts_at, slot.duration_minutes)),
                slot.default_objective,
                group.facilitator_id,
                slot.place,
                slot.video_link,
                Session.Status.CANCELLED.value if closure else Session.Status.SCHEDULED.value,
                f"Clinic closed: {closure.name}" if closure else "",
                closure.pk if closure else None,
                now,
            )
        )
    quote = ops.quote_name
    columns = ", ".join(quote(Session._meta.get_field(name).column) for name in GENERATED_SESSION_FIELDS)
    row_placeholder = f"({', '.join(['%s'] * len(GENERATED_SESSION_FIELDS))})"
    slot_column, day_column = quote("slot_id"), quote("slot_date")
    ids = []
    with connection.cursor() as cursor:
        for first in range(0, len(rows), GENERATION_ROWS_PER_INSERT):
            chunk = rows[first : first + GENERATION_ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {quote(Session._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_placeholder] * len(chunk))} "
                f"ON CONFLICT ({slot_column}, {day_column}) DO UPDATE SET {day_column} = EXCLUDED.{day_column} "
                f"RETURNING {quote('id')}",
                [value for row in chunk for value in row],
            )
            ids += [session_id for (session_id,) in cursor.fetchall()]
    return ids


def _why_refused(session: Session, error: IntegrityError) -> tuple[str, ...]:
    """The message of the constraint the meeting breaks, as the model states it."""
    try:
        session.validate_constraints()
    except ValidationError as refusal:
        return tuple(refusal.messages)
    return (f"The database refused it: {error}",)


def session_conflicts(session: Session) -> dict[str, list[str]]:
    """A room or a facilitator booked twice at the same time."""
    errors: dict[str, list[str]] = {}
    if session.is_cancelled:
        return errors
    overlapping = (
        Session.objects.exclude(pk=session.pk)
        .exclude(status=Session.Status.CANCELLED)
        .filter(starts_at__lt=session.ends_at, ends_at__gt=session.starts_at)
        .select_related("group")
    )
    if session.room:
        for other in overlapping.filter(room=session.room):
            errors.setdefault("room", []).append(f"{session.room} is already booked for {other}.")
    group = session.group
    leaders = {session.facilitator_id, group.co_facilitator_id} - {None}
    clashing = overlapping.filter(Q(facilitator__in=leaders) | Q(group__co_facilitator__in=leaders))
    for other in clashing:
        errors.setdefault("facilitator", []).append(f"The facilitator already leads {other} at that time.")
    return errors


def session_change_refusals(session: Session) -> list[str]:
    """Why this meeting can no longer change (empty when it can): held, cancelled, or met in."""
    if session.status != Session.Status.SCHEDULED:
        return [f"This session is {session.get_status_display().lower()} and can no longer change."]
    if session.is_met:
        return ["Attendance or a note is recorded for this session; it can no longer change."]
    return []


@transaction.atomic
def update_session(*, session: Session, **changes) -> Session:
    """Change one meeting (time, objective, substitute facilitator, place). Held or cancelled
    meetings are history and do not change."""
    session = Session.objects.select_for_update().select_related("group").get(pk=session.pk)
    refusals = session_change_refusals(session)
    if refusals:
        raise ValidationError(refusals)
    for field, value in changes.items():
        setattr(session, field, value)
    session.full_clean()
    conflicts = session_conflicts(session)
    if conflicts:
        raise ValidationError(conflicts)
    session.save()
    reminders.replan_for_session(session=session)
    return session


@transaction.atomic
def cancel_session(*, session: Session, reason: str, closure: Closure | None = None) -> Session:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the session is cancelled; clients see it."})
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.is_met:
        raise ValidationError(f"{session} was held (attendance or a note is recorded) and cannot be cancelled.")
    if session.status == Session.Status.CANCELLED:
        raise ValidationError(f"{session} is already cancelled.")
    session.status = Session.Status.CANCELLED
    session.cancellation_reason = reason[:200]
    session.closure = closure
    session.save(update_fields=["status", "cancellation_reason", "closure", "updated_at"])
    reminders.cancel_for_session(session=session)
    return session


def held_refusals(session: Session) -> list[str]:
    """Why this meeting cannot be marked held now (empty when it can)."""
    if session.status == Session.Status.CANCELLED:
        return ["A cancelled session cannot be marked held."]
    if session.status == Session.Status.HELD:
        return ["This session is already marked held."]
    if session.starts_at > timezone.now():
        return ["A session can be marked held only once it has started."]
    return []


@transaction.atomic
def mark_session_held(*, session: Session) -> Session:
    session = Session.objects.select_for_update().get(pk=session.pk)
    if session.status == Session.Status.HELD:
        return session  # marked twice (a double click): nothing more to do
    refusals = held_refusals(session)
    if refusals:
        raise ValidationError(refusals)
    session.status = Session.Status.HELD
    session.save(update_fields=["status", "updated_at"])
    return session


def record_meeting(*, session: Session) -> None:
    """Attendance or a note is being recorded for this meeting: from now on it is history and
    no longer moves or is cancelled. The caller holds the session's row lock (taken with
    ``select_for_update``), so a cancellation cannot slip in between."""
    if session.first_recorded_at is None:
        session.first_recorded_at = timezone.now()
        session.save(update_fields=["first_recorded_at", "updated_at"])


@transaction.atomic
def save_closure(*, closure: Closure) -> list[Session]:
    """Record a closure and cancel the sessions on its days that nobody has met in."""
    closure.full_clean()
    try:
        with transaction.atomic():
            closure.save()
    except IntegrityError:
        # The same closure saved at the same moment (a double click): the constraint let one in.
        closure.validate_constraints()
        raise
    first = start_of_day(closure.starts_on)
    after = start_of_day_after(closure.ends_on)
    on_closed_days = Session.objects.filter(starts_at__lt=after)
    cancelled = []
    for session in on_closed_days.unmet(after=first.astimezone(datetime.UTC) - datetime.timedelta(microseconds=1)):
        cancelled.append(cancel_session(session=session, reason=f"Clinic closed: {closure.name}", closure=closure))
    return cancelled


# --- The client's calendar link -------------------------------------------------------------


@transaction.atomic
def rotate_calendar_token(*, client: Client) -> str:
    """A new secret link; the old one answers 404 from now on."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client.calendar_token = new_calendar_token()
    client.save(update_fields=["calendar_token", "updated_at"])
    record(Action.CHANGE, target=client, clients=[client], detail="calendar link replaced")
    return client.calendar_token
