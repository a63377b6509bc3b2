"""Enrolment and the waitlist. Every path that adds a client to a group or ends a membership
(the admin, seed_demo, later the therapist pages and tasks) goes through these functions."""

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clients.models import Client
from clients.services import has_current_signature
from groups.models import Membership, Therapist, TherapyGroup
from iop.accounts import login_refusals, new_login, save_login
from iop.dates import clinic_date_refusals
from scheduling import reminders
from scheduling.models import Session, WeeklySlot
from scheduling.services import (
    cancel_session,
    client_schedule_conflicts,
    generate_sessions,
    local_start,
    met_sessions,
    slots_clash,
    supersede,
    unmet,
)

log = logging.getLogger(__name__)


class GroupFull(ValidationError):
    """The group has no free seat and the caller declined the waitlist."""


def _client_refusals(*, client: Client) -> list[str]:
    reasons = []
    if client.status != Client.Status.ACTIVE:
        reasons.append(f"{client.display_name} is not an active client (status: {client.get_status_display()}).")
    if not has_current_signature(client):
        reasons.append(f"{client.display_name} has not signed the current version of the confidentiality agreement.")
    return reasons


def enrolment_refusals(*, client: Client, group: TherapyGroup, on: datetime.date | None = None) -> dict[str, list[str]]:
    """Every reason the client cannot join the group, by form field (empty when they can).

    A full group is not a refusal: it is the waitlist's business.
    """
    on = on or timezone.localdate()
    client_reasons = _client_refusals(client=client)
    group_reasons = []
    if client.level_of_care != group.audience:
        client_reasons.append(
            f"{group.name} is for {group.get_audience_display()} clients; "
            f"{client.display_name} is in {client.get_level_of_care_display()}."
        )
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
    return {field: reasons for field, reasons in (("client", client_reasons), ("group", group_reasons)) if reasons}


def _backdated_join_refusals(*, client: Client, group: TherapyGroup, on: datetime.date) -> list[str]:
    """A join recorded for a past day would put the client on the rosters of the meetings held
    since; refused once one of them is clinical history (held, attendance or a note)."""
    since = Session.objects.filter(group=group, starts_at__gte=joining_moment(on), starts_at__lte=timezone.now())
    met = met_sessions(since).first()
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
    return local_start(on, datetime.time.min)


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
) -> Membership:
    """Give the client a seat in the group, or a place on its waitlist when it is full.

    Raises ``ValidationError`` naming every reason the client cannot join, and ``GroupFull``
    when the group is full and ``allow_waitlist`` is false.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        # Lock the group row before counting seats: without it, two enrolments at once can both
        # see the last free seat and both take it.
        group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
        client = Client.objects.get(pk=client.pk)
        refusals = enrolment_refusals(client=client, group=group, on=on)
        if refusals:
            raise ValidationError(refusals, code="refused")

        seats_taken = Membership.objects.active().filter(group=group).count()
        if seats_taken < group.capacity:
            membership = Membership(client=client, group=group)
            _join(membership, on=on)
            membership.save()
            return membership
        if not allow_waitlist:
            raise GroupFull(
                {"group": f"{group.name} is full ({seats_taken} / {group.capacity}) and the waitlist was declined."},
                code="group_full",
            )
        return Membership.objects.create(
            client=client, group=group, status=Membership.Status.WAITLISTED, waitlisted_at=timezone.now()
        )


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
        # Same lock as enroll_client: a seat freed here must not be taken twice.
        group = TherapyGroup.objects.select_for_update().get(pk=membership.group_id)
        membership = Membership.objects.select_for_update().get(pk=membership.pk)
        if membership.status == Membership.Status.ENDED:
            raise ValidationError(f"{membership.client.display_name}'s membership of {group.name} has already ended.")
        date_refusal = _end_date_refusal(membership=membership, on=on)
        if date_refusal:
            raise ValidationError({"ended_on": date_refusal})
        was_active = membership.status == Membership.Status.ACTIVE
        membership.status = Membership.Status.ENDED
        membership.ended_on = on
        membership.end_reason = reason
        membership.end_note = note.strip()
        membership.save(update_fields=["status", "ended_on", "end_reason", "end_note"])
        reminders.stop_for_membership(membership=membership)
        if was_active:
            promoted = fill_free_seats(group=group, on=on)
            return promoted[0] if promoted else None
        return None


def _end_date_refusal(*, membership: Membership, on: datetime.date) -> str:
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
                session__starts_at__gte=local_start(on + datetime.timedelta(days=1), datetime.time.min),
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

    Waitlisted clients who can no longer join (discharged, agreement revoked) are skipped, not
    removed: staff decide what happens to them.
    """
    on = on or timezone.localdate()
    promoted = []
    with transaction.atomic():
        # The seat count below is only true while no one else enrols into this group.
        group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
        free = group.capacity - Membership.objects.active().filter(group=group).count()
        for candidate in Membership.objects.waitlisted().filter(group=group).select_related("client"):
            if free <= 0:
                break
            if _client_refusals(client=candidate.client):
                continue
            # A seat freed on a past day is taken now: joining earlier would put the client on
            # the rosters of meetings held while they were still waiting.
            _join(candidate, on=max(on, timezone.localdate()))
            candidate.save(update_fields=["status", "joined_at", "joined_on"])
            promoted.append(candidate)
            free -= 1
    return promoted


