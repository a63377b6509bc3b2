"""A client's course over their whole stay, gathered for the progress pages: hours attended each
week against the level of care's minimum, participation per group per week, check-ins, PHQ-9 and
GAD-7 with their bands and change from baseline, and the treatment plan's goals.

A bounded number of queries whatever the length of the stay: the database sums a year of
attendance into a row per group and week under the hours rule (``weekly_hours``), the rule the
clinic's reports count by too.
The facilitators' observations are clinical text and are read page by page
(``selectors.observations_of``)."""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    FilteredRelation,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from clients.models import Client
from iop.clock import clinic_zone, monday_of, start_of_day
from progress import checkins, measures, selectors
from progress.models import Attendance, CheckIn, TreatmentPlan
from scheduling.models import Session

WEEK = datetime.timedelta(weeks=1)


@dataclass(frozen=True)
class WeekHours:
    monday: datetime.date
    minutes: int
    sessions: int
    # The week is not over yet: it is shown, and not flagged.
    in_progress: bool
    minimum_hours: float

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)

    @property
    def below_minimum(self) -> bool:
        return not self.in_progress and self.minutes < minimum_minutes(self.minimum_hours)


@dataclass(frozen=True)
class GroupWeek:
    """A client's mean participation level (0-4) in one group's sessions of one week."""

    group: str
    monday: datetime.date
    mean: float
    sessions: int


@dataclass
class Course:
    client: Client
    minimum_hours: float
    weeks: list[WeekHours]
    participation: list[GroupWeek]
    check_ins: list[CheckIn]
    measures: dict[str, list[checkins.MeasureRow]]
    plan: TreatmentPlan | None
    goals: list = field(default_factory=list)

    @property
    def weeks_below(self) -> list[WeekHours]:
        return [week for week in self.weeks if week.below_minimum]

    @property
    def participation_by_group(self) -> dict[str, list[tuple[datetime.date, float]]]:
        series: dict[str, list[tuple[datetime.date, float]]] = defaultdict(list)
        for row in self.participation:
            series[row.group].append((row.monday, row.mean))
        return dict(series)

    def check_in_series(self, *, cravings: bool) -> dict[str, list[tuple[datetime.date, int]]]:
        series = {
            gettext("Mood"): [(c.week, c.mood) for c in self.check_ins],
            gettext("Coping"): [(c.week, c.coping) for c in self.check_ins],
        }
        if cravings:
            series[gettext("Cravings")] = [(c.week, c.cravings) for c in self.check_ins if c.cravings is not None]
        return series

    def measure_series(self, code: str) -> list[tuple[datetime.date, int]]:
        return [(timezone.localdate(row.response.taken_on), row.response.total) for row in self.measures[code]]

    def latest_change(self, code: str) -> measures.Change | None:
        rows = self.measures[code]
        return rows[-1].change if len(rows) > 1 else None


# The hours rule, the one every page and report counts by: the minutes attended at held sessions
# by a member marked present, late or left early, summed by the clinic's calendar week of the
# session (the Monday of its local date: an evening group on the night the clocks change stays in
# its week). A week is below the minimum when it is over and its hours are under the level of
# care's minimum (``WeekHours.below_minimum``).
COUNTED = Q(status__in=Attendance.ATTENDED)


def week_of_session() -> TruncWeek:
    """The Monday of the session's local date, worked out by the database."""
    return TruncWeek("session__starts_at", tzinfo=clinic_zone(), output_field=DateField())


def weekly_hours(attendances: QuerySet[Attendance], *, by: Sequence[str] = ()) -> QuerySet:
    """``attendances`` at held sessions summed per week (and per each field of ``by``): the
    ``monday``, the ``minutes`` and ``sessions`` counted by the hours rule, the sum of their
    ``participation`` levels, and the start of the week's ``first_met`` session (any status)."""
    return (
        attendances.filter(session__status=Session.Status.HELD)
        .annotate(monday=week_of_session())
        .order_by()
        .values("monday", *by)
        .annotate(
            minutes=Coalesce(Sum("minutes_attended", filter=COUNTED), 0),
            sessions=Count("pk", filter=COUNTED),
            participation=Coalesce(Sum("participation", filter=COUNTED), 0),
            first_met=Min("session__starts_at"),
        )
    )


def minimum_hours(client: Client) -> float:
    """The weekly minimum of the client's level of care (ASAM: 9 hours adult IOP, 6 adolescent)."""
    return settings.IOP_WEEKLY_MINIMUM_HOURS[client.level_of_care]


