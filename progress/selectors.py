"""Reads of the therapist workspace. Every therapist view gets its session or group through the
access helpers here: anything the therapist does not lead, co-lead or substitute in is 404.
The services ask ``leads_session`` here too, so the access rule lives in this one file."""

import datetime
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from audit.trail import Action, record
from clients.models import AgreementSignature, Client
from groups.models import Membership, Therapist, TherapyGroup, member_at
from iop.clock import monday_of, start_of_day
from iop.statements import instances_of, rows_of, subquery_for_key, written_once
from progress.models import (
    READ_NOTE_TEXT,
    Attendance,
    Goal,
    GoalStatusChange,
    GroupNote,
    IndividualNote,
    NoteGoal,
    PlanReview,
    TreatmentPlan,
)
from scheduling.models import NOTE_OVERDUE_AFTER, Session

BALANCE_SESSIONS = 6
# A member is flagged when more than half of the sessions they attended (and at least this many)
# show the pattern.
BALANCE_MIN_ATTENDED = 2
# A substitute sees the group's page while preparing a meeting they cover and for this long after.
RECENT_COVER = datetime.timedelta(weeks=6)


def therapist_for(user) -> Therapist:
    """The signed-in therapist, or 404 for everyone else (clients, staff, inactive therapists)."""
    therapist = _therapist_of(user)
    if therapist is None:
        raise Http404("No therapist record for this login.")
    return therapist


def _therapist_of(user) -> Therapist | None:
    therapist = getattr(user, "therapist", None) if user.is_authenticated else None
    return therapist if therapist is not None and therapist.is_active else None


def _leads(therapist: Therapist, group_ids: Iterable[int] | None = None) -> Q:
    """Who reaches a session: its facilitator (the lead, or the substitute set on this one
    meeting) and the group's current facilitator and co-facilitator. A replaced facilitator
    keeps the past sessions they led (change_facilitators moves the future ones).

    Lists pass ``group_ids`` (``led_group_ids``): a condition on the session OR on its group
    cannot use an index, so PostgreSQL would read every session of the clinic; on the session's
    own columns it reads two indexes (facilitator and start, group and start) and merges them.
    ``_leads_row`` asks the same of one session read with its group."""
    if group_ids is not None:
        return Q(facilitator=therapist) | Q(group_id__in=list(group_ids))
    return Q(facilitator=therapist) | Q(group__facilitator=therapist) | Q(group__co_facilitator=therapist)


def led_group_ids(therapist: Therapist, groups: "Iterable[DashboardGroup] | None" = None) -> list[int]:
    """The groups the therapist facilitates or co-facilitates now; taken from ``groups`` (the
    dashboard's list, from ``dashboard_groups``, which holds them all) when given."""
    if groups is None:
        groups = TherapyGroup.objects.filter(Q(facilitator=therapist) | Q(co_facilitator=therapist)).only(
            "pk", "facilitator_id", "co_facilitator_id"
        )
    return [group.pk for group in groups if therapist.pk in (group.facilitator_id, group.co_facilitator_id)]


def leads_session(user: AbstractBaseUser, session: Session) -> bool:
    """Whether the user may take attendance in, write, sign or amend the note of this session."""
    therapist = _therapist_of(user)
    return therapist is not None and Session.objects.filter(_leads(therapist), pk=session.pk).exists()


def sessions_for_therapist(
    therapist: Therapist, *, group_ids: Iterable[int] | None = None, among: QuerySet[Session] | None = None
) -> QuerySet[Session]:
    """Every session the therapist reaches (of ``among``: all of them by default). A list (more
    than one session) passes ``group_ids`` from ``led_group_ids``; see ``_leads``."""
    sessions = Session.objects.all() if among is None else among
    return sessions.filter(_leads(therapist, group_ids)).select_related("group", "facilitator__user")


def groups_for_therapist(therapist: Therapist, *, now: datetime.datetime | None = None) -> QuerySet[TherapyGroup]:
    """Whose group page it is: the group's current facilitator and co-facilitator, and whoever
    facilitates one of its meetings (a substitute) that is upcoming or began in the last six
    weeks. A replaced facilitator sees the page only while a meeting they led is that recent;
    the meetings after the change are no longer theirs."""
    return _groups_reached(therapist, since=(now or timezone.now()) - RECENT_COVER)


def _groups_reached(therapist: Therapist, *, since: datetime.datetime) -> QuerySet[TherapyGroup]:
    # The therapist's recent and coming meetings, read once from the facilitator's index, rather
    # than a look into every group's sessions.
    covers = (
        Session.objects.filter(facilitator=therapist, starts_at__gte=since)
        .exclude(status=Session.Status.CANCELLED)
        .values("group_id")
    )
    return TherapyGroup.objects.filter(Q(facilitator=therapist) | Q(co_facilitator=therapist) | Q(pk__in=covers))


class DashboardGroup(NamedTuple):
    """A group on the dashboard: its button, and whether the therapist leads it (``led_group_ids``)."""

    pk: int
    name: str
    facilitator_id: int | None
    co_facilitator_id: int | None


