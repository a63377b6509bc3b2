"""Pages list members; the number of queries must not grow with them."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from progress import notes
from progress.models import Addendum, Attendance, GroupNote, IndividualNote
from scheduling.models import Session
from tests.factories import PASSWORD, TherapyGroupFactory
from tests.helpers import (
    AUDIT_READ_QUERIES,
    AUDIT_WRITE_QUERIES,
    SAFETY_BANNER_QUERIES,
    add_members,
    attendance_post,
    make_session,
    note_post,
    record_everyone_present,
    write_note,
)

pytestmark = pytest.mark.django_db

MANY_NAMES = [(f"Member{chr(65 + i)}", f"Surname{chr(65 + i)}") for i in range(12)]

# Asserted exactly, and the same at both data sizes: a query per member would break them. Each
# page also records its reads when the request ends: AUDIT_READ_QUERIES (the chain's last link and
# one INSERT; see tests/helpers.py), whatever the number of clients on it and of parts that read.
# Every therapist page also asks once for the open safety alerts of the therapist's clients (the
# banner at its top; none here, so it records no read). The therapist's record comes with the
# signed-in user (iop/backends.py).
SESSION_PAGE_QUERIES = 5 + AUDIT_READ_QUERIES + SAFETY_BANNER_QUERIES
# The note page's signing refusals read the roster and the parts the page has already read; it
# also reads the goals each member's part may address (one query). The note comes with its
# addenda (one query), the individualized notes with their clients and the goals each already
# links, the golden thread (one query).
NOTE_PAGE_QUERIES = 7 + AUDIT_READ_QUERIES + SAFETY_BANNER_QUERIES
# The group page reads its recent sessions with their attendance (one query) and its members; it
# also reads the group's topic cycle (none here; with one, its coming meetings are one query more).
GROUP_PAGE_QUERIES = 6 + AUDIT_READ_QUERIES + SAFETY_BANNER_QUERIES
# The session and the user (with the therapist), the groups they lead, the count of unsigned notes
# and one page of them.
OVERDUE_PAGE_QUERIES = 5 + AUDIT_READ_QUERIES + SAFETY_BANNER_QUERIES


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
    session, members = attended_session(size, therapist)

    with django_assert_num_queries(SESSION_PAGE_QUERIES):
        response = facilitator_client.get(reverse("therapist:session", args=[session.pk]))

    assert len(response.context["formset"].forms) == size


@pytest.mark.parametrize("size", [3, 12])
def test_note_page_query_count_does_not_grow_with_the_roster(
    facilitator_client, therapist, size, django_assert_num_queries
):
    session, members = attended_session(size, therapist)
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


@pytest.mark.parametrize("count", [2, 30])
def test_unsigned_notes_page_query_count_does_not_grow_with_the_notes(facilitator_client, therapist, count):
    group, _ = group_of(0, therapist)
    for days_ago in range(count):
        starts_at = timezone.now() - datetime.timedelta(days=2 + days_ago)
        make_session(group, starts_at=starts_at, status=Session.Status.HELD)

    assert queries_for(facilitator_client, reverse("therapist:overdue_notes")) == OVERDUE_PAGE_QUERIES


# --- Saving: the POSTs. Saving the roster and the note still costs queries per member today (the
# services check and write row by row); the bounds hold them there, and the sign and addendum
# POSTs stay flat. Lower a bound when a service learns to work in bulk.
#
# Each POST writes one audit row (audit.trail.record), whatever the roster's size: a savepoint, the
# chain's last link, the INSERT, the savepoint's release, and on PostgreSQL the chain's advisory
# lock, taken at the service's start (audit.trail.hold_chain) and again by record. The addendum's
# row also reads which clients the note is about.
ATTENDANCE_POST_QUERIES = 15 + AUDIT_WRITE_QUERIES
ATTENDANCE_POST_QUERIES_PER_MEMBER = 10
# The goals each member's part may address, and the links the parts already have: two queries.
NOTE_POST_QUERIES = 18 + AUDIT_WRITE_QUERIES
NOTE_POST_QUERIES_PER_MEMBER = 2
# Signing asks the password through the sign-in lockout (iop.passwords): the account and the
# address's recent failures, and the user by username, three queries whatever the roster; and
# the session takes the signature's time (Session.note_signed_at).
SIGN_POST_QUERIES = 19 + AUDIT_WRITE_QUERIES
# The addendum's audit row names the note's clients: one query to read them.
ADDENDUM_POST_QUERIES = 11 + AUDIT_WRITE_QUERIES + 1


def attended_session(size: int, therapist):
    """A session that has begun, its ``size`` members recorded present."""
    group, members = group_of(size, therapist)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    return session, members


@pytest.mark.parametrize("size", [3, 12])
def test_attendance_post_query_count_is_bounded_per_member(
    facilitator_client, therapist, size, django_assert_max_num_queries
):
    group, members = group_of(size, therapist)
    session = make_session(group)

    with django_assert_max_num_queries(ATTENDANCE_POST_QUERIES + ATTENDANCE_POST_QUERIES_PER_MEMBER * size):
        response = facilitator_client.post(
            reverse("therapist:session", args=[session.pk]), attendance_post(session, members)
        )

    assert response.status_code == 302
    assert Attendance.objects.filter(session=session).count() == size


@pytest.mark.parametrize("size", [3, 12])
def test_note_save_post_query_count_is_bounded_per_member(
    facilitator_client, therapist, size, django_assert_max_num_queries
):
    session, members = attended_session(size, therapist)
    url = reverse("therapist:note", args=[session.pk])
    facilitator_client.post(url, note_post(members))

    # Saving again (an edit) does the most work: every part is compared and rewritten.
    with django_assert_max_num_queries(NOTE_POST_QUERIES + NOTE_POST_QUERIES_PER_MEMBER * size + 1):
        response = facilitator_client.post(url, note_post(members, topic="Cravings at the weekend"))

    assert response.status_code == 302
    assert IndividualNote.objects.filter(group_note__session=session).count() == size


@pytest.mark.parametrize("size", [3, 12])
def test_sign_post_query_count_does_not_grow_with_the_roster(
    facilitator_client, therapist, size, django_assert_max_num_queries
):
    session, members = attended_session(size, therapist)
    write_note(session, members, by=therapist.user)

    with django_assert_max_num_queries(SIGN_POST_QUERIES):
        response = facilitator_client.post(reverse("therapist:note_sign", args=[session.pk]), {"password": PASSWORD})

    assert response.status_code == 302
    assert GroupNote.objects.get(session=session).is_signed


@pytest.mark.parametrize("size", [3, 12])
def test_addendum_post_query_count_does_not_grow_with_the_roster(
    facilitator_client, therapist, size, django_assert_max_num_queries
):
    session, members = attended_session(size, therapist)
    note = write_note(session, members, by=therapist.user)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    with django_assert_max_num_queries(ADDENDUM_POST_QUERIES):
        response = facilitator_client.post(
            reverse("therapist:note_addendum", args=[session.pk]), {"text": "Late entry: the session ran over."}
        )

    assert response.status_code == 302
    assert Addendum.objects.filter(group_note=note).count() == 1
