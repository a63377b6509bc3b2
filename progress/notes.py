"""Progress notes: the group note's shared part, one individual (BIRP) note per attending member,
signing, and addenda to signed notes. Other members' names are kept out of the text here; the
therapist pages, seed_demo and tests all call these functions."""

import re
import uuid
from collections.abc import Iterable, Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import Client
from iop.passwords import LOCKED_OUT_MESSAGE, PasswordCheck, check_password_or_count_failure
from progress.models import NOTE_IS_LOCKED, Addendum, Attendance, Goal, GroupNote, IndividualNote, NoteGoal
from progress.selectors import leads_session, roster_for_session, session_roster
from scheduling.models import Session
from scheduling.services import record_meeting

SHARED_FIELDS = ("topic", "objective", "interventions", "group_dynamics")
BIRP_FIELDS = ("behaviour", "intervention", "response", "plan")


# --- Names in notes -------------------------------------------------------------------------


def _word_pattern(words: str) -> re.Pattern:
    parts = [re.escape(part) for part in words.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)", re.IGNORECASE)


def _first_match(text: str, names: Iterable[str]) -> str | None:
    for name in sorted({n.strip() for n in names if n and n.strip()}, key=len, reverse=True):
        if _word_pattern(name).search(text):
            return name
    return None


def member_name_in_shared_text(text: str, roster: Iterable[Client]) -> str | None:
    """The first member's name (first, last or preferred) found in the shared part, if any."""
    names = []
    for client in roster:
        names += [client.legal_first_name, client.legal_last_name, client.preferred_name]
    return _first_match(text, names)


def full_names_of(client: Client) -> list[str]:
    firsts = {client.legal_first_name, client.preferred_name} - {""}
    return [f"{first} {client.legal_last_name}" for first in firsts]


def other_member_full_name_in(text: str, *, client: Client, roster: Iterable[Client]) -> Client | None:
    """Another roster member whose full name appears in this member's individualized note."""
    for other in roster:
        if other.pk != client.pk and _first_match(text, full_names_of(other)):
            return other
    return None


def shared_text_refusals(shared: Mapping[str, str], roster: Iterable[Client]) -> dict[str, list[str]]:
    roster = list(roster)
    errors = {}
    for field in SHARED_FIELDS:
        name = member_name_in_shared_text(shared.get(field, ""), roster)
        if name:
            errors[field] = [f'The shared part may not name a member; found "{name}".']
    return errors


def individual_text_refusals(birp: Mapping[str, str], *, client: Client, roster: Iterable[Client]) -> dict[str, list]:
    roster = list(roster)
    errors = {}
    for field in BIRP_FIELDS:
        other = other_member_full_name_in(birp.get(field, ""), client=client, roster=roster)
        if other is not None:
            found = _first_match(birp[field], full_names_of(other))
            errors[field] = [f'Another member\'s full name was found: "{found}". Refer to them as {other.initials}']
    return errors


# --- Progress notes -------------------------------------------------------------------------


def attending_clients(session: Session) -> list[Client]:
    attended = Attendance.objects.filter(session=session, status__in=Attendance.ATTENDED).values("client_id")
    return list(roster_for_session(session).filter(pk__in=attended))