def dashboard_groups(therapist: Therapist, *, now: datetime.datetime) -> list[DashboardGroup]:
    """``groups_for_therapist`` by name, as the dashboard lists them. Its SQL is written once for
    the process (``iop.statements.rows_of``): building it cost the page more than running it."""
    return [DashboardGroup(*row) for row in _dashboard_group_rows(therapist.pk, now - RECENT_COVER)]


@rows_of
def _dashboard_group_rows(therapist_id: int, since: datetime.datetime) -> QuerySet:
    groups = _groups_reached(Therapist(pk=therapist_id), since=since)
    return groups.order_by("name").values_list(*DashboardGroup._fields)


def get_session_for_therapist(user, pk: int) -> Session:
    """The session if the user leads, co-leads or substitutes in it; otherwise 404, as for a
    session that does not exist."""
    return _session_led_by(user, pk, _session_with_group)


@instances_of
def _session_with_group(pk: int) -> QuerySet[Session]:
    """The session of a key (a list of it, or none) with its group, which its pages name (not who
    facilitates it): SQL written once for the process (``iop.statements.instances_of``)."""
    return Session.objects.select_related("group").filter(pk=pk)


def _session_led_by(user, pk: int, session_of: Callable[[int], list[Session]]) -> Session:
    therapist = therapist_for(user)
    # Read by its key and asked in Python (``_leads_row``): building ``_leads`` into the query,
    # three conditions across the session and its group, cost more than the query's own work.
    found = session_of(pk)
    if not found or not _leads_row(therapist, found[0]):
        raise Http404("No such session.")
    return found[0]


def _leads_row(therapist: Therapist, session: Session) -> bool:
    """``_leads`` for one session read with its group."""
    return therapist.pk in (session.facilitator_id, session.group.facilitator_id, session.group.co_facilitator_id)


def get_session_for_sign_in_sheet(user, pk: int) -> Session:
    """The session whose paper sign-in sheet the user may print: staff who see sessions in the
    admin, and the therapists who lead it (as ``get_session_for_therapist``); 404 for anyone
    else. The sheet names its facilitators: they come with it."""
    if user.is_authenticated and user.is_active and user.is_staff and user.has_perm("scheduling.view_session"):
        found = _session_with_facilitators(pk)
        if not found:
            raise Http404("No such session.")
        return found[0]
    return _session_led_by(user, pk, _session_with_facilitators)


@instances_of
def _session_with_facilitators(pk: int) -> QuerySet[Session]:
    return Session.objects.select_related("group__co_facilitator__user", "facilitator__user").filter(pk=pk)


def get_group_for_therapist(user, pk: int) -> TherapyGroup:
    therapist = therapist_for(user)
    found = _group_reached(therapist.pk, pk, timezone.now() - RECENT_COVER)
    if not found:
        raise Http404("No such group.")
    return found[0]


@instances_of
def _group_reached(therapist_id: int, pk: int, since: datetime.datetime) -> QuerySet[TherapyGroup]:
    """The group of a key if the therapist reaches it (``groups_for_therapist``), as a list of it
    or none: SQL written once for the process (``iop.statements.instances_of``)."""
    return _groups_reached(Therapist(pk=therapist_id), since=since).filter(pk=pk)


def _note_with_parts(session: Session, *, clients: dict[int, Client]) -> GroupNote | None:
    """The session's note with ``parts``, its individualized notes, and ``addenda_shown``, oldest
    first (each with its author): two queries whatever it holds. Each joins what it reads to the
    rows it belongs to (a note has a few addenda, a part a few goals) and takes them apart here,
    where a prefetch for each relation was a query more and more Python than the query. The
    session has one note.

    A signed note is read to be shown: its parts in the model's order, each with its client and
    ``goals_addressed``. The clients are the page's own (``clients``, by id; the roster names every
    member who attended): a part's client is read here only when the page does not have them, as
    joining every client's row to the parts was a third of the columns, and of the cost, of the
    query. A note still being written is read for its form (``_parts_in_writing``),
    and alone: addenda amend signed notes only (``notes.add_addendum``). The session says which
    (its note's signature is copied to it as the note is signed); a note signed since the
    session was read is read again as signed."""
    notes = GroupNote.objects.filter(session=session)
    if session.note_signed_at is None:
        try:
            note = notes.get()
        except GroupNote.DoesNotExist:
            return None
        if not note.is_signed:
            note.addenda_shown = []
            note.parts = _parts_in_writing(note)
            return note
    rows = list(
        notes.annotate(addendum=FilteredRelation("addenda"))
        .select_related("signed_by", "addendum__author")
        .order_by("addendum__created_at", "addendum__pk")
    )
    if not rows:
        return None
    note = rows[0]
    # Django sets a joined row only when there is one.
    note.addenda_shown = [row.addendum for row in rows if getattr(row, "addendum", None) is not None]
    parts: dict[int, IndividualNote] = {}
    linked = (
        IndividualNote.objects.filter(group_note=note)
        .annotate(link=FilteredRelation("goal_links"))
        .select_related("link__goal")
        # The parts in the model's order, each one's goals in theirs.
        .order_by(
            "client__legal_last_name", "client__legal_first_name", "pk", "link__goal__created_at", "link__goal__pk"
        )
    )
    for row in linked:
        part = parts.setdefault(row.pk, row)
        if part is row:
            part.goals_addressed = []
        link = getattr(row, "link", None)
        if link is not None:
            part.goals_addressed.append(link.goal)
    unknown = {part.client_id for part in parts.values()} - clients.keys()
    if unknown:
        clients = clients | Client.objects.in_bulk(unknown)
    for part in parts.values():
        part.client = clients[part.client_id]
    note.parts = list(parts.values())
    return note


