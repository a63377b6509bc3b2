"""The clinic's reports: attendance, hours against the weekly minimum, census, length of stay and
waitlist times, each over a period of days, as rows for a table and a CSV file.

Counts are made by the database, a fixed number of queries whatever the size of the clinic:
attendance and census are grouped and counted there; hours are summed there by the one hours
rule (``progress.course.weekly_hours``). Medians and percentiles (length of stay, waits) are not
a portable SQL aggregate: the stays and waits of the period are read in one query each and
ranked here.

Minimum necessary: only the hours report names clients (a week below the minimum is followed up
client by client); the others are counts by group, therapist, month, level of care or group kind.
"""

import csv
import datetime
import functools
import itertools
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Count, DateField, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.safestring import SafeString

from clients.models import Client, LevelOfCare
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import clinic_zone, monday_of, start_of_day, start_of_day_after
from progress import charts
from progress.course import WeekHours, minimum_hours, minimum_minutes, stay_weeks, weekly_hours
from progress.models import Attendance
from scheduling.models import Session

WEEK = datetime.timedelta(weeks=1)
# The default period: the last twelve full weeks, Monday to Sunday.
DEFAULT_WEEKS = 12
# The longest period a report covers (a leap year and a day: a year from any day to the same day).
MAX_DAYS = 367

Cell = str | int | float | datetime.date | None


@dataclass(frozen=True)
class Period:
    """Days ``start`` to ``end``, both included, on the clinic's calendar."""

    start: datetime.date
    end: datetime.date

    @property
    def starts_at(self) -> datetime.datetime:
        return start_of_day(self.start)

    @property
    def ends_before(self) -> datetime.datetime:
        return start_of_day_after(self.end)

    def mondays(self) -> list[datetime.date]:
        """The weeks the period touches, by their Monday."""
        mondays, monday = [], monday_of(self.start)
        while monday <= self.end:
            mondays.append(monday)
            monday += WEEK
        return mondays

    def whole_weeks(self) -> "Period":
        """From the Monday of the first day to the Sunday of the last."""
        return Period(monday_of(self.start), monday_of(self.end) + datetime.timedelta(days=6))

    def in_words(self) -> str:
        return f"{self.start:%b} {self.start.day}, {self.start:%Y} to {self.end:%b} {self.end.day}, {self.end:%Y}"


def period_refusals(start: datetime.date, end: datetime.date) -> dict[str, list[str]]:
    """Why these days are not a period a report covers."""
    if end < start:
        return {"end": ["The last day cannot be before the first."]}
    if (end - start).days + 1 > MAX_DAYS:
        return {"end": [f"A report covers at most {MAX_DAYS} days; choose a later first day or an earlier last day."]}
    return {}


def default_period(today: datetime.date) -> Period:
    """The last twelve full weeks, Monday to Sunday, before this one."""
    end = monday_of(today) - datetime.timedelta(days=1)
    return Period(end - datetime.timedelta(weeks=DEFAULT_WEEKS) + datetime.timedelta(days=1), end)


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[list[Cell]]
    # Rows whose first cell heads the row (a name, a week) rather than a value.
    row_headers: bool = True
    testid: str = ""


@dataclass
class Figure:
    chart: SafeString
    caption: str


@dataclass
class Report:
    figures: list[Figure]
    tables: list[Table]
    # The CSV file: its header and rows (the tables' rows, with what each row is).
    csv_headers: list[str]
    csv_rows: Iterable[list[Cell]]
    # The clients named on the page (or in the CSV), for the audit trail (empty for reports of counts).
    clients: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The page of clients shown, where the report names more than a page holds.
    page: Page | None = None


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


# --- 1. Attendance --------------------------------------------------------------------------

