"""Discharge summaries: the facts of a client's stay gathered from what is recorded, the
therapist's narrative and recommendations, and the signature that locks it.

A draft shows the facts as they are now; signing freezes them into the summary's row
(``DischargeSummary.facts``), so a signed summary never changes when attendance, measures or
goals are corrected later. Every read and write is in the audit trail with the client."""

import datetime
from collections.abc import Callable
from functools import cache

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.http import HttpRequest
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client
from groups.models import Membership, Therapist, member_at
from iop.passwords import LOCKED_OUT_MESSAGE, PasswordCheck, check_password_or_count_failure
from iop.statements import instances_of, subquery_for_key, written_once
from progress import checkins, measures, selectors
from progress.course import minimum_hours
from progress.models import Attendance, DischargeSummary
from scheduling.models import Session


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def scheduled_sessions(client: Client, *, until: datetime.datetime):
    """The meetings the client was expected at: every meeting, not cancelled, of a group they were
    a member of when it started, from admission up to ``until``."""
    member = Membership.objects.filter(member_at(OuterRef("starts_at")), client=client, group=OuterRef("group"))
    sessions = Session.objects.filter(Exists(member), starts_at__lte=until).exclude(status=Session.Status.CANCELLED)
    if client.admission_date is not None:
        sessions = sessions.filter(starts_at__date__gte=client.admission_date)
    return sessions


def summary_facts(client: Client, *, now: datetime.datetime | None = None) -> dict:
    """The facts of the client's stay, as plain values (they are stored as JSON when signed):
    dates and length of stay, sessions and hours attended of those scheduled, the first and
    last PHQ-9 and GAD-7 with the change category, and the goals with their status. Five
    queries, whatever the length of the stay."""
    now = now or timezone.now()
    end_day = client.discharge_date or timezone.localdate(now)
    # A meeting on the day of discharge counts; one after it does not.
    until = min(now, datetime.datetime.combine(end_day, datetime.time.max, tzinfo=timezone.get_current_timezone()))
    scheduled = scheduled_sessions(client, until=until)
    # The meetings' lengths: some two hundred rows of two columns for a year's stay.
    lengths = [ends - starts for starts, ends in scheduled.order_by().values_list("starts_at", "ends_at")]
    planned = {"count": len(lengths), "minutes": sum(length.total_seconds() for length in lengths) / 60}
    attended = Attendance.objects.filter(
        client=client, status__in=Attendance.ATTENDED, session__in=scheduled.values("pk")
    ).aggregate(count=Count("pk"), minutes=Sum("minutes_attended"))
    admitted = client.admission_date
    measures_of = checkins.measures_for_client(client)
    rows = []
    for code in measures.INSTRUMENTS:
        series = measures_of[code]
        if not series:
            rows.append({"code": code, "name": measures.instrument(code).name, "first": None, "last": None})
            continue
        first, last = series[0], series[-1]
        rows.append(
            {
                "code": code,
                "name": measures.instrument(code).name,
                "first": _measure(first),
                "last": _measure(last) if len(series) > 1 else None,
                "change": str(last.change.label) if len(series) > 1 else None,
                "count": len(series),
            }
        )
    goals = [
        {
            "problem": goal.problem,
            "goal": goal.goal,
            "status": str(goal.get_status_display()),
            "target_date": _iso(goal.target_date),
        }
        for goal in selectors.goals_of(client)
    ]
    # Frozen as text (the clinic's words), so the signed document reads the same in any language.
    return {
        "admission_date": _iso(admitted),
        "discharge_date": _iso(client.discharge_date),
        "length_of_stay_days": (end_day - admitted).days if admitted is not None else None,
        "level_of_care": str(client.get_level_of_care_display()),
        "minimum_hours_per_week": minimum_hours(client),
        "sessions_scheduled": planned["count"] or 0,
        "sessions_attended": attended["count"] or 0,
        "hours_scheduled": round((planned["minutes"] or 0) / 60, 1),
        "hours_attended": round((attended["minutes"] or 0) / 60, 1),
        "measures": rows,
        "goals": goals,
        "gathered_at": now.isoformat(),
    }


def _measure(row: checkins.MeasureRow) -> dict:
    return {
        "date": _iso(timezone.localdate(row.response.taken_on)),
        "total": row.response.total,
        "band": str(row.band),
    }


def facts_of(summary: DischargeSummary | None, client: Client) -> dict:
    """What the summary shows: the frozen facts once signed, the live ones before."""
    if summary is not None and summary.is_signed:
        return summary.facts
    return summary_facts(client)


def summary_of(client: Client) -> DischargeSummary | None:
    """The summary of the client's latest discharge, if one has been started."""
    if client.discharge_date is None:
        return None
    return (
        DischargeSummary.objects.filter(client=client, discharge_date=client.discharge_date)
        .select_related("written_by", "signed_by")
        .first()
    )


def may_write_summary(user, client: Client) -> bool:
    """Whether the user writes and signs the client's discharge summary: a therapist who leads or
    co-leads a group the client was a member of until the discharge (the memberships the
    discharge ended, or one still open)."""
    therapist = selectors._therapist_of(user)
    if therapist is None or client.discharge_date is None:
        return False
    at_discharge = Q(ended_on__isnull=True) | Q(ended_on=client.discharge_date)
    return selectors.memberships_led_by(therapist, history=True).filter(at_discharge, client=client).exists()


