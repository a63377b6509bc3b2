"""A group's changes that reach its meetings: new leaders take over its future sessions, a last
day cancels the meetings after it, and ending the group ends its memberships and cancels what is
left. They live in scheduling, the highest app they touch."""

import dataclasses
import datetime
import logging
from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.trail import hold_chain
from groups.models import Membership, Therapist, TherapyGroup
from iop.clock import start_of, start_of_day_after
from iop.dates import clinic_date_refusals
from scheduling.enrolment import change_capacity, end_date_refusal, end_membership
from scheduling.models import Session, WeeklySlot
from scheduling.services import cancel_session, generate_sessions, slots_clash, supersede

log = logging.getLogger(__name__)


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
    list(Therapist.objects.select_for_update(of=("self",)).filter(pk__in=leader_ids).order_by("pk"))
    conflicts = facilitator_conflicts(group=group, facilitator=facilitator, co_facilitator=co_facilitator, today=today)
    if conflicts:
        raise ValidationError(conflicts)
    old_facilitator_id = group.facilitator_id
    group.facilitator = facilitator
    group.co_facilitator = co_facilitator
    group.full_clean(validate_unique=False)
    group.save(update_fields=["facilitator", "co_facilitator"])
    now = start_of(today)
    Session.objects.filter(
        group=group, facilitator_id=old_facilitator_id, status=Session.Status.SCHEDULED, starts_at__gt=now
    ).update(facilitator=facilitator)
    return group


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
        refusal = end_date_refusal(membership=membership, on=on)
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
    hold_chain()  # before any row lock: see audit.trail.hold_chain
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
    after_last_day = start_of_day_after(on)
    for session in group.sessions.unmet(after=after_last_day):
        cancel_session(session=session, reason=GROUP_ENDED)
    return group


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
        after = start_of_day_after(last_day)
        cancelled = supersede(group.sessions.unmet(after=after), reason=f"This group ends on {last_day:%b %d}.")
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


# --- A staff edit of the group ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GroupUpdate:
    """What followed from an edit: clients moved in from the waitlist, meetings cancelled after a
    new last day, and the group as ended (None when it goes on)."""

    promoted: list[Membership] = dataclasses.field(default_factory=list)
    cancelled: int = 0
    ended: TherapyGroup | None = None


@transaction.atomic
def update_group(*, group: TherapyGroup, changed: Collection[str] = ()) -> GroupUpdate:
    """Save the group as staff edited it (``changed``: the fields they changed). Fields with a rule
    downstream go through their service, in this order; the rest is a plain save."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    if group.pk is None:
        group.save()
        return GroupUpdate()
    saved = TherapyGroup.objects.get(pk=group.pk)
    changed = set(changed)
    new_capacity = group.capacity
    new_facilitator, new_co_facilitator = group.facilitator, group.co_facilitator
    leaders_changed = bool({"facilitator", "co_facilitator"} & changed)
    ending = "status" in changed and group.status == TherapyGroup.Status.ENDED
    if ending:
        on = group.end_date or timezone.localdate()
        group.status, group.end_date = saved.status, saved.end_date
    if "capacity" in changed:
        group.capacity = saved.capacity
    planning_end = "end_date" in changed and not ending
    new_last_day = group.end_date
    if planning_end:
        group.end_date = saved.end_date
    if leaders_changed:
        group.facilitator_id, group.co_facilitator_id = saved.facilitator_id, saved.co_facilitator_id
    group.save()
    promoted, cancelled, ended = [], 0, None
    if leaders_changed:
        # Moves the group's future sessions to the new facilitator along with the group.
        change_facilitators(group=group, facilitator=new_facilitator, co_facilitator=new_co_facilitator)
        group.facilitator, group.co_facilitator = new_facilitator, new_co_facilitator
    if "capacity" in changed:
        # A raised cap fills its new seats from the waitlist.
        promoted = change_capacity(group=group, capacity=new_capacity)
        group.capacity = new_capacity
    if planning_end:
        # Cancels (or, when it moves later, makes again) the meetings after the last day.
        cancelled = set_last_day(group=group, last_day=new_last_day)
        group.end_date = new_last_day
    if ending:
        # Ends the memberships and cancels the future sessions along with the group.
        ended = end_group(group=group, on=on)
        group.status, group.end_date = ended.status, ended.end_date
    return GroupUpdate(promoted=promoted, cancelled=cancelled, ended=ended)
