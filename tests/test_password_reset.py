"""Password reset by e-mail: in the product's look, throttled, discreet, and never enough alone for
an account with a second factor."""

import datetime
import re

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from iop.discretion import undiscreet_words
from iop.models import PasswordChangeDue
from iop.passwords import password_chosen_by_staff
from tests.factories import PASSWORD, TherapistFactory, UserFactory
from tests.helpers import code_for, sign_in, with_authenticator

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "quiet-meadow-2290"
LINK = re.compile(r"/accounts/reset/[\w-]+/[\w-]+/")


def ask_reset(browser, email, **extra):
    return browser.post(reverse("password_reset"), {"email": email}, **extra)


def follow_mail_link(browser, message):
    """Open the link in the mail; Django moves the token into the session and shows the form."""
    response = browser.get(LINK.search(message.body).group(0))
    assert response.status_code == 302
    return response.url


def choose(browser, form_url, **extra):
    return browser.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD, **extra})


def test_the_sign_in_page_offers_a_reset_in_the_products_look(client):
    sign_in_page = client.get(reverse("login")).content.decode()
    reset_page = client.get(reverse("password_reset")).content.decode()

    assert f'href="{reverse("password_reset")}">Forgot your password?' in sign_in_page
    assert settings.CLINIC_SHORT_NAME in reset_page
    assert "Django" not in reset_page


def test_a_reset_mail_is_discreet_and_names_no_host(client):
    UserFactory(username="dana", email="dana@example.org")

    response = ask_reset(client, "dana@example.org")

    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    [message] = mail.outbox
    assert message.subject == f"Your {settings.CLINIC_SHORT_NAME} password"
    assert undiscreet_words(message.subject) == [] and undiscreet_words(message.body) == []
    assert "testserver" not in message.body and "http" not in message.body
    assert "dana" not in message.body
    assert LINK.search(message.body)


def test_a_configured_site_address_is_given_in_full(client, settings):
    settings.CLINIC_SITE_URL = "https://portal.example.org"
    UserFactory(email="dana@example.org")

    ask_reset(client, "dana@example.org")

    assert re.search(r"https://portal\.example\.org/accounts/reset/[\w-]+/[\w-]+/", mail.outbox[0].body)


def test_at_most_a_few_mails_an_hour_and_the_same_page_after(client):
    UserFactory(email="dana@example.org")

    answers = [ask_reset(client, "dana@example.org") for _ in range(settings.IOP_RESET_MAILS_PER_HOUR + 3)]

    assert len(mail.outbox) == settings.IOP_RESET_MAILS_PER_HOUR
    assert {(answer.status_code, answer.url) for answer in answers} == {(302, reverse("password_reset_done"))}


def test_one_address_cannot_send_mails_to_many_accounts(client):
    for number in range(settings.IOP_RESET_MAILS_PER_HOUR + 2):
        UserFactory(email=f"person{number}@example.org")

    for number in range(settings.IOP_RESET_MAILS_PER_HOUR + 2):
        ask_reset(client, f"person{number}@example.org", REMOTE_ADDR="203.0.113.9")

    assert len(mail.outbox) == settings.IOP_RESET_MAILS_PER_HOUR


def test_the_throttle_forgets_after_an_hour(client, clock):
    UserFactory(email="dana@example.org")
    for _ in range(settings.IOP_RESET_MAILS_PER_HOUR + 1):
        ask_reset(client, "dana@example.org")
    clock.shift(datetime.timedelta(minutes=61))

    ask_reset(client, "dana@example.org")

    assert len(mail.outbox) == settings.IOP_RESET_MAILS_PER_HOUR + 1


def test_the_reset_chooses_a_password_without_signing_in(client):
    user = UserFactory(email="dana@example.org")
    password_chosen_by_staff(user)
    ask_reset(client, "dana@example.org")
    form_url = follow_mail_link(client, mail.outbox[0])

    response = choose(client, form_url)

    assert response.status_code == 302 and response.url == reverse("password_reset_complete")
    assert client.session.get(SESSION_KEY) is None
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not PasswordChangeDue.objects.filter(user=user).exists()


def test_an_account_with_a_second_factor_needs_its_code_to_reset(client):
    therapist = TherapistFactory(user__email="dana@example.org")
    key, _ = with_authenticator(therapist.user)
    ask_reset(client, "dana@example.org")
    form_url = follow_mail_link(client, mail.outbox[0])

    without = choose(client, form_url)
    wrong = choose(client, form_url, otp_token="12345")

    assert without.status_code == 200 and "otp_token" in without.context["form"].errors
    assert wrong.status_code == 200 and "otp_token" in wrong.context["form"].errors
    therapist.user.refresh_from_db()
    assert therapist.user.check_password(PASSWORD)


def test_with_the_code_the_reset_works_and_the_next_sign_in_still_asks_it(client, settings, clock):
    settings.IOP_REQUIRE_2FA = True
    therapist = TherapistFactory(user__email="dana@example.org")
    key, _ = with_authenticator(therapist.user)
    ask_reset(client, "dana@example.org")
    form_url = follow_mail_link(client, mail.outbox[0])

    response = choose(client, form_url, otp_token=code_for(key, steps_ahead=1))

    assert response.status_code == 302
    assert client.session.get(SESSION_KEY) is None
    assert sign_in(client, therapist.user.username, NEW_PASSWORD)
    clock.shift(datetime.timedelta(seconds=60))
    assert client.get(reverse("therapist:dashboard")).url.startswith(reverse("two_factor_verify"))


def test_staff_without_a_second_factor_get_no_mail_when_it_is_required(client, settings):
    settings.IOP_REQUIRE_2FA = True
    UserFactory(email="boss@example.org", is_staff=True)
    TherapistFactory(user__email="dana@example.org")

    first = ask_reset(client, "boss@example.org")
    second = ask_reset(client, "dana@example.org")

    assert first.url == second.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_bad_new_password_is_a_field_error_and_changes_nothing(client):
    user = UserFactory(email="dana@example.org")
    ask_reset(client, "dana@example.org")
    form_url = follow_mail_link(client, mail.outbox[0])

    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})

    assert response.status_code == 200 and response.context["form"].errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_the_mail_is_not_sent_when_the_clinic_name_gives_the_care_away(client, settings):
    settings.CLINIC_SHORT_NAME = "Riverside Recovery"
    UserFactory(email="dana@example.org")

    ask_reset(client, "dana@example.org")

    assert mail.outbox == []