def _parts_in_writing(note: GroupNote) -> list[IndividualNote]:
    """An unsigned note's individualized notes, each with ``goal_ids``, the goals it addresses,
    in no order: the note page fills each attending member's form from their part and offers
    the goals again (``goals_for_note``), so it reads neither the clients (the roster has them)
    nor the goals. Its goal links joined by their column were a third of the cost of building
    the signed note's query, which joins and orders clients and goals."""
    parts: dict[int, IndividualNote] = {}
    linked = (
        IndividualNote.objects.filter(group_note=note)
        .annotate(addressed_goal_id=F("goal_links__goal_id"))
        # Not the model's order by the clients' names, which would join them.
        .order_by()
    )
    for row in linked:
        part = parts.setdefault(row.pk, row)
        if part is row:
            part.goal_ids = []
        if row.addressed_goal_id is not None:
            part.goal_ids.append(row.addressed_goal_id)
    return list(parts.values())


def read_note(session: Session, *, shown: Iterable[Client] = (), detail: str = "progress note") -> GroupNote | None:
    """The session's note (shared part, individualized notes, addenda) for a person to read, and
    the audit row of that read: the one way a page gets note text, so no page can show it
    unrecorded. ``shown`` are the other clients on the same page (the roster), recorded in the
    same row set, so the page costs one INSERT. Without a note yet, the page's read of the
    session's roster is recorded against the session."""
    shown_by_id = {client.pk: client for client in shown}
    note = _note_with_parts(session, clients=shown_by_id)
    clients = set(shown_by_id)
    if note is not None:
        clients |= {part.client_id for part in note.parts}
    record(Action.VIEW, target=note if note is not None else session, clients=clients, detail=detail)
    return note


def may_read_note_text(user) -> bool:
    """Minimum necessary: the front desk sees that a note exists, who signed it and when;
    supervisors (and therapists, on their own pages) read its text."""
    return user.has_perm(READ_NOTE_TEXT)


# --- Who is in the room ---------------------------------------------------------------------


def session_day(session: Session) -> datetime.date:
    return timezone.localdate(session.starts_at)


def roster_for_session(session: Session, *, agreements: bool = True) -> QuerySet[Client]:
    """The group's members at the session's start (``groups.models.member_at``: someone who joins
    after it began is not on it), and anyone whose attendance at it was taken (a member who left
    later that day keeps their record). Each client carries ``agreement_in_force``, unless
    ``agreements`` is False: it matters where attendance is taken, and the check costs the query
    more to build than to run."""
    return _roster(session.pk, session.group_id, session.starts_at, timezone.localdate(session.starts_at), agreements)


def _roster(
    session_id: int, group_id: int, starts_at: datetime.datetime, day: datetime.date, agreements: bool
) -> QuerySet[Client]:
    """``roster_for_session`` of the session's key, group, start and the start's day."""
    members = Membership.objects.filter(member_at(starts_at, day=day), group_id=group_id).order_by().values("client_id")
    recorded = Attendance.objects.filter(session_id=session_id).order_by().values("client_id")
    # One list of ids (a UNION), not two conditions ORed: PostgreSQL would test every client
    # of the clinic against both.
    roster = Client.objects.filter(pk__in=members.union(recorded)).order_by("legal_last_name", "legal_first_name", "pk")
    if not agreements:
        return roster
    return roster.annotate(agreement_in_force=_agreement_in_force())


@cache
def _agreement_in_force() -> Exists:
    """Whether the outer query's client has a current signature of the latest confidentiality
    agreement. Built once for the process, as ``_sessions_with_progress`` is: it is the same for
    every roster, and each query that uses it resolves a copy. Building it, a subquery inside a
    subquery, was a tenth of the cost of the session page's roster."""
    return Exists(AgreementSignature.objects.current().filter(client=OuterRef("pk")))


# --- The dashboard --------------------------------------------------------------------------


def _note_of_session(field_name: str) -> Subquery:
    """A field of the session's note (None without one), read with the note's unique index."""
    return Subquery(GroupNote.objects.filter(session=OuterRef("pk")).order_by().values(field_name)[:1])


