"""The dashboard's groups (``iop.dashboard``): waitlists with their length and longest wait, the
census by level of care and group kind, and the groups below eight members or full. Counts and
group names only: no client is named."""

from urllib.parse import urlencode

from django.db.models import Count, F, Min, Q
from django.urls import reverse
from django.utils import formats, timezone

from clients.models import Client, LevelOfCare
from groups.models import MIN_CAPACITY, Membership, TherapyGroup
from iop import dashboard


def _changelist(name: str, **parameters) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode(parameters)}"


def waitlists(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("groups.view_membership"):
        return None
    waiting = Membership.objects.filter(status=Membership.Status.WAITLISTED).order_by()
    # The longest wait first: whoever has waited longest is the first to find a seat for.
    rows = list(
        waiting.values("group", "group__name")
        .annotate(length=Count("pk"), since=Min("waitlisted_at"))
        .order_by("since", "group")[:limit]
    )
    total = waiting.values("group").distinct().count()
    lines = [
        dashboard.Line(
            text=row["group__name"],
            url=reverse("admin:groups_therapygroup_change", args=[row["group"]]),
            cells=(
                str(row["length"]),
                f"{formats.date_format(timezone.localtime(row['since']), 'M j')} "
                f"({(moment.now - row['since']).days} days)",
            ),
        )
        for row in rows
    ]
    return dashboard.Section(
        name="waitlists",
        title="Waitlists",
        headers=("Group", "Waiting", "Longest wait since"),
        lines=lines,
        total=total,
        empty="Nobody is waiting for a seat.",
        more_url=_changelist("groups_membership", status__exact=Membership.Status.WAITLISTED),
    )


def census(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    """Active clients by level of care, and the active members of the running and forming
    groups by the groups' audience and kind. Three grouped counts."""
    if not (request.user.has_perm("clients.view_client") and request.user.has_perm("groups.view_membership")):
        return None
    clients = dict(
        Client.objects.filter(status=Client.Status.ACTIVE)
        .order_by()
        .values_list("level_of_care")
        .annotate(count=Count("pk"))
    )
    members = (
        Membership.objects.filter(status=Membership.Status.ACTIVE)
        .exclude(group__status=TherapyGroup.Status.ENDED)
        .order_by()
        .values_list("group__audience", "group__kind")
        .annotate(count=Count("pk"))
    )
    groups = (
        TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED)
        .order_by()
        .values_list("audience", "kind")
        .annotate(count=Count("pk"))
    )
    seats = {(audience, kind): count for audience, kind, count in members}
    running = {(audience, kind): count for audience, kind, count in groups}
    lines = []
    for level, label in LevelOfCare.choices:
        links = tuple(
            (
                f"{kind_label}: {seats.get((level, kind), 0)} in {running[(level, kind)]} "
                f"group{'s' if running[(level, kind)] != 1 else ''}",
                _changelist("groups_membership", status__exact=Membership.Status.ACTIVE, group__kind__exact=kind),
            )
            for kind, kind_label in TherapyGroup.Kind.choices
            if (level, kind) in running
        )
        lines.append(
            dashboard.Line(
                text=label,
                url=_changelist("clients_client", status__exact=Client.Status.ACTIVE, level_of_care__exact=level),
                cells=(str(clients.get(level, 0)),),
                links=links or (("No groups", _changelist("groups_therapygroup", audience__exact=level)),),
            )
        )
    return dashboard.Section(
        name="census",
        title="Census",
        headers=("Level of care", "Active clients", "Members by group kind"),
        lines=lines,
        total=len(lines),
        empty="",
    )


def group_sizes(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    """Running and forming groups below the smallest size a group is planned for, or full."""
    if not request.user.has_perm("groups.view_therapygroup"):
        return None
    groups = (
        TherapyGroup.objects.exclude(status=TherapyGroup.Status.ENDED)
        .with_seat_counts()
        .filter(Q(active_count__lt=MIN_CAPACITY) | Q(active_count__gte=F("capacity")))
        .only("pk", "name", "capacity", "status")
        .order_by("name", "pk")
    )
    rows, total = dashboard.bounded(groups, limit)
    lines = []
    for group in rows:
        full = group.active_count >= group.capacity
        state = f"full, {group.waitlist_count} waiting" if full else f"below {MIN_CAPACITY}"
        if group.status == TherapyGroup.Status.FORMING:
            state += " (forming)"
        lines.append(
            dashboard.Line(
                text=group.name,
                url=reverse("admin:groups_therapygroup_change", args=[group.pk]),
                cells=(f"{group.active_count} / {group.capacity}", state),
            )
        )
    return dashboard.Section(
        name="group-sizes",
        title=f"Groups below {MIN_CAPACITY} members or full",
        headers=("Group", "Members", "Seats"),
        lines=lines,
        total=total,
        empty=f"Every group has between {MIN_CAPACITY} members and a free seat.",
    )


def register() -> None:
    dashboard.register("waitlists", 30, waitlists)
    dashboard.register("group-sizes", 40, group_sizes)
    dashboard.register("census", 90, census)
