"""Nothing that leaves the clinic gives the care away (DESIGN.md, "Discreet outside the clinic").

Every reminder kind by every channel, and the calendar feed, for a meeting in person, by video and
at the clinic of a hybrid group, with the most telling names staff could have typed: no listed
word, no group name, no part of a video link, no one's name, no host in a calendar UID. Rooms
with such names are refused when saved; the names below are written around the forms, as data
saved before the rule would be, to show that the messages' own guard holds too.
"""

import datetime
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from clients.models import Client
from groups.models import TherapyGroup
from iop.discretion import undiscreet_words
from scheduling import calendar, reminders
from scheduling.channels import MemorySmsBackend
from scheduling.enrolment import enroll_client
from scheduling.forms import TherapyGroupAdminForm, WeeklySlotForm
from scheduling.models import Reminder, Session, WeeklySlot
from scheduling.services import cancel_session, save_slot
from tests.factories import TherapistFactory, UserFactory
from tests.helpers import session_change_post

pytestmark = pytest.mark.django_db

CLINIC = "Riverside Health"
PHONE = "(312) 555-0142"
VIDEO_LINK = "https://video.example.org/opioid-recovery-group?pwd=k7Qx2"
TELLING_ROOMS = {"in_person": "Counseling Room 4", "hybrid": "Substance Use Suite"}


@pytest.fixture(autouse=True)
def clinic(settings):
    settings.CLINIC_SHORT_NAME = CLINIC
    settings.CLINIC_PHONE = PHONE


@pytest.fixture
def co_facilitator(db):
    return TherapistFactory(user__first_name="Quinn", user__last_name="Halvorsen")


def telling_group(modality: str, *, therapist, co_facilitator, today) -> TherapyGroup:
    return TherapyGroup.objects.create(
        name=f"Opioid Recovery Circle ({modality})",
        kind=TherapyGroup.Kind.PROCESS,
        capacity=10,
        facilitator=therapist,
        co_facilitator=co_facilitator,
        modality=modality,
        room="Room 7" if modality != "virtual" else "",
        video_link=VIDEO_LINK if modality != "in_person" else "",
        start_date=today - datetime.timedelta(days=60),
    )


@pytest.fixture(params=["in_person", "virtual", "hybrid"])
def telling_session(request, therapist, co_facilitator, client_record, other_client, now, today):
    """A meeting 30 hours ahead of a group with a telling name, its room renamed behind the forms'
    back, the story's client reminded by email and the other client by SMS."""
    modality = request.param
    group = telling_group(modality, therapist=therapist, co_facilitator=co_facilitator, today=today)
    for person in (client_record, other_client):
        enroll_client(client=person, group=group, on=today - datetime.timedelta(days=30))
    Client.objects.filter(pk=other_client.pk).update(reminder_channel=Client.ReminderChannel.SMS, phone="+15550199")
    starts_at = now.replace(microsecond=0) + datetime.timedelta(hours=30)
    session = Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=90),
        objective="Identify triggers for relapse",
        facilitator=therapist,
        # The in-person meeting of a hybrid group keeps the link: members may join by video.
        room=group.room,
        video_link=group.video_link,
    )
    if modality in TELLING_ROOMS:
        Session.objects.filter(pk=session.pk).update(room=TELLING_ROOMS[modality])
        session.refresh_from_db()
    return session


def secrets_of(session: Session, *people: Client) -> list[str]:
    group = session.group
    names = [part for person in people for part in (person.legal_first_name, person.legal_last_name)]
    names += [part for leader in group.facilitators() for part in (leader.user.first_name, leader.user.last_name)]
    return [
        group.name,
        group.get_kind_display(),
        session.objective,
        "video.example.org",
        "opioid-recovery-group",
        "k7Qx2",
        "Identify triggers",
        "Dr. Whitfield is unwell",
        *names,
    ]


def assert_discreet(text: str, secrets: list[str]) -> None:
    assert undiscreet_words(text) == [], text
    for secret in secrets:
        assert secret.lower() not in text.lower(), (secret, text)


def send_every_kind(session: Session, *, now, django_capture_on_commit_callbacks) -> None:
    """Each reminder kind by each client's channel, then the cancellation notices."""
    for client_id, channel in session.group.memberships.values_list("client_id", "client__reminder_channel"):
        for kind in reminders.reminder_kinds():
            row = Reminder.objects.create(
                session=session,
                client_id=client_id,
                channel=channel,
                kind=kind,
                session_starts_at=session.starts_at,
                send_at=now,
            )
            assert reminders.send_reminder(reminder_id=row.pk).status == "sent"
    with django_capture_on_commit_callbacks(execute=True):
        cancel_session(session=session, reason="Dr. Whitfield is unwell")