def _sessions_with_progress() -> QuerySet[Session]:
    """Sessions with their roster not yet recorded, their attendance rows and their note, for
    ``_with_progress``. Built once for the process (for each time zone: the roster's rule names
    the clinic's), as a class-based view's ``queryset`` is: each use filters a copy. Resolving
    these subqueries was a third of the dashboard's asking for its week, and compiling them at
    every use a third of what was left; they are the same for every therapist and every week,
    and their SQL is written once (``iop.statements.written_once``)."""
    return _sessions_with_progress_in(timezone.get_current_timezone_name())


@cache
def _sessions_with_progress_in(zone: str) -> QuerySet[Session]:
    unrecorded = (
        Membership.objects.filter(member_at(OuterRef("starts_at")), group=OuterRef("group"))
        .exclude(Exists(Attendance.objects.filter(session=OuterRef(OuterRef("pk")), client=OuterRef("client"))))
        .order_by()
        .values("group")
        .annotate(count=Count("pk"))
        .values("count")
    )
    recorded = (
        Attendance.objects.filter(session=OuterRef("pk"))
        .order_by()
        .values("session")
        .annotate(count=Count("pk"))
        .values("count")
    )
    # Each a look into an index per session, and no GROUP BY over the sessions: a join to count
    # attendance, or an EXISTS, can be planned as a pass over every attendance row or note of
    # the clinic.
    return Session.objects.annotate(
        **written_once(
            Session,
            unrecorded_count=Coalesce(Subquery(unrecorded, output_field=IntegerField()), 0),
            attendance_count=Coalesce(Subquery(recorded, output_field=IntegerField()), 0),
            note_id=_note_of_session("pk"),
        )
    )


def _with_progress(sessions: Iterable[Session], *, now: datetime.datetime) -> list[Session]:
    """Each of ``sessions`` (chosen from ``_sessions_with_progress()``) with its roster (as
    ``roster_for_session`` counts it), attendance rows, note state, and whether attendance is
    due: the session has begun, is not cancelled, and someone on its roster has no attendance
    yet. What follows from the subqueries is worked out here, so that each is asked once."""
    sessions = list(sessions)
    zone = timezone.get_current_timezone()
    for session in sessions:
        session.day = session.starts_at.astimezone(zone).date()
        session.note_started = session.note_id is not None
        session.note_signed = session.note_signed_at is not None
        session.roster_size = session.attendance_count + session.unrecorded_count
        session.attendance_due = session.starts_at <= now and session.unrecorded_count > 0 and not session.is_cancelled
    return sessions


def week_sessions(
    therapist: Therapist,
    *,
    today: datetime.date | None = None,
    now: datetime.datetime | None = None,
    group_ids: Iterable[int] | None = None,
) -> list[Session]:
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    monday = monday_of(today)
    start = start_of_day(monday)
    end = start_of_day(monday + datetime.timedelta(days=7))
    group_ids = led_group_ids(therapist) if group_ids is None else group_ids
    sessions = sessions_for_therapist(therapist, group_ids=group_ids, among=_sessions_with_progress())
    return _with_progress(sessions.filter(starts_at__gte=start, starts_at__lt=end).order_by("starts_at"), now=now)


# What a session's card on the dashboard reads (progress/templatetags/progress_cards.py):
# a week's rows are read without the rest of the session, its group and its facilitator's login.
SESSION_CARD_FIELDS = (
    "starts_at",
    "ends_at",
    "objective",
    "room",
    "status",
    "first_recorded_at",
    "note_signed_at",
    "group__name",
    "group__facilitator_id",
    "facilitator__credentials",
    "facilitator__user__first_name",
    "facilitator__user__last_name",
    "facilitator__user__username",
)


@dataclass
class DashboardWeek:
    """This week's sessions as the dashboard shows them, each with its progress (``_with_progress``)."""

    today: list[Session]
    later: list[Session]
    earlier: list[Session]
    later_count: int
    earlier_count: int


def dashboard_week(
    therapist: Therapist,
    *,
    today: datetime.date,
    now: datetime.datetime,
    group_ids: Iterable[int],
    shown: int | None,
) -> DashboardWeek:
    """All of today's sessions, the next ``shown`` of the days after and the latest ``shown`` of
    the days before (every one when ``shown`` is None). A therapist who leads sixteen groups meets
    some sixty times a week: the week's sessions are listed by their start alone, and the counts
    and note of each are asked only of those shown."""
    monday = monday_of(today)
    week_of = (therapist.pk, list(group_ids), start_of_day(monday), start_of_day(monday + datetime.timedelta(days=7)))
    if shown is None:
        # Every one is shown: one query, without first listing them.
        week = _with_progress(_week_cards(*week_of), now=now)
        earlier = [session for session in week if session.day < today]
        later = [session for session in week if session.day > today]
        return DashboardWeek(
            today=[session for session in week if session.day == today],
            later=later,
            earlier=earlier,
            later_count=len(later),
            earlier_count=len(earlier),
        )
    # Each start's day in the clinic's zone, as timezone.localdate tells it, without asking for the
    # zone again for each of some sixty starts.
    zone = timezone.get_current_timezone()
    days = {pk: starts_at.astimezone(zone).date() for pk, starts_at in _week_starts(*week_of)}
    todays = [pk for pk, day in days.items() if day == today]
    later = [pk for pk, day in days.items() if day > today]
    earlier = [pk for pk, day in days.items() if day < today]
    later_shown = later[:shown]
    earlier_shown = earlier[-shown:] if shown else earlier
    with_progress = {
        session.pk: session for session in _with_progress(_cards(todays + later_shown + earlier_shown), now=now)
    }
    return DashboardWeek(
        today=[with_progress[pk] for pk in todays],
        later=[with_progress[pk] for pk in later_shown],
        earlier=[with_progress[pk] for pk in earlier_shown],
        later_count=len(later),
        earlier_count=len(earlier),
    )


