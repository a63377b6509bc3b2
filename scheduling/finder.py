"""The group finder: which groups fit a client, best first, each with why it fits or not.

A group fits when it is for the client's level of care, is held in the client's language (or an
interpreter is arranged), meets at no time the client is already due in another group, and takes
new members. Among the groups that fit, the kinds the treatment plan calls for come first, then
a focus the client would welcome (one they would rather not have sinks), then free seats (a
shorter waitlist when full) and open enrolment; at the same weight, the client's own language
before an interpreter.

The plan lives in progress, above this app: the caller passes the kinds it calls for. Enrolling
from a result goes through ``scheduling.enrolment.enroll_client``, which asks for the language
and couples confirmations the finder announces here."""

import dataclasses
import datetime
from collections.abc import Collection

from django.utils import timezone

from clients.models import Client, GroupFocus
from groups.models import Membership, TherapyGroup
from groups.services import client_refusals
from scheduling.enrolment import confirmation_refusals
from scheduling.models import WeeklySlot
from scheduling.services import listed_schedule_conflicts

# Weights of what ranks a group that fits; each outweighs the ones after it.
PLAN_KIND = 4
WELCOMED_FOCUS = 3
FREE_SEAT = 2
OPEN_ENROLMENT = 1
AVOIDED_FOCUS = -5

# The finder page shows this many groups that fit, and as many that do not; it says how many more.
SHOWN = 25


@dataclasses.dataclass
class GroupFit:
    group: TherapyGroup
    # The "musts" the group fails: it does not fit while any is here.
    refusals: list[str] = dataclasses.field(default_factory=list)
    fits_because: list[str] = dataclasses.field(default_factory=list)
    against: list[str] = dataclasses.field(default_factory=list)
    score: int = 0
    free_seats: int = 0
    waitlist: int = 0
    partner_membership: Membership | None = None
    asks_language_reason: bool = False
    asks_partner_reason: bool = False
    # When it meets, in words: "Tue 18:00–19:15".
    meets: str = ""

    @property
    def fits(self) -> bool:
        return not self.refusals

    def sort_key(self) -> tuple:
        # At the same score, a group in the client's own language before one through an interpreter.
        return (
            -self.score,
            self.asks_language_reason,
            self.free_seats <= 0,
            self.waitlist,
            self.group.name,
            self.group.pk,
        )


@dataclasses.dataclass
class GroupSearch:
    client: Client
    recommended_kinds: list[str]
    # Why the client cannot join any group now (not active, no signature in force).
    client_refusals: list[str]
    current: list[Membership]
    partner_memberships: list[Membership]
    fitting: list[GroupFit]
    not_fitting: list[GroupFit]
    more_fitting: int
    more_not_fitting: int


def _kind_labels(kinds: Collection[str]) -> str:
    return ", ".join(TherapyGroup.Kind(kind).label.lower() for kind in kinds if kind in TherapyGroup.Kind.values)


def _focus_labels(codes: Collection[str]) -> str:
    return ", ".join(GroupFocus(code).label for code in codes if code in GroupFocus.values)


