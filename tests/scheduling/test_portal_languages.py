"""The portal speaks the signed-in client's preferred language (iop/i18n.py): Spanish for a
Spanish-speaking client, English for an English one and for a language the clinic has no
translation for; staff and therapist pages stay in the clinic's language whatever the browser or
the clients speak. Signed out, the sign-in and password pages speak the language the address
names (``?lang=es``, or the person a reset link is for)."""

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse

from clients.models import Client
from clients.services import latest_agreement, sign_agreement
from progress.checkins import record_measure
from scheduling.enrolment import enroll_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"/accounts/reset/[\w-]+/[\w-]+/")

# Each page the client reaches from the portal, with a text it shows in English and in Spanish.
PORTAL_PAGES = {
    "week": (lambda client: reverse("scheduling:week"), "Add your schedule to your phone", "Agregue su horario"),
    "replace link": (lambda client: reverse("scheduling:rotate_feed"), "Replace your calendar link?", "¿Reemplazar su"),
    "check-in": (lambda client: reverse("portal:check_in"), "How has your mood been", "¿Cómo ha estado su estado"),
    "PHQ-9": (lambda client: reverse("portal:phq9"), "Feeling down, depressed", "Se ha sentido decaído"),
    "GAD-7": (lambda client: reverse("portal:gad7"), "Feeling nervous, anxious", "Se ha sentido nervioso"),
    "answered": (
        lambda client: reverse(
            "portal:questionnaire_done",
            args=[record_measure(client=client, instrument="gad7", answers={f"item_{n}": 1 for n in range(1, 8)}).pk],
        ),
        "Your answers to the",
        "Sus respuestas al",
    ),
    "history": (lambda client: reverse("portal:history"), "Weekly check-ins", "Reportes semanales"),
    "progress": (lambda client: reverse("portal:progress"), "My hours each week", "Mis horas cada semana"),
    "change password": (lambda client: reverse("password_change"), "Change your password", "Cambiar su contraseña"),
    "language": (lambda client: reverse("scheduling:language"), "Your language", "Su idioma"),
    "before your first group": (lambda client: reverse("scheduling:preparation"), "What to expect", "Qué esperar"),
    "two-step sign-in": (lambda client: reverse("two_factor"), "Turn it on", "Activarlo"),
    "set up two-step sign-in": (lambda client: reverse("two_factor_setup"), "Install an authenticator", "Instale una"),
}


@pytest.fixture
def portal_of(client, group, make_slot, today):
    """Signs in a client who speaks ``language``, a member of a group that meets this week."""

    def sign_in(language: str) -> Client:
        person = Client.objects.create(
            chart_number=f"L-{language}",
            legal_first_name="Ana",
            legal_last_name="Ruiz",
            date_of_birth=datetime.date(1990, 5, 17),
            status=Client.Status.ACTIVE,
            admission_date=today - datetime.timedelta(days=60),
            preferred_language=language,
            portal_user=UserFactory(username=f"portal-{language}"),
        )
        sign_agreement(client=person, agreement=latest_agreement(), witnessed_by=UserFactory())
        # The group is held in English; a client of another language joins it with a reason.
        enroll_client(
            client=person,
            group=group,
            on=today - datetime.timedelta(days=30),
            language_reason="Reads English; no group in their language meets this week.",
        )
        make_slot(group, weekday=today.weekday(), start="18:00", today=today)
        client.force_login(person.portal_user)
        return person

    return sign_in


def html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


@pytest.mark.parametrize("name", PORTAL_PAGES)
@pytest.mark.parametrize(
    ("language", "expected"), [("es", "es"), ("en", "en"), ("vi", "en")], ids=["spanish", "english", "vietnamese"]
)
def test_each_portal_page_speaks_the_clients_language(client, portal_of, agreement, name, language, expected):
    person = portal_of(language)
    url, english, spanish = PORTAL_PAGES[name]

    response = client.get(url(person), headers={"accept-language": "en" if language == "es" else "es"})

    page = response.content.decode()
    assert response.status_code == 200
    assert html_lang(page) == expected and response["Content-Language"] == expected
    assert (spanish if expected == "es" else english) in page
    assert (english if expected == "es" else spanish) not in page
    assert ("Cerrar sesión" if expected == "es" else "Sign out") in page


def test_the_spanish_week_writes_dates_and_times_the_spanish_way(client, portal_of, agreement, today):
    portal_of("es")

    page = client.get(reverse("scheduling:week")).content.decode()

    weekday = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")[today.weekday()]
    assert weekday in page
    assert "18:00 – 19:30" in page and not re.search(r"\d:\d\d [AP]M", page)
    assert "Semana del" in page and " de " in page


def test_the_english_week_keeps_the_clinics_formats(client, portal_of, agreement):
    portal_of("en")

    page = client.get(reverse("scheduling:week")).content.decode()

    assert "6:00 PM – 7:30 PM" in page and "Week of" in page