# The dashboard's week is read by SQL written once for the process (``iop.statements``): building
# and compiling each query cost the page more than running it.


def _in_week(
    therapist_id: int, group_ids: list[int], start: datetime.datetime, end: datetime.datetime, *, among=None
) -> QuerySet[Session]:
    """The therapist's sessions (``sessions_for_therapist``) that start between two moments."""
    sessions = sessions_for_therapist(Therapist(pk=therapist_id), group_ids=group_ids, among=among)
    return sessions.filter(starts_at__gte=start, starts_at__lt=end).order_by("starts_at")


@rows_of
def _week_starts(therapist_id: int, group_ids: list[int], start: datetime.datetime, end: datetime.datetime) -> QuerySet:
    """``_in_week``, each its key and start, in order."""
    return _in_week(therapist_id, group_ids, start, end).values_list("pk", "starts_at")


@instances_of
def _week_cards(
    therapist_id: int, group_ids: list[int], start: datetime.datetime, end: datetime.datetime
) -> QuerySet[Session]:
    """``_in_week``, each as its card reads it (``_with_progress``), in order."""
    return _in_week(therapist_id, group_ids, start, end, among=_sessions_with_progress()).only(*SESSION_CARD_FIELDS)


@instances_of
def _cards(pks: list[int]) -> QuerySet[Session]:
    """Sessions by their keys (of ``_in_week``, so asked by key alone), each as its card reads it."""
    return (
        _sessions_with_progress()
        .select_related("group", "facilitator__user")
        .only(*SESSION_CARD_FIELDS)
        .filter(pk__in=pks)
    )


class OverdueNote(NamedTuple):
    """A met session whose note is overdue, as the lists of them name it: by its start and group
    (not its facilitator), with what is left to do."""

    pk: int
    starts_at: datetime.datetime
    group_name: str
    note_started: bool


def overdue_sessions(
    therapist: Therapist, *, now: datetime.datetime | None = None, group_ids: Iterable[int] | None = None
) -> QuerySet:
    """Met sessions whose note is still unsigned more than 24 hours after they ended, oldest
    first: named rows of ``OverdueNote``'s fields. Pages show a bounded part of it (a therapist
    back from leave may have many).

    Read from the partial indexes of met sessions without a signed note (``note_unsigned``), so
    the year's signed sessions are never visited; whether a note was started is asked only of
    the rows shown."""
    now = now or timezone.now()
    group_ids = led_group_ids(therapist) if group_ids is None else group_ids
    return _overdue(therapist.pk, list(group_ids), now - NOTE_OVERDUE_AFTER)


def _overdue(therapist_id: int, group_ids: list[int], overdue_before: datetime.datetime) -> QuerySet:
    return (
        sessions_for_therapist(Therapist(pk=therapist_id), group_ids=group_ids)
        .note_unsigned_ended_before(overdue_before)
        .annotate(
            group_name=F("group__name"),
            note_started=Exists(GroupNote.objects.filter(session=OuterRef("pk"))),
        )
        # Oldest first by the end, where the 24 hours start. Not by the start: PostgreSQL would
        # walk the index of every session's start from the first meeting of the year, hoping to
        # meet the first page soon, instead of sorting the few the partial indexes hold.
        .order_by("ends_at", "pk")
        .values_list(*OverdueNote._fields, named=True)
    )


def first_overdue_notes(
    therapist: Therapist, *, now: datetime.datetime, group_ids: Iterable[int], limit: int
) -> list[OverdueNote]:
    """The oldest ``limit`` of ``overdue_sessions``, for the dashboard: its SQL written once for
    the process (``iop.statements.rows_of``)."""
    rows = _first_overdue_rows(limit)(therapist.pk, list(group_ids), now - NOTE_OVERDUE_AFTER)
    return [OverdueNote(*row) for row in rows]


@cache
def _first_overdue_rows(limit: int) -> Callable[[int, list[int], datetime.datetime], list[tuple]]:
    return rows_of(
        lambda therapist_id, group_ids, overdue_before: _overdue(therapist_id, group_ids, overdue_before)[:limit]
    )


# --- The session page -----------------------------------------------------------------------


ROSTER_FIELDS = ("legal_first_name", "legal_last_name", "preferred_name", "chart_number")


