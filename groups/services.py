"""Enrolment and the waitlist. Every path that adds a client to a group or ends a membership
(the admin, seed_demo, later the therapist pages and tasks) goes through these functions."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clients.models import AgreementSignature, Client
from groups.models import Membership, TherapyGroup
from scheduling import reminders
from scheduling.services import client_schedule_conflicts


class GroupFull(ValidationError):
    """The group has no free seat and the caller declined the waitlist."""


def _client_refusals(*, client: Client) -> list[str]:
    reasons = []
    if client.status != Client.Status.ACTIVE:
        reasons.append(f"{client.display_name} is not an active client (status: {client.get_status_display()}).")
    if not AgreementSignature.objects.current().filter(client=client).exists():
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
    return {field: reasons for field, reasons in (("client", client_reasons), ("group", group_reasons)) if reasons}


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
            return Membership.objects.create(client=client, group=group, status=Membership.Status.ACTIVE, joined_on=on)
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
            candidate.status = Membership.Status.ACTIVE
            candidate.joined_on = on
            candidate.save(update_fields=["status", "joined_on"])
            promoted.append(candidate)
            free -= 1
    return promoted


@transaction.atomic
def change_capacity(*, group: TherapyGroup, capacity: int) -> list[Membership]:
    """Set a new cap; raising it fills the new seats from the waitlist."""
    group = TherapyGroup.objects.select_for_update().get(pk=group.pk)
    check_capacity(group=group, capacity=capacity)
    group.capacity = capacity
    group.full_clean(validate_unique=False)
    group.save(update_fields=["capacity"])
    return fill_free_seats(group=group)


def check_capacity(*, group: TherapyGroup, capacity: int) -> None:
    if group.pk is None:
        return
    active = Membership.objects.active().filter(group=group).count()
    if capacity < active:
        raise ValidationError(
            {"capacity": f"{active} members are active; end memberships before lowering the cap below {active}."}
        )


def seat_count(group: TherapyGroup) -> str:
    """Seats taken over the cap, as staff say it: "9 / 12"."""
    if group.pk is None:
        return f"0 / {group.capacity}"
    taken = getattr(group, "active_count", None)
    if taken is None:
        taken = Membership.objects.active().filter(group=group).count()
    return f"{taken} / {group.capacity}"
