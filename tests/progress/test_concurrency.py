"""Double clicks on the therapist pages, for real: two threads, two connections, PostgreSQL."""

import uuid

import pytest

from progress import notes
from progress.models import Addendum, GroupNote
from tests.factories import PASSWORD
from tests.groups.test_concurrency import run_at_once
from tests.helpers import add_members, make_session, record_everyone_present, write_note

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_addendum_submitted_twice_at_once_is_added_once(group, therapist):
    members = add_members(group, 3)
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    note = notes.sign_note(note=write_note(session, members, by=therapist.user), user=therapist.user, password=PASSWORD)
    key = uuid.uuid4()

    def submit():
        notes.add_addendum(
            note=GroupNote.objects.get(pk=note.pk), author=therapist.user, text="Late entry.", submission_key=key
        )

    errors = run_at_once([submit] * 2)

    assert errors == []
    assert Addendum.objects.filter(group_note=note).count() == 1