def session_roster(session: Session, *, agreements: bool = True) -> list[Client]:
    """The roster, each client with ``attendance`` (or None) for this session, in one query
    whatever the size of the group: each member's attendance row is joined to them (one at most,
    by the constraint of one per session and client). The session and note pages name each
    member (and look for their names in the note's text); the rest of the client's row stays
    unread. ``agreements`` as for ``roster_for_session``."""
    day = timezone.localdate(session.starts_at)
    roster = _roster_with_attendance(agreements)(session.pk, session.group_id, session.starts_at, day)
    for client in roster:
        # Django sets the joined row only when there is one.
        client.attendance = getattr(client, "attendance_here", None)
    return roster


@cache
def _roster_with_attendance(agreements: bool) -> Callable[..., list[Client]]:
    """``session_roster``'s query, of a session's key, group, start and the start's day: SQL
    written once for the process (``iop.statements.instances_of``); building and compiling it
    cost the session and note pages more than running it."""
    return instances_of(
        lambda session_id, group_id, starts_at, day: (
            _roster(session_id, group_id, starts_at, day, agreements)
            .only(*ROSTER_FIELDS)
            .annotate(attendance_here=FilteredRelation("attendances", condition=Q(attendances__session_id=session_id)))
            .select_related("attendance_here")
        )
    )


# --- Participation balance ------------------------------------------------------------------


@dataclass
class MemberBalance:
    client: Client
    cells: list[Attendance | None] = field(default_factory=list)

    @cached_property
    def levels(self) -> list[int]:
        # Asked by each of the balance's questions, on the page and in its lists.
        return [cell.participation for cell in self.cells if cell is not None and cell.attended]

    def _mostly(self, levels: set[int]) -> bool:
        attended = self.levels
        if len(attended) < BALANCE_MIN_ATTENDED:
            return False
        return sum(1 for level in attended if level in levels) * 2 > len(attended)

    @property
    def likely_dominant(self) -> bool:
        return self._mostly({Attendance.Participation.DOMINATED})

    @property
    def likely_reluctant(self) -> bool:
        return self._mostly({Attendance.Participation.NONE, Attendance.Participation.WHEN_INVITED})

    @property
    def level_counts(self) -> Counter:
        return Counter(self.levels)


def participation_balance(group: TherapyGroup, *, today: datetime.date | None = None):
    """The last six met sessions and, for each current member, their attendance at each."""
    today = today or timezone.localdate()
    attendances = _recent_attendance(group.pk)
    sessions = sorted({a.session_id: a.session for a in attendances}.values(), key=lambda session: session.starts_at)
    members = _current_members(group.pk, today)
    cells = {(a.session_id, a.client_id): a for a in attendances}
    rows = [MemberBalance(client=m.client, cells=[cells.get((s.pk, m.client_id)) for s in sessions]) for m in members]
    return sessions, rows


# The balance's two queries are written once for the process (``iop.statements.instances_of``).
# The table reads each session's day, each member's name and each cell's status and
# participation: the rest of the rows (observations, the clients' details) stays unread.


@instances_of
def _recent_attendance(group_id: int) -> QuerySet[Attendance]:
    """The attendance at a group's last ``BALANCE_SESSIONS`` met meetings, each row with its
    session's start: each of them has some, so the sessions come with it, in one query. No order:
    the cells are looked up by session and client."""
    # Walks the group's meetings back from the latest (its index on group and start) and stops at
    # the sixth with attendance, rather than joining every attendance row the group ever had.
    recent = (
        Session.objects.filter(group_id=group_id)
        .filter(Exists(Attendance.objects.filter(session=OuterRef("pk"))))
        .exclude(status=Session.Status.CANCELLED)
        .order_by("-starts_at")
        .values("pk")[:BALANCE_SESSIONS]
    )
    return (
        Attendance.objects.filter(session__in=recent)
        .select_related("session")
        .only("session__starts_at", "client_id", "status", "participation")
        .order_by()
    )


@instances_of
def _current_members(group_id: int, today: datetime.date) -> QuerySet[Membership]:
    """A group's active members who joined by a day, by name, each with their client's name."""
    return (
        Membership.objects.filter(group_id=group_id, status=Membership.Status.ACTIVE, joined_on__lte=today)
        .select_related("client")
        .only("client__legal_first_name", "client__legal_last_name", "client__preferred_name", "client__chart_number")
        .order_by("client__legal_last_name", "client__legal_first_name")
    )


# --- A client's therapists ------------------------------------------------------------------


