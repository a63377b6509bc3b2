"""Topic plans: a group's cycle gives its meetings their objectives in order; cancelled meetings
use up no topic; a member who joins at any meeting goes through the whole cycle; one meeting's
topic can be swapped and the cycle goes on. Generation uses the cycle on both databases (the SQL
of PostgreSQL, Python elsewhere): this module runs on whichever the suite is given."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from clients.models import Client
from groups.models import TherapyGroup
from scheduling import topics
from scheduling.enrolment import enroll_client
from scheduling.models import Closure, Session, Topic
from scheduling.selectors import sessions_for_client
from scheduling.services import (
    cancel_session,
    generate_sessions,
    restore_topic,
    save_closure,
    swap_topic,
    update_session,
)
from tests import helpers
from tests.factories import ClientFactory, TherapistFactory, TherapyGroupFactory

pytestmark = pytest.mark.django_db

CYCLE = ["Anxiety", "Depression", "Sleep", "Stress"]
SLOT_OBJECTIVE = "Psychoeducation"


@pytest.fixture
def cycle_group(therapist, today):
    group = TherapyGroupFactory(
        facilitator=therapist,
        kind=TherapyGroup.Kind.PSYCHOEDUCATIONAL,
        capacity=12,
        start_date=today - datetime.timedelta(days=60),
    )
    for position, title in enumerate(CYCLE, start=1):
        topics.save_topic(topic=Topic(group=group, position=position, title=title))
    return group


def weekly(group, today, *, days_ahead=1, start="18:00"):
    """A weekly slot meeting on the weekday ``days_ahead`` days from today, its meetings made."""
    weekday = (today + datetime.timedelta(days=days_ahead)).weekday()
    return helpers.make_slot(group, weekday=weekday, start=start, today=today, default_objective=SLOT_OBJECTIVE)


def meetings(group):
    return list(Session.objects.filter(group=group).order_by("starts_at", "pk"))


def ahead(group, now):
    return [s for s in meetings(group) if s.starts_at > now]


def objectives(sessions):
    return [s.objective for s in sessions]


def cycle_from(first: int, count: int) -> list[str]:
    return [CYCLE[(first + n) % len(CYCLE)] for n in range(count)]


# --- Generation ----------------------------------------------------------------------------------


def test_generated_meetings_take_the_cycles_topics_in_order(cycle_group, today):
    weekly(cycle_group, today, days_ahead=1)
    weekly(cycle_group, today, days_ahead=3, start="10:00")

    made = meetings(cycle_group)

    assert len(made) > 2 * len(CYCLE)
    assert objectives(made) == cycle_from(0, len(made))
    assert [s.cycle_step for s in made] == [n % len(CYCLE) + 1 for n in range(len(made))]


def test_generating_further_ahead_goes_on_with_the_cycle(cycle_group, today):
    weekly(cycle_group, today)
    first_run = len(meetings(cycle_group))

    made = generate_sessions(weeks=20, today=today).made

    assert made
    everything = meetings(cycle_group)
    assert len(everything) > first_run
    assert objectives(everything) == cycle_from(0, len(everything))


def test_generating_again_changes_nothing(cycle_group, today):
    weekly(cycle_group, today)
    before = [(s.pk, s.objective, s.cycle_step, s.updated_at) for s in meetings(cycle_group)]

    assert generate_sessions(today=today).made == []

    assert [(s.pk, s.objective, s.cycle_step, s.updated_at) for s in meetings(cycle_group)] == before


def test_a_group_without_a_cycle_keeps_its_slots_objective(therapist, today):
    group = TherapyGroupFactory(facilitator=therapist, start_date=today - datetime.timedelta(days=7))

    weekly(group, today)

    assert set(objectives(meetings(group))) == {SLOT_OBJECTIVE}
    assert {s.cycle_step for s in meetings(group)} == {None}


def test_a_meeting_generated_on_a_closed_day_uses_up_no_topic(cycle_group, today, now):
    closed_on = today + datetime.timedelta(days=8)  # the second weekly meeting
    Closure.objects.create(name="Staff training", starts_on=closed_on, ends_on=closed_on)

    weekly(cycle_group, today, days_ahead=1)

    made = meetings(cycle_group)
    cancelled = [s for s in made if s.status == Session.Status.CANCELLED]
    assert [timezone_day(s) for s in cancelled] == [closed_on]
    assert cancelled[0].cycle_step is None
    held = [s for s in made if s.status != Session.Status.CANCELLED]
    assert objectives(held) == cycle_from(0, len(held))


def timezone_day(session):
    from django.utils import timezone

    return timezone.localdate(session.starts_at)


# --- Closures and cancellations after generation ----------------------------------------------------


def test_a_closure_saved_later_moves_the_meetings_after_it_up_one_topic(cycle_group, today, now):
    weekly(cycle_group, today)
    coming = ahead(cycle_group, now)
    before = objectives(coming)

    closed_on = timezone_day(coming[1])
    save_closure(closure=Closure(name="Weather", starts_on=closed_on, ends_on=closed_on))

    after = ahead(cycle_group, now)
    assert after[1].status == Session.Status.CANCELLED
    # The cancelled meeting keeps the objective it announced; the cycle skips it.
    assert after[1].objective == before[1]
    assert after[0].objective == before[0]
    assert objectives(after[2:]) == before[1 : len(after) - 1]


def test_a_cancelled_meeting_uses_up_no_topic(cycle_group, today, now):
    weekly(cycle_group, today)
    coming = ahead(cycle_group, now)
    before = objectives(coming)

    cancel_session(session=coming[0], reason="The facilitator is ill.")

    after = ahead(cycle_group, now)
    assert objectives(after[1:]) == before[: len(after) - 1]


def test_a_meeting_moved_past_another_takes_its_place_in_the_cycle(cycle_group, today, now):
    weekly(cycle_group, today)
    first, second = ahead(cycle_group, now)[:2]

    update_session(
        session=first,
        starts_at=second.starts_at + datetime.timedelta(days=1),
        ends_at=second.ends_at + datetime.timedelta(days=1),
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.cycle_step < first.cycle_step


def test_met_meetings_are_history_and_keep_their_topic(cycle_group, today, now):
    weekly(cycle_group, today)
    past = helpers.make_session(cycle_group, objective="What was discussed")
    Session.objects.filter(pk=past.pk).update(status=Session.Status.HELD, cycle_step=2)

    topics.save_topic(topic=Topic(group=cycle_group, position=9, title="Nutrition"))

    past.refresh_from_db()
    assert past.objective == "What was discussed"
    # The cycle goes on after the last meeting that took a topic.
    assert ahead(cycle_group, now)[0].objective == CYCLE[2]


def test_editing_a_topic_reaches_the_meetings_to_come(cycle_group, today, now):
    weekly(cycle_group, today)
    anxiety = Topic.objects.get(group=cycle_group, position=1)
    anxiety.title = "Anxiety: the body's alarm"

    topics.save_topic(topic=anxiety)

    assert "Anxiety: the body's alarm" in objectives(ahead(cycle_group, now))
    assert "Anxiety" not in objectives(ahead(cycle_group, now))


def test_removing_the_cycle_gives_the_meetings_their_slots_objective_again(cycle_group, today, now):
    weekly(cycle_group, today)

    for topic in Topic.objects.filter(group=cycle_group):
        topics.delete_topic(topic=topic)

    assert set(objectives(ahead(cycle_group, now))) == {SLOT_OBJECTIVE}


# --- Rolling admission -----------------------------------------------------------------------------


def test_a_member_who_joins_mid_cycle_goes_through_every_topic(cycle_group, today, now):
    weekly(cycle_group, today, days_ahead=1)
    weekly(cycle_group, today, days_ahead=2, start="10:00")
    cancel_session(session=ahead(cycle_group, now)[1], reason="Holiday")
    client = ClientFactory(admission_date=today - datetime.timedelta(days=3))
    # Two meetings have gone by when they join: they start at the third topic.
    joining = ahead(cycle_group, now)[3].starts_at - datetime.timedelta(hours=1)
    enroll_client(client=client, group=cycle_group, on=joining.date())

    theirs = [
        s
        for s in sessions_for_client(client).filter(status=Session.Status.SCHEDULED, starts_at__gt=now)
        if s.starts_at > joining - datetime.timedelta(days=1)
    ][: len(CYCLE)]

    assert sorted(objectives(theirs)) == sorted(CYCLE)


# --- Swapping one meeting's topic ------------------------------------------------------------------


def test_a_swapped_topic_changes_one_meeting_and_the_cycle_goes_on(cycle_group, today, now):
    weekly(cycle_group, today)
    before = objectives(ahead(cycle_group, now))

    swap_topic(session=ahead(cycle_group, now)[1], objective="Guest speaker: a former member")

    after = ahead(cycle_group, now)
    assert after[1].objective == "Guest speaker: a former member"
    assert after[1].topic_swapped
    assert objectives(after[:1]) + objectives(after[2:]) == before[:1] + before[2:]


def test_a_swapped_meeting_keeps_its_topic_when_the_cycle_moves(cycle_group, today, now):
    weekly(cycle_group, today)
    swap_topic(session=ahead(cycle_group, now)[1], objective="Guest speaker")
    before = objectives(ahead(cycle_group, now))

    cancel_session(session=ahead(cycle_group, now)[0], reason="Holiday")

    after = ahead(cycle_group, now)
    assert after[1].objective == "Guest speaker"
    # The swapped meeting takes the first place now; the one after it the second topic.
    assert after[2].objective == CYCLE[(after[1].cycle_step) % len(CYCLE)]
    assert before[2] != after[2].objective


def test_a_swap_is_given_back(cycle_group, today, now):
    weekly(cycle_group, today)
    before = objectives(ahead(cycle_group, now))
    swap_topic(session=ahead(cycle_group, now)[1], objective="Guest speaker")

    restore_topic(session=ahead(cycle_group, now)[1])

    assert objectives(ahead(cycle_group, now)) == before
    assert not ahead(cycle_group, now)[1].topic_swapped


@pytest.mark.parametrize("objective", ["", "   "])
def test_an_empty_topic_is_refused_and_changes_nothing(cycle_group, today, now, objective):
    weekly(cycle_group, today)
    before = objectives(ahead(cycle_group, now))

    with pytest.raises(ValidationError) as refused:
        swap_topic(session=ahead(cycle_group, now)[0], objective=objective)

    assert "objective" in refused.value.message_dict
    assert objectives(ahead(cycle_group, now)) == before


def test_a_meeting_that_has_begun_keeps_its_topic(cycle_group):
    begun = helpers.make_session(cycle_group, objective="Anxiety")

    with pytest.raises(ValidationError):
        swap_topic(session=begun, objective="Something else")

    begun.refresh_from_db()
    assert begun.objective == "Anxiety"


# --- The admin -------------------------------------------------------------------------------------


def _group_post(group, **extra):
    data = {
        "name": group.name,
        "kind": group.kind,
        "description": "",
        "status": group.status,
        "start_date": group.start_date.isoformat(),
        "capacity": group.capacity,
        "enrolment": group.enrolment,
        "facilitator": group.facilitator_id,
        "language": group.language,
        "audience": group.audience,
        "modality": group.modality,
        "room": group.room,
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
        "topics-TOTAL_FORMS": "0",
        "topics-INITIAL_FORMS": "0",
    }
    data.update(extra)
    return data


def test_staff_see_what_comes_next_on_the_group_page(staff_client, cycle_group, today, now):
    weekly(cycle_group, today)

    page = staff_client.get(reverse("admin:groups_therapygroup_change", args=[cycle_group.pk])).content.decode()

    assert "Coming meetings" in page
    assert f"{ahead(cycle_group, now)[0].cycle_step} of {len(CYCLE)}" in page
    assert ahead(cycle_group, now)[0].objective in page


def test_staff_add_a_topic_on_the_group_page_and_the_meetings_follow(staff_client, therapist, today, now):
    group = TherapyGroupFactory(facilitator=therapist, start_date=today - datetime.timedelta(days=7))
    weekly(group, today)

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[group.pk]),
        _group_post(
            group,
            **{
                "topics-TOTAL_FORMS": "2",
                "topics-0-position": "1",
                "topics-0-title": "Anxiety",
                "topics-1-position": "2",
                "topics-1-title": "Sleep",
            },
        ),
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    assert objectives(ahead(group, now))[:3] == ["Anxiety", "Sleep", "Anxiety"]


@pytest.mark.parametrize(
    "rows",
    [
        [("1", "")],  # no title
        [("0", "Anxiety")],  # no place 0
        [("1", "Anxiety"), ("1", "Sleep")],  # one place twice
        [("x", "Anxiety")],
    ],
)
def test_bad_topics_on_the_group_page_are_field_errors_and_change_nothing(staff_client, cycle_group, today, rows):
    weekly(cycle_group, today)
    before = (Topic.objects.count(), objectives(meetings(cycle_group)))
    fields = {"topics-TOTAL_FORMS": str(len(rows))}
    for n, (position, title) in enumerate(rows):
        fields[f"topics-{n}-position"] = position
        fields[f"topics-{n}-title"] = title

    response = staff_client.post(
        reverse("admin:groups_therapygroup_change", args=[cycle_group.pk]), _group_post(cycle_group, **fields)
    )

    assert response.status_code == 200
    assert (Topic.objects.count(), objectives(meetings(cycle_group))) == before


def test_staff_edit_one_meetings_objective_and_it_is_a_swap(staff_client, cycle_group, today, now):
    weekly(cycle_group, today)
    session = ahead(cycle_group, now)[0]
    data = helpers.session_change_post(
        session, objective="Guest speaker", **{"attendances-TOTAL_FORMS": "0", "attendances-INITIAL_FORMS": "0"}
    )

    response = staff_client.post(reverse("admin:scheduling_session_change", args=[session.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors

    session.refresh_from_db()
    assert (session.objective, session.topic_swapped) == ("Guest speaker", True)
    assert ahead(cycle_group, now)[1].objective == CYCLE[session.cycle_step % len(CYCLE)]


# --- The therapist's pages -----------------------------------------------------------------------


def test_the_therapist_sees_what_comes_next_on_the_group_page(client, cycle_group, therapist, today, now):
    weekly(cycle_group, today)
    client.force_login(therapist.user)

    response = client.get(reverse("therapist:group", args=[cycle_group.pk]))

    assert response.status_code == 200
    coming = response.context["coming"]
    assert [c.session.objective for c in coming] == objectives(ahead(cycle_group, now))[: len(coming)]
    assert "Topic cycle: what comes next" in response.content.decode()


def test_the_therapist_swaps_one_meetings_topic(client, cycle_group, therapist, today, now):
    weekly(cycle_group, today)
    session = ahead(cycle_group, now)[0]
    client.force_login(therapist.user)
    assert (
        "Another topic for this meeting" in client.get(reverse("therapist:session", args=[session.pk])).content.decode()
    )

    response = client.post(reverse("therapist:session_topic", args=[session.pk]), {"objective": "Guest speaker"})

    assert response.status_code == 302
    session.refresh_from_db()
    assert (session.objective, session.topic_swapped) == ("Guest speaker", True)

    client.post(reverse("therapist:session_topic", args=[session.pk]), {"restore": "1"})
    session.refresh_from_db()
    assert (session.objective, session.topic_swapped) == (CYCLE[session.cycle_step - 1], False)


def test_an_empty_swap_from_the_therapist_is_a_field_error(client, cycle_group, therapist, today, now):
    weekly(cycle_group, today)
    session = ahead(cycle_group, now)[0]
    client.force_login(therapist.user)

    response = client.post(reverse("therapist:session_topic", args=[session.pk]), {"objective": ""})

    assert response.status_code == 400
    assert response.context["topic_form"].errors["objective"]
    session.refresh_from_db()
    assert not session.topic_swapped


@pytest.mark.parametrize("who", ["other_therapist", "client", "staff"])
def test_no_one_else_swaps_a_topic(client, cycle_group, today, now, who, staff_user):
    weekly(cycle_group, today)
    session = ahead(cycle_group, now)[0]
    user = {
        "other_therapist": lambda: TherapistFactory().user,
        "client": lambda: _portal_user(),
        "staff": lambda: staff_user,
    }[who]()
    client.force_login(user)

    swap = client.post(reverse("therapist:session_topic", args=[session.pk]), {"objective": "Guest speaker"})
    group_page = client.get(reverse("therapist:group", args=[cycle_group.pk]))

    assert swap.status_code == 404
    assert group_page.status_code == 404
    session.refresh_from_db()
    assert not session.topic_swapped


def _portal_user():
    from tests.factories import UserFactory

    client = ClientFactory()
    client.portal_user = UserFactory()
    Client.objects.filter(pk=client.pk).update(portal_user=client.portal_user)
    return client.portal_user
