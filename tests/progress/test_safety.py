"""Safety alerts: raised by PHQ-9 item 9 above 0 whoever enters it, shown at the top of every page
of the client's therapists, closed by the follow-up one of them records; and who reaches an alert."""

import datetime

import pytest
from django.conf import settings
from django.http import Http404
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from groups.models import Membership
from progress import safety
from progress.checkins import record_measure
from progress.models import MeasureResponse, SafetyAlert
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def phq9(item_9: int) -> dict:
    return {**{f"item_{n}": 1 for n in range(1, 9)}, "item_9": item_9}


@pytest.fixture
def member(members):
    """A member of the therapist's group (tests/progress/conftest.py)."""
    return members[0]


@pytest.fixture
def alert(member):
    response = record_measure(client=member, instrument="phq9", answers=phq9(2))
    return response.safety_alert


def test_an_alert_is_raised_with_the_response_whoever_enters_it(member, staff_user, now):
    response = record_measure(
        client=member,
        instrument="phq9",
        answers=phq9(1),
        source=MeasureResponse.Source.PAPER,
        entered_by=staff_user,
        occasion=MeasureResponse.Occasion.DISCHARGE,
        taken_on=now - datetime.timedelta(days=1),
    )

    alert = SafetyAlert.objects.get(response=response)
    assert alert.client == member and alert.is_open
    assert AuditEvent.objects.filter(model="progress.safetyalert", action="create", client_id=member.pk).exists()


def test_a_gad7_or_a_phq9_without_item_9_raises_none(member):
    record_measure(client=member, instrument="phq9", answers=phq9(0))
    record_measure(client=member, instrument="gad7", answers={f"item_{n}": 3 for n in range(1, 8)})

    assert not SafetyAlert.objects.exists()


def test_the_response_and_its_alert_are_saved_together_or_not_at_all(member, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the alert could not be saved")

    monkeypatch.setattr("progress.checkins.raise_alert", fail)
    with pytest.raises(RuntimeError):
        record_measure(client=member, instrument="phq9", answers=phq9(3))

    assert not MeasureResponse.objects.exists()


# --- At the top of every therapist page ---------------------------------------------------------------


@pytest.mark.parametrize("page", ["dashboard", "session", "note", "group", "overdue"])
def test_the_facilitator_sees_the_open_alert_on_every_page(facilitator_client, session, alert, page):
    urls = {
        "dashboard": reverse("therapist:dashboard"),
        "session": reverse("therapist:session", args=[session.pk]),
        "note": reverse("therapist:note", args=[session.pk]),
        "group": reverse("therapist:group", args=[session.group_id]),
        "overdue": reverse("therapist:overdue_notes"),
    }

    html = facilitator_client.get(urls[page]).content.decode()

    assert 'data-testid="safety-alerts"' in html
    assert reverse("therapist:alert", args=[alert.pk]) in html


def test_the_co_facilitator_sees_it_and_another_therapist_does_not(client, group, other_therapist, alert, therapist):
    client.force_login(other_therapist.user)
    assert 'data-testid="safety-alerts"' not in client.get(reverse("therapist:dashboard")).content.decode()

    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])

    assert 'data-testid="safety-alerts"' in client.get(reverse("therapist:dashboard")).content.decode()


def test_a_client_who_left_the_group_is_no_longer_the_therapists_to_follow_up(facilitator_client, member, alert, today):
    Membership.objects.filter(client=member).update(
        status=Membership.Status.ENDED, ended_on=today, end_reason=Membership.EndReason.TRANSFERRED
    )

    assert 'data-testid="safety-alerts"' not in facilitator_client.get(reverse("therapist:dashboard")).content.decode()
    assert facilitator_client.get(reverse("therapist:alert", args=[alert.pk])).status_code == 404
    # Staff still see it in the admin until someone records the follow-up.
    assert list(safety.open_alerts()) == [alert]


def test_the_portal_and_the_admin_do_not_show_the_banner(client, portal_user, alert):
    client.force_login(portal_user)

    assert 'data-testid="safety-alerts"' not in client.get(reverse("scheduling:week")).content.decode()


