"""Enrolment, the waitlist and leaving: every path that adds a client to a group or ends a
membership (the admin, seed_demo, the therapist pages and tasks) goes through these functions.
They live in scheduling because they reach the schedule: a new member's meetings must not clash,
a leaver's reminders stop, a backdated join must not rewrite a meeting already held.

Each write about a client leaves its audit row (``audit.trail.record``) in the same transaction,
after it succeeded; a membership's row names its client."""

import datetime
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients import services as client_services
from clients.models import Client
from groups.models import Membership, TherapyGroup
from groups.services import GroupFull, capacity_refusals, client_refusals, orientation_refusals
from iop.clock import start_of_day, start_of_day_after
from iop.dates import clinic_date_refusals
from scheduling import reminders
from scheduling.models import Session
from scheduling.services import client_schedule_conflicts, rotate_calendar_token

# The length of Membership.language_reason and partner_reason.
REASON_LENGTH = 300


def enrolment_refusals(
    *,
    client: Client,
    group: TherapyGroup,
    on: datetime.date | None = None,
    language_reason: str = "",
    partner_reason: str = "",
) -> dict[str, list[str]]:
    """Every reason the client cannot join the group, by form field (empty when they can).

    A full group is not a refusal: it is the waitlist's business. A group in another language
    than the client's, or the client's partner in the same process group, is a decision staff
    confirm by saying why (``language_reason``, ``partner_reason``).
    """
    on = on or timezone.localdate()
    client_reasons = client_refusals(client=client)
    group_reasons = []
    if client.level_of_care != group.audience:
        client_reasons.append(
            f"{group.name} is for {group.get_audience_display()} clients; "
            f"{client.display_name} is in {client.get_level_of_care_display()}."
        )
    client_reasons.extend(orientation_refusals(client=client, group=group))
    if Membership.objects.open().filter(client=client, group=group).exists():
        client_reasons.append(f"{client.display_name} is already a member of, or waitlisted for, {group.name}.")
    else:
        client_reasons.extend(client_schedule_conflicts(client=client, group=group))
    if group.status == TherapyGroup.Status.ENDED or (group.end_date and group.end_date < on):
        group_reasons.append(f"{group.name} has ended.")
    elif group.enrolment == TherapyGroup.Enrolment.CLOSED and group.start_date <= on:
        group_reasons.append(f"{group.name} is a closed group and has already started.")
    if on < timezone.localdate():
        group_reasons.extend(_backdated_join_refusals(client=client, group=group, on=on))
    refusals = {field: reasons for field, reasons in (("client", client_reasons), ("group", group_reasons)) if reasons}
    confirmations = {"language_reason": language_reason, "partner_reason": partner_reason}
    refusals.update(confirmation_refusals(client=client, group=group, **confirmations))
    return refusals


def partner_in_group(*, client: Client, group: TherapyGroup) -> bool:
    """The client's partner is a member of, or waitlisted for, the group."""
    return bool(
        client.partner_id and Membership.objects.open().filter(client_id=client.partner_id, group=group).exists()
    )


def confirmation_refusals(
    *, client: Client, group: TherapyGroup, language_reason: str, partner_reason: str, partner_here: bool | None = None
) -> dict[str, list[str]]:
    """The confirmations the enrolment lacks, by field: a group held in another language than the
    client's, and partners in one process group (the program decides, case by case, whether a
    couple attends together). ``partner_here`` when the caller already knows it."""
    refusals = {}
    if group.language != client.preferred_language and not language_reason.strip():
        refusals["language_reason"] = [
            f"{group.name} is held in {group.get_language_display()}; {client.display_name} asked for "
            f"{client.get_preferred_language_display()}. Say why they join it to confirm."
        ]
    if group.kind == TherapyGroup.Kind.PROCESS and not partner_reason.strip():
        if partner_here is None:
            partner_here = partner_in_group(client=client, group=group)
        if partner_here:
            refusals["partner_reason"] = [
                f"{client.display_name}'s partner is in {group.name}, a process group. "
                "Record the clinical decision that they attend together to confirm."
            ]
    for field, why in (("language_reason", language_reason), ("partner_reason", partner_reason)):
        if len(why.strip()) > REASON_LENGTH:
            refusals[field] = [f"Say it in at most {REASON_LENGTH} characters."]
    return refusals