@pytest.mark.parametrize("accept", ["es", "es-MX,es;q=0.9"])
def test_staff_and_therapist_pages_stay_in_english_when_a_client_speaks_spanish(
    client, portal_of, agreement, staff_user, therapist, accept
):
    portal_of("es")
    for user, url in ((staff_user, reverse("admin:index")), (therapist.user, reverse("therapist:dashboard"))):
        client.force_login(user)

        response = client.get(url, headers={"accept-language": accept})

        page = response.content.decode()
        assert response.status_code == 200
        assert response["Content-Language"] == "en"
        assert "Cerrar sesión" not in page and "Inicio" not in page


def test_the_sign_in_page_speaks_the_language_its_address_names(client):
    english = client.get(reverse("login"), headers={"accept-language": "es"}).content.decode()
    spanish = client.get(reverse("login"), {"lang": "es"}).content.decode()
    unknown = client.get(reverse("login"), {"lang": "vi"}).content.decode()

    assert "Forgot your password?" in english and html_lang(english) == "en"
    assert "¿Olvidó su contraseña?" in spanish and html_lang(spanish) == "es"
    assert 'action="/accounts/login/?lang=es"' in spanish  # a wrong password answers in Spanish too
    assert "Forgot your password?" in unknown and html_lang(unknown) == "en"


def test_a_spanish_speaking_clients_password_mail_and_reset_pages_are_in_spanish(client, client_record, settings):
    Client.objects.filter(pk=client_record.pk).update(
        preferred_language="es", portal_user=UserFactory(email="ana@example.org")
    )

    client.post(reverse("password_reset"), {"email": "ana@example.org"})

    [message] = mail.outbox
    assert message.subject == f"Su contraseña de {settings.CLINIC_SHORT_NAME}"
    assert "Alguien pidió elegir una contraseña nueva" in message.body
    form_url = client.get(LINK.search(message.body).group(0)).url
    form_page = client.get(form_url).content.decode()
    assert "Elegir una contraseña nueva" in form_page and html_lang(form_page) == "es"
    done = client.post(form_url, {"new_password1": "quiet-meadow-2290", "new_password2": "quiet-meadow-2290"})
    assert done.url == reverse("password_reset_complete") + "?lang=es"
    assert "Su contraseña nueva está guardada." in client.get(done.url).content.decode()


def test_an_english_speakers_password_mail_stays_in_english(client, settings):
    UserFactory(email="dana@example.org")

    client.post(reverse("password_reset"), {"email": "dana@example.org"})

    assert mail.outbox[0].subject == f"Your {settings.CLINIC_SHORT_NAME} password"


def test_a_reset_link_with_a_malformed_id_answers_in_english_without_error(client):
    for uid in ("!!!", "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "MA"):
        response = client.get(reverse("password_reset_confirm", args=[uid, "set-password"]))

        assert response.status_code == 200
        assert html_lang(response.content.decode()) == "en"


# --- The client chooses their own language ------------------------------------------------------


def test_the_client_switches_their_language_and_the_change_is_audited(client, portal_of, agreement):
    from audit.models import AuditEvent

    person = portal_of("en")
    last = AuditEvent.objects.order_by("pk").last().pk

    response = client.post(reverse("scheduling:language"), {"preferred_language": "es"})

    assert response.status_code == 302 and response.url == reverse("scheduling:week")
    person.refresh_from_db()
    assert person.preferred_language == "es"
    change = AuditEvent.objects.filter(pk__gt=last, action="change").get()
    assert change.detail == "changed: preferred_language"
    page = client.get(reverse("scheduling:week")).content.decode()
    assert "Su idioma está guardado." in page and html_lang(page) == "es"


@pytest.mark.parametrize("chosen", ["fr", "xx", "", "es'; --"])
def test_a_language_not_offered_is_a_field_error_and_changes_nothing(client, portal_of, agreement, chosen):
    from audit.models import AuditEvent

    person = portal_of("en")
    events = AuditEvent.objects.filter(action="change").count()

    response = client.post(reverse("scheduling:language"), {"preferred_language": chosen})

    assert response.status_code == 200
    assert response.context["form"].errors["preferred_language"]
    person.refresh_from_db()
    assert person.preferred_language == "en"
    assert AuditEvent.objects.filter(action="change").count() == events


def test_a_client_whose_language_has_no_translation_keeps_it_on_offer(client, portal_of, agreement):
    portal_of("vi")

    page = client.get(reverse("scheduling:language")).content.decode()

    assert 'value="vi"' in page and 'value="es"' in page and 'value="en"' in page
    assert 'value="fr"' not in page


@pytest.mark.parametrize("who", ["anonymous", "staff", "therapist"])
def test_the_language_page_is_for_clients_only(client, staff_user, therapist, who):
    if who != "anonymous":
        client.force_login(staff_user if who == "staff" else therapist.user)

    response = client.post(reverse("scheduling:language"), {"preferred_language": "es"})

    assert response.status_code == (302 if who == "anonymous" else 404)
