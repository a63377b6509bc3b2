"""Clients' weekly check-ins and their PHQ-9 and GAD-7: writing them (the portal, the admin's paper
entry, seed_demo and tests all call these functions), when each is due, and the reads other pages
share (a client's measures in order with their bands and change from baseline).

A PHQ-9 whose item 9 is above 0 raises a safety alert in the same transaction
(``progress.safety``)."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet, Subquery
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client
from groups.models import Therapist
from iop.clock import monday_of
from iop.statements import instances_of, written_once
from progress import measures
from progress.models import ITEM_FIELDS, CheckIn, MeasureResponse
from progress.safety import raise_alert
from progress.selectors import clients_of_therapist

SCALE_MAX = 10
# The "not on track" list of the dashboard shows at most this many clients.
NOT_ON_TRACK_SHOWN = 20


# --- Check-ins ------------------------------------------------------------------------------


def cravings_asked() -> bool:
    return settings.IOP_CHECK_IN_CRAVINGS


def this_week(today: datetime.date | None = None) -> datetime.date:
    return monday_of(today or timezone.localdate())


def check_in_refusals(*, mood, coping, cravings) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    values = {"mood": mood, "coping": coping}
    if cravings_asked():
        values["cravings"] = cravings
    for name, value in values.items():
        if value is None or not 0 <= value <= SCALE_MAX:
            errors[name] = ["Choose a number from 0 to 10."]
    return errors


@transaction.atomic
def save_check_in(
    *,
    client: Client,
    mood: int,
    coping: int,
    cravings: int | None = None,
    what_helped: str = "",
    today: datetime.date | None = None,
) -> CheckIn:
    """This week's check-in, written or (sent again the same week) changed: one a week."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    errors = check_in_refusals(mood=mood, coping=coping, cravings=cravings)
    if errors:
        raise ValidationError(errors)
    # Lock the client: two sends of the form at once must not both find no check-in this week.
    Client.objects.select_for_update().only("pk").get(pk=client.pk)
    week = this_week(today)
    check_in = CheckIn.objects.filter(client=client, week=week).first()
    is_new = check_in is None
    if is_new:
        check_in = CheckIn(client=client, week=week)
    check_in.mood = mood
    check_in.coping = coping
    check_in.cravings = cravings if cravings_asked() else None
    check_in.what_helped = what_helped.strip()
    check_in.save()
    record(Action.CREATE if is_new else Action.CHANGE, target=check_in, clients=[client], detail="weekly check-in")
    return check_in


def check_in_of_week(client: Client, *, today: datetime.date | None = None) -> CheckIn | None:
    return CheckIn.objects.filter(client=client, week=this_week(today)).first()


def check_ins_for_client(client: Client) -> list[CheckIn]:
    """Every check-in of the client, oldest first."""
    return list(CheckIn.objects.filter(client=client).order_by("week"))


# --- Questionnaires -------------------------------------------------------------------------


def measure_refusals(instrument: str, answers: Mapping[str, int | None], difficulty: int | None) -> dict:
    """What is wrong with a response, by form field (``item_1`` ...): every item answered, 0-3."""
    form = measures.instrument(instrument)
    errors: dict[str, list[str]] = {}
    for number in range(1, form.item_count + 1):
        value = answers.get(f"item_{number}")
        if value is None:
            errors[f"item_{number}"] = ["Choose one answer for this question."]
        elif not 0 <= value <= measures.ITEM_MAX:
            errors[f"item_{number}"] = ["Choose one of the four answers."]
    extra = [name for name in ITEM_FIELDS[form.item_count :] if answers.get(name) is not None]
    if extra:
        errors[extra[0]] = [f"The {form.name} has {form.item_count} questions."]
    if difficulty is not None and not 0 <= difficulty <= measures.ITEM_MAX:
        errors["difficulty"] = ["Choose one of the four answers."]
    return errors