ATTENDANCE_COUNTS = {
    "sessions": Count("session", distinct=True),
    "recorded": Count("pk"),
    "attended": Count("pk", filter=Q(status__in=Attendance.ATTENDED)),
    "no_shows": Count("pk", filter=Q(status=Attendance.Status.ABSENT)),
    "excused": Count("pk", filter=Q(status=Attendance.Status.EXCUSED)),
}
ATTENDANCE_HEADERS = ["Sessions", "Attendance recorded", "Attended", "No-shows", "Excused", "Attendance rate (%)"]


def _attendance_cells(row: dict) -> list[Cell]:
    return [
        row["sessions"],
        row["recorded"],
        row["attended"],
        row["no_shows"],
        row["excused"],
        _percent(row["attended"], row["recorded"]),
    ]


def _add_up(rows: Iterable[dict], key: Callable[[dict], object]) -> dict:
    """The counts of ``rows`` summed by ``key``."""
    sums: dict = {}
    for row in rows:
        summed = sums.setdefault(key(row), dict.fromkeys(ATTENDANCE_COUNTS, 0))
        for name in ATTENDANCE_COUNTS:
            summed[name] += row[name]
    return sums


def _therapist_name(therapist: Therapist) -> str:
    user = therapist.user
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or user.username
    return f"{name}, {therapist.credentials}" if therapist.credentials else name


def attendance(period: Period, *, group: TherapyGroup | None = None, therapist: Therapist | None = None, **_) -> Report:
    """Attendance at the period's sessions (cancelled ones have none), by group, by the therapist
    who led each meeting, and by month. The rate is attended (present, late or left early) of
    attendance recorded; a no-show is "absent", an excused absence is counted on its own.

    Twelve weeks of attendance at 10,000 clients are 300,000 rows: they are counted once, by
    group, leader and month together (read through the index on the session and status, not from
    the table), and those few thousand counts added up here three ways. A session falls in one
    group, leader and month, so its count adds up too. Three queries: the counts, the names of the
    groups and of the therapists in them."""
    rows = Attendance.objects.filter(
        session__starts_at__gte=period.starts_at, session__starts_at__lt=period.ends_before
    ).exclude(session__status=Session.Status.CANCELLED)
    if group is not None:
        rows = rows.filter(session__group=group)
    if therapist is not None:
        rows = rows.filter(session__facilitator=therapist)
    counts = list(
        rows.annotate(month=TruncMonth("session__starts_at", tzinfo=clinic_zone(), output_field=DateField()))
        .order_by()
        .values("session__group_id", "session__facilitator_id", "month")
        .annotate(**ATTENDANCE_COUNTS)
    )
    groups = dict(
        TherapyGroup.objects.filter(pk__in={row["session__group_id"] for row in counts}).values_list("pk", "name")
    )
    therapists = Therapist.objects.filter(pk__in={row["session__facilitator_id"] for row in counts}).select_related(
        "user"
    )
    by_group = _add_up(counts, lambda row: row["session__group_id"])
    by_therapist = _add_up(counts, lambda row: row["session__facilitator_id"])
    by_month = _add_up(counts, lambda row: row["month"])
    months = sorted(by_month)

    group_rows = [
        [groups[pk], *_attendance_cells(by_group[pk])] for pk in sorted(by_group, key=lambda pk: (groups[pk], pk))
    ]
    therapist_rows = [
        [_therapist_name(leader), *_attendance_cells(by_therapist[leader.pk])]
        for leader in sorted(therapists, key=lambda leader: (leader.user.last_name, leader.user.first_name, leader.pk))
    ]
    month_rows = [[f"{month:%B %Y}", *_attendance_cells(by_month[month])] for month in months]
    rates = [_percent(by_month[month]["attended"], by_month[month]["recorded"]) for month in months]
    chart = charts.report_bars(
        [f"{month:%b %Y}" for month in months],
        {"Attendance rate": rates},
        title="Attendance rate by month",
        description=(
            f"{len(months)} months; "
            + "; ".join(f"{month:%B %Y}: {rate}%" for month, rate in zip(months, rates, strict=True))
            + "."
        ),
        y_title="% attended",
        top=100,
    )
    return Report(
        figures=[Figure(chart, "Of the attendance recorded at each month's sessions, the share attended.")],
        tables=[
            Table("By group", ["Group", *ATTENDANCE_HEADERS], group_rows, testid="by-group"),
            Table("By therapist (who led the meeting)", ["Therapist", *ATTENDANCE_HEADERS], therapist_rows),
            Table("By month", ["Month", *ATTENDANCE_HEADERS], month_rows, testid="by-month"),
        ],
        csv_headers=["By", "Name", *ATTENDANCE_HEADERS],
        csv_rows=[
            *(["group", *row] for row in group_rows),
            *(["therapist", *row] for row in therapist_rows),
            *(["month", *row] for row in month_rows),
        ],
    )


