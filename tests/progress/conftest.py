import pytest

from progress import notes
from tests.factories import PASSWORD, TherapistFactory, UserFactory
from tests.helpers import add_members, make_session, record_everyone_present, write_note


@pytest.fixture
def members(group):
    return add_members(group, 3)


@pytest.fixture
def session(group, members):
    return make_session(group)


@pytest.fixture
def facilitator_client(client, therapist):
    client.force_login(therapist.user)
    return client


@pytest.fixture
def signed_note(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    return notes.sign_note(note=note, user=therapist.user, password=PASSWORD)


@pytest.fixture
def substitute(db):
    return TherapistFactory(user__username="substitute")


@pytest.fixture
def portal_user(client_record):
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])
    return client_record.portal_user
