"""iop.statements: SQL the ORM writes once asks, for any key, what the queryset asks."""

import datetime
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import NotSupportedError, connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clients.models import Client
from groups.models import Membership, member_at
from iop.statements import instances_of, rows_of, subquery_for_key, written_once
from progress.models import Attendance, MeasureResponse
from scheduling.models import Session
from tests.factories import (
    ClientFactory,
    GroupNoteFactory,
    MeasureResponseFactory,
    TherapistFactory,
    TherapyGroupFactory,
    UserFactory,
)
from tests.helpers import add_members, make_session

pytestmark = pytest.mark.django_db


def members_led_by(therapist_id: int):
    return (
        Membership.objects.filter(Q(group__facilitator_id=therapist_id) | Q(group__co_facilitator_id=therapist_id))
        .order_by("client__legal_last_name", "pk")
        .values_list("pk", "client__legal_last_name", "joined_on", "created_at")[:3]
    )


def test_the_rows_for_each_key_are_the_rows_the_queryset_gives():
    leading, co_leading, neither = TherapistFactory(), TherapistFactory(), TherapistFactory()
    group = TherapyGroupFactory(facilitator=leading, co_facilitator=co_leading)
    add_members(group, 4)
    rows = rows_of(members_led_by)

    for therapist in (leading, co_leading, neither):
        assert rows(therapist.pk) == list(members_led_by(therapist.pk))
    # Dates and times are read as the ORM reads them (SQLite gives text, turned into them).
    pk, last_name, joined_on, created_at = rows(leading.pk)[0]
    assert last_name == "Oyelaran" and isinstance(joined_on, datetime.date) and created_at.tzinfo is not None
    assert len(rows(leading.pk)) == 3 and rows(neither.pk) == []


def members_joined_since(therapist_id: int, since: datetime.datetime, group_ids: list[int]):
    return (
        Membership.objects.filter(Q(group__facilitator_id=therapist_id) | Q(group_id__in=group_ids))
        .filter(joined_at__gte=since)
        .order_by("joined_at", "pk")
        .values_list("pk", "joined_at")
    )


def test_moments_and_lists_of_keys_are_put_in_as_the_orm_puts_them(now):
    leading, other = TherapistFactory(), TherapistFactory()
    led, other_group, third = (TherapyGroupFactory(facilitator=t) for t in (leading, other, other))
    members = [*add_members(led, 3), *add_members(other_group, 2), *add_members(third, 2)]
    for days, member in enumerate(members):
        Membership.objects.filter(client=member).update(joined_at=now - datetime.timedelta(days=days))
    rows = rows_of(members_joined_since)

    for therapist_id, days, group_ids in [
        (leading.pk, 10, []),
        (leading.pk, 1, []),
        (other.pk, 10, [other_group.pk]),
        (other.pk, 4, [other_group.pk, third.pk]),
        (leading.pk, 6, [third.pk, other_group.pk]),
    ]:
        since = now - datetime.timedelta(days=days)
        assert rows(therapist_id, since, group_ids) == list(members_joined_since(therapist_id, since, group_ids))
    assert rows(leading.pk, now + datetime.timedelta(days=1), [third.pk]) == []
    # The leader's three members (0-2 days ago) and the third group's two (5 and 6 days ago).
    since = now - datetime.timedelta(days=6, hours=12)
    assert {pk for pk, _ in rows(leading.pk, since, [third.pk])} == set(
        Membership.objects.filter(group__in=[led, third]).values_list("pk", flat=True)
    )
    assert rows(leading.pk, since, []) == list(members_joined_since(leading.pk, since, []))


def test_sql_that_names_the_clinics_zone_is_written_for_each_zone(now):
    """A meeting's day in the clinic's zone is worked out in SQL, which names the zone: a clinic
    moved to another zone (as the tests of daylight saving move it) reads each day in its own."""
    group = TherapyGroupFactory()
    [member] = add_members(group, 1)
    # The meeting starts at 04:30 UTC: still the evening before in Chicago, not in Tokyo.
    starts_at = now.replace(hour=4, minute=30, second=0, microsecond=0)
    Membership.objects.filter(client=member).update(ended_on=(starts_at + datetime.timedelta(hours=9)).date())
    session = make_session(group, starts_at=starts_at)

    def members_at(session_id: int):
        return Membership.objects.filter(
            member_at(Subquery(Session.objects.filter(pk=session_id).values("starts_at"))), group=group
        ).values_list("client_id")

    rows = rows_of(members_at)
    for zone in ("America/Chicago", "Asia/Tokyo", "America/Chicago"):
        with timezone.override(zone):
            assert rows(session.pk) == list(members_at(session.pk))
    with timezone.override("America/Chicago"):
        assert rows(session.pk) == [(member.pk,)]
    with timezone.override("Asia/Tokyo"):
        assert rows(session.pk) == []


