import datetime
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import parse_http_date
from icalendar import Calendar, Event

from audit.models import AuditEvent
from groups.models import Membership
from iop.discretion import undiscreet_words
from scheduling import calendar
from scheduling.calendar import event_uid
from scheduling.enrolment import end_membership, enroll_client
from scheduling.models import Session
from scheduling.services import cancel_session, rotate_calendar_token, save_slot, update_session
from tests.factories import TherapyGroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_sessions(group, make_slot, client_record):
    today = timezone.localdate()
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    slot = make_slot(group, weekday=0, today=today)
    return list(slot.sessions.order_by("starts_at"))


def feed_url(client_record):
    return reverse("scheduling:feed", args=[client_record.calendar_token])


def test_the_feed_parses_as_icalendar_with_one_event_per_session(client, client_record, member_sessions):
    response = client.get(feed_url(client_record))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    events = calendar.walk("VEVENT")
    assert len(events) == len(member_sessions)
    first = events[0]
    assert first.decoded("dtstart") == member_sessions[0].starts_at
    assert first.decoded("dtend") == member_sessions[0].ends_at
    assert str(first["summary"]) == "Appointment — Riverside Health"
    assert str(first["location"]) == member_sessions[0].room


def test_the_feed_is_discreet(client, client_record, member_sessions, group, settings):
    settings.CLINIC_SHORT_NAME = "Riverside Health"
    cancel_session(session=member_sessions[1], reason="Group facilitator ill")

    body = client.get(feed_url(client_record)).content.decode()

    unfolded = re.sub(r"\r\n[ \t]", "", body).lower()
    assert undiscreet_words(unfolded) == []
    for secret in [
        group.name,
        group.get_kind_display(),
        "Identify triggers",
        client_record.legal_last_name,
        group.facilitator.user.last_name,
    ]:
        assert secret.lower() not in unfolded


def icalendar_components(sessions, *, clinic_name):
    """The feed as icalendar's component objects write it: what scheduling.calendar wrote
    before it wrote the lines itself."""
    cal = Calendar()
    cal.add("prodid", f"-//{clinic_name}//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", clinic_name)
    for session in sessions:
        event = Event()
        event.add("uid", event_uid(session))
        event.add("dtstamp", timezone.now())
        event.add("last-modified", session.updated_at)
        event.add("dtstart", session.starts_at)
        event.add("dtend", session.ends_at)
        event.add("summary", f"Appointment — {clinic_name}")
        event.add("location", session.where.outside(clinic=clinic_name))
        event.add("status", "CANCELLED" if session.is_cancelled else "CONFIRMED")
        event.add("sequence", 1 if session.is_cancelled else 0)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    return cal.to_ical()


def parsed(body):
    calendar = Calendar.from_ical(body)
    header = {name: calendar.decoded(name) for name in calendar}
    return header, [{name: event.decoded(name) for name in event} for event in calendar.walk("VEVENT")]


@pytest.mark.now("2026-11-25 09:30")
def test_the_feed_written_line_by_line_is_what_icalendars_components_write():
    start = timezone.now() + datetime.timedelta(days=1)
    places = [
        {"room": "Room 2"},
        {"video_link": "https://video.example.org/r/abc"},
        {"room": "Salle Étoile, 2ᵉ étage; côté jardin — " + "au bout du couloir " * 4},
    ]
    sessions = [
        Session(
            pk=index + 1,
            starts_at=start + datetime.timedelta(days=index),
            ends_at=start + datetime.timedelta(days=index, minutes=75),
            updated_at=start - datetime.timedelta(hours=index),
            status=Session.Status.CANCELLED if index == 1 else Session.Status.SCHEDULED,
            **places[index % len(places)],
        )
        for index in range(6)
    ]
    clinic_name = "Riverside Health, Suite 4; Zoë's"

    written = calendar.client_calendar(sessions, clinic_name=clinic_name)

    assert parsed(written) == parsed(icalendar_components(sessions, clinic_name=clinic_name))
    lines = written.split(b"\r\n")
    assert lines[-1] == b""
    assert max(len(line) for line in lines) <= calendar.LINE_OCTETS
    assert any(line.startswith(b" ") for line in lines)  # the long place name is folded


