"""Nothing about one partner reaches the other through the portal: not their name, not the groups
they do not share, not the fact that they are partners. Every portal page (found from the URL
resolver, so a page added tomorrow is checked the day it lands) and the calendar feed of each
partner is read for the other."""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from clients.services import link_partners
from scheduling.enrolment import enroll_client
from tests.factories import ClientFactory, TherapyGroupFactory, UserFactory
from tests.helpers import make_slot

pytestmark = pytest.mark.django_db


def portal_routes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from portal_routes(pattern, route)
        elif isinstance(pattern, URLPattern) and route.startswith("schedule/") and "<int:" not in route:
            yield route


@pytest.fixture
def couple(agreement, therapist, today):
    first = ClientFactory(legal_first_name="Quentin", legal_last_name="Zabriskie", preferred_name="Quin")
    second = ClientFactory(legal_first_name="Ursula", legal_last_name="Vandermeer", preferred_name="Ulla")
    for person, username in ((first, "quin"), (second, "ulla")):
        person.portal_user = UserFactory(username=username)
        person.save(update_fields=["portal_user"])
    link_partners(client=first, partner=second)
    shared = TherapyGroupFactory(name="Shared skills", facilitator=therapist, room="Room 101")
    own = {
        first: TherapyGroupFactory(name="Harbour process", kind="process", room="Room 102"),
        second: TherapyGroupFactory(name="Lighthouse support", kind="support", room="Room 103"),
    }
    make_slot(shared, weekday=(today + datetime.timedelta(days=1)).weekday(), start="10:00", today=today)
    make_slot(own[first], weekday=(today + datetime.timedelta(days=2)).weekday(), start="12:00", today=today)
    make_slot(own[second], weekday=(today + datetime.timedelta(days=3)).weekday(), start="14:00", today=today)
    for person in (first, second):
        enroll_client(client=person, group=shared, on=today)
        enroll_client(client=person, group=own[person], on=today)
    return first, second, own


def words_about(person, their_group) -> list[str]:
    return [person.legal_first_name, person.legal_last_name, person.preferred_name, their_group.name]


@pytest.mark.parametrize("who", [0, 1])
def test_no_portal_page_or_feed_tells_one_partner_about_the_other(client, couple, who, today):
    me, partner = couple[who], couple[1 - who]
    own = couple[2]
    client.force_login(me.portal_user)
    pages = sorted(set(portal_routes()))
    assert "schedule/" in pages and "schedule/feed/<str:token>.ics" in pages

    next_week = today + datetime.timedelta(weeks=1)
    paths = ["/" + route.replace("<str:token>", me.calendar_token) for route in pages]
    paths.append(f"/schedule/?week={next_week.isocalendar().year}-W{next_week.isocalendar().week:02d}")
    read, weeks = 0, ""
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            continue
        read += 1
        text = response.content.decode()
        for word in words_about(partner, own[partner]):
            assert word not in text, f"{path} names {word!r}"
        assert not re.search(r"partner|couple", text, re.IGNORECASE), f"{path} says they are partners"
        if path.startswith("/schedule/?") or path == "/schedule/":
            weeks += text
    assert read >= 6
    # The pages are the client's own: their own groups are there, the shared one too.
    assert own[me].name in weeks and "Shared skills" in weeks