@transaction.atomic
def record_measure(
    *,
    client: Client,
    instrument: str,
    answers: Mapping[str, int | None],
    difficulty: int | None = None,
    source: str = MeasureResponse.Source.PORTAL,
    entered_by: AbstractBaseUser | None = None,
    occasion: str | None = None,
    taken_on: datetime.datetime | None = None,
) -> MeasureResponse:
    """Save a PHQ-9 or GAD-7 as answered; a PHQ-9 with item 9 above 0 raises a safety alert in
    the same transaction, whoever enters it. ``occasion`` defaults to admission for the client's
    first of this instrument and to follow-up after it. Raises ``ValidationError`` by field;
    then nothing is saved."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    errors = measure_refusals(instrument, answers, difficulty)
    if source == MeasureResponse.Source.PAPER and entered_by is None:
        errors.setdefault(None, []).append("A paper questionnaire is entered by a member of staff.")
    taken_on = taken_on or timezone.now()
    if taken_on > timezone.now():
        errors.setdefault("taken_on", []).append("A questionnaire cannot be dated in the future.")
    if errors:
        raise ValidationError(errors)
    form = measures.instrument(instrument)
    items = [answers[f"item_{number}"] for number in range(1, form.item_count + 1)]
    if occasion is None:
        earlier = MeasureResponse.objects.filter(client=client, instrument=instrument).exists()
        occasion = MeasureResponse.Occasion.FOLLOW_UP if earlier else MeasureResponse.Occasion.ADMISSION
    response = MeasureResponse(
        client=client,
        instrument=instrument,
        occasion=occasion,
        taken_on=taken_on,
        source=source,
        entered_by=entered_by,
        difficulty=difficulty,
        total=measures.score(instrument, items),
        **dict(zip(ITEM_FIELDS, items, strict=False)),
    )
    response.save()
    record(
        Action.CREATE,
        target=response,
        clients=[client],
        detail=f"{form.name} ({response.get_occasion_display().lower()}, {source})",
    )
    if measures.raises_safety_alert(instrument, items):
        raise_alert(response=response)
    return response


# --- What is due ----------------------------------------------------------------------------


@dataclass
class Due:
    check_in: bool = False
    instruments: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return self.check_in or bool(self.instruments)

    @property
    def instrument_names(self) -> list[str]:
        return [measures.instrument(code).name for code in self.instruments]


def measure_due(last_taken: datetime.datetime | None, *, today: datetime.date) -> bool:
    """Due at admission (none yet), then once the last is the interval's days old."""
    if last_taken is None:
        return True
    interval = datetime.timedelta(days=settings.IOP_MEASURE_INTERVAL_DAYS)
    return timezone.localdate(last_taken) + interval <= today


def due_for_client(client: Client, *, today: datetime.date | None = None) -> Due:
    """What the portal asks an active client for now: this week's check-in, and each
    questionnaire that is due. Two queries, whatever the client's history."""
    if client.status != Client.Status.ACTIVE:
        return Due()
    today = today or timezone.localdate()
    last = dict(
        MeasureResponse.objects.filter(client=client)
        .order_by()
        .values_list("instrument")
        .annotate(last=Max("taken_on"))
        .values_list("instrument", "last")
    )
    return Due(
        check_in=not CheckIn.objects.filter(client=client, week=this_week(today)).exists(),
        instruments=[code for code in measures.INSTRUMENTS if measure_due(last.get(code), today=today)],
    )


# --- A client's course ----------------------------------------------------------------------


@dataclass
class MeasureRow:
    """A response with its band and its change against the client's baseline (the first)."""

    response: MeasureResponse
    band: str
    change: measures.Change

    @property
    def category(self) -> measures.Category:
        return self.change.category


def measure_rows(responses: list[MeasureResponse]) -> dict[str, list[MeasureRow]]:
    """Responses (any order) grouped by instrument, oldest first, each against its baseline."""
    rows: dict[str, list[MeasureRow]] = {code: [] for code in measures.INSTRUMENTS}
    for response in sorted(responses, key=lambda r: (r.taken_on, r.pk)):
        series = rows[response.instrument]
        baseline = series[0].response.total if series else response.total
        series.append(
            MeasureRow(
                response=response,
                band=measures.band(response.instrument, response.total),
                change=measures.change(response.instrument, baseline, response.total, is_baseline=not series),
            )
        )
    return rows


def measures_for_client(client: Client) -> dict[str, list[MeasureRow]]:
    """The client's PHQ-9 and GAD-7 responses in order, each with its band and change category:
    one query. For the progress page and the discharge summary."""
    return measure_rows(list(MeasureResponse.objects.filter(client=client).select_related("entered_by")))


