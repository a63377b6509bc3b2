"""The client's weekly check-in and questionnaires in the portal: what is saved, what a bad send
changes (nothing), the crisis message, the history page and the prompt on the schedule page."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client
from progress.models import CheckIn, MeasureResponse, SafetyAlert
from tests.factories import CheckInFactory, MeasureResponseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portal(client, portal_user):
    client.force_login(portal_user)
    return client


def phq9_post(**overrides):
    data = {f"item_{n}": "1" for n in range(1, 10)}
    data["item_9"] = "0"
    data["difficulty"] = "1"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def gad7_post(**overrides):
    data = {f"item_{n}": "2" for n in range(1, 8)}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Check-in -------------------------------------------------------------------------------------


def test_client_checks_in_for_the_week(portal, client_record, today):
    response = portal.post(
        reverse("portal:check_in"), {"mood": "6", "coping": "7", "cravings": "2", "what_helped": "My sister's call"}
    )

    assert response.status_code == 302
    check_in = CheckIn.objects.get(client=client_record)
    assert (check_in.mood, check_in.coping, check_in.cravings) == (6, 7, 2)
    assert check_in.week.weekday() == 0 and 0 <= (today - check_in.week).days < 7
    assert AuditEvent.objects.filter(model="progress.checkin", action="create", client_id=client_record.pk).exists()


def test_a_second_check_in_the_same_week_changes_the_first(portal, client_record):
    portal.post(reverse("portal:check_in"), {"mood": "6", "coping": "7", "cravings": "2"})
    page = portal.get(reverse("portal:check_in")).content.decode()
    assert "You checked in this week already" in page

    portal.post(reverse("portal:check_in"), {"mood": "3", "coping": "4", "cravings": "5"})

    assert CheckIn.objects.filter(client=client_record).count() == 1
    assert CheckIn.objects.get(client=client_record).mood == 3


@pytest.mark.parametrize(
    "post",
    [
        {"coping": "7", "cravings": "2"},
        {"mood": "11", "coping": "7", "cravings": "2"},
        {"mood": "six", "coping": "7", "cravings": "2"},
        {"mood": "6", "coping": "7"},
        {"mood": "6", "coping": "7", "cravings": "2", "what_helped": "x" * 2001},
    ],
    ids=["mood missing", "mood 11", "mood a word", "cravings missing", "text too long"],
)
def test_a_bad_check_in_gets_a_field_error_and_saves_nothing(portal, post):
    before = CheckIn.objects.count(), AuditEvent.objects.filter(action="create").count()

    response = portal.post(reverse("portal:check_in"), post)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert "Nothing was saved" in response.content.decode()
    assert (CheckIn.objects.count(), AuditEvent.objects.filter(action="create").count()) == before


def test_a_program_without_the_cravings_question_neither_asks_nor_stores_it(portal, client_record, settings):
    settings.IOP_CHECK_IN_CRAVINGS = False
    assert "cravings" not in portal.get(reverse("portal:check_in")).content.decode().lower()

    portal.post(reverse("portal:check_in"), {"mood": "6", "coping": "7", "cravings": "9"})

    assert CheckIn.objects.get(client=client_record).cravings is None


# --- Questionnaires -------------------------------------------------------------------------------


def test_the_phq9_form_shows_the_published_items_as_radio_groups(portal):
    page = portal.get(reverse("portal:phq9")).content.decode()

    assert "Over the last 2 weeks, how often have you been bothered by any of the following problems?" in page
    assert page.count("<fieldset") == 10
    assert page.count("<legend") == 10
    assert "More than half the days" in page
    assert "Thoughts that you would be better off dead or of hurting yourself in some way" in page


def test_client_answers_a_gad7_and_sees_the_score(portal, client_record):
    response = portal.post(reverse("portal:gad7"), gad7_post(), follow=True)

    saved = MeasureResponse.objects.get(client=client_record)
    assert (saved.instrument, saved.total, saved.occasion, saved.source) == ("gad7", 14, "admission", "portal")
    assert saved.item_8 is None and saved.difficulty is None
    assert "Your score is 14 (moderate)" in response.content.decode()
    assert "crisis-message" not in response.content.decode()


def test_the_second_questionnaire_is_a_follow_up(portal, client_record):
    portal.post(reverse("portal:gad7"), gad7_post())
    portal.post(reverse("portal:gad7"), gad7_post())

    assert list(MeasureResponse.objects.order_by("pk").values_list("occasion", flat=True)) == [
        "admission",
        "follow_up",
    ]


@pytest.mark.parametrize(
    ("url", "post", "field"),
    [
        ("portal:phq9", phq9_post(item_4=None), "item_4"),
        ("portal:phq9", phq9_post(item_9="4"), "item_9"),
        ("portal:phq9", phq9_post(item_1="-1"), "item_1"),
        ("portal:gad7", gad7_post(item_7=None), "item_7"),
        ("portal:gad7", gad7_post(difficulty="9"), "difficulty"),
    ],
    ids=["phq9 item missing", "phq9 item 9 out of range", "phq9 negative", "gad7 item missing", "bad difficulty"],
)
def test_a_bad_questionnaire_gets_a_field_error_and_saves_nothing(portal, url, post, field):
    before = MeasureResponse.objects.count(), SafetyAlert.objects.count()

    response = portal.post(reverse(url), post)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert f'id="id_{field}-error"' in response.content.decode()
    assert (MeasureResponse.objects.count(), SafetyAlert.objects.count()) == before


def test_item_9_above_0_shows_the_crisis_message_at_once_and_raises_an_alert(portal, client_record, settings):
    settings.IOP_CRISIS_LINE = "988 Suicide & Crisis Lifeline — call or text 988"
    settings.CLINIC_PHONE = "(312) 555-0142"

    response = portal.post(reverse("portal:phq9"), phq9_post(item_9="1"), follow=True)

    page = response.content.decode()
    assert 'id="crisis-message"' in page
    assert "988 Suicide &amp; Crisis Lifeline — call or text 988" in page
    assert "(312) 555-0142" in page
    alert = SafetyAlert.objects.get(client=client_record)
    assert alert.is_open and alert.response.item_9 == 1


def test_a_phq9_without_item_9_raises_no_alert(portal):
    response = portal.post(reverse("portal:phq9"), phq9_post(), follow=True)

    assert "crisis-message" not in response.content.decode()
    assert not SafetyAlert.objects.exists()


def test_the_clinic_may_hide_scores_from_clients(portal, client_record, settings):
    settings.IOP_PORTAL_SHOWS_SCORES = False

    done = portal.post(reverse("portal:gad7"), gad7_post(), follow=True).content.decode()
    history = portal.get(reverse("portal:history")).content.decode()

    assert "score" not in done.lower() and "moderate" not in done.lower()
    assert "score" not in history.lower() and "moderate" not in history.lower()
    assert "Nearly every day" in history or "More than half the days" in history


def test_history_shows_the_clients_own_answers_only(portal, client_record, other_client, today):
    CheckInFactory(client=client_record, mood=4, what_helped="Morning walks")
    CheckInFactory(client=other_client, mood=9, what_helped="Someone else's secret")
    MeasureResponseFactory(client=client_record, total=12)
    MeasureResponseFactory(client=other_client, total=24)

    page = portal.get(reverse("portal:history")).content.decode()

    assert "Morning walks" in page and "Someone else&#x27;s secret" not in page
    assert "score 12 (moderate)" in page and "score 24" not in page
    assert AuditEvent.objects.filter(model="progress.measureresponse", action="view").exists()


def test_another_clients_questionnaire_is_not_found(portal, other_client):
    theirs = MeasureResponseFactory(client=other_client)

    assert portal.get(reverse("portal:questionnaire_done", args=[theirs.pk])).status_code == 404


# --- The prompt on the schedule page --------------------------------------------------------------


def test_the_schedule_page_prompts_for_what_is_due(portal, client_record):
    page = portal.get(reverse("scheduling:week")).content.decode()
    assert 'data-testid="portal-prompt"' in page
    assert "Weekly check-in" in page and "PHQ-9 questionnaire" in page and "GAD-7 questionnaire" in page

    CheckInFactory(client=client_record)
    MeasureResponseFactory(client=client_record)
    MeasureResponseFactory(client=client_record, instrument="gad7", total=5)

    assert 'data-testid="portal-prompt"' not in portal.get(reverse("scheduling:week")).content.decode()


def test_a_questionnaire_is_due_again_after_the_interval(portal, client_record, now, settings):
    import datetime

    settings.IOP_MEASURE_INTERVAL_DAYS = 14
    CheckInFactory(client=client_record)
    MeasureResponseFactory(client=client_record, taken_on=now - datetime.timedelta(days=14))
    MeasureResponseFactory(client=client_record, instrument="gad7", total=5, taken_on=now - datetime.timedelta(days=13))

    page = portal.get(reverse("scheduling:week")).content.decode()

    assert "PHQ-9 questionnaire" in page and "GAD-7 questionnaire" not in page


# --- Who gets in -----------------------------------------------------------------------------------

PORTAL_URLS = ["portal:check_in", "portal:phq9", "portal:gad7", "portal:history"]


@pytest.mark.parametrize("name", PORTAL_URLS)
def test_the_client_gets_in(portal, name):
    assert portal.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", [*PORTAL_URLS, "portal:questionnaire_done"])
@pytest.mark.parametrize("who", ["therapist", "staff"])
def test_therapists_and_staff_get_404(client, therapist, staff_user, client_record, who, name):
    response_row = MeasureResponseFactory(client=client_record)
    client.force_login(therapist.user if who == "therapist" else staff_user)
    args = [response_row.pk] if name == "portal:questionnaire_done" else []

    assert client.get(reverse(name, args=args)).status_code == 404


@pytest.mark.parametrize("name", PORTAL_URLS)
def test_anonymous_is_sent_to_login(client, name):
    assert client.get(reverse(name)).status_code == 302


@pytest.mark.parametrize("name", ["portal:check_in", "portal:phq9", "portal:gad7"])
def test_a_discharged_client_has_no_forms(portal, client_record, today, name):
    Client.objects.filter(pk=client_record.pk).update(status=Client.Status.DISCHARGED, discharge_date=today)

    assert portal.get(reverse(name)).status_code == 404