def _backdated_join_refusals(*, client: Client, group: TherapyGroup, on: datetime.date) -> list[str]:
    """A join recorded for a past day would put the client on the rosters of the meetings held
    since; refused once one of them is clinical history (held, attendance or a note)."""
    since = Session.objects.filter(group=group, starts_at__gte=joining_moment(on), starts_at__lte=timezone.now())
    met = since.met().order_by("starts_at").first()
    if met is None:
        return []
    return [
        f"{group.name} met on {timezone.localdate(met.starts_at):%Y-%m-%d} and its attendance or note is recorded; "
        f"{client.display_name} can join from today, not from {on:%Y-%m-%d}."
    ]


def joining_moment(on: datetime.date) -> datetime.datetime:
    """When a client who joins on ``on`` becomes a member: now when that is today, so that a
    session which began earlier today never gains them; otherwise the start of that day."""
    if on == timezone.localdate():
        return timezone.now()
    return start_of_day(on)


def _join(membership: Membership, *, on: datetime.date) -> None:
    membership.status = Membership.Status.ACTIVE
    membership.joined_at = joining_moment(on)
    membership.joined_on = timezone.localdate(membership.joined_at)


def enroll_client(
    *,
    client: Client,
    group: TherapyGroup,
    allow_waitlist: bool = True,
    on: datetime.date | None = None,
    language_reason: str = "",
    partner_reason: str = "",
) -> Membership:
    """Give the client a seat in the group, or a place on its waitlist when it is full.

    ``language_reason`` and ``partner_reason`` confirm, and are kept on the membership, when the
    group is held in another language than the client's or the client's partner is in the same
    process group (``confirmation_refusals``); they are kept only when they were asked for.

    Raises ``ValidationError`` naming every reason the client cannot join, and ``GroupFull``
    when the group is full and ``allow_waitlist`` is false.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        hold_chain()  # before any row lock: see audit.trail.hold_chain
        # Lock the group row before counting seats: without it, two enrolments at once can both
        # see the last free seat and both take it.
        group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
        client = Client.objects.get(pk=client.pk)
        refusals = enrolment_refusals(
            client=client, group=group, on=on, language_reason=language_reason, partner_reason=partner_reason
        )
        if refusals:
            raise ValidationError(refusals, code="refused")
        # Read under the group's lock too: partners enrolled into one group at once take turns,
        # so the second sees the first and is asked for the clinical decision.
        confirmed = {
            "language_reason": language_reason.strip() if group.language != client.preferred_language else "",
            "partner_reason": partner_reason.strip()
            if group.kind == TherapyGroup.Kind.PROCESS and partner_in_group(client=client, group=group)
            else "",
        }
        confirmed_detail = "".join(f"; {field.split('_')[0]} confirmed" for field, why in confirmed.items() if why)

        seats_taken = Membership.objects.active().filter(group=group).count()
        if seats_taken < group.capacity:
            membership = Membership(client=client, group=group, **confirmed)
            _join(membership, on=on)
            membership.save()
            record(
                Action.CREATE,
                target=membership,
                clients=[client],
                detail=f"active in group {group.pk}{confirmed_detail}",
            )
            return membership
        if not allow_waitlist:
            raise GroupFull(
                {"group": f"{group.name} is full ({seats_taken} / {group.capacity}) and the waitlist was declined."},
                code="group_full",
            )
        membership = Membership.objects.create(
            client=client, group=group, status=Membership.Status.WAITLISTED, waitlisted_at=timezone.now(), **confirmed
        )
        record(
            Action.CREATE,
            target=membership,
            clients=[client],
            detail=f"waitlisted in group {group.pk}{confirmed_detail}",
        )
        return membership


def end_membership(
    *,
    membership: Membership,
    reason: str,
    note: str = "",
    on: datetime.date | None = None,
) -> Membership | None:
    """End a membership (or take a client off the waitlist).

    When an active seat frees up, the first waitlisted client takes it. Returns the promoted
    membership, if any.
    """
    if reason not in Membership.EndReason.values:
        raise ValidationError({"reason": f"Unknown reason {reason!r}."})
    on = on or timezone.localdate()
    with transaction.atomic():
        hold_chain()  # before any row lock: see audit.trail.hold_chain
        # Same lock as enroll_client: a seat freed here must not be taken twice.
        group = TherapyGroup.objects.select_for_update().get(pk=membership.group_id)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status == Membership.Status.ENDED:
            raise ValidationError(f"{membership.client.display_name}'s membership of {group.name} has already ended.")
        date_refusal = end_date_refusal(membership=membership, on=on)
        if date_refusal:
            raise ValidationError({"ended_on": date_refusal})
        was_active = membership.status == Membership.Status.ACTIVE
        membership.status = Membership.Status.ENDED
        membership.ended_on = on
        membership.end_reason = reason
        membership.end_note = note.strip()
        membership.save(update_fields=["status", "ended_on", "end_reason", "end_note", "updated_at"])
        # The reason is a code (completed, discharged, …); the free-text note stays out of the trail.
        record(Action.CHANGE, target=membership, clients=[membership.client_id], detail=f"ended: {reason}")
        reminders.stop_for_membership(membership=membership)
        if was_active:
            promoted = fill_free_seats(group=group, on=on)
            return promoted[0] if promoted else None
        return None


def end_date_refusal(*, membership: Membership, on: datetime.date) -> str:
    """Why the membership cannot end on ``on`` (empty when it can)."""
    out_of_range = clinic_date_refusals(on)
    if out_of_range:
        return out_of_range[0]
    if on > timezone.localdate():
        # A future end would free the seat now while the leaver stays on rosters until then.
        return "End a membership on or before today."
    name = membership.client.display_name
    if membership.status == Membership.Status.ACTIVE and membership.joined_on and on < membership.joined_on:
        return f"{name} joined on {membership.joined_on:%Y-%m-%d}; the membership cannot end before that."
    if membership.status == Membership.Status.ACTIVE and membership.joined_on:
        # Ending before a meeting the member is recorded in would drop them from its roster
        # while their attendance (and note) stays behind.
        last_recorded = (
            membership.client.attendances.filter(
                session__group_id=membership.group_id,
                session__starts_at__gte=start_of_day_after(on),
            )
            .order_by("-session__starts_at")
            .values_list("session__starts_at", flat=True)
            .first()
        )
        if last_recorded is not None:
            return (
                f"{name} has attendance recorded in this group on {timezone.localdate(last_recorded):%Y-%m-%d}; "
                "end the membership on or after that day."
            )
    if membership.status == Membership.Status.WAITLISTED and membership.waitlisted_at:
        waitlisted_on = timezone.localdate(membership.waitlisted_at)
        if on < waitlisted_on:
            return f"{name} was waitlisted on {waitlisted_on:%Y-%m-%d}; they cannot leave the waitlist before that."
    return ""


def fill_free_seats(*, group: TherapyGroup, on: datetime.date | None = None) -> list[Membership]:
    """Promote waitlisted clients, first come first served, while seats are free.

    Waitlisted clients who can no longer join (discharged, agreement revoked, orientation of a
    process group not finished) are skipped, not removed: they keep their place, the seat goes to
    the next one who can take it, and staff decide what happens to them.
    """
    on = on or timezone.localdate()
    promoted = []
    with transaction.atomic():
        hold_chain()  # before any row lock: see audit.trail.hold_chain
        # The seat count below is only true while no one else enrols into this group.
        group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
        free = group.capacity - Membership.objects.active().filter(group=group).count()
        for candidate in Membership.objects.waitlisted().filter(group=group).select_related("client"):
            if free <= 0:
                break
            if client_refusals(client=candidate.client) or orientation_refusals(client=candidate.client, group=group):
                continue
            # A seat freed on a past day is taken now: joining earlier would put the client on
            # the rosters of meetings held while they were still waiting.
            _join(candidate, on=max(on, timezone.localdate()))
            candidate.save(update_fields=["status", "joined_at", "joined_on", "updated_at"])
            promoted.append(candidate)
            free -= 1
        if promoted:
            # One row per promoted client, by one INSERT.
            record(
                Action.CHANGE,
                target=promoted[0] if len(promoted) == 1 else Membership,
                clients=[m.client_id for m in promoted],
                detail=f"moved from the waitlist into group {group.pk}",
            )
    return promoted


@transaction.atomic
def change_capacity(*, group: TherapyGroup, capacity: int) -> list[Membership]:
    """Set a new cap; raising it fills the new seats from the waitlist."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    refusals = capacity_refusals(group=group, capacity=capacity)
    if refusals:
        raise ValidationError(refusals)
    group.capacity = capacity
    group.full_clean(validate_unique=False)
    group.save(update_fields=["capacity"])
    return fill_free_seats(group=group)


