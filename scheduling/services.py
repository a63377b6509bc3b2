"""Slots, sessions and closures. Every write with a rule is here; views, the admin, tasks and
tests call these functions.

The audit trail records writes of client information. A group's schedule (slots, sessions,
closures, cancellations) is not: it is about a group, not a client, and what reaches clients of
it is recorded where it does (reminders sent, memberships ended). The calendar link is a client's
and is recorded."""

import dataclasses
import datetime
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client, new_calendar_token
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import (
    clinic_zone,
    local_start,
    minutes_after,
    monday_of,
    start_of,
    start_of_day,
    start_of_day_after,
)
from scheduling import reminders, topics
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


def client_schedule_conflicts(*, client: Client, group: TherapyGroup) -> list[str]:
    """Meetings of ``group`` that overlap meetings of the client's other groups."""
    others = TherapyGroup.objects.filter(memberships__in=Membership.objects.open().filter(client=client)).exclude(
        pk=group.pk
    )
    return schedule_conflicts_with(client=client, group=group, others=others.prefetch_related("slots"))


def schedule_conflicts_with(*, client: Client, group: TherapyGroup, others: Iterable[TherapyGroup]) -> list[str]:
    """``client_schedule_conflicts`` against groups already read, with their slots."""
    return listed_schedule_conflicts(
        client=client,
        group=group,
        slots=list(group.slots.all()),
        others=[(other, list(other.slots.all())) for other in others],
    )


def listed_schedule_conflicts(
    *,
    client: Client,
    group: TherapyGroup,
    slots: list[WeeklySlot],
    others: Iterable[tuple[TherapyGroup, list[WeeklySlot]]],
) -> list[str]:
    """``schedule_conflicts_with`` for slots already listed: the group finder lists the client's
    groups' slots once for all the groups it weighs."""
    reasons = []
    for other, theirs in others:
        if other.pk == group.pk:
            continue
        for mine, their in ((a, b) for a in slots for b in theirs if slots_clash(a, b)):
            reasons.append(
                f"{group.name} meets {mine.get_weekday_display()} {mine.start_time:%H:%M}, "
                f"at the same time as {other.name} ({their.start_time:%H:%M}–{their.end_time:%H:%M}), "
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
    # A meeting whose objective was edited on its own keeps it, and so does one whose objective
    # comes from its group's topic cycle.
    own = sessions.filter(objective=old_objective, topic_swapped=False, cycle_step__isnull=True)
    own.update(objective=slot.default_objective, updated_at=now)


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
    """The closure that cancels a meeting on ``day``: the first of ``closures`` that covers it
    (``_closures_over`` gives them latest first; the generation SQL picks the same one)."""
    return next((c for c in closures if c.starts_on <= day <= c.ends_on), None)


def _closures_over(first: datetime.date, last: datetime.date) -> list[Closure]:
    return list(
        Closure.objects.filter(ends_on__gte=first, starts_on__lte=last).order_by("-starts_on", "-ends_on", "-pk")
    )


CLOSED_PREFIX = "Clinic closed: "


def closure_reason(closure: Closure) -> str:
    """What a meeting cancelled by a closure tells clients."""
    return f"{CLOSED_PREFIX}{closure.name}"


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


# Groups whose meetings are made by one statement: a year of 50 groups is some 10,000 meetings,
# which bounds the memory of a year for every group, and the groups a refusal sends back to be
# made one by one.
GENERATION_GROUPS_PER_BATCH = 50

# Connections that make batches at the same time, on PostgreSQL. Nearly all of a batch's time is
# the database's own work on each row (the table, its indexes, the foreign keys' checks at
# commit), done by the one backend serving the connection: a second connection puts the
# database's second core to work. Batches hold different groups, so the two never wait for
# each other's rows.
GENERATION_CONNECTIONS = 2


def generate_sessions(
    *,
    weeks: int | None = None,
    today: datetime.date | None = None,
    start: datetime.date | None = None,
    slots: Iterable[WeeklySlot] | None = None,
) -> Generation:
    """Make the sessions of every slot from ``start`` (default: this week's Monday) up to
    ``weeks`` weeks ahead of today. Idempotent: a slot occurrence that has a session is skipped.

    The meetings of a few groups are made together, by one statement in one transaction. If the
    database refuses one of them (say a virtual slot of a group that no longer has a video link),
    that transaction is rolled back and its groups are made again each in a transaction of its
    own, a refused group slot by slot, a refused slot meeting by meeting: the refused meetings are
    reported in ``refused`` and every other meeting is made. One group's problem never leaves the
    others without sessions. ``made`` holds the ids of the sessions made.

    On PostgreSQL, called outside a transaction, two connections make the batches at the same
    time (``GENERATION_CONNECTIONS``), each batch as above: the same meetings, the same refusals.

    The slots' and groups' rows are read from the database as they are when the meetings are made
    (a slot passed in must be saved)."""
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
    closures = _closures_over(start, horizon)
    group_ids = sorted(slots_by_group)
    batches = [
        [slots_by_group[group_id] for group_id in group_ids[first : first + GENERATION_GROUPS_PER_BATCH]]
        for first in range(0, len(group_ids), GENERATION_GROUPS_PER_BATCH)
    ]

    def make(batches: Iterable[list[list[WeeklySlot]]]) -> Generation:
        made = Generation()
        for batch in batches:
            groups = TherapyGroup.objects.in_bulk([slots[0].group_id for slots in batch])
            for slots in batch:
                for slot in slots:
                    slot.group = groups[slot.group_id]
            _make_sessions(batch, start, horizon, closures, made)
        return made

    lanes = min(GENERATION_CONNECTIONS, len(batches))
    # Other connections see only what is committed: inside a caller's transaction (a test's, a
    # request's) the batches are made on the caller's connection, one after the other.
    if lanes < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return make(batches)
    # A lane takes the next batch when it has made one (a batch is one transaction or more, as on
    # one connection): on a shared machine one backend often gets less of the CPUs than the
    # other, and with the batches dealt out beforehand the other would finish first and wait.
    # Each lane begins with a batch of its own, so every connection opened makes one.
    rest = iter(batches[lanes:])
    taking = threading.Lock()

    def batches_of(lane: int) -> Iterator[list[list[WeeklySlot]]]:
        yield batches[lane]
        while True:
            with taking:
                batch = next(rest, None)
            if batch is None:
                return
            yield batch

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="generate-sessions") as pool:
        done = list(pool.map(_on_own_connection(make), [batches_of(lane) for lane in range(lanes)]))
    for made in done:
        generation.made += made.made
        generation.refused += made.refused
    return generation


