"""The demo's Spanish-speaking client sees the portal, a reminder and a calendar entry in Spanish
(issue 15, "Done when")."""

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from icalendar import Calendar

from clients.models import Client
from iop.discretion import undiscreet_words
from progress.demo_languages import SPANISH_DEMO_CHART
from scheduling import reminders
from scheduling.models import Reminder

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings):
    settings.CLINIC_PHONE = "(312) 555-0142"
    call_command("seed_demo", stdout=StringIO())
    return Client.objects.get(chart_number=SPANISH_DEMO_CHART)


def test_the_spanish_demo_client_reads_the_portal_in_spanish(client, demo):
    client.force_login(demo.portal_user)  # its password: tests/test_seed_demo.py::test_demo_logins_work

    page = client.get(reverse("scheduling:week")).content.decode()

    assert demo.preferred_language == "es" and demo.portal_user.username == "cliente"
    assert '<html lang="es">' in page and f"Hola, {demo.first_name}" in page
    assert "Su próxima sesión" in page and "Agregue su horario" in page


def test_the_spanish_demo_client_has_a_reminder_due_that_goes_out_in_spanish(demo):
    [due] = Reminder.objects.filter(client=demo, status=Reminder.Status.PENDING)

    assert reminders.send_reminder(reminder_id=due.pk).status == "sent"

    [message] = mail.outbox
    assert message.to == [demo.email]
    assert "Le recordamos su cita" in message.body and "Lugar:" in message.body
    assert undiscreet_words(" ".join((message.subject, message.body, message.alternatives[0][0]))) == []


def test_the_spanish_demo_clients_calendar_entries_are_in_spanish(client, demo):
    response = client.get(reverse("scheduling:feed", args=[demo.calendar_token]))

    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert events and {str(event["summary"]) for event in events} == {"Cita — Riverside Health"}


def test_seeding_twice_plans_her_reminder_once(demo):
    call_command("seed_demo", stdout=StringIO())

    assert Reminder.objects.filter(client=demo).count() == 1