def memberships_led_by(therapist: Therapist, *, history: bool) -> QuerySet[Membership]:
    """The memberships that make a client this therapist's: in a group they facilitate or
    co-facilitate, active (for care: alerts, flags, follow-ups), or also ended (``history``: for
    reading what was recorded while the client was theirs). A waitlisted client is not yet theirs."""
    # Asked by several reads of one page (the safety banner and the checks of who may write):
    # built once for the therapist's row, and each caller filters a copy (a queryset is never
    # changed by filtering it, nor read here). The dashboard's lists of clients ask for the SQL
    # written once for every therapist (``client_ids_led_by``, ``discharge._ended_at_discharge``).
    built = therapist.__dict__.setdefault("_memberships_led_by", {})
    if history not in built:
        statuses = [Membership.Status.ACTIVE, Membership.Status.ENDED] if history else [Membership.Status.ACTIVE]
        built[history] = Membership.objects.filter(status__in=statuses).filter(
            Q(group__facilitator=therapist) | Q(group__co_facilitator=therapist)
        )
    return built[history].all()


def clients_of_therapist(
    therapist: Therapist, *, history: bool = False, among: QuerySet[Client] | None = None
) -> QuerySet[Client]:
    """The clients (of ``among``: all of them by default) in a group the therapist leads or
    co-leads (``memberships_led_by``)."""
    # Their ids rather than a correlated EXISTS: PostgreSQL plans both as the same semi-join, and
    # this one costs Django less to build (as ``safety.open_alerts_for_therapist``).
    return (Client.objects.all() if among is None else among).filter(
        pk__in=client_ids_led_by(therapist, history=history)
    )


def client_ids_led_by(therapist: Therapist, *, history: bool) -> RawSQL:
    """The ids of the clients of ``memberships_led_by``, for ``IN``: the SQL the ORM writes for
    them, written once for the process with a stand-in for the therapist
    (``iop.statements.subquery_for_key``). Compiling it (a join to the groups and a condition on
    two of their columns) was a third of the cost of each list of the dashboard that asks for it."""
    return _client_ids_written(history)(therapist.pk)


@cache
def _client_ids_written(history: bool) -> Callable[[int], RawSQL]:
    return subquery_for_key(
        lambda key: memberships_led_by(Therapist(pk=key), history=history).order_by().values("client_id")
    )


def get_client_for_therapist(user, pk: int, *, history: bool = True) -> Client:
    """The client if they are (or, for ``history``, were) in a group the therapist leads or
    co-leads; otherwise 404, as for a client who does not exist."""
    therapist = therapist_for(user)
    client = clients_of_therapist(therapist, history=history).filter(pk=pk).first()
    if client is None:
        raise Http404("No such client.")
    return client


def may_write_plan(user, client: Client) -> bool:
    """Whether the user writes and reviews the client's treatment plan: a therapist who leads or
    co-leads a group the client is an active member of now (the past ones read it)."""
    therapist = _therapist_of(user)
    return therapist is not None and memberships_led_by(therapist, history=False).filter(client=client).exists()


# --- Treatment plans ------------------------------------------------------------------------


def plan_of(client: Client) -> TreatmentPlan | None:
    """The client's plan with its goals, each goal's status history (oldest first, with who
    changed it) and its reviews (newest first): four queries, whatever the plan holds. The
    progress page and the discharge summary read it from here."""
    return (
        TreatmentPlan.objects.filter(client=client)
        .select_related("created_by")
        .prefetch_related(
            Prefetch(
                "goals",
                queryset=Goal.objects.order_by("created_at", "pk").prefetch_related(
                    Prefetch(
                        "status_changes",
                        queryset=GoalStatusChange.objects.select_related("changed_by").order_by("changed_at", "pk"),
                    )
                ),
            ),
            Prefetch(
                "reviews", queryset=PlanReview.objects.select_related("reviewed_by").order_by("-reviewed_on", "-pk")
            ),
        )
        .first()
    )


def goals_of(client: Client) -> list[Goal]:
    """The client's goals, oldest first, each with its plan (``goal.plan``) and its status
    history (``goal.status_changes.all()``, oldest first, with who changed it): two queries.
    For pages that show the goals beside other things (the progress page, the discharge summary)."""
    history = Prefetch(
        "status_changes", queryset=GoalStatusChange.objects.select_related("changed_by").order_by("changed_at", "pk")
    )
    return list(
        Goal.objects.filter(plan__client=client)
        .select_related("plan")
        .prefetch_related(history)
        .order_by("created_at", "pk")
    )


def review_cutoff(today: datetime.date) -> datetime.date:
    """A plan last reviewed (or started) before this day is overdue for review."""
    return today - datetime.timedelta(days=settings.IOP_PLAN_REVIEW_DAYS)


def plans_overdue(today: datetime.date) -> QuerySet[TreatmentPlan]:
    """The plans of clients in care whose review is overdue, the longest overdue first (the
    admin's "Overdue" filter and the clinic's dashboard)."""
    return (
        TreatmentPlan.objects.filter(last_reviewed_on__lt=review_cutoff(today))
        .exclude(client__status=Client.Status.DISCHARGED)
        .order_by("last_reviewed_on", "pk")
    )


def review_due_on(plan: TreatmentPlan) -> datetime.date:
    return plan.last_reviewed_on + datetime.timedelta(days=settings.IOP_PLAN_REVIEW_DAYS)


