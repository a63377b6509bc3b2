"""The discharge summary: the facts of the stay gathered on a fixed clock, the draft and the
signature (refused in the bad cases, nothing written then), the lock and the frozen facts once
signed, access per role, and the page's queries."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from groups.models import Membership
from iop.permissions import CLINICAL_SUPERVISOR
from progress import discharge
from progress.models import Attendance, DischargeSummary, SignedNoteLocked, TreatmentPlan
from scheduling.enrolment import discharge_client
from scheduling.models import Session
from tests.factories import (
    PASSWORD,
    AttendanceFactory,
    GoalFactory,
    MeasureResponseFactory,
    MembershipFactory,
    TherapyGroupFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.helpers import make_session

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def member(members):
    return members[0]


@pytest.fixture
def stay(member, therapist, now, today):
    """Four meetings in the member's stay: present at two (90 and 60 minutes of 90), absent at one,
    one cancelled (not scheduled for them); a PHQ-9 that fell from 15 to 6; one goal met."""
    met = [make_session(member.memberships.get().group, starts_at=now - days * DAY) for days in (12, 8, 5)]
    make_session(member.memberships.get().group, starts_at=now - 3 * DAY, status=Session.Status.CANCELLED)
    AttendanceFactory(session=met[0], client=member)
    AttendanceFactory(session=met[1], client=member, status=Attendance.Status.LEFT_EARLY, minutes_attended=60)
    AttendanceFactory(session=met[2], client=member, status=Attendance.Status.ABSENT, minutes_attended=0)
    MeasureResponseFactory(client=member, instrument="phq9", total=15, taken_on=now - 12 * DAY)
    MeasureResponseFactory(client=member, instrument="phq9", total=6, taken_on=now - DAY)
    plan = TreatmentPlanFactory(client=member, created_by=therapist.user, started_on=today - 12 * DAY)
    GoalFactory(plan=plan, goal="Sleep without drinking.", status="met")
    return met


@pytest.fixture
def discharged(member, stay, today):
    return discharge_client(client=member, on=today)


@pytest.fixture
def draft(discharged, therapist):
    return discharge.save_summary(
        client=discharged, author=therapist.user, narrative="Engaged well.", recommendations="Weekly aftercare group."
    )


def rows():
    return DischargeSummary.objects.count(), DischargeSummary.objects.signed().count()


# --- The facts -------------------------------------------------------------------------------


def test_the_facts_of_the_stay(discharged, today):
    facts = discharge.summary_facts(discharged)

    assert facts["discharge_date"] == today.isoformat()
    assert facts["length_of_stay_days"] == (today - discharged.admission_date).days
    assert (facts["sessions_attended"], facts["sessions_scheduled"]) == (2, 3)
    assert (facts["hours_attended"], facts["hours_scheduled"]) == (2.5, 4.5)
    phq9 = next(row for row in facts["measures"] if row["code"] == "phq9")
    assert (phq9["first"]["total"], phq9["last"]["total"]) == (15, 6)
    assert phq9["change"]
    gad7 = next(row for row in facts["measures"] if row["code"] == "gad7")
    assert gad7["first"] is None
    assert [(g["goal"], g["status"]) for g in facts["goals"]] == [("Sleep without drinking.", "Met")]


def test_a_meeting_after_discharge_is_not_scheduled_for_the_client(discharged, now):
    make_session(Membership.objects.get(client=discharged).group, starts_at=now + DAY)

    assert discharge.summary_facts(discharged)["sessions_scheduled"] == 3


# --- Writing and signing ---------------------------------------------------------------------


def test_no_summary_for_a_client_not_discharged(member, stay, therapist):
    with pytest.raises(ValidationError, match="not discharged"):
        discharge.save_summary(client=member, author=therapist.user, narrative="x", recommendations="")
    assert rows() == (0, 0)


def test_only_a_therapist_of_the_groups_at_discharge_writes_it(discharged, other_therapist):
    with pytest.raises(ValidationError, match="Only a therapist"):
        discharge.save_summary(client=discharged, author=other_therapist.user, narrative="x", recommendations="")
    assert rows() == (0, 0)


def test_the_draft_is_saved_and_audited(draft, discharged):
    assert rows() == (1, 0)
    assert draft.facts == {}
    assert AuditEvent.objects.filter(client_id=discharged.pk, action=AuditEvent.Action.CREATE).exists()


def test_signing_refuses_an_empty_narrative(discharged, therapist):
    summary = discharge.save_summary(client=discharged, author=therapist.user, narrative="  ", recommendations="")

    with pytest.raises(ValidationError) as refused:
        discharge.sign_summary(summary=summary, user=therapist.user, password=PASSWORD)

    assert "narrative" in refused.value.message_dict
    assert rows() == (1, 0)


def test_signing_refuses_a_wrong_password(draft, therapist):
    with pytest.raises(ValidationError) as refused:
        discharge.sign_summary(summary=draft, user=therapist.user, password="not it")

    assert "password" in refused.value.message_dict
    assert rows() == (1, 0)


def test_signing_refuses_another_therapist(draft, other_therapist):
    with pytest.raises(ValidationError, match="Only a therapist"):
        discharge.sign_summary(summary=draft, user=other_therapist.user, password=PASSWORD)
    assert rows() == (1, 0)


def test_signing_twice_is_refused(draft, therapist):
    discharge.sign_summary(summary=draft, user=therapist.user, password=PASSWORD)

    with pytest.raises(ValidationError, match="already signed"):
        discharge.sign_summary(summary=draft, user=therapist.user, password=PASSWORD)
    assert rows() == (1, 1)


def test_the_signed_summary_is_locked(draft, therapist, discharged):
    signed = discharge.sign_summary(summary=draft, user=therapist.user, password=PASSWORD)

    signed.narrative = "Rewritten."
    with pytest.raises(SignedNoteLocked):
        signed.save()
    with pytest.raises(SignedNoteLocked):
        DischargeSummary.objects.filter(pk=signed.pk).update(narrative="Rewritten.")
    with pytest.raises(SignedNoteLocked):
        DischargeSummary.objects.filter(pk=signed.pk).delete()
    with pytest.raises(ValidationError, match="locked"):
        discharge.save_summary(client=discharged, author=therapist.user, narrative="Again.", recommendations="")
    assert DischargeSummary.objects.get(pk=signed.pk).narrative == "Engaged well."


def test_the_signed_facts_are_frozen(draft, therapist, stay, client):
    signed = discharge.sign_summary(summary=draft, user=therapist.user, password=PASSWORD)
    Attendance.objects.filter(session=stay[2]).update(status=Attendance.Status.PRESENT, minutes_attended=90)

    assert discharge.summary_facts(signed.client)["sessions_attended"] == 3
    assert DischargeSummary.objects.get(pk=signed.pk).facts["sessions_attended"] == 2
    client.force_login(therapist.user)
    page = client.get(reverse("therapist:discharge", args=[signed.client_id]))
    assert "2 of 3 scheduled" in page.content.decode()
    assert AuditEvent.objects.filter(client_id=signed.client_id, action=AuditEvent.Action.SIGN).count() == 1


# --- The pages -------------------------------------------------------------------------------


def test_the_therapist_writes_and_signs_on_the_page(discharged, therapist, client):
    client.force_login(therapist.user)
    url = reverse("therapist:discharge", args=[discharged.pk])

    assert client.get(url).status_code == 200
    saved = client.post(url, {"narrative": "Engaged well.", "recommendations": "Aftercare."})
    assert saved.status_code == 302
    refused = client.post(reverse("therapist:discharge_sign", args=[discharged.pk]), {"password": "wrong"})
    assert refused.status_code == 200
    assert rows() == (1, 0)
    signed = client.post(reverse("therapist:discharge_sign", args=[discharged.pk]), {"password": PASSWORD})
    assert signed.status_code == 302
    assert rows() == (1, 1)
    page = client.get(url).content.decode()
    assert "Signed by" in page
    assert 'name="narrative"' not in page


def test_the_dashboard_lists_the_summaries_to_sign(draft, therapist, client):
    client.force_login(therapist.user)
    page = client.get(reverse("therapist:dashboard")).content.decode()
    assert 'data-testid="discharge-summaries-due"' in page
    assert f'href="{reverse("therapist:discharge", args=[draft.client_id])}"' in page

    discharge.sign_summary(summary=draft, user=therapist.user, password=PASSWORD)
    assert 'data-testid="discharge-summaries-due"' not in client.get(reverse("therapist:dashboard")).content.decode()


@pytest.mark.parametrize("role", ["other_therapist", "staff", "portal", "self"])
def test_anyone_else_gets_404(draft, discharged, role, client, other_therapist, staff_user, other_client):
    if role == "other_therapist":
        user = other_therapist.user
    elif role == "staff":
        user = staff_user
    elif role == "portal":
        other_client.portal_user = UserFactory(username="someone-else")
        other_client.save(update_fields=["portal_user"])
        user = other_client.portal_user
    else:
        user = UserFactory(username="former-client")
        discharged.portal_user = user
        discharged.save(update_fields=["portal_user"])
    client.force_login(user)

    assert client.get(reverse("therapist:discharge", args=[discharged.pk])).status_code == 404
    assert client.post(reverse("therapist:discharge", args=[discharged.pk]), {"narrative": "x"}).status_code == 404
    assert (
        client.post(reverse("therapist:discharge_sign", args=[discharged.pk]), {"password": PASSWORD}).status_code
        == 404
    )
    assert rows() == (1, 0)


def test_a_past_therapist_reads_but_does_not_write(discharged, draft, other_therapist, client, member, today):
    group = Membership.objects.get(client=discharged).group
    MembershipFactory(
        client=discharged,
        group=TherapyGroupFactory(facilitator=other_therapist, start_date=group.start_date),
        status=Membership.Status.ENDED,
        ended_on=today - 5 * DAY,
        end_reason=Membership.EndReason.TRANSFERRED,
    )
    client.force_login(other_therapist.user)

    page = client.get(reverse("therapist:discharge", args=[discharged.pk]))
    assert page.status_code == 200
    assert 'name="narrative"' not in page.content.decode()
    client.post(reverse("therapist:discharge", args=[discharged.pk]), {"narrative": "Changed."})
    assert DischargeSummary.objects.get().narrative == "Engaged well."


def test_a_group_that_ended_the_day_of_the_discharge_is_a_group_at_discharge(
    member, stay, other_therapist, client, today
):
    """A client whose last group ended that day (completed) and who was then discharged: that
    group's therapist writes the summary and is asked for it on the dashboard, as the therapist of
    a group the discharge itself ended is."""
    MembershipFactory(
        client=member,
        group=TherapyGroupFactory(facilitator=other_therapist, start_date=today - 30 * DAY),
        status=Membership.Status.ENDED,
        joined_on=today - 20 * DAY,
        ended_on=today,
        end_reason=Membership.EndReason.COMPLETED,
    )
    discharged = discharge_client(client=member, on=today)

    assert discharge.unsigned_discharges(other_therapist, limit=10) == [discharged]
    assert discharge.may_write_summary(other_therapist.user, discharged)
    client.force_login(other_therapist.user)
    client.post(reverse("therapist:discharge", args=[discharged.pk]), {"narrative": "Completed the group."})
    assert rows() == (1, 0)


def test_the_anonymous_are_sent_to_sign_in(discharged, client):
    assert client.get(reverse("therapist:discharge", args=[discharged.pk])).status_code == 302


@pytest.mark.parametrize("value", ["0", "99999999", "2147483648"])
def test_bad_client_ids_404(therapist, client, value):
    client.force_login(therapist.user)
    assert client.get(f"/therapist/clients/{value}/discharge/").status_code == 404


def test_the_page_costs_the_same_queries_with_a_longer_stay(discharged, draft, therapist, client, now):
    client.force_login(therapist.user)
    url = reverse("therapist:discharge", args=[discharged.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as short:
        client.get(url)
    group = Membership.objects.get(client=discharged).group
    plan = TreatmentPlan.objects.get(client=discharged)
    for days in range(14, 40):
        AttendanceFactory(session=make_session(group, starts_at=now - days * DAY), client=discharged)
        MeasureResponseFactory(client=discharged, instrument="gad7", total=days % 21, taken_on=now - days * DAY)
        GoalFactory(plan=plan)
    with CaptureQueriesContext(connection) as long:
        client.get(url)

    assert len(short) == len(long)


# --- The staff admin -------------------------------------------------------------------------


def test_staff_see_the_status_and_not_the_text(draft, staff_client):
    changelist = staff_client.get(reverse("admin:progress_dischargesummary_changelist"))
    change = staff_client.get(reverse("admin:progress_dischargesummary_change", args=[draft.pk]))

    assert changelist.status_code == change.status_code == 200
    assert "Draft" in changelist.content.decode()
    assert "Engaged well." not in change.content.decode()
    assert "Weekly aftercare group." not in change.content.decode()


def test_a_supervisor_reads_the_text(draft, staff_client, staff_user):
    staff_user.groups.add(Group.objects.get(name=CLINICAL_SUPERVISOR))

    change = staff_client.get(reverse("admin:progress_dischargesummary_change", args=[draft.pk]))

    assert "Engaged well." in change.content.decode()
