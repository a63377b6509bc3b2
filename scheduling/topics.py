"""Topic plans: a group's cycle of topics gives its meetings their objectives, in order, round
and round. A client who joins at any meeting (rolling admission) goes through the whole cycle.

The rules, in one place:

- the meetings that take topics are those still to come: scheduled, not met, after now (or, for
  meetings just generated, from the first day generated);
- a cancelled meeting (a closure, a cancellation) uses up no topic: the meetings after it move up
  one topic, and the cancelled one keeps the objective it announced;
- a meeting whose topic was swapped (``services.swap_topic``, or its objective edited on its own) keeps
  its objective and still takes its place in the cycle: the cycle goes on around it, the
  meetings after it keep theirs;
- meetings already met, and those of the past, are history and never change;
- the cycle continues after the last meeting that took a topic, even when the cycle's topics are
  edited in between (a new topic comes in at its place on the next round).
"""

import dataclasses
import datetime

from django.db import transaction
from django.utils import timezone

from groups.models import TherapyGroup
from iop.clock import start_of_day
from scheduling.models import Session, Topic

# What staff and therapists see coming on the group's pages.
COMING_SHOWN = 8


def cycle_titles(group_id: int) -> list[str]:
    return list(Topic.objects.filter(group_id=group_id).order_by("position", "pk").values_list("title", flat=True))


def follow_topic_cycle(*, group_id: int, after: datetime.datetime | None = None) -> int:
    """Give the group's meetings to come (those after ``after``, default now) their topics from
    the cycle; returns how many meetings changed. In the caller's transaction: four queries and
    one UPDATE of the changed rows for a group with a cycle, two for a group without one.

    It writes only what the meetings should say, from what it reads, so running it again puts
    right anything two changes at the same moment left behind (the next generation, cancellation
    or edit of the cycle does)."""
    now = timezone.now()
    after = min(after or now, now)
    titles = cycle_titles(group_id)
    upcoming = Session.objects.filter(group_id=group_id).unmet(after=after)
    if not titles:
        # Only meetings a removed cycle gave their objectives have anything to undo.
        upcoming = upcoming.filter(cycle_step__isnull=False)
    upcoming = list(
        upcoming.select_related("slot")
        .only("pk", "starts_at", "objective", "cycle_step", "topic_swapped", "slot__default_objective")
        .order_by("starts_at", "pk")
    )
    changed = []
    if not titles:
        # The cycle was removed: the meetings it gave objectives go back to their slot's.
        for session in upcoming:
            if not session.topic_swapped and session.slot is not None:
                session.objective = session.slot.default_objective
            session.cycle_step, session.topic_swapped = None, False
            changed.append(session)
    else:
        last_step = (
            Session.objects.filter(group_id=group_id, starts_at__lte=after, cycle_step__isnull=False)
            .exclude(status=Session.Status.CANCELLED)
            .order_by("-starts_at", "-pk")
            .values_list("cycle_step", flat=True)
            .first()
        )
        step = last_step % len(titles) + 1 if last_step else 1
        for session in upcoming:
            objective = session.objective if session.topic_swapped else titles[step - 1]
            if (session.cycle_step, session.objective) != (step, objective):
                session.cycle_step, session.objective = step, objective
                changed.append(session)
            step = step % len(titles) + 1
    if titles or changed:
        # A cancelled meeting to come uses up no topic.
        Session.objects.filter(
            group_id=group_id, starts_at__gt=after, status=Session.Status.CANCELLED, cycle_step__isnull=False
        ).update(cycle_step=None, updated_at=now)
    for session in changed:
        session.updated_at = now
    Session.objects.bulk_update(changed, ["objective", "cycle_step", "topic_swapped", "updated_at"], batch_size=500)
    return len(changed)


def follow_cycles_after_generation(*, group_ids: set[int], first: datetime.date) -> None:
    """The step after generation, in its transaction: the groups that have a cycle give the
    meetings just made (from ``first`` on) their topics. One query for groups without one."""
    with_cycle = set(
        Topic.objects.filter(group_id__in=group_ids).order_by().values_list("group_id", flat=True).distinct()
    )
    since = start_of_day(first) - datetime.timedelta(microseconds=1)
    for group_id in sorted(with_cycle):
        follow_topic_cycle(group_id=group_id, after=since)


@transaction.atomic
def save_topic(*, topic: Topic) -> Topic:
    """Add or change a topic of the cycle; the meetings to come follow."""
    # Two edits of one cycle at once would each number the meetings without the other's topic.
    TherapyGroup.objects.select_for_update().get(pk=topic.group_id)
    topic.title = topic.title.strip()
    topic.full_clean()
    topic.save()
    follow_topic_cycle(group_id=topic.group_id)
    return topic


@transaction.atomic
def delete_topic(*, topic: Topic) -> None:
    TherapyGroup.objects.select_for_update().get(pk=topic.group_id)
    group_id = topic.group_id
    topic.delete()
    follow_topic_cycle(group_id=group_id)


@dataclasses.dataclass(frozen=True)
class Coming:
    session: Session
    step: int
    of: int


def coming_topics(group: TherapyGroup, *, shown: int = COMING_SHOWN) -> tuple[list[str], list[Coming]]:
    """The group's cycle and its next meetings with their topics, for the group's pages. Two
    queries."""
    titles = cycle_titles(group.pk)
    if not titles:
        return [], []
    sessions = (
        Session.objects.filter(group=group)
        .unmet(after=timezone.now())
        .only("pk", "group_id", "starts_at", "ends_at", "objective", "cycle_step", "topic_swapped", "status")
        .order_by("starts_at", "pk")[:shown]
    )
    return titles, [Coming(session, session.cycle_step or 0, len(titles)) for session in sessions]