# --- 2. Hours against the weekly minimum ----------------------------------------------------

# The hours page shows this many clients at a time (a table of every client and week of a clinic
# of 10,000 took three seconds to draw); its chart and totals count everyone, the CSV names everyone.
HOURS_PAGE_SIZE = 50
# The CSV reads the clients' weeks this many clients at a time, as it writes them.
HOURS_CSV_CHUNK = 500


def _in_groups(period: Period, groups: Q) -> Exists:
    """A membership, active at some time in the period, in one of ``groups``."""
    return Exists(
        Membership.objects.filter(groups, client=OuterRef("pk"), joined_on__lte=period.end).filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=period.start)
        )
    )


def _led_by(therapist: Therapist, prefix: str = "") -> Q:
    return Q(**{f"{prefix}facilitator": therapist}) | Q(**{f"{prefix}co_facilitator": therapist})


def _counted_week(monday: datetime.date, *, this_monday: datetime.date, prefix: str = "") -> Q:
    """The client's stay takes in the week of ``monday`` (as ``stay_weeks`` counts it: admitted by
    its Sunday, not discharged before its Monday), and the week counts: it is over, or the client
    was discharged in it."""
    in_stay = Q(**{f"{prefix}admission_date__lte": monday + datetime.timedelta(days=6)}) & (
        Q(**{f"{prefix}discharge_date__isnull": True}) | Q(**{f"{prefix}discharge_date__gte": monday})
    )
    if monday == this_monday:
        return in_stay & Q(**{f"{prefix}discharge_date__isnull": False})
    return in_stay


@dataclass
class ClientWeeks:
    client: Client
    minimum_hours: float
    # Each week of the report: the client's hours, or None for a week outside their stay.
    weeks: list[WeekHours | None]

    @property
    def weeks_below(self) -> int:
        return sum(1 for week in self.weeks if week is not None and week.below_minimum)


def hours_mondays(period: Period, *, today: datetime.date) -> list[datetime.date]:
    """The weeks of the hours report: those the period touches, up to this one."""
    return [monday for monday in period.whole_weeks().mondays() if monday <= today]


def hours_clients(
    period: Period, *, group: TherapyGroup | None = None, therapist: Therapist | None = None
) -> QuerySet[Client]:
    """Every client in treatment during the period's weeks (of the group, or of the therapist's
    groups), by name."""
    period = period.whole_weeks()
    clients = (
        Client.objects.filter(admission_date__isnull=False, admission_date__lte=period.end)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=period.start))
        .only(
            "pk",
            "chart_number",
            "legal_first_name",
            "legal_last_name",
            "preferred_name",
            "level_of_care",
            "admission_date",
            "discharge_date",
        )
        .order_by("legal_last_name", "legal_first_name", "pk")
    )
    if group is not None:
        clients = clients.filter(_in_groups(period, Q(group=group)))
    if therapist is not None:
        clients = clients.filter(_in_groups(period, _led_by(therapist, "group__")))
    return clients