def _on_own_connection(work):
    """``work`` for a thread of its own: Django gives each thread its own connection, which is
    closed when the work is done (the thread ends, the pool keeps no connection open)."""

    def run(*args):
        try:
            return work(*args)
        finally:
            connections.close_all()

    return run


def _make_sessions(
    slots_by_group: list[list[WeeklySlot]],
    start: datetime.date,
    horizon: datetime.date,
    closures: list[Closure],
    generation: Generation,
) -> None:
    """Make the meetings of a few groups' slots in one transaction; if the database refuses it,
    group by group, a refused group slot by slot, and a refused slot meeting by meeting, each in a
    transaction of its own, so that only the refused meetings are missing.

    The fallback costs nothing on a normal night and a few statements per group on a bad one. It
    is also where a meeting another run made in the meantime (a slot saved during the nightly run)
    is passed over: the batch's statement does not pass over conflicts, and fails on it."""

    def insert(
        slots: list[WeeklySlot],
        first: datetime.date = start,
        last: datetime.date = horizon,
        *,
        passing_over_conflicts: bool = True,
    ) -> list[int]:
        with transaction.atomic():
            made = _insert_sessions(slots, first, last, closures, passing_over_conflicts=passing_over_conflicts)
            if made:
                topics.follow_cycles_after_generation(group_ids={slot.group_id for slot in slots}, first=first)
            return made

    try:
        generation.made += insert([slot for slots in slots_by_group for slot in slots], passing_over_conflicts=False)
        return
    except IntegrityError:
        pass
    for slots in slots_by_group:
        try:
            generation.made += insert(slots)
            continue
        except IntegrityError:
            pass
        for slot in slots:
            try:
                generation.made += insert([slot])
                continue
            except IntegrityError:
                pass
            # A meeting made before is passed over only after its row has passed the checks, which
            # the slot's meetings now fail: asked one by one, it would be reported as refused.
            made_before = set(
                slot.sessions.filter(slot_date__range=(start, horizon)).values_list("slot_date", flat=True)
            )
            for day in _slot_days(slot, start, horizon):
                if day in made_before:
                    continue
                try:
                    generation.made += insert([slot], day, day)
                except IntegrityError as error:
                    generation.refused.append(
                        Refusal(slot, day, _why_refused(_session_for(slot, day, closures), error))
                    )


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
    """The meeting a slot makes on a day (``_insert_session_rows`` and the generation SQL make
    the same row)."""
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
        cancellation_reason=closure_reason(closure) if closure else "",
        closure=closure,
    )