@transaction.atomic
def change_capacity(*, group: TherapyGroup, capacity: int) -> list[Membership]:
    """Set a new cap; raising it fills the new seats from the waitlist."""
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    refusals = capacity_refusals(group=group, capacity=capacity)
    if refusals:
        raise ValidationError(refusals)
    group.capacity = capacity
    group.full_clean(validate_unique=False)
    group.save(update_fields=["capacity"])
    return fill_free_seats(group=group)


def capacity_refusals(*, group: TherapyGroup, capacity: int) -> dict[str, list[str]]:
    """Why the group cannot take this cap (empty when it can): fewer seats than active members."""
    if group.pk is None:
        return {}
    active = Membership.objects.active().filter(group=group).count()
    if capacity < active:
        return {"capacity": [f"{active} members are active; end memberships before lowering the cap below {active}."]}
    return {}


def seat_count(group: TherapyGroup) -> str:
    """Seats taken over the cap, as staff say it: "9 / 12"."""
    if group.pk is None:
        return f"0 / {group.capacity}"
    taken = getattr(group, "active_count", None)
    if taken is None:
        taken = Membership.objects.active().filter(group=group).count()
    return f"{taken} / {group.capacity}"


# --- Facilitators ---------------------------------------------------------------------------


def _in_force_from(slot: WeeklySlot, day: datetime.date) -> bool:
    return slot.effective_until is None or slot.effective_until >= day


def facilitator_conflicts(
    *,
    group: TherapyGroup,
    facilitator: Therapist | None,
    co_facilitator: Therapist | None = None,
    today: datetime.date | None = None,
) -> dict[str, list[str]]:
    """Other running groups the would-be leaders already lead at the same time as this group
    meets, from ``today`` on; by form field (empty when there is no clash)."""
    if group.pk is None:
        return {}
    today = today or timezone.localdate()
    slots = [slot for slot in WeeklySlot.objects.filter(group=group) if _in_force_from(slot, today)]
    errors: dict[str, list[str]] = {}
    if not slots:
        return errors
    for field, therapist in (("facilitator", facilitator), ("co_facilitator", co_facilitator)):
        if therapist is None:
            continue
        theirs = (
            WeeklySlot.objects.filter(Q(group__facilitator=therapist) | Q(group__co_facilitator=therapist))
            .exclude(group=group)
            .exclude(group__status=TherapyGroup.Status.ENDED)
            .select_related("group")
        )
        for other in theirs:
            if not _in_force_from(other, today):
                continue
            for slot in slots:
                if slots_clash(slot, other):
                    errors.setdefault(field, []).append(
                        f"{therapist} already leads {other.group.name} on {other.get_weekday_display()} "
                        f"{other.start_time:%H:%M}–{other.end_time:%H:%M}, when {group.name} meets."
                    )
                    break
    return errors


@transaction.atomic
def change_facilitators(
    *,
    group: TherapyGroup,
    facilitator: Therapist,
    co_facilitator: Therapist | None = None,
    today: datetime.date | None = None,
) -> TherapyGroup:
    """Hand the group to new leaders. Its future scheduled sessions led by the old facilitator
    move to the new one; sessions with a substitute keep them, and past sessions keep the
    facilitator who led them (they still have notes to finish)."""
    # Lock the group, then the incoming leaders (in pk order): two changes at once could each
    # give the same therapist a group at the same hour, each clash check missing the other.
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    leader_ids = sorted({t.pk for t in (facilitator, co_facilitator) if t is not None})
    list(Therapist.objects.select_for_update().filter(pk__in=leader_ids).order_by("pk"))
    conflicts = facilitator_conflicts(group=group, facilitator=facilitator, co_facilitator=co_facilitator, today=today)
    if conflicts:
        raise ValidationError(conflicts)
    old_facilitator_id = group.facilitator_id
    group.facilitator = facilitator
    group.co_facilitator = co_facilitator
    group.full_clean(validate_unique=False)
    group.save(update_fields=["facilitator", "co_facilitator"])
    now = timezone.now() if today is None else local_start(today, datetime.time.min)
    Session.objects.filter(
        group=group, facilitator_id=old_facilitator_id, status=Session.Status.SCHEDULED, starts_at__gt=now
    ).update(facilitator=facilitator)
    return group