def test_every_reminder_kind_by_every_channel_is_discreet(
    telling_session, client_record, other_client, now, django_capture_on_commit_callbacks
):
    send_every_kind(telling_session, now=now, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    kinds = len(reminders.reminder_kinds()) + 1
    assert len(mail.outbox) == kinds and len(MemorySmsBackend.outbox) == kinds
    assert Reminder.objects.filter(status=Reminder.Status.SENT).count() == 2 * kinds
    secrets = secrets_of(telling_session, client_record, other_client)
    for email in mail.outbox:
        for part in (email.subject, email.body, email.alternatives[0][0], email.from_email, email.extra_headers):
            assert_discreet(str(part), secrets)
    for sms in MemorySmsBackend.outbox:
        assert_discreet(sms["body"], secrets)


EXPECTED_PLACE = {
    "in_person": CLINIC,
    "virtual": "Online (the join link is in your portal)",
    "hybrid": f"{CLINIC}, or online (the join link is in your portal)",
}


def test_reminders_say_where_and_give_the_phone_number(telling_session, now, django_capture_on_commit_callbacks):
    send_every_kind(telling_session, now=now, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    place = EXPECTED_PLACE[telling_session.group.modality]
    reminder_email = next(email for email in mail.outbox if "cancelled" not in email.subject)
    reminder_sms = next(sms["body"] for sms in MemorySmsBackend.outbox if "cancelled" not in sms["body"])
    assert f"Where: {place}" in reminder_email.body
    assert f"Where: {place}" in reminder_email.alternatives[0][0]
    assert f"Where: {place}." in reminder_sms
    assert f"please call us at {PHONE}" in reminder_email.body
    assert f"Call us at {PHONE}" in reminder_sms
    assert "Join by video" not in reminder_email.body


def feed_events(client, client_record, **headers) -> tuple[str, list]:
    body = client.get(reverse("scheduling:feed", args=[client_record.calendar_token]), **headers).content
    return re.sub(r"\r\n[ \t]", "", body.decode()), Calendar.from_ical(body).walk("VEVENT")


def test_the_calendar_feed_is_discreet(client, telling_session, client_record, other_client, settings):
    settings.ALLOWED_HOSTS = ["testserver", "iop.example.org"]
    cancelled = Session.objects.create(
        group=telling_session.group,
        starts_at=telling_session.starts_at + datetime.timedelta(days=1),
        ends_at=telling_session.ends_at + datetime.timedelta(days=1),
        objective=telling_session.objective,
        facilitator=telling_session.facilitator,
        room=telling_session.room,
        video_link=telling_session.video_link,
        status=Session.Status.CANCELLED,
        cancellation_reason="Dr. Whitfield is unwell",
    )

    body, events = feed_events(client, client_record, HTTP_HOST="iop.example.org")

    assert len(events) == 2
    assert_discreet(body, [*secrets_of(telling_session, client_record, other_client), "iop.example.org"])
    assert {str(event["location"]) for event in events} == {EXPECTED_PLACE[telling_session.group.modality]}
    uids = [str(event["uid"]) for event in events]
    assert len(set(uids)) == 2
    for uid in uids:
        assert "@" not in uid and "testserver" not in uid and "session" not in uid
        assert str(telling_session.pk) != uid and str(cancelled.pk) != uid


def test_calendar_uids_are_the_same_at_every_fetch_from_any_host(client, telling_session, client_record, settings):
    settings.ALLOWED_HOSTS = ["testserver", "portal.example.org"]

    _, first = feed_events(client, client_record)
    _, again = feed_events(client, client_record, HTTP_HOST="portal.example.org")

    assert [str(event["uid"]) for event in first] == [str(event["uid"]) for event in again]
    assert [str(event["uid"]) for event in first] == [calendar.event_uid(telling_session)]


@pytest.mark.parametrize("video_link", ["", VIDEO_LINK])
def test_a_telling_room_is_replaced_by_the_clinic_name_and_logged(caplog, video_link):
    place = Session(room="Counseling Room 4", video_link=video_link).where

    with caplog.at_level("WARNING", logger="scheduling.models"):
        words = place.outside(clinic=CLINIC)

    assert words == EXPECTED_PLACE["hybrid" if video_link else "in_person"]
    assert "Counseling Room 4" in caplog.text


# --- One answer to "where is this session" -----------------------------------------------------


@pytest.fixture
def portal(client, client_record):
    client_record.portal_user = UserFactory()
    client_record.save(update_fields=["portal_user"])
    client.force_login(client_record.portal_user)
    return client


def test_a_hybrid_meeting_at_the_clinic_is_announced_where_the_schedule_shows_it(
    portal, therapist, co_facilitator, client_record, now, today
):
    group = telling_group("hybrid", therapist=therapist, co_facilitator=co_facilitator, today=today)
    enroll_client(client=client_record, group=group, on=today - datetime.timedelta(days=30))
    starts_at = now.replace(microsecond=0) + datetime.timedelta(hours=3)
    session = Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=60),
        objective="Practise refusal skills",
        facilitator=therapist,
        room="Room 7",
        video_link=VIDEO_LINK,
    )
    week = timezone.localdate(starts_at).strftime("%G-W%V")

    reminders.sweep()
    page = portal.get(reverse("scheduling:week"), {"week": week}).content.decode()

    assert "Room 7, or online" in page and "Join video" in page
    assert "Where: Room 7, or online (the join link is in your portal)" in mail.outbox[0].body
    assert session.where.in_words() == "Room 7, or online"