# The banner as its template drew it before it was drawn in Python (``progress_safety._banner``):
# the drawn markup is what this writes, byte for byte.
FORMER_BANNER = """{% if alerts %}
<section class="alert alert-danger mb-3 no-print" aria-labelledby="safety-alerts-heading" data-testid="safety-alerts">
  <h2 class="h6 mb-2" id="safety-alerts-heading">Safety alerts to follow up</h2>
  <ul class="list-unstyled mb-0">
    {% for alert in alerts %}
      <li class="d-flex flex-wrap justify-content-between align-items-center gap-2 py-1" data-alert="{{ alert.pk }}">
        <span><strong>{{ alert.client.display_name }}</strong> ({{ alert.client.chart_number }}) — PHQ-9 item 9 answered “{% if alert.response.item_9 == 1 %}Several days{% elif alert.response.item_9 == 2 %}More than half the days{% else %}Nearly every day{% endif %}”, {{ alert.raised_at|date:"D M j, g:i A" }}</span>
        <a class="btn btn-sm btn-danger" href="{% url 'therapist:alert' alert.pk %}">Record follow-up<span class="visually-hidden"> for {{ alert.client.display_name }}</span></a>
      </li>
    {% endfor %}
  </ul>
  {% if more_alerts %}<p class="small mb-0 mt-1">More open alerts are waiting; each one followed up brings the next.</p>{% endif %}
</section>
{% endif %}
"""  # noqa: E501 (the template's lines as they were)


def drawn_banner(user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load progress_safety %}{% safety_alerts_banner %}").render(RequestContext(request))


@pytest.mark.parametrize("count", [0, 1, 3, safety.ALERTS_SHOWN, safety.ALERTS_SHOWN + 1, safety.ALERTS_SHOWN + 4])
def test_the_banner_shows_the_oldest_open_alerts_as_its_template_did(therapist, members, now, count):
    members[0].legal_first_name = '<b>Ann</b> & "Co"'
    members[0].save(update_fields=["legal_first_name"])
    members[1].preferred_name = "Bea"
    members[1].save(update_fields=["preferred_name"])
    for n in range(count):
        alert = record_measure(client=members[n % 3], instrument="phq9", answers=phq9(1 + n % 3)).safety_alert
        # Raised in another order than saved: oldest first is not the order of the ids.
        SafetyAlert.objects.filter(pk=alert.pk).update(raised_at=now - datetime.timedelta(hours=(n * 7) % 17))
    followed_up = record_measure(client=members[2], instrument="phq9", answers=phq9(3)).safety_alert
    safety.record_follow_up(alert=followed_up, by=therapist.user, contacted_by="phone", outcome="Called.")
    oldest = list(safety.open_alerts_for_therapist(therapist)[: safety.ALERTS_SHOWN + 1])
    former = Template(FORMER_BANNER).render(
        Context({"alerts": oldest[: safety.ALERTS_SHOWN], "more_alerts": len(oldest) > safety.ALERTS_SHOWN})
    )

    banner = drawn_banner(therapist.user)

    assert banner == former
    assert banner.count("<li ") == min(count, safety.ALERTS_SHOWN)
    assert ("More open alerts are waiting" in banner) == (count > safety.ALERTS_SHOWN)
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; &quot;Co&quot;" in banner if count else banner == "\n"
    # One read recorded, a row for each client of the alerts read (one more than shown, if any).
    recorded = AuditEvent.objects.filter(action="view", model="progress.safetyalert", detail="open safety alerts")
    assert sorted(recorded.values_list("client_id", flat=True)) == sorted({alert.client_id for alert in oldest})


def test_another_therapist_and_a_user_who_is_no_therapist_get_no_banner(other_therapist, staff_user, alert):
    assert drawn_banner(other_therapist.user) == "\n"
    assert drawn_banner(staff_user) == "\n"
    assert not AuditEvent.objects.filter(detail="open safety alerts").exists()


# --- The follow-up ------------------------------------------------------------------------------------


def follow_up_post(now, **overrides):
    data = {
        "followed_up_at": timezone.localtime(now).strftime("%Y-%m-%dT%H:%M"),
        "contacted_by": "phone",
        "outcome": "Called; safety plan reviewed, no plan or intent; seen tomorrow.",
    }
    data.update(overrides)
    return data


def test_the_follow_up_form_opens_with_now_and_the_therapist(facilitator_client, alert, now, therapist):
    page = facilitator_client.get(reverse("therapist:alert", args=[alert.pk])).content.decode()

    assert timezone.localtime(now).strftime("%Y-%m-%dT%H:%M") in page
    assert therapist.user.get_full_name() in page
    assert "More than half the days" in page