def test_a_value_the_query_works_out_from_another_is_refused(now):
    """Six weeks before the moment it was given is a parameter of its own, which stand-ins cannot
    follow: written with one moment, it would keep that moment's six weeks for every other."""

    def since_six_weeks_before(therapist_id: int, moment: datetime.datetime):
        return members_joined_since(therapist_id, moment - datetime.timedelta(weeks=6), [])

    with pytest.raises(ValueError, match="worked out from one it was given"):
        rows_of(since_six_weeks_before)(TherapistFactory().pk, now)


def test_a_day_the_query_works_out_from_a_moment_is_refused(now):
    """A moment compared with a day's column is read as its day: the placeholders of the two
    writes fall on different days, and the check sees it."""
    with pytest.raises(ValueError, match="worked out from one it was given"):
        rows_of(lambda moment: Membership.objects.filter(joined_on__lte=moment).values_list("pk"))(now)


def test_values_of_other_kinds_are_refused_every_time(now):
    rows = rows_of(lambda moment: Membership.objects.filter(joined_at__lte=moment).values_list("pk"))
    assert rows(now) == []
    naive = now.replace(tzinfo=None)
    for value in (naive, True, [1, [2]], "1", 1.5):
        with pytest.raises(TypeError, match="not for"):
            rows(value)


def test_a_query_empty_for_the_placeholders_is_refused():
    """A negative key of a column of positive numbers matches nothing, so the ORM sends no query:
    nothing would be written once, and every value would find nothing."""
    with pytest.raises(ValueError, match="matches nothing for the placeholders"):
        rows_of(lambda minutes: Attendance.objects.filter(minutes_attended=minutes).values_list("pk"))(60)


def test_rows_of_a_query_of_instances_are_refused():
    TherapistFactory()
    with pytest.raises(ValueError, match="for a query of values"):
        rows_of(lambda key: Membership.objects.filter(group__facilitator_id=key))(1)


def test_columns_an_ordering_adds_are_not_the_rows(now):
    """DISTINCT with an ordering on a column not asked for selects that column too; the rows are
    the columns asked for, as the queryset gives them."""
    therapist = TherapistFactory()
    for _ in range(2):
        add_members(TherapyGroupFactory(facilitator=therapist), 3)

    def groups_of_members(key: int):
        return (
            Membership.objects.filter(group__facilitator_id=key)
            .order_by("client__legal_last_name")
            .values_list("group_id", flat=False)
            .distinct()
        )

    rows = rows_of(groups_of_members)(therapist.pk)
    assert rows == list(groups_of_members(therapist.pk)) and {len(row) for row in rows} == {1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_asking_at_once_each_get_their_own_rows(now):
    """One statement written once, asked by eight threads at once (each its own connection),
    with values of several kinds and list lengths: each gets what its queryset gives."""
    therapists = [TherapistFactory() for _ in range(4)]
    groups = [TherapyGroupFactory(facilitator=therapist) for therapist in therapists]
    for group in groups:
        add_members(group, 3)
    rows = rows_of(members_joined_since)
    asks = [
        (therapists[n % 4].pk, now - datetime.timedelta(days=400), [group.pk for group in groups[: n % 3]])
        for n in range(8)
    ]
    barrier, answers, errors = threading.Barrier(len(asks)), {}, []

    def ask(number, values):
        try:
            barrier.wait(timeout=30)
            for _ in range(20):
                answers.setdefault(number, set()).add(tuple(rows(*values)))
        except Exception as error:  # asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=pair) for pair in enumerate(asks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert answers == {number: {tuple(members_joined_since(*values))} for number, values in enumerate(asks)}
    assert all(len(answer.pop()) >= 3 for answer in answers.values())


def test_sql_that_does_not_ask_for_its_key_is_refused():
    with pytest.raises(ValueError, match="does not ask for the key"):
        rows_of(lambda key: Membership.objects.values_list("pk"))(1)
    with pytest.raises(TypeError, match="not for 'text'"):
        rows_of(lambda key: Membership.objects.filter(client__legal_last_name=key).values_list("pk"))("text")
    with pytest.raises(ValueError, match="does not ask for the key"):
        subquery_for_key(lambda key: MeasureResponse.objects.values("client_id"))


def _first_answer(value: str) -> Subquery:
    return Subquery(MeasureResponse.objects.filter(client=OuterRef("pk")).order_by("taken_on", "pk").values(value)[:1])


def test_a_subquery_written_once_reads_what_the_subquery_reads(now):
    now = now.replace(microsecond=0)
    answered, unanswered = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=answered, total=14, taken_on=now - datetime.timedelta(days=30))
    MeasureResponseFactory(client=answered, total=6, taken_on=now)
    subqueries = {"first_total": _first_answer("total"), "first_at": _first_answer("taken_on")}

    written = written_once(Client, **subqueries)

    as_written = {c.pk: (c.first_total, c.first_at) for c in Client.objects.annotate(**written)}
    as_asked = {c.pk: (c.first_total, c.first_at) for c in Client.objects.annotate(**subqueries)}
    assert as_written == as_asked
    # Read as the subquery's field is: a date and time with its zone, on SQLite too.
    assert as_written[answered.pk] == (14, now - datetime.timedelta(days=30))
    assert as_written[unanswered.pk] == (None, None)


