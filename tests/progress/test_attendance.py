import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from clients.services import revoke_signature
from groups.models import Membership
from progress import attendance, selectors
from progress.models import Attendance
from scheduling.enrolment import end_membership, enroll_client
from scheduling.models import Session
from tests.factories import ClientFactory
from tests.helpers import attendance_post, make_session, record_everyone_present

pytestmark = pytest.mark.django_db


def roster_of(session):
    return list(selectors.roster_for_session(session))


def test_one_save_records_the_whole_roster(facilitator_client, session, members):
    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"1-status": "late", "1-minutes_attended": "70", "2-participation": "4"}),
    )

    assert response.status_code == 302
    rows = {a.client_id: a for a in Attendance.objects.filter(session=session)}
    assert len(rows) == 3
    assert rows[members[1].pk].status == "late"
    assert rows[members[1].pk].minutes_attended == 70
    assert rows[members[2].pk].participation == 4


def test_saving_again_updates_and_never_duplicates(facilitator_client, session, members):
    url = reverse("therapist:session", args=[session.pk])
    facilitator_client.post(url, attendance_post(session, members))

    facilitator_client.post(url, attendance_post(session, members, **{"0-observation": "Quiet today."}))

    assert Attendance.objects.filter(session=session).count() == 3
    assert Attendance.objects.get(session=session, client=members[0]).observation == "Quiet today."


def test_page_offers_every_choice_and_the_session_length(facilitator_client, group, members):
    session = make_session(group, minutes=75)

    page = facilitator_client.get(reverse("therapist:session", args=[session.pk])).content.decode()

    assert 'max="75"' in page
    assert "Dominated the discussion" in page
    assert "Did not take part" in page


def test_minutes_beyond_the_session_are_refused_and_nothing_is_saved(facilitator_client, session, members):
    before = Attendance.objects.count()

    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"2-minutes_attended": str(session.duration_minutes + 1)}),
    )

    assert response.status_code == 200
    assert "between 0 and 90" in response.context["formset"].forms[2].errors["minutes_attended"][0]
    assert Attendance.objects.count() == before


def test_a_refused_cell_ties_its_label_help_and_error_to_its_control(facilitator_client, session, members):
    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"2-minutes_attended": "900"}),
    )

    page = response.content.decode()
    field = "id_form-2-minutes_attended"
    assert f'<label class="roster-label" for="{field}">Minutes</label>' in page
    assert f'aria-describedby="{field}_helptext {field}_error"' in page
    assert f'<div id="{field}_helptext" class="visually-hidden">0–90 minutes</div>' in page
    error = page.split(f'<div id="{field}_error" class="invalid-feedback">')[1].split("</div>")[0]
    assert "between 0 and 90" in error


def test_the_roster_form_counts_its_rows_in_hidden_inputs(facilitator_client, session, members):
    page = facilitator_client.get(reverse("therapist:session", args=[session.pk])).content.decode()

    assert '<input type="hidden" name="form-TOTAL_FORMS" value="3" id="id_form-TOTAL_FORMS">' in page
    assert '<input type="hidden" name="form-INITIAL_FORMS" value="3" id="id_form-INITIAL_FORMS">' in page


def test_negative_minutes_are_refused(facilitator_client, session, members):
    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"0-minutes_attended": "-5"}),
    )

    assert "minutes_attended" in response.context["formset"].forms[0].errors
    assert Attendance.objects.count() == 0


def test_unknown_status_is_refused_and_nothing_is_saved(facilitator_client, session, members):
    before = Attendance.objects.count()

    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members, **{"1-status": "asleep"})
    )

    assert response.status_code == 200
    assert "status" in response.context["formset"].forms[1].errors
    assert Attendance.objects.count() == before


def test_participation_outside_0_to_4_is_refused(facilitator_client, session, members):
    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members, **{"0-participation": "5"})
    )

    assert "participation" in response.context["formset"].forms[0].errors
    assert Attendance.objects.count() == 0


def test_a_row_posted_for_someone_not_on_the_roster_is_refused(facilitator_client, session, members):
    stranger = ClientFactory()

    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"0-client": str(stranger.pk)}),
    )

    assert response.status_code == 200
    assert Attendance.objects.count() == 0


def test_a_roster_that_changed_while_editing_is_refused(facilitator_client, session, members):
    data = attendance_post(session, members[:2])
    data["form-INITIAL_FORMS"] = "2"

    response = facilitator_client.post(reverse("therapist:session", args=[session.pk]), data)

    assert response.status_code == 200
    assert Attendance.objects.count() == 0


def test_absent_member_attended_zero_minutes_and_took_no_part(facilitator_client, session, members):
    facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"0-status": "absent", "0-participation": "3"}),
    )

    absent = Attendance.objects.get(session=session, client=members[0])
    assert (absent.minutes_attended, absent.participation) == (0, 0)


# --- The confidentiality gate ----------------------------------------------------------------


@pytest.fixture
def unsigned_member(members, staff_user):
    """A member whose agreement was revoked after joining: still on the roster, not allowed in."""
    member = members[0]
    revoke_signature(signature=member.signatures.get(), reason="Withdrew consent", revoked_by=staff_user)
    return member


