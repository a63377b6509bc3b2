"""Reminders and calendar entries in the client's language, and discreet in every language
(DESIGN.md, "Discreet outside the clinic"; iop/discretion.py, iop/i18n.py)."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clients.models import Client
from iop.discretion import is_discreet, undiscreet_words
from scheduling import reminders
from scheduling.channels import MemorySmsBackend
from scheduling.selectors import calendar_feed_version, client_for_feed
from tests.scheduling import test_discretion as discretion
from tests.scheduling.test_discretion import CLINIC, PHONE, assert_discreet, secrets_of, send_every_kind

pytestmark = pytest.mark.django_db

# The same telling meetings (in person, by video, hybrid) as the English discretion tests.
clinic = discretion.clinic
co_facilitator = discretion.co_facilitator
telling_session = discretion.telling_session

SPANISH_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
SPANISH_PLACE = {
    "in_person": CLINIC,
    "virtual": "En línea (el enlace para unirse está en su portal)",
    "hybrid": f"{CLINIC}, o en línea (el enlace para unirse está en su portal)",
}


def speaks(*people: Client, language: str) -> None:
    Client.objects.filter(pk__in=[person.pk for person in people]).update(preferred_language=language)


def spanish_date_and_time(moment: datetime.datetime) -> tuple[str, str]:
    local = timezone.localtime(moment)
    months = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre")
    months += ("noviembre", "diciembre")
    return f"{SPANISH_DAYS[local.weekday()]} {local.day} de {months[local.month - 1]}", f"{local:%H:%M}"


# --- The discreet-word list holds in Spanish, accented or not -------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "terapia",
        "Terapia de grupo",
        "grupo de apoyo",
        "adicción",
        "adiccion",
        "adictos",
        "salud mental",
        "tratamiento",
        "recuperación",
        "recuperacion",
        "rehabilitación",
        "consejería",
        "consejeria",
        "asesoramiento",
        "desintoxicación",
        "sobriedad",
        "psiquiátrico",
        "psicólogo",
        "conductual",
        "sustancias",
        "drogas",
        "alcohólicos anónimos",
        "recaída",
        "recaida",
        "abstinencia",
        "sobredosis",
        "depresión",
        "ansiedad",
        "trastorno bipolar",
        "diagnóstico",
        "TEPT",
        "programa ambulatorio intensivo",
    ],
)
def test_spanish_words_for_the_care_are_on_the_list(text):
    assert undiscreet_words(text) != [], text
    assert undiscreet_words(text.upper()) != [], text


@pytest.mark.parametrize(
    "text",
    ["Cita — Riverside Health", "Le recordamos su cita", "Lugar: Sala 4", "en línea", "sobrino", "recordatorio"],
)
def test_ordinary_spanish_is_discreet(text):
    assert is_discreet(text)


def test_a_spanish_room_name_that_gives_the_care_away_is_refused(group):
    from django.core.exceptions import ValidationError

    from iop.discretion import validate_discreet

    with pytest.raises(ValidationError):
        validate_discreet("Sala de Terapia 2")


# --- Reminders ----------------------------------------------------------------------------------


def test_reminders_go_out_in_spanish_and_are_discreet(
    telling_session, client_record, other_client, now, django_capture_on_commit_callbacks
):
    speaks(client_record, other_client, language="es")

    send_every_kind(telling_session, now=now, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    kinds = len(reminders.reminder_kinds()) + 1
    assert len(mail.outbox) == kinds and len(MemorySmsBackend.outbox) == kinds
    secrets = secrets_of(telling_session, client_record, other_client)
    for email in mail.outbox:
        for part in (email.subject, email.body, email.alternatives[0][0]):
            assert_discreet(str(part), secrets)
        assert 'lang="es"' in email.alternatives[0][0]
    for sms in MemorySmsBackend.outbox:
        assert_discreet(sms["body"], secrets)

    day, time = spanish_date_and_time(telling_session.starts_at)
    place = SPANISH_PLACE[telling_session.group.modality]
    reminder_email = next(email for email in mail.outbox if "cancelada" not in email.subject)
    reminder_sms = next(sms["body"] for sms in MemorySmsBackend.outbox if "cancelada" not in sms["body"])
    assert reminder_email.subject == f"{CLINIC}: cita del {day} a las {time}"
    assert f"Le recordamos su cita con {CLINIC} el {day} a las {time}." in reminder_email.body
    assert f"Lugar: {place}" in reminder_email.body and f"Lugar: {place}" in reminder_email.alternatives[0][0]
    assert f"Si no puede venir, llámenos al {PHONE}." in reminder_email.body
    assert reminder_sms == (
        f"{CLINIC}: le recordamos su cita del {day} a las {time}. Lugar: {place}. ¿No puede venir? Llámenos al {PHONE}."
    )
    cancellation = next(email for email in mail.outbox if "cancelada" in email.subject)
    assert f"Su cita con {CLINIC} el {day} a las {time} está cancelada." in cancellation.body
    for english in ("appointment", "reminder", "Where", "call us"):
        assert english not in reminder_email.body and english not in reminder_sms


def test_each_member_of_a_session_gets_the_reminder_in_their_own_language(
    telling_session, client_record, other_client, now, django_capture_on_commit_callbacks
):
    speaks(client_record, language="es")
    speaks(other_client, language="vi")  # no Vietnamese translation yet: English

    send_every_kind(telling_session, now=now, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    assert all("Le recordamos" in m.body or "cancelada" in m.body for m in mail.outbox)  # the email goes to es
    assert all(
        sms["body"].startswith(f"{CLINIC}: reminder of your appointment") or "is cancelled" in sms["body"]
        for sms in MemorySmsBackend.outbox
    )


def test_a_change_of_language_reaches_the_reminders_still_to_go(telling_session, client_record, now):
    from scheduling.models import Reminder

    row = Reminder.objects.create(
        session=telling_session,
        client=client_record,
        channel=Reminder.Channel.EMAIL,
        kind=next(iter(reminders.reminder_kinds())),
        session_starts_at=telling_session.starts_at,
        send_at=now,
    )
    speaks(client_record, language="es")  # after the row was planned, before it is sent

    assert reminders.send_reminder(reminder_id=row.pk).status == "sent"
    assert "Le recordamos su cita" in mail.outbox[0].body


# --- The calendar feed --------------------------------------------------------------------------


def feed(client, client_record):
    response = client.get(reverse("scheduling:feed", args=[client_record.calendar_token]))
    return re.sub(r"\r\n[ \t]", "", response.content.decode()), Calendar.from_ical(response.content).walk("VEVENT")


def test_the_calendar_feed_speaks_spanish_and_is_discreet(client, telling_session, client_record, other_client):
    speaks(client_record, language="es")

    body, events = feed(client, client_record)

    assert_discreet(body, secrets_of(telling_session, client_record, other_client))
    assert [str(event["summary"]) for event in events] == [f"Cita — {CLINIC}"]
    assert str(events[0]["location"]) == SPANISH_PLACE[telling_session.group.modality]


def test_a_vietnamese_speakers_feed_is_in_english(client, telling_session, client_record):
    speaks(client_record, language="vi")

    _, events = feed(client, client_record)

    assert [str(event["summary"]) for event in events] == [f"Appointment — {CLINIC}"]


def test_a_change_of_language_changes_the_feeds_version(telling_session, client_record, today):
    before = calendar_feed_version(client_for_feed(client_record.calendar_token), today=today)
    speaks(client_record, language="es")

    after = calendar_feed_version(client_for_feed(client_record.calendar_token), today=today)

    assert before.etag != after.etag