# --- The client's record ------------------------------------------------------------------

# A change to any of these changes whether, or how, the client is reached.
REMINDER_FIELDS = frozenset({"reminder_consent", "reminder_channel", "email", "phone"})


@transaction.atomic
def update_client(*, client: Client, partner: Client | None, changed: Collection[str] = ()) -> Client:
    """Save the client's record as staff edited it (``changed``: the fields they changed). Partners
    point at each other, so the link is made on both sides; consent withdrawn or another channel
    chosen means reminders already planned must not go."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    is_new = client.pk is None
    previous_partner_id = None if is_new else Client.objects.values_list("partner_id", flat=True).get(pk=client.pk)
    client.partner_id = previous_partner_id
    client.save()
    # Field names, never values; a partner link records its own change (both clients).
    fields = sorted(set(changed) - {"partner"})
    if is_new:
        record(Action.CREATE, target=client, clients=[client], detail="record created")
    elif fields:
        record(Action.CHANGE, target=client, clients=[client], detail=f"changed: {', '.join(fields)}")
    if partner is not None and partner.pk != previous_partner_id:
        client_services.link_partners(client=client, partner=partner)
    elif partner is None and previous_partner_id:
        client_services.unlink_partner(client=client)
    if not is_new and REMINDER_FIELDS & set(changed):
        reminders.follow_client_preferences(client=client)
    return client


@transaction.atomic
def discharge_client(*, client: Client, on: datetime.date | None = None, note: str = "") -> Client:
    """Discharge a client and end every open membership (each ending promotes the waitlist).

    Discharge ends access (42 CFR Part 2: a former client's records are not left reachable): the
    portal login is closed, which ends its open sessions, and the calendar link is replaced, so
    the old address answers 404 for good, and the new one too until readmission."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == Client.Status.DISCHARGED:
        raise ValidationError(f"{client} was already discharged.")
    on = on or timezone.localdate()
    client.status = Client.Status.DISCHARGED
    client.discharge_date = on
    client.full_clean()
    client.save(update_fields=["status", "discharge_date", "updated_at"])
    # Each membership ended below records its own row.
    record(Action.CHANGE, target=client, clients=[client], detail="discharged; changed: status, discharge_date")
    if client.portal_user_id is not None:
        client_services.close_portal_account(client=client)
        client.portal_user = None
    rotate_calendar_token(client=client)
    reminders.stop_for_client(client=client, reason="The client was discharged.")
    for membership in Membership.objects.open().filter(client=client):
        end_membership(membership=membership, reason=Membership.EndReason.DISCHARGED, note=note, on=on)
    return client