def test_member_without_current_agreement_cannot_be_marked_present(
    facilitator_client, session, members, unsigned_member
):
    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members)
    )

    errors = response.context["formset"].forms[0].errors["status"]
    assert f"{unsigned_member.display_name} has no current signed confidentiality agreement" in errors[0]
    assert Attendance.objects.filter(client=unsigned_member).count() == 0
    assert Attendance.objects.count() == 0


def test_member_without_current_agreement_can_be_marked_excused(facilitator_client, session, members, unsigned_member):
    facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members, **{"0-status": "excused"})
    )

    assert Attendance.objects.get(client=unsigned_member).status == "excused"
    assert Attendance.objects.filter(session=session).count() == 3


def test_page_says_who_has_no_current_agreement(facilitator_client, session, unsigned_member):
    page = facilitator_client.get(reverse("therapist:session", args=[session.pk])).content.decode()

    assert "No current confidentiality agreement" in page


@pytest.mark.parametrize("status", ["present", "late", "left_early"])
def test_service_names_the_client_refused_by_the_gate(session, members, unsigned_member, therapist, status):
    with pytest.raises(ValidationError) as refusal:
        attendance.record_attendance(
            session=session,
            entries=[
                attendance.AttendanceEntry(client=unsigned_member, status=status, minutes_attended=30, participation=2)
            ],
            recorded_by=therapist.user,
        )

    assert unsigned_member.display_name in " ".join(refusal.value.messages)
    assert Attendance.objects.count() == 0


# --- Rolling admission -----------------------------------------------------------------------


def test_roster_is_the_members_on_the_sessions_date(group, members):
    session = make_session(group)
    day = timezone.localdate(session.starts_at)
    joined_later = ClientFactory(legal_first_name="Leopold", legal_last_name="Latecomer")
    enroll_client(client=joined_later, group=group, on=day + datetime.timedelta(days=1))
    left_before = members[0]
    end_membership(membership=Membership.objects.get(client=left_before, group=group), reason="completed", on=day)

    assert {c.pk for c in roster_of(session)} == {members[1].pk, members[2].pk}

    earlier = make_session(group, starts_at=session.starts_at - datetime.timedelta(days=7))
    assert left_before.pk in {c.pk for c in roster_of(earlier)}
    assert joined_later.pk not in {c.pk for c in roster_of(earlier)}


def test_a_member_who_attended_and_left_that_day_stays_on_that_sessions_roster(group, members, therapist):
    session = make_session(group)
    record_everyone_present(session, members, by=therapist.user)
    day = timezone.localdate(session.starts_at)

    end_membership(membership=Membership.objects.get(client=members[0], group=group), reason="completed", on=day)

    assert members[0].pk in {c.pk for c in roster_of(session)}
    later = make_session(group, starts_at=session.starts_at + datetime.timedelta(days=7))
    assert members[0].pk not in {c.pk for c in roster_of(later)}


# --- Database rules and session state --------------------------------------------------------


def test_database_holds_one_attendance_per_session_and_client(session, members, therapist):
    Attendance.objects.create(
        session=session, client=members[0], status="present", minutes_attended=90, recorded_by=therapist.user
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(
            session=session, client=members[0], status="late", minutes_attended=60, recorded_by=therapist.user
        )


def test_database_holds_participation_between_0_and_4(session, members, therapist):
    with pytest.raises(IntegrityError), transaction.atomic():
        Attendance.objects.create(
            session=session,
            client=members[0],
            status="present",
            minutes_attended=90,
            participation=7,
            recorded_by=therapist.user,
        )


def test_attendance_of_a_future_day_is_refused(facilitator_client, group, members):
    session = make_session(group, starts_at=timezone.now() + datetime.timedelta(days=2))

    response = facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members)
    )

    assert response.status_code == 302
    assert Attendance.objects.count() == 0


def test_session_can_be_marked_held(facilitator_client, session):
    response = facilitator_client.post(reverse("therapist:session_held", args=[session.pk]))

    assert response.status_code == 302
    session.refresh_from_db()
    assert session.status == Session.Status.HELD


def test_a_session_not_yet_started_cannot_be_marked_held(facilitator_client, group, members):
    session = make_session(group, starts_at=timezone.now() + datetime.timedelta(hours=3))

    facilitator_client.post(reverse("therapist:session_held", args=[session.pk]))

    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_other_therapist_cannot_mark_held(client, other_therapist, session):
    client.force_login(other_therapist.user)

    assert client.post(reverse("therapist:session_held", args=[session.pk])).status_code == 404
    session.refresh_from_db()
    assert session.status == Session.Status.SCHEDULED


def test_service_refuses_attendance_recorded_by_another_therapist(session, members, other_therapist):
    before = Attendance.objects.count()

    with pytest.raises(ValidationError) as refused:
        record_everyone_present(session, members, by=other_therapist.user)

    assert refused.value.messages == ["Only a facilitator of this session can take its attendance."]
    assert Attendance.objects.count() == before