def test_recording_the_follow_up_closes_the_alert_for_everyone(facilitator_client, alert, therapist, now):
    response = facilitator_client.post(reverse("therapist:alert", args=[alert.pk]), follow_up_post(now))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert not alert.is_open
    assert (alert.followed_up_by, alert.contacted_by) == (therapist.user, "phone")
    assert 'data-testid="safety-alerts"' not in facilitator_client.get(reverse("therapist:dashboard")).content.decode()
    assert AuditEvent.objects.filter(model="progress.safetyalert", action="change").exists()
    closed = facilitator_client.get(reverse("therapist:alert", args=[alert.pk])).content.decode()
    assert 'data-alert-state="closed"' in closed


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"outcome": "  "}, "outcome"),
        ({"contacted_by": ""}, "contacted_by"),
        ({"contacted_by": "carrier pigeon"}, "contacted_by"),
        ({"followed_up_at": "yesterday"}, "followed_up_at"),
        ({"followed_up_at": ""}, "followed_up_at"),
    ],
)
def test_a_bad_follow_up_gets_a_field_error_and_changes_nothing(facilitator_client, alert, now, overrides, field):
    response = facilitator_client.post(reverse("therapist:alert", args=[alert.pk]), follow_up_post(now, **overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    alert.refresh_from_db()
    assert alert.is_open


def test_a_follow_up_in_the_future_or_before_the_alert_is_refused(facilitator_client, alert, now):
    for moment in (now + datetime.timedelta(hours=2), alert.raised_at - datetime.timedelta(hours=2)):
        post = follow_up_post(now, followed_up_at=timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M"))
        response = facilitator_client.post(reverse("therapist:alert", args=[alert.pk]), post)
        assert "followed_up_at" in response.context["form"].errors
    alert.refresh_from_db()
    assert alert.is_open


def test_a_second_follow_up_is_refused(alert, therapist, other_therapist):
    safety.record_follow_up(alert=alert, by=therapist.user, contacted_by="video", outcome="Seen by video.")

    with pytest.raises(Exception, match="already recorded"):
        safety.record_follow_up(alert=alert, by=other_therapist.user, contacted_by="phone", outcome="Called.")


# --- Who reaches the follow-up page ------------------------------------------------------------------


def test_facilitator_and_co_facilitator_get_in(client, group, alert, therapist, other_therapist):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    for user in (therapist.user, other_therapist.user):
        client.force_login(user)
        assert client.get(reverse("therapist:alert", args=[alert.pk])).status_code == 200


@pytest.mark.parametrize("who", ["other therapist", "substitute", "client", "the client who answered", "staff"])
def test_everyone_else_gets_404(
    client, alert, other_therapist, substitute, group, portal_user, staff_user, member, who
):
    if who == "substitute":
        from tests.helpers import make_session

        make_session(group, facilitator=substitute)
    if who == "the client who answered":
        member.portal_user = UserFactory(username="answering-client")
        member.save(update_fields=["portal_user"])
    user = {
        "other therapist": other_therapist.user,
        "substitute": substitute.user,
        "client": portal_user,
        "the client who answered": member.portal_user,
        "staff": staff_user,
    }[who]
    client.force_login(user)

    for method in ("get", "post"):
        assert getattr(client, method)(reverse("therapist:alert", args=[alert.pk])).status_code == 404
    alert.refresh_from_db()
    assert alert.is_open


def test_anonymous_is_sent_to_login(client, alert):
    response = client.get(reverse("therapist:alert", args=[alert.pk]))

    assert response.status_code == 302 and response.url.startswith(reverse(settings.LOGIN_URL))


def test_a_missing_alert_is_404_like_someone_elses(facilitator_client):
    assert facilitator_client.get(reverse("therapist:alert", args=[987654])).status_code == 404


def test_a_clients_history_stays_readable_by_the_therapist_of_an_ended_membership(
    client, member, therapist, other_therapist, today
):
    from progress.selectors import clients_of_therapist, get_client_for_therapist

    Membership.objects.filter(client=member).update(
        status=Membership.Status.ENDED, ended_on=today, end_reason=Membership.EndReason.COMPLETED
    )

    assert member not in clients_of_therapist(therapist)
    assert get_client_for_therapist(therapist.user, member.pk) == member
    with pytest.raises(Http404):
        get_client_for_therapist(therapist.user, member.pk, history=False)
    with pytest.raises(Http404):
        get_client_for_therapist(other_therapist.user, member.pk)
