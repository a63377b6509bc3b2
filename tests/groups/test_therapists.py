import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from groups.models import Therapist
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

ADD = reverse("admin:groups_therapist_add")
GOOD = {
    "first_name": "Robin",
    "last_name": "Hale",
    "credentials": "LPC",
    "license_number": "LPC-88120",
    "email": "robin.hale@clinic.example.org",
    "username": "rhale",
    "password1": "harbour-lantern-4471",
    "password2": "harbour-lantern-4471",
}


def test_staff_add_a_therapist_with_their_login(staff_client, client):
    response = staff_client.post(ADD, GOOD)

    assert response.status_code == 302
    therapist = Therapist.objects.get(user__username="rhale")
    assert str(therapist) == "Robin Hale, LPC"
    assert not therapist.user.is_staff and not therapist.user.is_superuser
    assert sign_in(client, "rhale", "harbour-lantern-4471")
    # The first password is the one staff chose: its owner chooses their own before any page.
    assert client.get(reverse("therapist:dashboard")).url.startswith(reverse("password_change"))


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"username": "staff-member"}, "username"),
        ({"password1": "12345678", "password2": "12345678"}, "password1"),
        ({"password2": "something-else-1"}, "password2"),
        ({"credentials": ""}, "credentials"),
        ({"email": "not-an-address"}, "email"),
        ({"username": "robin hale/1"}, "username"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(staff_client, changes, field):
    users_before = get_user_model().objects.count()

    response = staff_client.post(ADD, {**GOOD, **changes})

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert get_user_model().objects.count() == users_before
    assert not Therapist.objects.exists()


def test_the_add_page_opens_for_staff(staff_client):
    assert staff_client.get(ADD).status_code == 200


def test_a_non_staff_user_cannot_reach_the_add_page_or_add(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())

    assert client.get(ADD).status_code == 302
    assert client.post(ADD, GOOD).status_code == 302
    assert not Therapist.objects.exists()
