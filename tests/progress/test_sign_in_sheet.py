"""The printable sign-in sheet of a session: what it carries, and who may print it."""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse

from audit.models import AuditEvent
from groups.models import Membership
from iop.permissions import CLINIC_STAFF
from scheduling.enrolment import enroll_client
from tests.factories import ClientFactory, UserFactory
from tests.helpers import make_session

pytestmark = pytest.mark.django_db


def sheet_url(session) -> str:
    return reverse("therapist:sign_in_sheet", args=[session.pk])


def test_the_sheet_lists_each_member_expected_with_the_meetings_facts(
    facilitator_client, session, members, group, other_therapist
):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    # Joined after the meeting began: on the meetings to come, not on this one's sheet.
    late = ClientFactory(legal_first_name="Lucinda", legal_last_name="Latecomer")
    enroll_client(client=late, group=group, on=session.starts_at.date() + datetime.timedelta(days=1))

    response = facilitator_client.get(sheet_url(session))

    body = response.content.decode()
    assert response.status_code == 200
    for member in members:
        assert f"{member.legal_first_name} {member.legal_last_name}" in body
    assert "Latecomer" not in body
    assert body.count('<td class="sheet-signature"></td>') == len(members)
    assert f"Members expected at this meeting ({len(members)})" in body
    assert session.group.name in body
    assert session.room in body
    assert str(session.facilitator) in body and str(other_therapist) in body
    assert "Confidential." in body


def test_the_sheet_prints_without_the_navigation(facilitator_client, session):
    body = facilitator_client.get(sheet_url(session)).content.decode()

    assert "css/sign_in_sheet.css" in body
    # The safety banner of the therapist's pages names other clients: not on paper handed round.
    assert "safety-alert" not in body


def test_printing_the_sheet_is_a_read_of_its_members(facilitator_client, session, members):
    before = AuditEvent.objects.count()

    facilitator_client.get(sheet_url(session))

    events = AuditEvent.objects.order_by("pk")[before:]
    assert {event.client_id for event in events} == {member.pk for member in members}
    assert {event.detail for event in events} == {"sign-in sheet"}


def test_the_sheet_is_linked_from_the_therapists_session_page(facilitator_client, session):
    page = facilitator_client.get(reverse("therapist:session", args=[session.pk])).content.decode()

    assert sheet_url(session) in page


def test_the_sheet_is_linked_from_the_admins_session_page(staff_client, session):
    page = staff_client.get(reverse("admin:scheduling_session_change", args=[session.pk])).content.decode()

    assert sheet_url(session) in page


# --- Who may print it -----------------------------------------------------------------------


def test_facilitator_co_facilitator_and_staff_get_the_sheet(client, group, session, other_therapist, staff_user):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    for user in (group.facilitator.user, other_therapist.user, staff_user):
        client.force_login(user)
        assert client.get(sheet_url(session)).status_code == 200


def test_a_substitute_gets_the_sheet_of_the_meeting_they_cover_only(client, group, members, substitute, session):
    covered = make_session(group, facilitator=substitute)
    client.force_login(substitute.user)

    assert client.get(sheet_url(covered)).status_code == 200
    assert client.get(sheet_url(session)).status_code == 404


@pytest.mark.parametrize("who", ["other therapist", "client", "staff without the session permission"])
def test_everyone_else_gets_404(client, session, other_therapist, portal_user, who):
    user = {
        "other therapist": other_therapist.user,
        "client": portal_user,
        "staff without the session permission": UserFactory(is_staff=True),
    }[who]
    client.force_login(user)
    before = AuditEvent.objects.count()

    assert client.get(sheet_url(session)).status_code == 404
    assert AuditEvent.objects.count() == before


def test_a_missing_session_is_404_like_someone_elses(client, staff_user, facilitator_client):
    assert facilitator_client.get(reverse("therapist:sign_in_sheet", args=[987654])).status_code == 404
    client.force_login(staff_user)
    assert client.get(reverse("therapist:sign_in_sheet", args=[987654])).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, session):
    response = client.get(sheet_url(session))

    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


def test_a_member_who_left_before_the_meeting_is_not_on_it(facilitator_client, group, members, now, today):
    leaver = members[0]
    Membership.objects.filter(client=leaver, group=group).update(
        status=Membership.Status.ENDED,
        ended_on=today - datetime.timedelta(days=2),
        end_reason=Membership.EndReason.WITHDREW,
    )
    later = make_session(group, starts_at=now - datetime.timedelta(hours=1))

    body = facilitator_client.get(sheet_url(later)).content.decode()

    assert leaver.legal_last_name not in body
    assert members[1].legal_last_name in body


def test_staff_group_holds_the_session_permission_the_sheet_asks_for():
    assert Group.objects.get(name=CLINIC_STAFF).permissions.filter(codename="view_session").exists()