def client_weeks(
    period: Period, clients: Sequence[Client], *, today: datetime.date
) -> tuple[list[datetime.date], list[ClientWeeks]]:
    """These clients' hours each week of the period within their stay: one query."""
    mondays = hours_mondays(period, today=today)
    period = period.whole_weeks()
    attendances = Attendance.objects.filter(
        client__in=[client.pk for client in clients],
        session__starts_at__gte=period.starts_at,
        session__starts_at__lt=period.ends_before,
    )
    summed = {(row["client_id"], row["monday"]): row for row in weekly_hours(attendances, by=("client_id",))}
    this_monday = monday_of(today)
    found = []
    for client in clients:
        minimum = minimum_hours(client)
        stay = set(stay_weeks(client, today=today, first_met=None))
        weeks: list[WeekHours | None] = []
        for monday in mondays:
            if monday not in stay:
                weeks.append(None)
                continue
            row = summed.get((client.pk, monday), {})
            weeks.append(
                WeekHours(
                    monday=monday,
                    minutes=row.get("minutes", 0),
                    sessions=row.get("sessions", 0),
                    in_progress=monday == this_monday and client.discharge_date is None,
                    minimum_hours=minimum,
                )
            )
        found.append(ClientWeeks(client=client, minimum_hours=minimum, weeks=weeks))
    return mondays, found


def weeks_below(
    period: Period, clients: QuerySet[Client], *, today: datetime.date, narrowed: bool = False
) -> tuple[list[int], list[int]]:
    """For each week of the report, how many of ``clients`` it counts (a week of their stay that
    is over) and how many of those were below their minimum: counted by the database, two queries
    whatever the number of clients.

    A week without attendance is below the minimum, so the clients below are those counted less
    those whose minutes reached it: the clients' weeks of attendance are summed under the hours
    rule and kept where they reach the minimum (HAVING), and those are counted per week by a query
    around that one (an aggregate of an aggregate, which the ORM does not write)."""
    mondays = hours_mondays(period, today=today)
    if not mondays:
        return [], []
    this_monday = monday_of(today)
    counts = clients.order_by().aggregate(
        **{
            f"w{index}": Count("pk", filter=_counted_week(monday, this_monday=this_monday))
            for index, monday in enumerate(mondays)
        }
    )
    counted = [counts[f"w{index}"] for index in range(len(mondays))]
    whole = period.whole_weeks()
    minimum = Case(
        *(
            When(client__level_of_care=level, then=Value(minimum_minutes(hours)))
            for level, hours in settings.IOP_WEEKLY_MINIMUM_HOURS.items()
        ),
        output_field=IntegerField(),
    )
    # Filtered per client and week (HAVING), not per attendance row: a few tens of thousands of
    # sums instead of 300,000 rows. The week of a sum is that of its first session.
    in_counted_weeks = functools.reduce(
        operator.or_,
        (
            Q(first_met__gte=start_of_day(monday), first_met__lt=start_of_day(monday + WEEK))
            & _counted_week(monday, this_monday=this_monday, prefix="client__")
            for monday in mondays
        ),
    )
    attendances = Attendance.objects.filter(
        session__starts_at__gte=whole.starts_at, session__starts_at__lt=whole.ends_before
    )
    # A week of a client's stay is a week of the period they are in; only a group or a
    # therapist narrows the clients further.
    if narrowed:
        attendances = attendances.filter(client__in=clients.order_by().values("pk"))
    reached = (
        weekly_hours(
            attendances, by=("client_id", "client__level_of_care", "client__admission_date", "client__discharge_date")
        )
        .filter(in_counted_weeks, minutes__gte=minimum)
        .values("monday")
    )
    sql, params = reached.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT reached.monday, COUNT(*) FROM ({sql}) reached GROUP BY reached.monday", params)
        at_minimum = {_as_date(monday): number for monday, number in cursor.fetchall()}
    return counted, [total - at_minimum.get(monday, 0) for monday, total in zip(mondays, counted, strict=True)]


