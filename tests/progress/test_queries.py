"""Pages list members; the number of queries must not grow with them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import TherapyGroupFactory
from tests.helpers import add_members, make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db

MANY_NAMES = [(f"Member{chr(65 + i)}", f"Surname{chr(65 + i)}") for i in range(12)]

# Asserted exactly, and the same at both data sizes: a query per member would break them.
SESSION_PAGE_QUERIES = 8
NOTE_PAGE_QUERIES = 14
GROUP_PAGE_QUERIES = 7


def group_of(size, therapist):
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    members = add_members(group, size, names=MANY_NAMES)
    return group, members


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("size", [3, 12])
def test_session_page_query_count_does_not_grow_with_the_roster(
    facilitator_client, therapist, size, django_assert_num_queries
):
    group, members = group_of(size, therapist)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)

    with django_assert_num_queries(SESSION_PAGE_QUERIES):
        response = facilitator_client.get(reverse("therapist:session", args=[session.pk]))

    assert len(response.context["formset"].forms) == size


@pytest.mark.parametrize("size", [3, 12])
def test_note_page_query_count_does_not_grow_with_the_roster(
    facilitator_client, therapist, size, django_assert_num_queries
):
    group, members = group_of(size, therapist)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    write_note(session, members, by=therapist.user)

    with django_assert_num_queries(NOTE_PAGE_QUERIES):
        response = facilitator_client.get(reverse("therapist:note", args=[session.pk]))

    assert len(response.context["individual_rows"]) == size


@pytest.mark.parametrize("size", [3, 12])
def test_group_page_query_count_does_not_grow_with_members_or_sessions(
    facilitator_client, therapist, size, django_assert_num_queries
):
    group, members = group_of(size, therapist)
    for days_ago in range(size // 2 + 1):
        session = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=days_ago, hours=2))
        record_everyone_present(session, members, by=therapist.user)

    with django_assert_num_queries(GROUP_PAGE_QUERIES):
        response = facilitator_client.get(reverse("therapist:group", args=[group.pk]))

    assert len(response.context["rows"]) == size


def test_dashboard_query_count_does_not_grow_with_sessions(facilitator_client, therapist):
    group, members = group_of(3, therapist)
    make_session(group, starts_at=timezone.now() - datetime.timedelta(minutes=5))
    few = queries_for(facilitator_client, reverse("therapist:dashboard"))
    other_group, _ = group_of(0, therapist)
    for hours in (1, 2, 3):
        make_session(other_group, starts_at=timezone.now() - datetime.timedelta(hours=hours, minutes=10))

    assert queries_for(facilitator_client, reverse("therapist:dashboard")) == few
