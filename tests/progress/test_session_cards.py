"""The dashboard's session cards (``progress_cards.session_cards``): each says when and where the
session is, who leads it when the group's facilitator does not, and what is left to do."""

import datetime
import re

import pytest
from django.urls import reverse

from iop.clock import local_start
from progress import notes
from scheduling.services import cancel_session
from tests.factories import PASSWORD, TherapistFactory
from tests.helpers import make_session, record_everyone_present, write_note

pytestmark = [pytest.mark.django_db, pytest.mark.now("2026-11-18T12:00")]  # a Wednesday

WEDNESDAY = datetime.date(2026, 11, 18)


def at(day_offset: int, hour: int) -> datetime.datetime:
    return local_start(WEDNESDAY + datetime.timedelta(days=day_offset), datetime.time(hour))


def card_text(page: str, session) -> str:
    """The words of the session's card, tags removed and spaces collapsed."""
    card = re.search(rf'<a [^>]*data-session="{session.pk}">(.*?)</a>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


def test_each_card_says_when_where_who_and_what_is_left_to_do(facilitator_client, group, members, therapist):
    substitute = TherapistFactory(user__first_name="Sam", user__last_name="Ortiz", credentials="LCSW")
    this_morning = make_session(group, starts_at=at(0, 11), objective="Naming triggers")
    this_afternoon = make_session(group, starts_at=at(0, 15), facilitator=substitute, objective="Urge surfing")
    this_afternoon.room, this_afternoon.video_link = "", "https://video.example.org/urge-surfing"
    this_afternoon.save(update_fields=["room", "video_link"])
    friday = cancel_session(session=make_session(group, starts_at=at(2, 18)), reason="Clinic closed")
    monday = make_session(group, starts_at=at(-2, 18), objective="Coping plans")
    record_everyone_present(monday, members, by=therapist.user)
    notes.sign_note(note=write_note(monday, members, by=therapist.user), user=therapist.user, password=PASSWORD)
    tuesday = make_session(group, starts_at=at(-1, 18), objective="Sleep")

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert card_text(page, this_morning) == (
        "11:00 AM–12:30 PM · " + group.name + " Naming triggers Room 101 · 3 members Attendance to take"
    )
    assert card_text(page, this_afternoon) == (
        "3:00 PM–4:30 PM · " + group.name + " Urge surfing Video · 3 members · substitute: Sam Ortiz, LCSW"
    )
    assert (
        card_text(page, friday)
        == f"Fri Nov 20, 6:00 PM–7:30 PM · {group.name} Identify triggers Room 101 · 3 members Cancelled"
    )
    assert (
        card_text(page, monday)
        == f"Mon Nov 16, 6:00 PM–7:30 PM · {group.name} Coping plans Room 101 · 3 members Note signed"
    )
    assert card_text(page, tuesday) == (
        f"Tue Nov 17, 6:00 PM–7:30 PM · {group.name} Sleep Room 101 · 3 members Not documented Attendance to take"
    )
    assert f'href="{reverse("therapist:session", args=[friday.pk])}"' in page
    assert 'data-state="not_documented"' in page


def test_a_card_escapes_what_staff_typed(facilitator_client, group, members):
    session = make_session(group, starts_at=at(0, 9), objective="<script>alert(1)</script>")

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card_text(page, session)
