import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from clients.services import close_portal_account, open_portal_account
from scheduling.enrolment import discharge_client
from tests.factories import UserFactory
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "harbour-lantern-4471"


def test_a_client_gets_a_login_to_their_own_week(client, client_record):
    user = open_portal_account(client=client_record, username="jordan.a", password=GOOD_PASSWORD)

    client_record.refresh_from_db()
    assert client_record.portal_user == user
    assert not user.is_staff
    assert sign_in(client, "jordan.a", GOOD_PASSWORD)
    # The first password is the one staff chose: its owner chooses their own before any page.
    assert client.get(reverse("scheduling:week")).url.startswith(reverse("password_change"))


@pytest.mark.parametrize(
    "username, password, field",
    [
        ("taken", GOOD_PASSWORD, "username"),
        ("TAKEN", GOOD_PASSWORD, "username"),
        ("jordan avery/1", GOOD_PASSWORD, "username"),
        ("fresh", "12345678", "password"),
        ("fresh", "password", "password"),
    ],
)
def test_a_bad_username_or_password_is_refused_and_nothing_is_written(client_record, username, password, field):
    UserFactory(username="taken")
    users_before = get_user_model().objects.count()

    with pytest.raises(ValidationError) as refused:
        open_portal_account(client=client_record, username=username, password=password)

    assert field in refused.value.message_dict
    assert get_user_model().objects.count() == users_before
    client_record.refresh_from_db()
    assert client_record.portal_user is None


def test_a_second_login_and_a_discharged_client_are_refused(client_record, other_client):
    open_portal_account(client=client_record, username="first", password=GOOD_PASSWORD)
    discharge_client(client=other_client, on=other_client.admission_date)

    with pytest.raises(ValidationError, match="already has a portal login"):
        open_portal_account(client=client_record, username="second", password=GOOD_PASSWORD)
    with pytest.raises(ValidationError, match="has been discharged"):
        open_portal_account(client=other_client, username="third", password=GOOD_PASSWORD)


def test_a_closed_login_no_longer_signs_in_and_a_new_one_can_be_opened(client, client_record):
    open_portal_account(client=client_record, username="jordan.a", password=GOOD_PASSWORD)

    close_portal_account(client=client_record)

    assert not sign_in(client, "jordan.a", GOOD_PASSWORD)
    open_portal_account(client=client_record, username="jordan.b", password=GOOD_PASSWORD)
    assert sign_in(client, "jordan.b", GOOD_PASSWORD)


def _open_login(staff_client, client_record, **data):
    return staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "open_portal_login", "_selected_action": [client_record.pk], "apply": "1", **data},
    )


def test_staff_open_a_portal_login_in_the_admin(staff_client, client_record):
    response = _open_login(
        staff_client, client_record, username="jordan.a", password1=GOOD_PASSWORD, password2=GOOD_PASSWORD
    )

    assert response.status_code == 302
    client_record.refresh_from_db()
    assert client_record.portal_user.username == "jordan.a"


@pytest.mark.parametrize(
    "data, field",
    [
        ({"username": "jordan.a", "password1": GOOD_PASSWORD, "password2": "something-else-9"}, "password2"),
        ({"username": "jordan.a", "password1": "short", "password2": "short"}, "password1"),
        ({"username": "", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}, "username"),
    ],
)
def test_bad_input_in_the_admin_is_a_field_error_and_writes_nothing(staff_client, client_record, data, field):
    users_before = get_user_model().objects.count()

    response = _open_login(staff_client, client_record, **data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert get_user_model().objects.count() == users_before


def test_the_client_changes_their_password(client, client_record):
    open_portal_account(client=client_record, username="jordan.a", password=GOOD_PASSWORD)
    sign_in(client, "jordan.a", GOOD_PASSWORD)

    response = client.post(
        reverse("password_change"),
        {"old_password": GOOD_PASSWORD, "new_password1": "quiet-meadow-2290", "new_password2": "quiet-meadow-2290"},
    )

    assert response.status_code == 302
    client.logout()
    assert sign_in(client, "jordan.a", "quiet-meadow-2290")


def test_staff_close_a_portal_login_in_the_admin(staff_client, client, client_record, other_client):
    open_portal_account(client=client_record, username="jordan.a", password=GOOD_PASSWORD)

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "close_portal_login", "_selected_action": [client_record.pk, other_client.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "portal login no longer works" in page
    assert "has no portal login" in page
    assert not sign_in(client, "jordan.a", GOOD_PASSWORD)