def _as_date(value: datetime.date | datetime.datetime | str) -> datetime.date:
    """A date read by a raw query: a date or a timestamp on PostgreSQL, text on SQLite."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, str):
        return datetime.date.fromisoformat(value[:10])
    return value


def _hours_cell(week: WeekHours | None) -> str:
    if week is None:
        return ""
    flag = " (below)" if week.below_minimum else " (this week)" if week.in_progress else ""
    return f"{week.hours:g}{flag}"


def _hours_csv_rows(period: Period, clients: QuerySet[Client], *, today: datetime.date) -> Iterator[list[Cell]]:
    """Every client's weeks, read a chunk of clients at a time as the file is written."""
    chunk: list[Client] = []
    for client in clients.iterator(chunk_size=HOURS_CSV_CHUNK):
        chunk.append(client)
        if len(chunk) == HOURS_CSV_CHUNK:
            yield from _hours_csv_chunk(period, chunk, today=today)
            chunk = []
    if chunk:
        yield from _hours_csv_chunk(period, chunk, today=today)


def _hours_csv_chunk(period: Period, clients: list[Client], *, today: datetime.date) -> Iterator[list[Cell]]:
    _, found = client_weeks(period, clients, today=today)
    for row in found:
        for week in row.weeks:
            if week is not None:
                yield [
                    row.client.chart_number,
                    row.client.display_name,
                    row.client.get_level_of_care_display(),
                    week.monday,
                    week.hours,
                    week.sessions,
                    row.minimum_hours,
                    "yes" if week.below_minimum else "in progress" if week.in_progress else "no",
                ]


HOURS_CSV_HEADERS = ["Chart number", "Client", "Level of care", "Week of", "Hours", "Sessions", "Minimum", "Below"]


def hours(
    period: Period,
    *,
    today: datetime.date,
    group: TherapyGroup | None = None,
    therapist: Therapist | None = None,
    page: int | str | None = None,
    as_csv: bool = False,
    **_,
) -> Report:
    """Each client's hours per week. The page shows one page of clients by name, with a chart of
    every client's weeks below the minimum; the CSV names every client, every week."""
    clients = hours_clients(period, group=group, therapist=therapist)
    if as_csv:
        return Report(
            figures=[],
            tables=[],
            csv_headers=HOURS_CSV_HEADERS,
            csv_rows=_hours_csv_rows(period, clients, today=today),
            clients=list(clients.order_by().values_list("pk", flat=True)),
        )
    shown = Paginator(clients, HOURS_PAGE_SIZE).get_page(page)
    mondays, found = client_weeks(period, list(shown), today=today)
    counted, below = weeks_below(period, clients, today=today, narrowed=group is not None or therapist is not None)
    chart = charts.report_bars(
        [charts.week_label(monday) for monday in mondays],
        {
            "Below the minimum": below,
            "At or above it": [total - low for total, low in zip(counted, below, strict=True)],
        },
        title="Clients below the weekly minimum",
        description=f"{len(mondays)} weeks; clients below the minimum each week: {', '.join(map(str, below))}.",
        y_title="clients",
        stacked=True,
    )
    table_rows = [
        [
            f"{row.client.display_name} ({row.client.chart_number})",
            f"{row.minimum_hours:g}",
            *(_hours_cell(week) for week in row.weeks),
            row.weeks_below,
        ]
        for row in found
    ]
    return Report(
        figures=[
            Figure(
                chart,
                "Clients in treatment each week, by whether their hours attended reached their level of "
                "care's weekly minimum (this week is not counted until it is over).",
            )
        ],
        tables=[
            Table(
                "Hours attended per client per week (week of the Monday shown)",
                ["Client", "Minimum (h)", *(f"{monday:%b} {monday.day}" for monday in mondays), "Weeks below"],
                table_rows,
                testid="hours",
            )
        ],
        csv_headers=HOURS_CSV_HEADERS,
        csv_rows=[],
        clients=[row.client.pk for row in found],
        notes=[
            "Hours are the minutes attended at held sessions (present, late or left early), by week, "
            "Monday to Sunday; a week of the stay with no attendance is 0 hours. A dash is a week "
            "outside the client's stay."
        ],
        page=shown,
    )


