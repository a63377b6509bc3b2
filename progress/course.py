"""A client's course over their whole stay, gathered for the progress pages: hours attended each
week against the level of care's minimum, participation per group per week, check-ins, PHQ-9 and
GAD-7 with their bands and change from baseline, and the treatment plan's goals.

A bounded number of queries whatever the length of the stay: a year of attendance is some two
hundred rows of four columns, summed here by the clinic's calendar week (a session's week is the
Monday of its local date, so an evening group on the night the clocks change stays in its week).
The facilitators' observations are clinical text and are read page by page
(``selectors.observations_of``)."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from clients.models import Client
from iop.clock import monday_of
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
        return not self.in_progress and self.minutes < self.minimum_hours * 60


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


def minimum_hours(client: Client) -> float:
    """The weekly minimum of the client's level of care (ASAM: 9 hours adult IOP, 6 adolescent)."""
    return settings.IOP_WEEKLY_MINIMUM_HOURS[client.level_of_care]


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
    attended = (
        Attendance.objects.filter(client=client, session__status=Session.Status.HELD)
        .order_by()
        .values_list("session__starts_at", "session__group__name", "status", "minutes_attended", "participation")
    )
    minutes: dict[datetime.date, int] = defaultdict(int)
    sessions: dict[datetime.date, int] = defaultdict(int)
    levels: dict[tuple[str, datetime.date], list[int]] = defaultdict(list)
    first_met = None
    for starts_at, group, status, minutes_attended, participation in attended:
        day = timezone.localdate(starts_at)
        first_met = day if first_met is None else min(first_met, day)
        if status not in Attendance.ATTENDED:
            continue
        monday = monday_of(day)
        minutes[monday] += minutes_attended
        sessions[monday] += 1
        levels[(group, monday)].append(participation)
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
    participation = sorted(
        (
            GroupWeek(group=group, monday=monday, mean=round(sum(values) / len(values), 1), sessions=len(values))
            for (group, monday), values in levels.items()
        ),
        key=lambda row: (row.monday, row.group),
    )
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
