"""The client's week, made for a phone: the next session first, past sessions shown as past and
without their video link, today marked, the calendar link whole with a "Copy link" button (a
static script the Content-Security-Policy allows), and a question before the link is replaced."""

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from scheduling.enrolment import enroll_client
from scheduling.models import Session
from tests.factories import TherapyGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

WEEK = reverse("scheduling:week")
VIDEO = "https://video.example.org/j/123"


@pytest.fixture
def portal(client, client_record):
    client_record.portal_user = UserFactory()
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)
    return client


@pytest.fixture
def by_video(therapist, client_record, today):
    group = TherapyGroupFactory(facilitator=therapist, modality="virtual", room="", video_link=VIDEO)
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    return group


def meeting(group, starts_at, **fields) -> Session:
    return Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=60),
        objective=fields.pop("objective", "Practise refusal skills"),
        facilitator=group.facilitator,
        room=group.room,
        video_link=group.video_link,
        **fields,
    )


def cards(page: str) -> list[str]:
    return re.findall(r'<article class="card session-card.*?</article>', page, re.S)


def test_the_next_session_comes_first_and_past_ones_are_past_without_a_join_link(portal, by_video, now):
    past = meeting(by_video, now - datetime.timedelta(days=1), objective="Yesterday meeting")
    ahead = meeting(by_video, now + datetime.timedelta(days=1), objective="Tomorrow meeting")
    later = meeting(by_video, now + datetime.timedelta(days=2), objective="The day after")
    week = {timezone.localdate(s.starts_at).strftime("%G-W%V") for s in (past, ahead, later)}

    for iso_week in sorted(week):
        page = portal.get(WEEK, {"week": iso_week}).content.decode()

        # The next session, whatever week is shown, comes before the days.
        assert page.index('data-testid="next-session"') < page.index('data-testid="day"')
        next_card = page[page.index('data-testid="next-session"') :].split("</section>")[0]
        assert "Tomorrow meeting" not in next_card  # the card names the group, not the objective
        assert VIDEO in next_card and "Join video" in next_card
        for card in cards(page):
            if "Yesterday meeting" in card:
                assert "data-past" in card and 'data-testid="past"' in card and ">Past<" in card
                assert "Join video" not in card and VIDEO not in card
            elif "Tomorrow meeting" in card:
                assert 'data-testid="next"' in card and "Join video" in card and "data-past" not in card
            else:
                assert "data-past" not in card and "Join video" in card


def test_a_meeting_under_way_is_the_next_one_and_can_still_be_joined(portal, by_video, now):
    meeting(by_video, now - datetime.timedelta(minutes=20), objective="Under way")

    page = portal.get(WEEK).content.decode()

    next_card = page[page.index('data-testid="next-session"') :].split("</section>")[0]
    assert ">Now<" in next_card and "Join video" in next_card
    [card] = cards(page)
    assert "data-past" not in card and "Join video" in card


def test_today_is_marked_and_only_today(portal, by_video, now, today):
    meeting(by_video, now + datetime.timedelta(minutes=30))
    meeting(by_video, now + datetime.timedelta(days=7))  # next week: another page

    page = portal.get(WEEK).content.decode()

    assert page.count('aria-current="date"') == 1 and page.count('data-testid="today"') == 1
    today_section = page[page.index('aria-current="date"') - 200 :].split("</section>")[0]
    assert "day-today" in today_section


def test_a_cancelled_meeting_is_neither_next_nor_joinable_and_no_next_card_without_one(portal, by_video, now):
    meeting(by_video, now + datetime.timedelta(hours=3), status=Session.Status.CANCELLED, cancellation_reason="Snow")

    page = portal.get(WEEK).content.decode()

    assert 'data-testid="next-session"' not in page
    [card] = cards(page)
    assert "Cancelled: Snow" in card and "Join video" not in card


def test_the_calendar_link_is_whole_and_copyable_with_a_static_script(portal, client_record):
    page = portal.get(WEEK).content.decode()

    feed_url = f"http://testserver/schedule/feed/{client_record.calendar_token}.ics"
    assert f'<code id="feed-url">{feed_url}</code>' in page
    assert 'data-copy-target="feed-url"' in page and "Copy link" in page
    assert '<script src="/static/js/copy-link.js" defer></script>' in page
    # No inline script anywhere: the policy allows scripts from the app's own files only.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "script-src 'self'" in portal.get(WEEK)["Content-Security-Policy"]
    assert finders.find("js/copy-link.js") and finders.find("css/portal.css")


def test_the_copy_script_shows_its_button_only_when_it_runs():
    """Without script the page shows the link alone (the button is hidden in the HTML); the script
    (tests/browser/test_portal_phone.py runs it) shows it and copies the link's text."""
    script = Path(finders.find("js/copy-link.js")).read_text(encoding="utf-8")

    assert "button.hidden = false" in script and "navigator.clipboard.writeText" in script
    assert "innerHTML" not in script and "eval(" not in script


def test_replacing_the_link_is_a_link_to_a_question_not_a_button(portal):
    page = portal.get(WEEK).content.decode()

    assert f'href="{reverse("scheduling:rotate_feed")}"' in page
    assert f'action="{reverse("scheduling:rotate_feed")}"' not in page


def test_the_question_costs_few_queries_and_records_no_change(portal, client_record, django_assert_max_num_queries):
    token = client_record.calendar_token

    with django_assert_max_num_queries(8):
        response = portal.get(reverse("scheduling:rotate_feed"))

    assert response.status_code == 200
    client_record.refresh_from_db()
    assert client_record.calendar_token == token


@pytest.mark.parametrize("who", ["anonymous", "staff", "therapist"])
def test_the_question_is_for_clients_only(client, staff_user, therapist, who):
    if who == "staff":
        client.force_login(staff_user)
    elif who == "therapist":
        client.force_login(therapist.user)

    response = client.get(reverse("scheduling:rotate_feed"))

    assert response.status_code == (302 if who == "anonymous" else 404)