# --- 3. Census and length of stay -----------------------------------------------------------


def _in_care_on(day: datetime.date) -> Q:
    return Q(admission_date__lte=day) & (Q(discharge_date__isnull=True) | Q(discharge_date__gt=day))


def _member_on(day: datetime.date) -> Q:
    return Q(joined_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))


def census(period: Period, *, group: TherapyGroup | None = None, therapist: Therapist | None = None, **_) -> Report:
    """Clients in care on each Monday of the period, by level of care (admitted on or before it,
    not discharged by it), and the active members of groups of each kind on it (a client in two
    groups of a kind counts once for it). Two queries, one column per week and kind."""
    mondays = [monday for monday in period.mondays() if monday >= period.start] or [period.start]
    levels = list(LevelOfCare)
    kinds = list(TherapyGroup.Kind)
    # Only the stays and memberships that overlap the Mondays are counted (the others fail every
    # filter below): a few thousand rows of a year's, not all of them.
    in_care = Client.objects.filter(admission_date__isnull=False, admission_date__lte=mondays[-1]).filter(
        Q(discharge_date__isnull=True) | Q(discharge_date__gt=mondays[0])
    )
    in_care = in_care.aggregate(
        **{
            f"c{index}_{level.value}": Count("pk", filter=Q(level_of_care=level) & _in_care_on(day))
            for index, day in enumerate(mondays)
            for level in levels
        }
    )
    members = Membership.objects.filter(joined_on__isnull=False, joined_on__lte=mondays[-1]).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=mondays[0])
    )
    if group is not None:
        members = members.filter(group=group)
    if therapist is not None:
        members = members.filter(_led_by(therapist, "group__"))
    in_groups = members.aggregate(
        **{
            f"m{index}_{kind.value}": Count("client", distinct=True, filter=Q(group__kind=kind) & _member_on(day))
            for index, day in enumerate(mondays)
            for kind in kinds
        }
    )
    rows = []
    for index, day in enumerate(mondays):
        by_level = [in_care[f"c{index}_{level.value}"] for level in levels]
        by_kind = [in_groups[f"m{index}_{kind.value}"] for kind in kinds]
        rows.append([day, *by_level, sum(by_level), *by_kind])
    chart = charts.report_lines(
        {
            level.label: [(day, row[1 + i]) for day, row in zip(mondays, rows, strict=True)]
            for i, level in enumerate(levels)
        },
        title="Clients in care by level of care",
        description=f"{len(mondays)} Mondays; clients in care on the last: {rows[-1][len(levels) + 1]}.",
    )
    headers = [
        "On",
        *(level.label for level in levels),
        "All levels",
        *(f"In {kind.label.lower()} groups" for kind in kinds),
    ]
    return Report(
        figures=[Figure(chart, "Clients admitted and not yet discharged on each Monday, by level of care.")],
        tables=[Table("Census on each Monday", headers, rows, testid="census")],
        csv_headers=headers,
        csv_rows=rows,
        notes=[
            "Group kinds count the active members of the groups"
            + (" chosen" if group is not None or therapist is not None else "")
            + " on that day; a client in two groups of one kind counts once."
        ],
    )


def _quantile(ranked: Sequence[int], fraction: float) -> float:
    """The value ``fraction`` of the way through the ranked values, between neighbours where it
    falls between two (the "inclusive" method: the median of 1, 2, 3, 10 is 2.5)."""
    if len(ranked) == 1:
        return float(ranked[0])
    position = fraction * (len(ranked) - 1)
    low = int(position)
    high = min(low + 1, len(ranked) - 1)
    return round(ranked[low] + (ranked[high] - ranked[low]) * (position - low), 1)


