"""The signed-in person is loaded with their therapist or client record in one query."""

import pytest
from django.contrib.auth import get_user

from audit.trail import role_of
from iop.backends import ModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_therapist_comes_with_their_record_in_one_query(therapist, django_assert_num_queries):
    with django_assert_num_queries(1):
        user = ModelBackend().get_user(therapist.user.pk)
        assert user.therapist == therapist
        assert not hasattr(user, "client")
        assert role_of(user) == "therapist"


def test_a_client_comes_with_their_record_and_staff_with_neither(client_record, staff_user, django_assert_num_queries):
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])

    with django_assert_num_queries(2):
        portal = ModelBackend().get_user(client_record.portal_user.pk)
        staff = ModelBackend().get_user(staff_user.pk)
        assert portal.client == client_record and role_of(portal) == "client"
        assert role_of(staff) == "staff"


def test_a_deactivated_or_unknown_login_is_no_one(therapist):
    therapist.user.is_active = False
    therapist.user.save(update_fields=["is_active"])

    assert ModelBackend().get_user(therapist.user.pk) is None
    assert ModelBackend().get_user(987654) is None


def test_a_signed_in_request_uses_it(client, therapist, rf):
    client.force_login(therapist.user)
    request = rf.get("/")
    request.session = client.session

    user = get_user(request)

    assert user == therapist.user and "therapist" in user._state.fields_cache