def weigh_group(
    *,
    client: Client,
    group: TherapyGroup,
    recommended_kinds: Collection[str],
    current: list[Membership],
    partner_memberships: dict[int, Membership],
    today: datetime.date,
    slots: list[WeeklySlot],
    current_slots: list[tuple[TherapyGroup, list[WeeklySlot]]],
) -> GroupFit:
    """One group against the client. ``group`` carries its seat counts (``with_seat_counts``),
    ``slots`` are its weekly slots; ``current`` are the client's open memberships, and
    ``current_slots`` their groups with their slots."""
    name = client.display_name
    fit = GroupFit(group=group, waitlist=group.waitlist_count, free_seats=group.capacity - group.active_count)

    # --- What must hold
    if group.audience != client.level_of_care:
        fit.refusals.append(
            f"For {group.get_audience_display()} clients; {name} is in {client.get_level_of_care_display()}."
        )
    else:
        fit.fits_because.append(f"For {group.get_audience_display()}, {name}'s level of care.")
    language = group.get_language_display()
    if group.language == client.preferred_language:
        fit.fits_because.append(f"Held in {language}, {name}'s language.")
    elif client.interpreter == Client.Interpreter.ARRANGED:
        fit.fits_because.append(f"Held in {language}, with the interpreter arranged for {name}.")
        fit.asks_language_reason = True
    else:
        missing = (
            "needs an interpreter, not arranged yet"
            if client.interpreter == Client.Interpreter.NEEDED
            else "no interpreter is noted"
        )
        fit.refusals.append(
            f"Held in {language}; {name} asked for {client.get_preferred_language_display()} and {missing}."
        )
    own = next((m for m in current if m.group_id == group.pk), None)
    if own is not None:
        fit.refusals.append(f"{name} is already {own.get_status_display().lower()} in this group.")
    else:
        conflicts = listed_schedule_conflicts(client=client, group=group, slots=slots, others=current_slots)
        fit.refusals.extend(conflicts)
        if not conflicts:
            fit.fits_because.append(f"Meets at no time {name} is due in another group.")
    if group.enrolment == TherapyGroup.Enrolment.CLOSED and group.start_date <= today:
        fit.refusals.append("A closed group that has already started: it takes no new members.")

    # --- What ranks
    if group.kind in recommended_kinds:
        fit.score += PLAN_KIND
        fit.fits_because.append(f"The treatment plan calls for a {group.get_kind_display().lower()} group.")
    elif recommended_kinds:
        fit.against.append(f"The treatment plan calls for {_kind_labels(recommended_kinds)}, not this kind.")
    if group.focus:
        focus = group.get_focus_display()
        if group.focus in client.avoids_focuses:
            fit.score += AVOIDED_FOCUS
            fit.against.append(f"Focus: {focus}, which {name} would rather not have.")
        elif group.focus in client.welcomes_focuses:
            fit.score += WELCOMED_FOCUS
            fit.fits_because.append(f"Focus: {focus}, which {name} would welcome.")
        else:
            fit.fits_because.append(f"Focus: {focus}.")
    if fit.free_seats > 0:
        fit.score += FREE_SEAT
        fit.fits_because.append(f"{fit.free_seats} free seat{'s' if fit.free_seats != 1 else ''}.")
    else:
        fit.against.append(
            f"Full ({group.active_count} / {group.capacity}): joins the waitlist"
            + (f" behind {fit.waitlist}." if fit.waitlist else ", which is empty.")
        )
    if group.enrolment == TherapyGroup.Enrolment.OPEN:
        fit.score += OPEN_ENROLMENT
        fit.fits_because.append("Open enrolment: joins from the next meeting.")
    elif group.start_date > today:
        fit.fits_because.append(f"Closed group starting {group.start_date:%Y-%m-%d}: joins from the first meeting.")

    # --- Couples: staff see where the partner is; one process group together asks a decision
    fit.partner_membership = partner_memberships.get(group.pk)
    if fit.partner_membership is not None:
        partner = fit.partner_membership.client
        state = fit.partner_membership.get_status_display().lower()
        fit.against.append(f"{name}'s partner, {partner.display_name}, is {state} in this group.")
    missing_confirmations = confirmation_refusals(
        client=client,
        group=group,
        language_reason="",
        partner_reason="",
        partner_here=fit.partner_membership is not None,
    )
    fit.asks_partner_reason = "partner_reason" in missing_confirmations
    return fit


def find_groups(
    *,
    client: Client,
    recommended_kinds: Collection[str] = (),
    today: datetime.date | None = None,
    shown: int = SHOWN,
) -> GroupSearch:
    """The groups that fit the client, best first, and those that do not, with why: a fixed
    number of queries whatever the number of groups (each group's seats, slots and the client's
    and partner's memberships are read once for all)."""
    today = today or timezone.localdate()
    recommended_kinds = [kind for kind in recommended_kinds if kind in TherapyGroup.Kind.values]
    current = list(
        Membership.objects.open()
        .filter(client=client)
        .select_related("group")
        .prefetch_related("group__slots")
        .order_by("group__name")
    )
    partner_memberships = []
    if client.partner_id:
        partner_memberships = list(
            Membership.objects.open()
            .filter(client_id=client.partner_id)
            .select_related("client", "group")
            .order_by("group__name")
        )
    by_group = {membership.group_id: membership for membership in partner_memberships}
    candidates = (
        TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED)
        .exclude(end_date__lt=today)
        .with_seat_counts()
        .prefetch_related("slots")
    )
    # Each group's slots listed once: a group is weighed against each of the client's groups.
    current_slots = [(membership.group, list(membership.group.slots.all())) for membership in current]
    weighed = [
        weigh_group(
            client=client,
            group=group,
            recommended_kinds=recommended_kinds,
            current=current,
            partner_memberships=by_group,
            today=today,
            slots=list(group.slots.all()),
            current_slots=current_slots,
        )
        for group in candidates
    ]
    fitting = sorted((fit for fit in weighed if fit.fits), key=GroupFit.sort_key)
    # Those that miss the fewest musts first: a clinician reads what almost fits.
    not_fitting = sorted(
        (fit for fit in weighed if not fit.fits), key=lambda fit: (len(fit.refusals), fit.group.name, fit.group.pk)
    )
    # When they meet, in words, for the groups shown only.
    for fit in fitting[:shown] + not_fitting[:shown]:
        fit.meets = "; ".join(
            f"{slot.get_weekday_display()[:3]} {slot.start_time:%H:%M}–{slot.end_time:%H:%M}"
            for slot in sorted(fit.group.slots.all(), key=lambda slot: (slot.weekday, slot.start_time))
            if slot.effective_until is None or slot.effective_until >= today
        )
    return GroupSearch(
        client=client,
        recommended_kinds=recommended_kinds,
        client_refusals=client_refusals(client=client),
        current=current,
        partner_memberships=partner_memberships,
        fitting=fitting[:shown],
        not_fitting=not_fitting[:shown],
        more_fitting=max(0, len(fitting) - shown),
        more_not_fitting=max(0, len(not_fitting) - shown),
    )


def focus_summary(client: Client) -> tuple[str, str]:
    """The client's focus preferences in words: (would welcome, would rather not)."""
    return _focus_labels(client.welcomes_focuses), _focus_labels(client.avoids_focuses)