STAY_HEADERS = [
    "Discharges",
    "Median (days)",
    "25th percentile",
    "75th percentile",
    "90th percentile",
    "Shortest",
    "Longest",
]


def _spread(values: Iterable[int]) -> list[Cell]:
    ranked = sorted(values)
    if not ranked:
        return [0, None, None, None, None, None, None]
    return [
        len(ranked),
        _quantile(ranked, 0.5),
        _quantile(ranked, 0.25),
        _quantile(ranked, 0.75),
        _quantile(ranked, 0.9),
        ranked[0],
        ranked[-1],
    ]


def length_of_stay(
    period: Period, *, group: TherapyGroup | None = None, therapist: Therapist | None = None, **_
) -> Report:
    """The stays that ended in the period: discharge date minus admission date, in days (as the
    discharge summary counts them), by level of care. One query."""
    discharged = Client.objects.filter(
        admission_date__isnull=False, discharge_date__gte=period.start, discharge_date__lte=period.end
    )
    if group is not None:
        discharged = discharged.filter(Exists(Membership.objects.filter(client=OuterRef("pk"), group=group)))
    if therapist is not None:
        discharged = discharged.filter(
            Exists(Membership.objects.filter(_led_by(therapist, "group__"), client=OuterRef("pk")))
        )
    stays: dict[str, list[int]] = defaultdict(list)
    for level, admitted, discharged_on in discharged.order_by().values_list(
        "level_of_care", "admission_date", "discharge_date"
    ):
        stays[level].append((discharged_on - admitted).days)
    rows = [[level.label, *_spread(stays[level.value])] for level in LevelOfCare]
    rows.append(["All levels", *_spread(day for values in stays.values() for day in values)])
    chart = charts.report_bars(
        [row[0] for row in rows],
        {"Median": [row[2] for row in rows], "90th percentile": [row[5] for row in rows]},
        title="Length of stay (days)",
        description="; ".join(f"{row[0]}: {row[1]} discharges, median {row[2]} days" for row in rows) + ".",
        y_title="days",
    )
    return Report(
        figures=[Figure(chart, "The median and 90th percentile length of the stays that ended in the period.")],
        tables=[Table("Length of stay by level of care", ["Level of care", *STAY_HEADERS], rows, testid="stay")],
        csv_headers=["Level of care", *STAY_HEADERS],
        csv_rows=rows,
        notes=["A stay is counted in the period its discharge falls in."],
    )


# --- 4. Waitlist times ----------------------------------------------------------------------

WAIT_HEADERS = ["Clients", "Median (days)", "Longest (days)"]


def _days(start: datetime.datetime, end: datetime.datetime) -> float:
    return round((end - start).total_seconds() / 86400, 1)


