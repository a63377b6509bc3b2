"""Staff in the admin: open safety alerts (filter open / followed up) and their follow-up, paper
questionnaires entered through the service; and the therapist dashboard's clients not on track."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from progress.checkins import record_measure
from progress.models import MeasureResponse, SafetyAlert
from tests.factories import MeasureResponseFactory

pytestmark = pytest.mark.django_db


def phq9(item_9=0):
    return {**{f"item_{n}": 1 for n in range(1, 9)}, "item_9": item_9}


@pytest.fixture
def member(members):
    return members[0]


@pytest.fixture
def alert(member):
    return record_measure(client=member, instrument="phq9", answers=phq9(1)).safety_alert


def paper_post(member, **overrides):
    data = {
        "client": member.pk,
        "instrument": "phq9",
        "occasion": "discharge",
        "taken_on": timezone.localtime().strftime("%Y-%m-%d %H:%M"),
        **{f"item_{n}": "2" for n in range(1, 10)},
        "difficulty": "1",
    }
    data.update(overrides)
    return data


def test_staff_see_open_alerts_and_filter_them(staff_client, alert, member, therapist):
    url = reverse("admin:progress_safetyalert_changelist")

    assert member.display_name in staff_client.get(url + "?state=open").content.decode()
    assert member.display_name not in staff_client.get(url + "?state=closed").content.decode()
    assert staff_client.get(reverse("admin:progress_safetyalert_change", args=[alert.pk])).status_code == 200


def test_staff_record_the_follow_up_through_the_service(staff_client, staff_user, alert):
    url = reverse("admin:progress_safetyalert_follow_up", args=[alert.pk])
    post = {
        "followed_up_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "contacted_by": "phone",
        "outcome": "Reached by phone; therapist informed.",
    }

    assert staff_client.post(url, {**post, "outcome": ""}).status_code == 200
    alert.refresh_from_db()
    assert alert.is_open

    assert staff_client.post(url, post).status_code == 302
    alert.refresh_from_db()
    assert alert.followed_up_by == staff_user and not alert.is_open


def test_staff_cannot_change_or_delete_an_alert(staff_client, alert):
    change = staff_client.post(reverse("admin:progress_safetyalert_change", args=[alert.pk]), {"outcome": "x"})
    delete = staff_client.post(reverse("admin:progress_safetyalert_delete", args=[alert.pk]), {"post": "yes"})

    assert change.status_code == 403 and delete.status_code == 403
    alert.refresh_from_db()
    assert alert.is_open


def test_staff_enter_a_paper_phq9_and_item_9_raises_the_alert(staff_client, staff_user, member):
    response = staff_client.post(reverse("admin:progress_measureresponse_add"), paper_post(member))

    assert response.status_code == 302
    saved = MeasureResponse.objects.get(client=member)
    assert (saved.source, saved.entered_by, saved.occasion, saved.total) == ("paper", staff_user, "discharge", 18)
    assert SafetyAlert.objects.filter(response=saved).exists()


@pytest.mark.parametrize(
    "overrides",
    [{"item_3": ""}, {"item_3": "5"}, {"instrument": "gad7"}, {"taken_on": "2999-01-01 10:00"}, {"client": "0"}],
    ids=["item missing", "item out of range", "gad7 with items 8 and 9", "in the future", "no such client"],
)
def test_a_bad_paper_questionnaire_changes_nothing(staff_client, member, overrides):
    response = staff_client.post(reverse("admin:progress_measureresponse_add"), paper_post(member, **overrides))

    assert response.status_code == 200
    assert response.context["form"].errors
    assert (MeasureResponse.objects.count(), SafetyAlert.objects.count()) == (0, 0)


def test_the_dashboard_lists_clients_not_on_track(facilitator_client, members, other_client, now):
    worse, better = members[0], members[1]
    MeasureResponseFactory(client=worse, total=8, taken_on=now - datetime.timedelta(weeks=6))
    MeasureResponseFactory(client=worse, total=14, taken_on=now - datetime.timedelta(days=2))
    MeasureResponseFactory(client=better, total=18, taken_on=now - datetime.timedelta(weeks=6))
    MeasureResponseFactory(client=better, total=9, taken_on=now - datetime.timedelta(days=2))
    MeasureResponseFactory(client=other_client, total=8, taken_on=now - datetime.timedelta(weeks=6))
    MeasureResponseFactory(client=other_client, total=20, taken_on=now - datetime.timedelta(days=2))

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert 'data-testid="not-on-track"' in page
    assert worse.display_name in page and "PHQ-9 8 → 14: reliable deterioration" in page
    assert better.display_name not in page
    assert other_client.display_name not in page  # not in the therapist's groups
