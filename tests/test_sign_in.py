"""Signing in: the lockout (django-axes) on every password the product asks, unlocking it in the
admin, first passwords chosen by staff, and the one sign-in page the admin shares."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.test import Client as WebClient
from django.urls import reverse

from clients.services import open_portal_account
from iop.models import PasswordChangeDue
from tests.factories import PASSWORD, UserFactory
from tests.helpers import sign_in

pytestmark = pytest.mark.django_db

WRONG = "not-the-password-2026"
NEW_PASSWORD = "quiet-meadow-2290"


def post_login(browser, username, password, **extra):
    return browser.post(reverse("login"), {"username": username, "password": password}, **extra)


def signed_in_as(browser):
    return browser.session.get(SESSION_KEY)


def fail_until_locked(browser, username, **extra):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(browser, username, WRONG, **extra)


# --- The lockout ----------------------------------------------------------------------------


def test_the_right_password_is_refused_after_too_many_wrong_ones(client):
    user = UserFactory(username="dana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, "dana", WRONG).status_code == 200

    locked = post_login(client, "dana", WRONG)
    after = post_login(client, "dana", PASSWORD)

    assert locked.status_code == 429
    assert after.status_code == 429
    assert signed_in_as(after.client) is None
    page = after.content.decode()
    assert "Sign-in is paused" in page and f"{settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in page
    assert f"<title>Sign-in paused — {settings.CLINIC_SHORT_NAME}" in page
    assert str(user.pk) not in (after.client.session.get(SESSION_KEY) or "")


def test_fewer_wrong_passwords_than_the_limit_still_let_the_owner_in(client):
    user = UserFactory(username="dana")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_login(client, "dana", WRONG)

    response = post_login(client, "dana", PASSWORD)

    assert response.status_code == 302
    assert signed_in_as(client) == str(user.pk)


def test_the_account_is_paused_from_every_address(client):
    UserFactory(username="dana")
    fail_until_locked(client, "dana", REMOTE_ADDR="203.0.113.7")

    elsewhere = post_login(WebClient(), "dana", PASSWORD, REMOTE_ADDR="198.51.100.20")

    assert elsewhere.status_code == 429


def test_an_address_trying_many_accounts_is_paused_for_every_account(client):
    UserFactory(username="dana")
    for number in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, f"guess-{number}", WRONG, REMOTE_ADDR="203.0.113.7")

    same_address = post_login(WebClient(), "dana", PASSWORD, REMOTE_ADDR="203.0.113.7")
    other_address = post_login(WebClient(), "dana", PASSWORD, REMOTE_ADDR="198.51.100.20")

    assert same_address.status_code == 429
    assert other_address.status_code == 302


def test_a_username_longer_than_any_is_counted_under_its_first_characters(client):
    response = post_login(client, "x" * 5000, WRONG)

    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "x" * get_user_model().username.field.max_length


def test_the_admin_signs_in_on_the_same_protected_page(client):
    UserFactory(username="boss", is_staff=True)

    response = client.get(reverse("admin:login"), {"next": "/admin/clients/"})

    assert response.status_code == 302
    assert response.url == reverse("login") + "?next=/admin/clients/"
    fail_until_locked(client, "boss")
    assert post_login(client, "boss", PASSWORD).status_code == 429
    assert client.get(reverse("admin:index")).url.startswith(reverse("admin:login"))


def test_staff_unlock_an_account_in_the_admin(client):
    UserFactory(username="dana")
    fail_until_locked(client, "dana")
    admin = WebClient()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = admin.post(
        reverse("admin:auth_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [get_user_model().objects.get(username="dana").pk]},
        follow=True,
    )

    assert "Sign-in unlocked for dana" in response.content.decode()
    assert post_login(client, "dana", PASSWORD).status_code == 302


def test_staff_unlock_an_address_from_the_failed_sign_ins(client):
    UserFactory(username="dana")
    for number in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, f"guess-{number}", WRONG)
    admin = WebClient()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    admin.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "unlock", "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)[:1])},
    )

    assert AccessAttempt.objects.count() == 0
    assert post_login(client, "dana", PASSWORD).status_code == 302


# --- Passwords asked again inside the product -----------------------------------------------


def test_wrong_old_passwords_lock_the_account_and_change_nothing(client):
    user = UserFactory(username="dana")
    client.force_login(user)
    change = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("password_change"), {"old_password": WRONG, **change})
        assert response.status_code == 200
        assert "old_password" in response.context["form"].errors

    locked = client.post(reverse("password_change"), {"old_password": WRONG, **change})
    right = client.post(reverse("password_change"), {"old_password": PASSWORD, **change})

    assert locked.status_code == 429 and right.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert post_login(WebClient(), "dana", PASSWORD).status_code == 429


def test_failed_sign_ins_count_toward_the_old_password_lockout(client):
    user = UserFactory(username="dana")
    fail_until_locked(WebClient(), "dana")
    client.force_login(user)

    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_new_password_must_differ_from_the_old_one(client):
    user = UserFactory(username="dana")
    client.force_login(user)

    response = client.post(
        reverse("password_change"), {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD}
    )

    assert response.status_code == 200
    assert "new_password1" in response.context["form"].errors


# --- First passwords chosen by staff ---------------------------------------------------------


def test_a_first_password_from_staff_is_changed_before_any_page(client, client_record):
    open_portal_account(client=client_record, username="jordan.a", password="harbour-lantern-4471")
    assert sign_in(client, "jordan.a", "harbour-lantern-4471")

    for url in (reverse("scheduling:week"), reverse("home"), reverse("two_factor")):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("password_change")), url
    changed = client.post(
        reverse("password_change"),
        {"old_password": "harbour-lantern-4471", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert not PasswordChangeDue.objects.filter(user__username="jordan.a").exists()
    assert client.get(reverse("scheduling:week")).status_code == 200


def test_signing_out_stays_possible_before_the_password_is_changed(client, client_record):
    open_portal_account(client=client_record, username="jordan.a", password="harbour-lantern-4471")
    sign_in(client, "jordan.a", "harbour-lantern-4471")

    response = client.post(reverse("logout"))

    assert response.status_code == 302 and response.url == reverse("login")
    assert signed_in_as(client) is None


def test_a_password_staff_set_in_the_admin_must_be_changed(client):
    dana = UserFactory(username="dana")
    admin = WebClient()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    response = admin.post(
        reverse("admin:auth_user_password_change", args=[dana.pk]),
        {"password1": "harbour-lantern-4471", "password2": "harbour-lantern-4471", "usable_password": "true"},
    )

    assert response.status_code == 302
    assert PasswordChangeDue.objects.filter(user=dana).exists()
    assert sign_in(client, "dana", "harbour-lantern-4471")
    assert client.get(reverse("home")).url.startswith(reverse("password_change"))


def test_a_user_added_in_the_admin_changes_the_first_password(client):
    admin = WebClient()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    admin.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newbie",
            "password1": "harbour-lantern-4471",
            "password2": "harbour-lantern-4471",
            "usable_password": "true",
        },
    )

    assert PasswordChangeDue.objects.filter(user__username="newbie").exists()


def test_staff_changing_their_own_password_in_the_admin_is_not_asked_again(client):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)

    client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "harbour-lantern-4471", "password2": "harbour-lantern-4471", "usable_password": "true"},
    )

    assert not PasswordChangeDue.objects.filter(user=root).exists()


def test_a_bad_first_password_in_the_admin_writes_nothing():
    dana = UserFactory(username="dana")
    admin = WebClient()
    admin.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    before = PasswordChangeDue.objects.count()

    response = admin.post(
        reverse("admin:auth_user_password_change", args=[dana.pk]),
        {"password1": "harbour-lantern-4471", "password2": "something-else-4471", "usable_password": "true"},
    )

    assert response.status_code == 200
    assert PasswordChangeDue.objects.count() == before
    dana.refresh_from_db()
    assert dana.check_password(PASSWORD)