def overdue_plan_reviews(therapist: Therapist, *, today: datetime.date) -> QuerySet[TreatmentPlan]:
    """The plans of the therapist's current clients whose review is overdue, the longest overdue
    first: from the index on ``last_reviewed_on``, each plan's client looked up once. Pages show
    a bounded part of it."""
    return _plans_overdue_of(therapist.pk, review_cutoff(today))


def _plans_overdue_of(therapist_id: int, cutoff: datetime.date) -> QuerySet[TreatmentPlan]:
    return _plans_with_clients().filter(
        last_reviewed_on__lt=cutoff, client__in=client_ids_led_by(Therapist(pk=therapist_id), history=False)
    )


def first_overdue_plan_reviews(therapist: Therapist, *, today: datetime.date, count: int) -> list[TreatmentPlan]:
    """The first ``count`` of ``overdue_plan_reviews``, for the dashboard: SQL written once for the
    process (``iop.statements.instances_of``)."""
    return _first_overdue_plan_reviews(count)(therapist.pk, review_cutoff(today))


@cache
def _first_overdue_plan_reviews(count: int) -> Callable[[int, datetime.date], list[TreatmentPlan]]:
    return instances_of(lambda therapist_id, cutoff: _plans_overdue_of(therapist_id, cutoff)[:count])


@cache
def _plans_with_clients() -> QuerySet[TreatmentPlan]:
    """Plans, the longest unreviewed first, with what a list of them says of each client. Built
    once for the process, as a class-based view's ``queryset`` is: each use filters a copy."""
    return (
        TreatmentPlan.objects.select_related("client")
        .only(
            "pk",
            "last_reviewed_on",
            "started_on",
            "client__id",
            "client__legal_first_name",
            "client__legal_last_name",
            "client__preferred_name",
            "client__chart_number",
        )
        .order_by("last_reviewed_on", "pk")
    )


def goals_for_note(
    attending: Iterable[Client], session: Session, *, linked: Iterable[int] | None = None
) -> dict[int, list[Goal]]:
    """Each attending member's goals the session's note may address: their active goals and any
    goal the note already links (a goal met since keeps its tick). A caller that has read the
    note gives the ``linked`` goals' ids (none without a note), and they are not looked for
    again. One query; each goal carries its member's id (``member_id``), not its plan."""
    ids = [client.pk for client in attending]
    offered = Q(status=Goal.Status.ACTIVE)
    if linked is None:
        offered |= Q(Exists(NoteGoal.objects.filter(goal=OuterRef("pk"), individual_note__group_note__session=session)))
    else:
        linked = list(linked)
        if linked:
            offered |= Q(pk__in=linked)
    # The plan's one column rather than the plan, which the note page does not show.
    goals = (
        Goal.objects.filter(offered, plan__client_id__in=ids)
        .annotate(member_id=F("plan__client_id"))
        .order_by("created_at", "pk")
    )
    found: dict[int, list[Goal]] = {pk: [] for pk in ids}
    for goal in goals:
        found[goal.member_id].append(goal)
    return found


def get_goal_for_therapist(user, pk: int, *, history: bool = True) -> Goal:
    """The goal if its client is (or, for ``history``, was) in a group the therapist leads or
    co-leads; otherwise 404, as for a goal that does not exist."""
    therapist = therapist_for(user)
    theirs = memberships_led_by(therapist, history=history).filter(client=OuterRef("plan__client"))
    goal = Goal.objects.filter(Exists(theirs), pk=pk).select_related("plan__client").first()
    if goal is None:
        raise Http404("No such goal.")
    return goal


# --- The facilitators' observations ---------------------------------------------------------

OBSERVATIONS_SHOWN = 20


def observations_of(
    client: Client, *, before: datetime.date | None = None
) -> tuple[list[Attendance], datetime.date | None]:
    """The facilitators' observations of the client, newest first, about ``OBSERVATIONS_SHOWN`` at
    a time (those of sessions before ``before``, a local day, for the older ones), and the day to
    ask for the next older ones with (None when none remain). A page ends at a day's end, so the
    next page misses none of a day. Clinical text, like a note's: the page that shows them
    records its read (one row for the page, naming the client)."""
    rows = (
        Attendance.objects.filter(client=client)
        .exclude(observation="")
        .select_related("session__group", "recorded_by")
        .only(
            "pk",
            "status",
            "participation",
            "observation",
            "session__starts_at",
            "session__group__name",
            "recorded_by__first_name",
            "recorded_by__last_name",
            "recorded_by__username",
        )
        .order_by("-session__starts_at", "-pk")
    )
    if before is not None:
        rows = rows.filter(session__starts_at__lt=start_of_day(before))
    found = list(rows[: OBSERVATIONS_SHOWN + 1])
    if len(found) <= OBSERVATIONS_SHOWN:
        return found, None
    # The first one not shown: its whole day goes to the next page.
    boundary = timezone.localdate(found[-1].session.starts_at)
    shown = [row for row in found[:-1] if timezone.localdate(row.session.starts_at) > boundary]
    return shown, boundary + datetime.timedelta(days=1)