# --- Rooms with telling names are refused where they are saved ---------------------------------


def test_a_group_room_that_gives_the_care_away_is_a_field_error(group):
    form = TherapyGroupAdminForm(
        instance=group,
        data={
            "name": group.name,
            "kind": group.kind,
            "status": group.status,
            "start_date": group.start_date.isoformat(),
            "capacity": group.capacity,
            "enrolment": group.enrolment,
            "facilitator": group.facilitator_id,
            "language": group.language,
            "audience": group.audience,
            "modality": group.modality,
            "room": "Counseling Room 4",
        },
    )

    assert not form.is_valid()
    assert "Counseling" in str(form.errors["room"])
    group.refresh_from_db()
    assert group.room == "Room 101"


@pytest.mark.parametrize("room", ["Substance Use Suite", "Detox Lounge", "sobriety room"])
def test_a_slot_room_that_gives_the_care_away_is_refused_and_saves_nothing(group, room, today):
    slot = WeeklySlot(
        group=group,
        weekday=today.weekday(),
        start_time=datetime.time(18),
        duration_minutes=90,
        room=room,
        default_objective="Identify triggers",
        effective_from=today,
    )
    form = WeeklySlotForm(
        instance=WeeklySlot(group=group),
        data={
            "weekday": slot.weekday,
            "start_time": "18:00",
            "duration_minutes": 90,
            "room": room,
            "default_objective": "Identify triggers",
            "effective_from": today.isoformat(),
        },
    )

    assert not form.is_valid() and "room" in form.errors
    with pytest.raises(ValidationError) as refused:
        save_slot(slot=slot, today=today)
    assert "room" in refused.value.message_dict
    assert (WeeklySlot.objects.count(), Session.objects.count()) == (0, 0)


def test_a_session_room_that_gives_the_care_away_is_a_field_error_in_the_admin(staff_client, group, make_slot, today):
    session = make_slot(group, weekday=today.weekday(), today=today).sessions.latest("starts_at")
    response = staff_client.post(
        reverse("admin:scheduling_session_change", args=[session.pk]),
        session_change_post(session, room="Behavioral Health Room"),
    )

    assert response.status_code == 200
    assert "Behavioral" in str(response.context["adminform"].form.errors["room"])
    session.refresh_from_db()
    assert session.room == "Room 101"


# --- The last look before anything leaves ------------------------------------------------------


def test_a_message_with_a_listed_word_is_never_sent(settings, telling_session, now):
    # A short name whose system check was silenced: the channel refuses what the check would have.
    settings.CLINIC_SHORT_NAME = "Riverside Recovery"
    row = Reminder.objects.create(
        session=telling_session,
        client=telling_session.group.memberships.get(client__reminder_channel="email").client,
        channel=Reminder.Channel.EMAIL,
        kind=next(iter(reminders.reminder_kinds())),
        session_starts_at=telling_session.starts_at,
        send_at=now,
    )

    outcome = reminders.send_reminder(reminder_id=row.pk)

    row.refresh_from_db()
    assert outcome.status == "failed"
    assert (row.status, mail.outbox) == (Reminder.Status.FAILED, [])
    assert "Recovery" in row.last_error


# Words that would tell of a questionnaire or a safety alert.
MEASURE_WORDS = ["alert", "phq", "gad", "questionnaire", "check-in", "crisis", "988", "safety", "harm", "dead", "score"]
# An event's UID is a keyed hash written in hex: "988" and "dead" turn up in one now and then.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_a_safety_alert_and_questionnaires_never_reach_a_reminder_or_the_feed(
    client, telling_session, client_record, other_client, now, django_capture_on_commit_callbacks
):
    from progress.checkins import record_measure, save_check_in
    from progress.models import SafetyAlert

    with django_capture_on_commit_callbacks(execute=True):
        for person in (client_record, other_client):
            record_measure(
                client=person, instrument="phq9", answers={f"item_{n}": 2 for n in range(1, 10)}, difficulty=2
            )
            save_check_in(client=person, mood=2, coping=3, cravings=8, what_helped="Nothing")
    assert SafetyAlert.objects.count() == 2
    # Raising the alert sends nothing to anyone.
    assert mail.outbox == [] and MemorySmsBackend.outbox == []

    send_every_kind(telling_session, now=now, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    body = client.get(reverse("scheduling:feed", args=[client_record.calendar_token])).content.decode()

    texts = [body] + [sms["body"] for sms in MemorySmsBackend.outbox]
    texts += [part for email in mail.outbox for part in (email.subject, email.body, email.alternatives[0][0])]
    assert len(texts) > 1
    for text in texts:
        words = UUID.sub("", text.lower())
        for word in MEASURE_WORDS:
            assert word not in words, (word, text)
