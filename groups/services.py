"""Groups, their seats and their therapists. What a group asks of a client and of its cap is
here; enrolment, ending memberships and groups, and everything else that reaches the schedule,
are workflows of scheduling (``scheduling.enrolment``, ``scheduling.group_changes``)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.trail import hold_chain
from clients.models import Client
from clients.services import has_current_signature, orientation_missing
from groups.models import Membership, Therapist, TherapyGroup
from iop.accounts import login_refusals, new_login, save_login


class GroupFull(ValidationError):
    """The group has no free seat and the caller declined the waitlist."""


def client_refusals(*, client: Client) -> list[str]:
    """Why the client cannot take a seat in any group now: not active, or no signature in force."""
    reasons = []
    if client.status != Client.Status.ACTIVE:
        reasons.append(f"{client.display_name} is not an active client (status: {client.get_status_display()}).")
    if not has_current_signature(client):
        reasons.append(f"{client.display_name} has not signed the current version of the confidentiality agreement.")
    return reasons


def orientation_refusals(*, client: Client, group: TherapyGroup) -> list[str]:
    """Why the client cannot take a seat in this group before finishing their orientation: a
    process group, where members share the most, asks for it when the program says so
    (``IOP_ORIENTATION_BEFORE_PROCESS_GROUPS``)."""
    if not settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS or group.kind != TherapyGroup.Kind.PROCESS:
        return []
    missing = orientation_missing(client)
    if not missing:
        return []
    items = ", ".join(str(item.label)[:1].lower() + str(item.label)[1:] for item in missing)
    return [
        f"{client.display_name} has not finished the orientation that process groups ask for first "
        f"(still to go through: {items})."
    ]


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
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    user = new_login(username=username, first_name=first_name.strip(), last_name=last_name.strip(), email=email)
    errors = login_refusals(user=user, password=password)
    for field, value in (("first_name", first_name), ("last_name", last_name), ("credentials", credentials)):
        if not value.strip():
            errors[field] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    therapist = Therapist(
        # The login's audit row: a create, with the first password staff chose.
        user=save_login(user=user, password=password, detail="therapist login made; first password set by staff"),
        credentials=credentials.strip(),
        license_number=license_number.strip(),
    )
    therapist.full_clean()
    therapist.save()
    return therapist