def change_category(
    client: Client, instrument: str, *, now: datetime.datetime | None = None
) -> tuple[measures.Change, bool] | None:
    """The client's latest response of the instrument against their baseline, and whether they are
    "not on track" (``measures.not_on_track``); None before their first response."""
    rows = measure_rows(list(MeasureResponse.objects.filter(client=client, instrument=instrument)))[instrument]
    if not rows:
        return None
    baseline, latest = rows[0].response, rows[-1]
    flagged = measures.not_on_track(
        instrument,
        baseline_total=baseline.total,
        baseline_at=baseline.taken_on,
        latest_total=latest.response.total,
        now=now or timezone.now(),
    )
    return latest.change, flagged


@dataclass
class OffTrack:
    client: Client
    instrument: str
    baseline_total: int
    latest_total: int

    @property
    def name(self) -> str:
        return measures.instrument(self.instrument).name

    @property
    def change(self) -> measures.Change:
        return measures.change(self.instrument, self.baseline_total, self.latest_total)


def _response_of_client(instrument: str, *, first: bool, value: str) -> Subquery:
    """A field of the client's first or latest response: a look into the (client, instrument,
    taken_on) index."""
    order = ("taken_on", "pk") if first else ("-taken_on", "-pk")
    return Subquery(
        MeasureResponse.objects.filter(client=OuterRef("pk"), instrument=instrument).order_by(*order).values(value)[:1]
    )


@cache
def _clients_with_measures() -> QuerySet[Client]:
    """Active clients who answered a measure, by name, each with the first and latest total of
    each instrument (and the day of the first) and what the list says of them. Built once for
    the process, as a class-based view's ``queryset`` is: each use filters a copy. Resolving the
    six subqueries, and then compiling them at every use, was most of the cost of asking for a
    therapist's clients not on track; they are the same for every therapist, and their SQL is
    written once (``iop.statements.written_once``)."""
    annotations = {}
    for code in measures.INSTRUMENTS:
        annotations[f"{code}_first_total"] = _response_of_client(code, first=True, value="total")
        annotations[f"{code}_first_at"] = _response_of_client(code, first=True, value="taken_on")
        annotations[f"{code}_last_total"] = _response_of_client(code, first=False, value="total")
    written = written_once(
        Client, answered=Exists(MeasureResponse.objects.filter(client=OuterRef("pk"))), **annotations
    )
    answered = written.pop("answered")
    return (
        Client.objects.annotate(**written)
        .filter(answered, status=Client.Status.ACTIVE)
        .order_by("legal_last_name", "legal_first_name", "pk")
        .only("pk", "legal_first_name", "legal_last_name", "preferred_name", "chart_number")
    )


@instances_of
def _therapists_clients_with_measures(therapist_id: int) -> QuerySet[Client]:
    """``_clients_with_measures`` of a therapist (``clients_of_therapist``): SQL written once for
    the process (``iop.statements.instances_of``)."""
    return clients_of_therapist(Therapist(pk=therapist_id), among=_clients_with_measures())


def not_on_track_clients(
    therapist: Therapist, *, now: datetime.datetime | None = None, limit: int = NOT_ON_TRACK_SHOWN
) -> tuple[list[OffTrack], bool]:
    """The therapist's current clients (active members of a group they lead or co-lead) who are
    not on track on the PHQ-9 or the GAD-7, the most changed for the worse first; at most
    ``limit``, and whether there were more. One query: each client's baseline and latest of each
    instrument from the index."""
    now = now or timezone.now()
    found = []
    for client in _therapists_clients_with_measures(therapist.pk):
        for code in measures.INSTRUMENTS:
            first, first_at, last = (
                getattr(client, f"{code}_{part}") for part in ("first_total", "first_at", "last_total")
            )
            if first is None:
                continue
            if measures.not_on_track(code, baseline_total=first, baseline_at=first_at, latest_total=last, now=now):
                found.append(OffTrack(client=client, instrument=code, baseline_total=first, latest_total=last))
    found.sort(key=lambda row: (-(row.latest_total - row.baseline_total), row.client.legal_last_name))
    return found[:limit], len(found) > limit