def test_a_condition_written_once_filters_and_excludes_as_the_condition_does():
    answered, unanswered = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=answered)
    has_answered = Exists(MeasureResponse.objects.filter(client=OuterRef("pk")))

    written = written_once(Client, answered=has_answered)["answered"]

    assert list(Client.objects.filter(written)) == [answered] == list(Client.objects.filter(has_answered))
    assert list(Client.objects.exclude(written)) == [unanswered] == list(Client.objects.exclude(has_answered))


def test_sql_written_for_a_key_asks_for_each_key_what_the_query_asks():
    first, second = ClientFactory(), ClientFactory()
    MeasureResponseFactory(client=first, total=3)
    MeasureResponseFactory(client=second, total=12)

    def answered_by(key: int):
        return MeasureResponse.objects.filter(client_id=key).values("client_id")

    written = subquery_for_key(answered_by)

    for client in (first, second, first):
        assert list(Client.objects.filter(pk__in=written(client.pk))) == [client]
        assert list(Client.objects.filter(pk__in=answered_by(client.pk))) == [client]


def test_a_query_carrying_sql_written_once_refuses_to_go_inside_another():
    answered = ClientFactory()
    MeasureResponseFactory(client=answered)
    written = written_once(Client, answered=Exists(MeasureResponse.objects.filter(client=OuterRef("pk"))))["answered"]
    carrying = Client.objects.filter(written)
    assert list(carrying) == [answered]

    # Inside another query its table would be renamed, and its SQL would read the outer row.
    with pytest.raises(NotSupportedError, match="cannot be put inside another query"):
        list(Client.objects.filter(pk__in=carrying.values("pk")))


def _as_read(instance, above=()) -> dict | tuple:
    """What an instance holds: its values, what it has not read, and each related instance it
    holds, the same way down (one it is held by stands as its model and key: select_related
    leaves each related instance holding the one above)."""
    if any(instance is held for held in above):
        return (type(instance), instance.pk)
    return {
        "model": type(instance),
        "values": {name: value for name, value in vars(instance).items() if name != "_state"},
        "deferred": instance.get_deferred_fields(),
        "db": instance._state.db,
        "adding": instance._state.adding,
        "related": {
            name: None if related is None else _as_read(related, (*above, instance))
            for name, related in instance._state.fields_cache.items()
        },
    }


def test_instances_are_made_as_iterating_the_queryset_makes_them():
    """A user with the records of either kind or none, each read with them (a reverse one-to-one
    each way): the same values and the same related instances held, and nothing more to ask."""
    therapist, client = TherapistFactory(), ClientFactory(portal_user=UserFactory())
    staff = UserFactory(is_staff=True)
    users = get_user_model().objects.select_related("therapist", "client")
    instances = instances_of(lambda key: users.filter(pk=key))

    for user in (therapist.user, client.portal_user, staff):
        [made] = instances(user.pk)
        [read] = users.filter(pk=user.pk)
        assert _as_read(made) == _as_read(read)
        with CaptureQueriesContext(connection) as asked:
            records = (getattr(made, "therapist", None), getattr(made, "client", None))
        assert len(asked) == 0
        assert records == (getattr(read, "therapist", None), getattr(read, "client", None))
    assert instances(-1) == []


def test_instances_with_fields_left_unread_related_rows_and_annotations(now):
    group = TherapyGroupFactory()
    add_members(group, 3)
    sessions = [make_session(group, starts_at=now - datetime.timedelta(days=days)) for days in (1, 2, 3)]
    GroupNoteFactory(session=sessions[0])

    def of(pks: list[int]):
        return (
            Session.objects.filter(pk__in=pks)
            .select_related("group", "facilitator__user")
            .only("starts_at", "status", "group__name", "facilitator__user__first_name")
            .annotate(notes=Count("group_note"))
            .order_by("starts_at")
        )

    instances = instances_of(of)
    for pks in ([sessions[0].pk], [sessions[2].pk, sessions[0].pk], [s.pk for s in sessions]):
        made, read = instances(pks), list(of(pks))
        assert [_as_read(session) for session in made] == [_as_read(session) for session in read]
        assert [session.notes for session in made] == [session.notes for session in read]
        assert made[0].get_deferred_fields() and "starts_at" not in made[0].get_deferred_fields()


def test_a_query_that_prefetches_is_refused():
    with pytest.raises(ValueError, match="no prefetching"):
        instances_of(lambda key: Session.objects.filter(pk=key).prefetch_related("attendances"))(1)


@pytest.mark.parametrize("key", [2**63, -(2**63) - 1, 10**20])
def test_a_key_no_column_holds_is_asked_the_orms_way(key):
    """The ORM answers it without asking the database (no row has it); SQL written once would
    hand the database a number it cannot take."""
    TherapistFactory()
    users = get_user_model().objects.select_related("therapist")

    assert instances_of(lambda pk: users.filter(pk=pk))(key) == []
    assert rows_of(lambda pk: users.filter(pk=pk).values_list("pk"))(key) == []