def minimum_minutes(hours: float) -> int:
    return round(hours * 60)


def below_minimum(*, monday: datetime.date) -> QuerySet[Client]:
    """The clients in care whose hours of the week of ``monday`` (a past week) fell below their
    level of care's minimum, the fewest first, each with ``minutes`` (attended) and
    ``minimum_minutes``. A week of the stay without attendance counts, as on the progress page
    (``stay_weeks``): a client admitted by that Sunday and not discharged before that Monday.

    Each client's minutes are summed under the hours rule (``COUNTED`` at held sessions, the week's
    local days) through one join with the week's attendance, not a subquery per client, which
    would read every client's year of attendance (5 s at 10,000 clients). A filtered relation
    takes no subquery, so the week's held sessions are read first: a few thousand ids from the
    index on the session's status and start."""
    week = list(
        Session.objects.filter(
            status=Session.Status.HELD,
            starts_at__gte=start_of_day(monday),
            starts_at__lt=start_of_day(monday + WEEK),
        )
        .order_by()
        .values_list("pk", flat=True)
    )
    minimum = Case(
        *(
            When(level_of_care=level, then=Value(minimum_minutes(hours)))
            for level, hours in settings.IOP_WEEKLY_MINIMUM_HOURS.items()
        ),
        output_field=IntegerField(),
    )
    in_care = (
        Client.objects.exclude(status=Client.Status.DISCHARGED)
        .filter(admission_date__lt=monday + WEEK)
        .filter(Q(discharge_date__isnull=True) | Q(discharge_date__gte=monday))
    )
    if week:
        attended = FilteredRelation(
            "attendances",
            condition=Q(attendances__status__in=Attendance.ATTENDED, attendances__session__in=week),
        )
        minutes = Coalesce(Sum("week_attended__minutes_attended"), 0)
        in_care = in_care.annotate(week_attended=attended)
    else:
        minutes = Value(0, output_field=IntegerField())
    return (
        in_care.annotate(minutes=minutes, minimum_minutes=minimum)
        .filter(minutes__lt=F("minimum_minutes"))
        .order_by("minutes", "legal_last_name", "legal_first_name", "pk")
    )


def stay_weeks(client: Client, *, today: datetime.date, first_met: datetime.date | None) -> list[datetime.date]:
    """The Mondays of the client's stay: from admission (or their first session) to discharge (or
    this week). A week without attendance is a week of the stay too, and below the minimum."""
    start = client.admission_date or first_met
    if start is None:
        return []
    end = min(client.discharge_date or today, today)
    if first_met is not None:
        start = min(start, first_met)
    mondays = []
    monday = monday_of(start)
    while monday <= monday_of(end):
        mondays.append(monday)
        monday += WEEK
    return mondays


def gather(client: Client, *, today: datetime.date | None = None) -> Course:
    """The client's course: seven queries (four for the plan with its goals, their histories
    and its reviews), whatever the length of the stay."""
    today = today or timezone.localdate()
    minimum = minimum_hours(client)
    minutes: dict[datetime.date, int] = defaultdict(int)
    sessions: dict[datetime.date, int] = defaultdict(int)
    participation = []
    first_met = None
    # One row per group and week, summed by the database under the hours rule.
    for row in weekly_hours(Attendance.objects.filter(client=client), by=("session__group__name",)):
        day = timezone.localdate(row["first_met"])
        first_met = day if first_met is None else min(first_met, day)
        minutes[row["monday"]] += row["minutes"]
        sessions[row["monday"]] += row["sessions"]
        if row["sessions"]:
            participation.append(
                GroupWeek(
                    group=row["session__group__name"],
                    monday=row["monday"],
                    mean=round(row["participation"] / row["sessions"], 1),
                    sessions=row["sessions"],
                )
            )
    this_monday = monday_of(today)
    weeks = [
        WeekHours(
            monday=monday,
            minutes=minutes.get(monday, 0),
            sessions=sessions.get(monday, 0),
            in_progress=monday == this_monday and client.discharge_date is None,
            minimum_hours=minimum,
        )
        for monday in stay_weeks(client, today=today, first_met=first_met)
    ]
    participation.sort(key=lambda row: (row.monday, row.group))
    treatment_plan = selectors.plan_of(client)
    return Course(
        client=client,
        minimum_hours=minimum,
        weeks=weeks,
        participation=participation,
        check_ins=checkins.check_ins_for_client(client),
        measures=checkins.measures_for_client(client),
        plan=treatment_plan,
        goals=list(treatment_plan.goals.all()) if treatment_plan is not None else [],
    )