def _refuse_unless_writer(user, client: Client) -> None:
    if client.status != Client.Status.DISCHARGED or client.discharge_date is None:
        raise ValidationError("The client is not discharged; a discharge summary is written at discharge.")
    if not may_write_summary(user, client):
        raise ValidationError("Only a therapist of the client's groups at discharge writes the discharge summary.")


@transaction.atomic
def save_summary(*, client: Client, author: AbstractBaseUser, narrative: str, recommendations: str) -> DischargeSummary:
    """Write or rewrite the draft summary of the client's discharge. Refused (``ValidationError``)
    for a client who is not discharged, for anyone but a therapist of their groups at discharge,
    and once the summary is signed."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update().get(pk=client.pk)
    _refuse_unless_writer(author, client)
    summary = DischargeSummary.objects.filter(client=client, discharge_date=client.discharge_date).first()
    if summary is not None and summary.is_signed:
        raise ValidationError("This discharge summary is signed and locked.")
    is_new = summary is None
    if is_new:
        summary = DischargeSummary(client=client, discharge_date=client.discharge_date, written_by=author)
    summary.narrative = narrative.strip()
    summary.recommendations = recommendations.strip()
    summary.save()
    record(Action.CREATE if is_new else Action.CHANGE, target=summary, clients=[client], detail="discharge summary")
    return summary


def sign_summary(
    *, summary: DischargeSummary, user: AbstractBaseUser, password: str, request: HttpRequest | None = None
) -> DischargeSummary:
    """Sign and lock the summary, freezing the facts of the stay into it. The signer confirms with
    their password, which counts toward the sign-in lockout like any other (as ``notes.sign_note``)."""
    verdict = check_password_or_count_failure(request, user, password)
    if verdict is PasswordCheck.LOCKED_OUT:
        raise ValidationError({"password": f"{LOCKED_OUT_MESSAGE} The summary was not signed."})
    return _sign_summary(summary=summary, user=user, password_right=verdict is PasswordCheck.RIGHT)


@transaction.atomic
def _sign_summary(*, summary: DischargeSummary, user: AbstractBaseUser, password_right: bool) -> DischargeSummary:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    summary = DischargeSummary.objects.select_for_update().select_related("client").get(pk=summary.pk)
    if summary.is_signed:
        raise ValidationError(
            f"This summary was already signed on {timezone.localtime(summary.signed_at):%Y-%m-%d %H:%M}."
        )
    client = summary.client
    _refuse_unless_writer(user, client)
    if client.discharge_date != summary.discharge_date:
        raise ValidationError("This summary is of an earlier discharge.")
    if not password_right:
        raise ValidationError({"password": "The password is not correct; the summary was not signed."})
    if not summary.narrative.strip():
        raise ValidationError({"narrative": "Write the narrative of the stay before signing."})
    summary.facts = summary_facts(client)
    summary.signed_by = user
    summary.signed_at = timezone.now()
    summary.save(update_fields=["facts", "signed_by", "signed_at", "updated_at"])
    record(Action.SIGN, target=summary, clients=[client], detail="discharge summary signed")
    return summary


@cache
def _waiting_for_summary() -> QuerySet[Client]:
    """Clients whose summary of their latest discharge is not signed, the longest waiting first,
    with what the dashboard says of each. Built once for the process, as a class-based view's
    ``queryset`` is: each use filters a copy; its subquery is the same for every therapist, and
    its SQL is written once (``iop.statements.written_once``)."""
    signed = DischargeSummary.objects.filter(
        client=OuterRef("pk"), discharge_date=OuterRef("discharge_date"), signed_at__isnull=False
    )
    return (
        Client.objects.exclude(written_once(Client, signed=Exists(signed))["signed"])
        .order_by("discharge_date", "pk")
        .only("pk", "legal_first_name", "legal_last_name", "preferred_name", "chart_number", "discharge_date")
    )


def unsigned_discharges(therapist, *, limit: int):
    """The therapist's discharged clients (of a group they lead or co-lead, ended at discharge)
    whose summary of that discharge is not signed, the longest waiting first: at most ``limit``
    and one more, to tell whether there are more. One query, from the memberships of the
    therapist's groups that ended on a discharge (a few hundred), not from every discharged client
    of the clinic."""
    return _first_waiting_for_summary(limit + 1)(therapist.pk)


@cache
def _first_waiting_for_summary(count: int) -> Callable[[int], list[Client]]:
    """The first ``count`` of a therapist's clients waiting for a summary: SQL written once for the
    process (``iop.statements.instances_of``)."""
    return instances_of(
        lambda therapist_id: _waiting_for_summary().filter(pk__in=_ended_at_discharge()(therapist_id))[:count]
    )


@cache
def _ended_at_discharge() -> Callable[[int], RawSQL]:
    """The clients of a therapist's groups whose membership ended on their discharge: the SQL
    written once for the process, with a stand-in for the therapist
    (``iop.statements.subquery_for_key``); building and compiling it (three tables and the
    condition on the groups) was most of the cost of the dashboard's list."""
    return subquery_for_key(
        lambda key: (
            selectors.memberships_led_by(Therapist(pk=key), history=True)
            .filter(
                status=Membership.Status.ENDED,
                client__status=Client.Status.DISCHARGED,
                ended_on=F("client__discharge_date"),
            )
            .order_by()
            .values("client_id")
        )
    )