def _insert_sessions(
    slots: list[WeeklySlot],
    first: datetime.date,
    last: datetime.date,
    closures: list[Closure],
    *,
    passing_over_conflicts: bool = True,
) -> list[int]:
    """Insert the meetings ``slots`` have from ``first`` to ``last`` and do not have yet, and
    return their ids, in the caller's transaction. A refusal (a check, a second meeting of the
    group at that moment) raises ``IntegrityError``; so does, when not ``passing_over_conflicts``,
    a meeting another transaction made since the statement began (or has not committed yet).

    On PostgreSQL the database works the meetings out from the slots' rows itself; elsewhere
    (SQLite, for development) Python does, always passing over conflicts."""
    if connection.vendor == "postgresql":
        return _insert_sessions_in_sql(slots, first, last, passing_over_conflicts=passing_over_conflicts)
    return _insert_session_rows([(slot, day) for slot in slots for day in _slot_days(slot, first, last)], closures)


# The meetings of some slots from %(first)s to %(last)s, worked out as ``_slot_days`` and
# ``_session_for`` do, and inserted; an occurrence that has its meeting already is passed over:
# one there when the statement begins (``made_days``, read from the unique index on slot and date)
# and, where {pass_over_conflicts} is ``PASS_OVER_CONFLICTS``, one another transaction makes in the
# meantime. That clause makes every row a speculative insertion (a second look into the index, a
# lock taken and let go, one more WAL record): about a seventh of the statement's time, which the
# first try of a batch does without (see ``_make_sessions``).
#
# ``made_days`` is each slot's meetings from %(first)s to %(last)s, read once a slot as an array:
# one range of the index for a slot's year instead of a look into it for each of its fifty-odd
# occurrences (a NOT EXISTS, which was about a twelfth of the statement's work). PostgreSQL never
# turns an ARRAY(...) subquery into a join, so it stays one read a slot, whatever the statistics
# say: as a join, with statistics of a table that has just grown by a year of meetings, PostgreSQL
# chose to read every meeting in the table into a hash or a sort, some 0.1 s a batch. The weeks
# are a series of constants (0 to %(weeks)s, each slot stopping at its own last day) because
# PostgreSQL counts the rows of such a series, where it guesses a thousand for one that ends at a
# column's value, which priced the statement above jit_above_cost.
#
# A year for every group is some 160,000 meetings: made here, nothing of them crosses to Python
# but their ids. What remains is the database's own work on each row, which nothing here can
# leave out: counted in instructions (callgrind, a batch of 50 groups), half is the foreign keys'
# checks at commit (a query each for the group, the slot and the facilitator, some 30,000
# instructions apiece, and the empty closure's call), and two thirds of the rest is the seven
# indexes (from 14,000 for status and start down to 8,000 for the start alone).
#
# The start: PostgreSQL reads a wall-clock time the clocks skip as the clinic's rule says (as much
# later as the clocks jumped) but a time shown twice as its second occurrence; the rule says the
# first. ``earlier`` is the reading with the day before's offset: when it is earlier and shows the
# same wall-clock time, it is the first occurrence.
#
# The closure: of those covering the day, the one that began last, as ``_closures_over`` orders
# them for ``_closure_on``.
#
# ``span`` and ``occurrence`` are MATERIALIZED: otherwise PostgreSQL writes each use of one of
# their columns out as the column's whole expression, and the first day's weekday arithmetic and
# the readings of the wall clock would be worked out again at each use, some ten times a meeting.
# Worked out once, making the rows takes half the time (then about a twentieth of the whole), and
# the statement's estimated cost for 50 groups stays far below PostgreSQL's default
# jit_above_cost: above it (with five slots a group) each batch spent some 0.1-0.2 s compiling.
GENERATE_SESSIONS_SQL = """
WITH closed_day AS (
    SELECT DISTINCT ON (closed.day) closed.day, closure.id, closure.name
    FROM scheduling_closure closure
    CROSS JOIN LATERAL (
        SELECT GREATEST(closure.starts_on, %(first)s::date) + offset_days AS day
        FROM generate_series(0, LEAST(closure.ends_on, %(last)s::date) - GREATEST(closure.starts_on, %(first)s::date))
            AS offset_days
    ) closed
    WHERE closure.ends_on >= %(first)s::date AND closure.starts_on <= %(last)s::date
    ORDER BY closed.day, closure.starts_on DESC, closure.ends_on DESC, closure.id DESC
),
span AS MATERIALIZED (
    SELECT slot.id AS slot_id, slot.group_id, slot.start_time, slot.duration_minutes,
           slot.default_objective, grp.facilitator_id,
           -- WeeklySlot.place and WeeklySlot.video_link
           CASE WHEN slot.is_virtual THEN '' WHEN slot.room <> '' THEN slot.room ELSE grp.room END AS room,
           CASE WHEN slot.is_virtual OR grp.modality <> %(in_person)s THEN grp.video_link ELSE '' END AS video_link,
           -- PostgreSQL's ISODOW is 1 (Monday) to 7; a slot's weekday is 0 (Monday) to 6.
           dates.from_day + mod(slot.weekday - EXTRACT(ISODOW FROM dates.from_day)::int + 8, 7) AS first_day,
           LEAST(%(last)s::date, slot.effective_until, grp.end_date) AS until_day,
           ARRAY(
               SELECT made.slot_date FROM scheduling_session made
               WHERE made.slot_id = slot.id AND made.slot_date BETWEEN %(first)s::date AND %(last)s::date
           ) AS made_days
    FROM scheduling_weeklyslot slot
    JOIN groups_therapygroup grp ON grp.id = slot.group_id
    CROSS JOIN LATERAL (SELECT GREATEST(%(first)s::date, slot.effective_from, grp.start_date) AS from_day) dates
    WHERE slot.id = ANY(%(slots)s::bigint[])
),
occurrence AS MATERIALIZED (
    SELECT span.*, occurrence_day.day, wall.clock AS wall_clock,
           wall.clock AT TIME ZONE %(zone)s AS later,
           (wall.clock - interval '1 day') AT TIME ZONE %(zone)s + interval '24 hours' AS earlier
    FROM span
    CROSS JOIN generate_series(0, %(weeks)s) AS week
    CROSS JOIN LATERAL (SELECT span.first_day + 7 * week AS day) occurrence_day
    CROSS JOIN LATERAL (SELECT occurrence_day.day + span.start_time AS clock) wall
    WHERE occurrence_day.day <= span.until_day AND occurrence_day.day <> ALL(span.made_days)
),
meeting AS (
    SELECT occurrence.*,
           CASE WHEN earlier < later AND earlier AT TIME ZONE %(zone)s = wall_clock THEN earlier ELSE later END
               AS starts_at
    FROM occurrence
)
INSERT INTO scheduling_session (
    group_id, slot_id, slot_date, starts_at, ends_at, objective, facilitator_id, room, video_link, status,
    cancellation_reason, closure_id, updated_at
)
SELECT meeting.group_id, meeting.slot_id, meeting.day, meeting.starts_at,
       meeting.starts_at + make_interval(mins => meeting.duration_minutes),
       meeting.default_objective, meeting.facilitator_id, meeting.room, meeting.video_link,
       CASE WHEN closed_day.id IS NULL THEN %(scheduled)s ELSE %(cancelled)s END,
       COALESCE(%(closed_prefix)s || closed_day.name, ''),
       closed_day.id,
       %(now)s
FROM meeting
LEFT JOIN closed_day ON closed_day.day = meeting.day
{pass_over_conflicts}
RETURNING id
"""
PASS_OVER_CONFLICTS = "ON CONFLICT (slot_id, slot_date) DO NOTHING"


