"""A replaced facilitator keeps the meetings they led, not the group's later ones."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from progress import attendance, selectors
from scheduling.group_changes import change_facilitators
from scheduling.models import Session
from tests.factories import TherapistFactory
from tests.helpers import make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_lead(db):
    return TherapistFactory(user__username="new-lead")


@pytest.fixture
def upcoming(group):
    return make_session(group, starts_at=timezone.now() + datetime.timedelta(days=3))


def test_the_replaced_facilitator_gets_404_on_a_future_session_and_its_note(
    client, group, therapist, new_lead, upcoming
):
    change_facilitators(group=group, facilitator=new_lead)
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:session", args=[upcoming.pk])).status_code == 404
    assert client.get(reverse("therapist:note", args=[upcoming.pk])).status_code == 404


def test_the_replaced_facilitator_still_opens_a_past_session_they_led(
    client, group, members, therapist, new_lead, session
):
    record_everyone_present(session, members, by=therapist.user)
    change_facilitators(group=group, facilitator=new_lead)
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:session", args=[session.pk])).status_code == 200
    assert client.get(reverse("therapist:note", args=[session.pk])).status_code == 200
    note = write_note(session, members, by=therapist.user)
    assert note.created_by == therapist.user


def test_the_new_facilitator_opens_the_future_session(client, group, new_lead, upcoming):
    change_facilitators(group=group, facilitator=new_lead)
    client.force_login(new_lead.user)

    assert client.get(reverse("therapist:session", args=[upcoming.pk])).status_code == 200
    assert client.get(reverse("therapist:group", args=[group.pk])).status_code == 200


def test_the_replaced_facilitator_cannot_mark_a_moved_session_held(group, therapist, new_lead, upcoming):
    change_facilitators(group=group, facilitator=new_lead)
    # Days pass: the meeting handed to the new lead has started.
    started = timezone.now() - datetime.timedelta(hours=1)
    Session.objects.filter(pk=upcoming.pk).update(starts_at=started, ends_at=started + datetime.timedelta(minutes=90))
    upcoming.refresh_from_db()

    assert not selectors.leads_session(therapist.user, upcoming)
    with pytest.raises(ValidationError) as refused:
        attendance.mark_held(session=upcoming, user=therapist.user)

    assert refused.value.messages == ["Only a facilitator of this session can mark it held."]
    upcoming.refresh_from_db()
    assert upcoming.status == Session.Status.SCHEDULED
    assert attendance.mark_held(session=upcoming, user=new_lead.user).status == Session.Status.HELD


def test_the_replaced_facilitator_loses_the_group_page_once_their_meetings_are_past(
    client, group, therapist, new_lead, upcoming
):
    make_session(group, starts_at=timezone.now() - datetime.timedelta(weeks=7))
    change_facilitators(group=group, facilitator=new_lead)
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:group", args=[group.pk])).status_code == 404
    assert group not in selectors.groups_for_therapist(therapist)


def test_the_replaced_facilitator_keeps_the_group_page_while_a_meeting_they_led_is_recent(
    client, group, therapist, new_lead, session
):
    change_facilitators(group=group, facilitator=new_lead)
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:group", args=[group.pk])).status_code == 200


def test_a_substitute_sees_the_group_page_for_a_meeting_they_cover(client, group, substitute):
    make_session(group, starts_at=timezone.now() + datetime.timedelta(days=3), facilitator=substitute)
    client.force_login(substitute.user)

    assert client.get(reverse("therapist:group", args=[group.pk])).status_code == 200


def test_an_inactive_therapist_leads_no_session(group, therapist, session):
    therapist.is_active = False
    therapist.save(update_fields=["is_active"])

    assert not selectors.leads_session(therapist.user, session)