@transaction.atomic
def save_group_note(
    *,
    session: Session,
    author: AbstractBaseUser,
    topic: str,
    objective: str,
    interventions: str,
    group_dynamics: str,
    individual: Mapping[int, Mapping[str, str]] | None = None,
) -> GroupNote:
    """Write or rewrite the unsigned note of a session.

    ``individual`` maps an attending member's client id to their BIRP parts and, under
    ``"goals"``, the ids of the goals of their treatment plan the part addressed (the golden
    thread; only the member's own goals, active or already linked to this note). The shared part
    may not contain any member's name; an individualized note may not contain another member's
    full name. Raises ``ValidationError`` saying which name (or goal) was refused; then nothing
    is saved.
    """
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    session = Session.objects.select_for_update().select_related("group").get(pk=session.pk)
    if not leads_session(author, session):
        raise ValidationError("Only a facilitator of this session can write its progress note.")
    note = GroupNote.objects.filter(session=session).first()
    if note is not None and note.is_signed:
        raise ValidationError(NOTE_IS_LOCKED)
    if session.status == Session.Status.CANCELLED:
        raise ValidationError("This session was cancelled; it has no progress note.")
    if session.starts_at > timezone.now():
        # A note records what happened; before the meeting there is nothing to record.
        raise ValidationError("Notes are written once the session has started.")

    shared = {"topic": topic, "objective": objective, "interventions": interventions, "group_dynamics": group_dynamics}
    shared = {field: value.strip() for field, value in shared.items()}
    roster = list(roster_for_session(session))
    errors: dict[str, list[str]] = {}
    for field, value in shared.items():
        if not value:
            errors.setdefault(field, []).append("This part of the note is required.")
    for field, messages in shared_text_refusals(shared, roster).items():
        errors.setdefault(field, []).extend(messages)

    attending = {client.pk: client for client in attending_clients(session)}
    goals = {int(pk): {int(goal) for goal in parts.get("goals") or ()} for pk, parts in (individual or {}).items()}
    individual = {
        int(pk): {field: (parts.get(field) or "").strip() for field in BIRP_FIELDS}
        for pk, parts in (individual or {}).items()
    }
    for message in goal_link_refusals(goals, attending=attending.values(), note=note):
        errors.setdefault("goals", []).append(message)
    for client_pk, parts in individual.items():
        client = attending.get(client_pk)
        if client is None:
            errors.setdefault("individual", []).append(
                "Individualized notes are written only for members who attended this session."
            )
            continue
        for messages in individual_text_refusals(parts, client=client, roster=roster).values():
            errors.setdefault("individual", []).extend(f"{client.display_name}: {m}" for m in messages)
    if errors:
        raise ValidationError(errors)

    record_meeting(session=session)
    is_new = note is None
    if is_new:
        note = GroupNote(session=session, created_by=author)
    for field, value in shared.items():
        setattr(note, field, value)
    note.save()
    existing = {n.client_id: n for n in note.individual_notes.all()}
    written = []
    parts_by_client: dict[int, IndividualNote] = {}
    for client_pk, parts in individual.items():
        if not any(parts.values()) and client_pk not in existing:
            continue
        individual_note = existing.get(client_pk) or IndividualNote(group_note=note, client_id=client_pk)
        for field, value in parts.items():
            setattr(individual_note, field, value)
        individual_note.save()
        written.append(client_pk)
        parts_by_client[client_pk] = individual_note
    _link_goals(parts_by_client, goals)
    # The clients whose individualized notes were written; what the note says stays out of the trail.
    record(
        Action.CREATE if is_new else Action.CHANGE,
        target=note,
        clients=written,
        detail=f"shared part and {len(written)} individualized notes",
    )
    return note


def goal_link_refusals(
    goals: Mapping[int, set[int]], *, attending: Iterable[Client], note: GroupNote | None
) -> list[str]:
    """Each goal id that a member's part may not link: another client's goal (or none at all),
    or one of theirs that is no longer active and was not linked to this note before."""
    asked = {goal for ids in goals.values() for goal in ids}
    if not asked:
        return []
    names = {client.pk: client.display_name for client in attending}
    linked = set()
    if note is not None:
        linked = set(NoteGoal.objects.filter(individual_note__group_note=note).values_list("goal_id", flat=True))
    found = {goal.pk: goal for goal in Goal.objects.filter(pk__in=asked).select_related("plan")}
    refusals = []
    for client_pk, ids in goals.items():
        name = names.get(client_pk, "A member")
        for goal_pk in sorted(ids):
            goal = found.get(goal_pk)
            if goal is None or goal.plan.client_id != client_pk:
                refusals.append(f"{name}: a note links only the member's own treatment goals.")
            elif not goal.is_active and goal_pk not in linked:
                refusals.append(f'{name}: the goal "{goal.short}" is {goal.get_status_display().lower()}, not active.')
    return refusals


def _link_goals(parts: Mapping[int, IndividualNote], goals: Mapping[int, set[int]]) -> None:
    """Each written part links exactly the goals given for its member: two queries for the
    note, whatever its size (the links are compared, then removed and added in bulk)."""
    if not parts:
        return
    current = set(
        NoteGoal.objects.filter(individual_note__in=parts.values()).values_list("individual_note_id", "goal_id")
    )
    wanted = {(part.pk, goal) for client_pk, part in parts.items() for goal in goals.get(client_pk, ())}
    removed = current - wanted
    if removed:
        stale = Q()
        for part_pk, goal_pk in removed:
            stale |= Q(individual_note_id=part_pk, goal_id=goal_pk)
        NoteGoal.objects.filter(stale).delete()
    added = wanted - current
    if added:
        NoteGoal.objects.bulk_create(NoteGoal(individual_note_id=part, goal_id=goal) for part, goal in sorted(added))