def test_cancelled_sessions_are_cancelled_events(client, client_record, member_sessions):
    cancel_session(session=member_sessions[0], reason="Snow")

    events = Calendar.from_ical(client.get(feed_url(client_record)).content).walk("VEVENT")

    statuses = {str(e["uid"]): str(e["status"]) for e in events}
    assert statuses[event_uid(member_sessions[0])] == "CANCELLED"
    assert list(statuses.values()).count("CANCELLED") == 1


def test_an_unknown_token_is_404(client, client_record, member_sessions):
    assert client.get(reverse("scheduling:feed", args=["not-a-real-token"])).status_code == 404


def test_a_rotated_token_is_404_and_the_new_one_works(client, client_record, member_sessions):
    old = feed_url(client_record)

    rotate_calendar_token(client=client_record)

    assert client.get(old).status_code == 404
    assert client.get(feed_url(client_record)).status_code == 200


def test_the_client_rotates_their_link_from_the_portal(client, client_record):
    client_record.portal_user = UserFactory()
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)
    old_token = client_record.calendar_token

    response = client.post(reverse("scheduling:rotate_feed"), {"confirm": "replace"})

    client_record.refresh_from_db()
    assert response.status_code == 302
    assert client_record.calendar_token != old_token


@pytest.mark.parametrize("sent", [None, {}, {"confirm": "yes please"}])
def test_replacing_the_link_asks_first_and_changes_nothing_until_confirmed(client, client_record, sent):
    client_record.portal_user = UserFactory()
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)
    old_token = client_record.calendar_token
    url = reverse("scheduling:rotate_feed")

    response = client.get(url) if sent is None else client.post(url, sent)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Replace your calendar link?" in page
    assert 'name="confirm" value="replace"' in page
    client_record.refresh_from_db()
    assert client_record.calendar_token == old_token


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_only_a_client_can_rotate_from_the_portal(client, staff_user, client_record, who):
    if who == "staff":
        client.force_login(staff_user)
    old_token = client_record.calendar_token

    response = client.post(reverse("scheduling:rotate_feed"), {"confirm": "replace"})

    assert response.status_code in (302, 404)
    client_record.refresh_from_db()
    assert client_record.calendar_token == old_token


def test_the_portal_shows_the_feed_link(client, client_record):
    client_record.portal_user = UserFactory()
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)

    page = client.get(reverse("scheduling:week")).content.decode()

    assert client_record.calendar_token in page
    assert "Add your schedule to your phone" in page


def test_a_room_name_that_gives_the_care_away_is_not_in_the_feed(client, client_record, member_sessions, settings):
    from scheduling.models import Session

    settings.CLINIC_SHORT_NAME = "Riverside Health"
    # Written around the forms, which refuse such a name: the feed's own guard still holds.
    Session.objects.filter(pk=member_sessions[0].pk).update(room="Recovery Group Room")

    events = Calendar.from_ical(client.get(feed_url(client_record)).content).walk("VEVENT")

    locations = {str(event["location"]) for event in events}
    assert "Riverside Health" in locations
    assert not any("Recovery" in location for location in locations)


# --- Polling: a calendar app asks again every few minutes -----------------------------------


