"""Attendance: who came, how long, how they took part. Recording it is a clinical and billing
statement, so only the session's leaders record it, once the session has begun; the therapist
pages, seed_demo and tests all call these functions."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client
from progress.models import Attendance, GroupNote
from progress.selectors import leads_session, roster_for_session, session_day
from scheduling.models import Session
from scheduling.services import mark_session_held, record_meeting


@dataclass(frozen=True)
class AttendanceEntry:
    """One roster row as the therapist chose it: "" or None where nothing was chosen.

    A record that a client attended is a clinical and billing statement, so nothing here has a
    default that says they came or took part. ``mode`` left out is the session's own (by video
    for a virtual session, else in person)."""

    client: Client
    status: str
    minutes_attended: int | None = None
    mode: str | None = None
    participation: int | None = None
    observation: str = ""


def session_mode(session: Session) -> str:
    return Attendance.Mode.VIRTUAL if session.is_virtual else Attendance.Mode.IN_PERSON


def attendance_refusals(*, session: Session, entry: AttendanceEntry, agreement_in_force: bool) -> dict[str, list[str]]:
    """Every reason this row of the roster cannot be saved, by form field (empty when it can).

    A row needs a chosen status; a member who attended also needs the minutes and their
    participation, chosen, not assumed."""
    errors: dict[str, list[str]] = {}
    name = entry.client.display_name
    attended = entry.status in Attendance.ATTENDED
    if not entry.status:
        errors["status"] = ["Choose present, late, left early, absent or excused."]
    elif entry.status not in Attendance.Status.values:
        errors["status"] = [f"Unknown attendance status {entry.status!r}."]
    elif attended and not agreement_in_force:
        # Clinic rule: no one sits in a group without a current, unrevoked confidentiality agreement.
        errors["status"] = [
            f"{name} has no current signed confidentiality agreement and cannot be marked present; "
            "mark them absent or excused and ask staff to have the agreement signed."
        ]
    if entry.mode is not None and entry.mode not in Attendance.Mode.values:
        errors["mode"] = [f"Unknown mode {entry.mode!r}."]
    if entry.participation is not None and entry.participation not in Attendance.Participation.values:
        errors["participation"] = ["Participation is a level from 0 to 4."]
    elif attended and entry.participation is None:
        errors["participation"] = ["Choose how the member took part, from 0 to 4."]
    if attended and entry.minutes_attended is None:
        errors["minutes_attended"] = [f"Enter the minutes attended, from 0 to {session.duration_minutes}."]
    elif attended and not 0 <= entry.minutes_attended <= session.duration_minutes:
        errors["minutes_attended"] = [
            f"Minutes attended must be between 0 and {session.duration_minutes}, the length of the session."
        ]
    return errors


def attendance_closed_reasons(session: Session, *, note_signed: bool | None = None) -> list[str]:
    """Why attendance of this session cannot be taken or changed now (empty when it can).
    ``note_signed`` is whether its note is signed, when the caller has just read the note (the
    session page); otherwise it is asked of the database."""
    if note_signed is None:
        note_signed = GroupNote.objects.filter(session=session, signed_at__isnull=False).exists()
    reasons = []
    if session.status == Session.Status.CANCELLED:
        reasons.append("This session was cancelled; there is no attendance to take.")
    if session_day(session) > timezone.localdate():
        reasons.append("Attendance is taken on the day of the session, not before.")
    if note_signed:
        reasons.append("The progress note of this session is signed; correct attendance with an addendum.")
    return reasons


@transaction.atomic
def record_attendance(
    *, session: Session, entries: Iterable[AttendanceEntry], recorded_by: AbstractBaseUser
) -> list[Attendance]:
    """Save the whole roster's attendance at once; saving again updates, never duplicates.

    Absent and excused members attended 0 minutes and took no part, whatever was typed.
    Raises ``ValidationError`` naming each member whose row is refused; then nothing is saved.
    """
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Serialise on the session row: two devices saving the roster at once must not both insert.
    session = Session.objects.select_for_update().select_related("group").get(pk=session.pk)
    if not leads_session(recorded_by, session):
        raise ValidationError("Only a facilitator of this session can take its attendance.")
    refusals = attendance_closed_reasons(session)
    if refusals:
        raise ValidationError(refusals)
    roster = {client.pk: client for client in roster_for_session(session)}
    entries = list(entries)
    errors = []
    for entry in entries:
        client = roster.get(entry.client.pk)
        if client is None:
            errors.append(f"{entry.client.display_name} is not a member of this group on the session's date.")
            continue
        for messages in attendance_refusals(
            session=session, entry=entry, agreement_in_force=client.agreement_in_force
        ).values():
            # Each refusal names the member it is about, once.
            name = client.display_name
            errors.extend(message if name in message else f"{name}: {message}" for message in messages)
    if errors:
        raise ValidationError(errors)

    if entries:
        record_meeting(session=session)
    existing = {a.client_id: a for a in Attendance.objects.filter(session=session)}
    saved, created = [], 0
    for entry in entries:
        attended = entry.status in Attendance.ATTENDED
        attendance = existing.get(entry.client.pk) or Attendance(
            session=session, client_id=entry.client.pk, recorded_by=recorded_by
        )
        attendance.status = entry.status
        attendance.minutes_attended = entry.minutes_attended if attended else 0
        attendance.mode = entry.mode or session_mode(session)
        attendance.participation = entry.participation if attended else Attendance.Participation.NONE
        attendance.observation = entry.observation.strip()
        attendance.full_clean(exclude=["session", "client", "recorded_by"], validate_unique=False)
        created += attendance.pk is None
        attendance.save()
        saved.append(attendance)
    if saved:
        # The whole roster in one audit INSERT: a row per member, never the observation's text.
        record(
            Action.CREATE if created else Action.CHANGE,
            target=Attendance,
            object_id=f"session {session.pk}",
            clients=[a.client_id for a in saved],
            detail=f"attendance of session {session.pk}: {created} created, {len(saved) - created} changed",
        )
    return saved


@transaction.atomic
def mark_held(*, session: Session, user: AbstractBaseUser) -> Session:
    if not leads_session(user, session):
        raise ValidationError("Only a facilitator of this session can mark it held.")
    return mark_session_held(session=session)