def waitlist(
    period: Period,
    *,
    now: datetime.datetime,
    group: TherapyGroup | None = None,
    therapist: Therapist | None = None,
    **_,
) -> Report:
    """How long clients who joined a group in the period waited (waitlisted to joined), and how
    long those waiting now have waited, by group. Two queries."""
    memberships = Membership.objects.filter(waitlisted_at__isnull=False)
    if group is not None:
        memberships = memberships.filter(group=group)
    if therapist is not None:
        memberships = memberships.filter(_led_by(therapist, "group__"))
    joined: dict[str, list[float]] = defaultdict(list)
    for name, waitlisted_at, joined_at in (
        memberships.filter(joined_at__gte=period.starts_at, joined_at__lt=period.ends_before)
        .order_by()
        .values_list("group__name", "waitlisted_at", "joined_at")
    ):
        joined[name].append(_days(waitlisted_at, joined_at))
    waiting: dict[str, list[float]] = defaultdict(list)
    for name, waitlisted_at in (
        memberships.filter(status=Membership.Status.WAITLISTED).order_by().values_list("group__name", "waitlisted_at")
    ):
        waiting[name].append(_days(waitlisted_at, now))

    def summary(values: list[float]) -> list[Cell]:
        ranked = sorted(values)
        return [len(ranked), _quantile(ranked, 0.5), ranked[-1]] if ranked else [0, None, None]

    names = sorted(set(joined) | set(waiting))
    rows = [[name, *summary(joined[name]), *summary(waiting[name])] for name in names]
    everyone = [
        "All groups",
        *summary([d for v in joined.values() for d in v]),
        *summary([d for v in waiting.values() for d in v]),
    ]
    chart = charts.report_bars(
        names,
        {
            "Median wait of those who joined": [row[2] for row in rows],
            "Longest current wait": [row[6] for row in rows],
        },
        title="Waitlist times by group (days)",
        description=(
            f"{everyone[1]} clients joined after a median wait of {everyone[2]} days; "
            f"{everyone[4]} are waiting, the longest for {everyone[6]} days."
        ),
        y_title="days",
    )
    headers = [
        "Group",
        *(f"Joined: {header.lower()}" for header in WAIT_HEADERS),
        *(f"Waiting now: {header.lower()}" for header in WAIT_HEADERS),
    ]
    return Report(
        figures=[Figure(chart, "Days from being waitlisted to joining the group, and the current waits, by group.")],
        tables=[Table("Waits by group", headers, [*rows, everyone], testid="waitlist")],
        csv_headers=headers,
        csv_rows=[*rows, everyone],
        notes=[
            "Joined: waitlisted clients who joined in the period. "
            "Waiting now: whoever is on a waitlist today, whatever the period."
        ],
    )


# --- The reports, and their CSV -------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    slug: str
    title: str
    summary: str
    build: Callable[..., Report]
    # Names clients (minimum necessary: shown only to who may see client records).
    names_clients: bool = False


REPORTS = [
    Kind(
        "attendance",
        "Attendance and no-shows",
        "Attendance rate and no-shows by group, by therapist and by month.",
        attendance,
    ),
    Kind(
        "hours",
        "Hours against the weekly minimum",
        "Each client's hours attended per week against their level of care's minimum; weeks below it flagged.",
        hours,
        names_clients=True,
    ),
    Kind("census", "Census", "Clients in care by level of care and group kind, week by week.", census),
    Kind(
        "length-of-stay",
        "Length of stay",
        "Admission to discharge, median and percentiles, by level of care.",
        length_of_stay,
    ),
    Kind("waitlist", "Waitlist times", "Waitlisted to joined, and the current waits, by group.", waitlist),
]
BY_SLUG = {kind.slug: kind for kind in REPORTS}

# A cell a spreadsheet would read as a formula (OWASP, "CSV injection"): it starts with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Cell) -> str:
    """A cell as text, with a leading quote where a spreadsheet would otherwise run it."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Line:
    """What ``csv.writer`` writes to: each row's line, handed back to be sent."""

    def write(self, line: str) -> str:
        return line


def csv_response(
    *, name: str, period: Period, headers: Sequence[str], rows: Iterable[Sequence[Cell]]
) -> StreamingHttpResponse:
    """The rows as a CSV file, sent as they are written (the hours of every client of a large
    clinic are read a chunk at a time, not held whole)."""
    writer = csv.writer(_Line(), quoting=csv.QUOTE_MINIMAL)
    lines = itertools.chain(
        [writer.writerow([csv_cell(header) for header in headers])],
        (writer.writerow([csv_cell(cell) for cell in row]) for row in rows),
    )
    filename = f"{name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def build(kind: Kind, period: Period, *, page: int | str | None = None, as_csv: bool = False, **filters) -> Report:
    """The report over the period; ``page`` is the page of clients shown of a report that names
    them, ``as_csv`` asks for every row of the CSV instead of the page."""
    now = timezone.now()
    return kind.build(period, today=timezone.localdate(now), now=now, page=page, as_csv=as_csv, **filters)