def test_a_repeat_poll_of_an_unchanged_feed_is_not_modified_and_empty(client, client_record, member_sessions):
    first = client.get(feed_url(client_record))

    again = client.get(feed_url(client_record), HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert first["ETag"].startswith('W/"')
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_a_poll_with_only_the_last_modified_time_is_not_modified(client, client_record, member_sessions):
    first = client.get(feed_url(client_record))

    again = client.get(feed_url(client_record), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert again.status_code == 304


def test_a_not_modified_poll_records_no_read_and_a_full_one_does(client, client_record, member_sessions):
    first = client.get(feed_url(client_record))
    reads = AuditEvent.objects.count()

    client.get(feed_url(client_record), HTTP_IF_NONE_MATCH=first["ETag"])
    not_modified_reads = AuditEvent.objects.count()
    client.get(feed_url(client_record))

    assert not_modified_reads == reads
    assert AuditEvent.objects.count() > reads


def test_an_unknown_token_with_a_version_is_still_404(client, client_record, member_sessions):
    etag = client.get(feed_url(client_record))["ETag"]

    response = client.get(reverse("scheduling:feed", args=["not-a-real-token"]), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 404


def test_a_not_modified_poll_costs_two_queries(client, client_record, member_sessions, django_assert_num_queries):
    etag = client.get(feed_url(client_record))["ETag"]

    # The client by its link (with when its memberships last changed), and the feed's summary.
    with django_assert_num_queries(2):
        assert client.get(feed_url(client_record), HTTP_IF_NONE_MATCH=etag).status_code == 304


def move_a_meeting(story):
    session = story.sessions[-1]
    later = datetime.timedelta(hours=1)
    update_session(session=session, starts_at=session.starts_at + later, ends_at=session.ends_at + later)


def cancel_a_meeting(story):
    cancel_session(session=story.sessions[-1], reason="Snow")


def add_a_meeting(story):
    story.make_slot(story.group, weekday=2, start="10:00", today=timezone.localdate())


def join_another_group(story):
    other = TherapyGroupFactory(facilitator=story.group.facilitator, capacity=8)
    story.make_slot(other, weekday=4, start="10:00", today=timezone.localdate())
    enroll_client(client=story.client_record, group=other, on=timezone.localdate())


def end_the_membership(story):
    membership = Membership.objects.get(client=story.client_record, group=story.group)
    end_membership(membership=membership, reason=Membership.EndReason.COMPLETED, on=timezone.localdate())


def move_the_slot_to_another_room(story):
    slot = story.sessions[0].slot
    slot.room = "Room 9"
    save_slot(slot=slot, today=timezone.localdate())


def rename_the_clinic(story):
    story.settings.CLINIC_SHORT_NAME = "Lakeside Health"


def a_day_passes(story):
    story.clock.shift(datetime.timedelta(days=1))


@pytest.mark.parametrize(
    "change",
    [
        move_a_meeting,
        cancel_a_meeting,
        add_a_meeting,
        join_another_group,
        end_the_membership,
        move_the_slot_to_another_room,
        rename_the_clinic,
        a_day_passes,
    ],
)
def test_every_change_to_what_the_feed_shows_changes_its_version(
    client, client_record, group, member_sessions, make_slot, settings, clock, change
):
    before = client.get(feed_url(client_record))
    story = SimpleNamespace(
        client_record=client_record,
        group=group,
        sessions=member_sessions,
        make_slot=make_slot,
        settings=settings,
        clock=clock,
    )

    change(story)
    after = client.get(feed_url(client_record), HTTP_IF_NONE_MATCH=before["ETag"])

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.content != b""


def test_a_rotated_link_has_a_version_of_its_own(client, client_record, member_sessions):
    before = client.get(feed_url(client_record))["ETag"]

    rotate_calendar_token(client=client_record)
    after = client.get(feed_url(client_record), HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after["ETag"] != before


def test_ending_a_membership_moves_the_last_modified_time(client, client_record, group, member_sessions, clock):
    before = client.get(feed_url(client_record))["Last-Modified"]
    membership = Membership.objects.get(client=client_record, group=group)
    # Last-Modified counts whole seconds.
    clock.shift(datetime.timedelta(seconds=2))
    ended_at = timezone.now()

    end_membership(membership=membership, reason=Membership.EndReason.COMPLETED, on=timezone.localdate())
    after = client.get(feed_url(client_record), HTTP_IF_MODIFIED_SINCE=before)

    assert after.status_code == 200
    assert parse_http_date(after["Last-Modified"]) >= int(ended_at.timestamp())