def signing_refusals(
    note: GroupNote, *, roster: list[Client] | None = None, parts: Iterable[IndividualNote] | None = None
) -> list[str]:
    """What still has to be done before the note can be signed (empty when it can). A page that
    has read the roster (``selectors.session_roster``: each client with its ``attendance``) and
    the note's individualized notes passes them, so that they are not read again."""
    reasons = []
    roster = session_roster(note.session) if roster is None else roster
    missing = [client.display_name for client in roster if client.attendance is None]
    if missing:
        reasons.append(f"Attendance is not recorded for {', '.join(missing)}.")
    parts = note.individual_notes.all() if parts is None else parts
    written = {n.client_id for n in parts if n.behaviour.strip()}
    attending = [client for client in roster if client.attendance is not None and client.attendance.attended]
    unwritten = [client.display_name for client in attending if client.pk not in written]
    if unwritten:
        reasons.append(f"The individualized note (at least the behaviour) is missing for {', '.join(unwritten)}.")
    return reasons


def sign_note(
    *, note: GroupNote, user: AbstractBaseUser, password: str, request: HttpRequest | None = None
) -> GroupNote:
    """Sign and lock the note. The signer confirms with their password, as for a signature on paper.

    The password counts toward the sign-in lockout like any other (``iop.passwords``; pass the
    request): during a lockout nothing is signed, even with the right password."""
    # Before the transaction: a wrong password must stay counted when the refusal rolls it back.
    verdict = check_password_or_count_failure(request, user, password)
    if verdict is PasswordCheck.LOCKED_OUT:
        raise ValidationError({"password": f"{LOCKED_OUT_MESSAGE} The note was not signed."})
    return _sign_note(note=note, user=user, password_right=verdict is PasswordCheck.RIGHT)


@transaction.atomic
def _sign_note(*, note: GroupNote, user: AbstractBaseUser, password_right: bool) -> GroupNote:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the note row: a save racing the signature must not slip in after it.
    # Its individualized notes once: the refusals read them, and the audit row names their clients.
    note = (
        GroupNote.objects.select_for_update()
        .select_related("session__group")
        .prefetch_related("individual_notes")
        .get(pk=note.pk)
    )
    if note.is_signed:
        raise ValidationError(f"This note was already signed on {timezone.localtime(note.signed_at):%Y-%m-%d %H:%M}.")
    if not leads_session(user, note.session):
        raise ValidationError("Only a facilitator of this session can sign its progress note.")
    if not password_right:
        raise ValidationError({"password": "The password is not correct; the note was not signed."})
    refusals = signing_refusals(note)
    if refusals:
        raise ValidationError(refusals)
    note.signed_by = user
    note.signed_at = timezone.now()
    note.save(update_fields=["signed_by", "signed_at", "updated_at"])
    # The session carries the signature for the therapist's lists (Session.note_signed_at). An
    # update, not save(): the session's updated_at versions its calendar entry, which signing
    # does not change.
    Session.objects.filter(pk=note.session_id).update(note_signed_at=note.signed_at)
    record(Action.SIGN, target=note, clients=[n.client_id for n in note.individual_notes.all()], detail="signed")
    return note


def _clients_of(note: GroupNote) -> list[int]:
    """The clients a note is about: those with an individualized note in it."""
    return list(note.individual_notes.values_list("client_id", flat=True))


@transaction.atomic
def add_addendum(
    *, note: GroupNote, author: AbstractBaseUser, text: str, submission_key: uuid.UUID | None = None
) -> Addendum:
    """A correction to a signed note; the note itself never changes.

    ``submission_key`` identifies the form it was written in: sent again, the addendum it made
    is returned and no second one is added."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the note row: two sends of the same form at once must not both find no addendum yet.
    note = GroupNote.objects.select_for_update().select_related("session__group").get(pk=note.pk)
    if submission_key is not None:
        already = note.addenda.filter(submission_key=submission_key, author=author).first()
        if already is not None:
            return already
    if not note.is_signed:
        raise ValidationError("The note is not signed yet; change it directly.")
    if not leads_session(author, note.session):
        raise ValidationError("Only a facilitator of this session can amend its progress note.")
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the correction or late entry."})
    roster = list(roster_for_session(note.session))
    other = None
    for client in roster:
        if _first_match(text, full_names_of(client)):
            other = client
            break
    if other is not None:
        raise ValidationError(
            {
                "text": f'An addendum may not contain a member\'s full name; found "{other.display_name}". '
                f"Use initials ({other.initials})."
            }
        )
    addendum = Addendum.objects.create(group_note=note, author=author, text=text, submission_key=submission_key)
    record(Action.CREATE, target=addendum, clients=_clients_of(note), detail=f"addendum to note {note.pk}")
    return addendum