# --- Ending a group -------------------------------------------------------------------------

GROUP_ENDED = "This group has ended."


def end_group_refusals(*, group: TherapyGroup, on: datetime.date) -> dict[str, list[str]]:
    """Every reason the group cannot end on ``on``, by form field (empty when it can)."""
    out_of_range = clinic_date_refusals(on)
    if out_of_range:
        return {"end_date": out_of_range}
    reasons = []
    today = timezone.localdate()
    if group.status == TherapyGroup.Status.ENDED:
        reasons.append(f"{group.name} has already ended.")
    if on > today:
        reasons.append("End a group on or before today; to stop it on a later day, set its end date.")
    # A group that has not started yet is called off today, before its start date.
    if on < group.start_date and on != today:
        reasons.append(f"{group.name} starts on {group.start_date:%Y-%m-%d}; it cannot end before that.")
    for membership in Membership.objects.open().filter(group=group).select_related("client"):
        refusal = _end_date_refusal(membership=membership, on=on)
        # A later day is refused once for the group above, not again for each member.
        if refusal and on <= today:
            reasons.append(refusal)
    return {"end_date": reasons} if reasons else {}


@transaction.atomic
def end_group(*, group: TherapyGroup, on: datetime.date | None = None) -> TherapyGroup:
    """End the group on ``on`` (default today): every open membership ends with it (members
    completed it, the waitlist is let go) and every future scheduled session is cancelled, so
    clients stop seeing and being reminded of them. Sessions that were met in stay as they are."""
    on = on or timezone.localdate()
    # Lock the group row: an enrolment racing the end either lands first and is ended below, or
    # sees the group ended and is refused.
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    refusals = end_group_refusals(group=group, on=on)
    if refusals:
        raise ValidationError(refusals)
    group.status = TherapyGroup.Status.ENDED
    # A group called off before it starts ends on its start date: no group ends before it
    # starts. Its members still leave, and its meetings are cancelled, from ``on``.
    group.end_date = max(on, group.start_date)
    group.full_clean(validate_unique=False)
    group.save(update_fields=["status", "end_date"])
    # The waitlist first: a seat freed while anyone still waits would promote them into a group
    # that has ended.
    for membership in Membership.objects.waitlisted().filter(group=group):
        end_membership(membership=membership, reason=Membership.EndReason.LEFT_WAITLIST, on=on)
    for membership in Membership.objects.active().filter(group=group):
        end_membership(membership=membership, reason=Membership.EndReason.COMPLETED, on=on)
    after_last_day = local_start(on + datetime.timedelta(days=1), datetime.time.min)
    for session in unmet(group.sessions.all(), now=after_last_day):
        cancel_session(session=session, reason=GROUP_ENDED)
    return group


@transaction.atomic
def add_therapist(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    credentials: str,
    email: str = "",
    license_number: str = "",
) -> Therapist:
    """A new therapist with their own login to /therapist/ (never a staff account)."""
    user = new_login(username=username, first_name=first_name.strip(), last_name=last_name.strip(), email=email)
    errors = login_refusals(user=user, password=password)
    for field, value in (("first_name", first_name), ("last_name", last_name), ("credentials", credentials)):
        if not value.strip():
            errors[field] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    therapist = Therapist(
        user=save_login(user=user, password=password),
        credentials=credentials.strip(),
        license_number=license_number.strip(),
    )
    therapist.full_clean()
    therapist.save()
    return therapist


@transaction.atomic
def set_last_day(*, group: TherapyGroup, last_day: datetime.date | None) -> int:
    """Plan the group's last day (None: no end planned). Meetings after it that nobody has met in
    are cancelled, and made again if the day moves later; the day after it, the nightly
    ``end_finished_groups`` ends the group and its memberships. Returns the meetings cancelled."""
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    group.end_date = last_day
    group.full_clean(validate_unique=False)
    group.save(update_fields=["end_date"])
    cancelled = 0
    if last_day is not None:
        after = local_start(last_day + datetime.timedelta(days=1), datetime.time.min)
        cancelled = supersede(unmet(group.sessions.all(), now=after), reason=f"This group ends on {last_day:%b %d}.")
    refused = generate_sessions(slots=group.slots.all()).refused
    if refused:
        raise ValidationError([str(refusal) for refusal in refused])
    return cancelled


def end_finished_groups(*, today: datetime.date | None = None) -> list[TherapyGroup]:
    """End every group whose last day has passed (beat, nightly): on its last day when the
    memberships allow it, otherwise today."""
    today = today or timezone.localdate()
    ended = []
    for group in TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED).filter(end_date__lt=today):
        for on in (group.end_date, today):
            try:
                ended.append(end_group(group=group, on=on))
                break
            except ValidationError as error:
                log.warning("Group %s could not end on %s: %s", group.pk, on, " ".join(error.messages))
    return ended