def _insert_sessions_in_sql(
    slots: list[WeeklySlot], first: datetime.date, last: datetime.date, *, passing_over_conflicts: bool
) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            GENERATE_SESSIONS_SQL.format(pass_over_conflicts=PASS_OVER_CONFLICTS if passing_over_conflicts else ""),
            {
                "slots": [slot.pk for slot in slots],
                "first": first,
                "last": last,
                "weeks": (last - first).days // 7,
                "zone": clinic_zone().key,
                "in_person": TherapyGroup.Modality.IN_PERSON.value,
                "scheduled": Session.Status.SCHEDULED.value,
                "cancelled": Session.Status.CANCELLED.value,
                "closed_prefix": CLOSED_PREFIX,
                "now": timezone.now(),
            },
        )
        return [session_id for (session_id,) in cursor.fetchall()]


# The columns a generated meeting fills (``_session_for`` says the same for one meeting), and the
# rows per INSERT: well inside every database's limit on parameters.
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
    """Insert the meetings of ``occurrences`` that do not exist yet and return their ids, in the
    caller's transaction: the way of databases other than PostgreSQL.

    Written as rows of values straight into an INSERT, not as model instances through
    ``bulk_create``, which would spend most of the time building and converting objects. The one
    conflict passed over is an occurrence that has its meeting already (made by an earlier or a
    concurrent run); every other refusal (a check, a second meeting of the group at that moment)
    raises ``IntegrityError``. ``ignore_conflicts`` would also let SQLite drop rows that fail a
    check, silently: ``ON CONFLICT`` naming the one constraint does not."""
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = []
    for slot, day in occurrences:
        session = _session_for(slot, day, closures)
        rows.append(
            (
                session.group_id,
                slot.pk,
                ops.adapt_datefield_value(day),
                ops.adapt_datetimefield_value(session.starts_at),
                ops.adapt_datetimefield_value(session.ends_at),
                session.objective,
                session.facilitator_id,
                session.room,
                session.video_link,
                session.status,
                session.cancellation_reason,
                session.closure_id,
                now,
            )
        )
    quote = ops.quote_name
    columns = ", ".join(quote(Session._meta.get_field(name).column) for name in GENERATED_SESSION_FIELDS)
    row_placeholder = f"({', '.join(['%s'] * len(GENERATED_SESSION_FIELDS))})"
    ids = []
    with connection.cursor() as cursor:
        for first in range(0, len(rows), GENERATION_ROWS_PER_INSERT):
            chunk = rows[first : first + GENERATION_ROWS_PER_INSERT]
            cursor.execute(
                f"INSERT INTO {quote(Session._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_placeholder] * len(chunk))} "
                f"ON CONFLICT ({quote('slot_id')}, {quote('slot_date')}) DO NOTHING "
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
    moved = "starts_at" in changes and changes["starts_at"] != session.starts_at
    if "objective" in changes and changes["objective"] != session.objective:
        # Chosen for this one meeting: its group's topic cycle goes on around it.
        changes["topic_swapped"] = True
    for field, value in changes.items():
        setattr(session, field, value)
    session.full_clean()
    conflicts = session_conflicts(session)
    if conflicts:
        raise ValidationError(conflicts)
    session.save()
    reminders.replan_for_session(session=session)
    if moved:
        # Moved past another meeting, it takes that one's place in the cycle.
        topics.follow_topic_cycle(group_id=session.group_id)
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
    # A cancelled meeting uses up no topic: the meetings after it move up one.
    topics.follow_topic_cycle(group_id=session.group_id)
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


# --- Topics: one meeting's topic swapped (the cycle itself: scheduling.topics) ----------------


def swap_refusals(session: Session, objective: str) -> dict[str, list[str]]:
    """Why this meeting's topic cannot be swapped for ``objective`` (empty when it can)."""
    errors: dict[str, list[str]] = {}
    if not objective.strip():
        errors["objective"] = ["Say what this meeting is about instead."]
    refusals = session_change_refusals(session)
    if not refusals and session.starts_at <= timezone.now():
        refusals = ["This meeting has begun; its topic is what it was."]
    if refusals:
        errors.setdefault("objective", []).extend(refusals)
    return errors


@transaction.atomic
def swap_topic(*, session: Session, objective: str) -> Session:
    """Give one meeting another topic; the cycle goes on around it (the next meeting keeps the
    topic it had). Through ``update_session``, the one path of a meeting's changes."""
    session = Session.objects.select_for_update().get(pk=session.pk)
    errors = swap_refusals(session, objective)
    if errors:
        raise ValidationError(errors)
    return update_session(session=session, objective=objective.strip())


def restore_topic(*, session: Session) -> Session:
    """Undo a swap: the meeting takes the cycle's topic at its place again."""
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        if not session.topic_swapped:
            raise ValidationError({"objective": "This meeting has the cycle's topic."})
        update_session(session=session, topic_swapped=False)
        topics.follow_topic_cycle(group_id=session.group_id)
        session.refresh_from_db()
        return session


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
        cancelled.append(cancel_session(session=session, reason=closure_reason(closure), closure=closure))
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
