import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.models import Closure, Session, WeeklySlot
from tests.helpers import session_change_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def sessions(group, make_slot):
    return list(make_slot(group, weekday=0, today=timezone.localdate()).sessions.order_by("starts_at"))


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:scheduling_session_changelist",
        "admin:scheduling_closure_changelist",
        "admin:scheduling_closure_add",
        "admin:scheduling_session_generate",
    ],
)
def test_staff_open_scheduling_pages(staff_client, sessions, url_name):
    assert staff_client.get(reverse(url_name)).status_code == 200


def test_session_changelist_filters_by_kind_and_status(staff_client, sessions):
    url = reverse("admin:scheduling_session_changelist")

    response = staff_client.get(
        url, {"group__kind__exact": "skills_development", "status__exact": "scheduled", "shown": "all"}
    )

    assert response.context["cl"].result_count == len(sessions)
    assert staff_client.get(url, {"group__kind__exact": "process"}).context["cl"].result_count == 0


def test_cancel_action_needs_a_reason_and_then_cancels(staff_client, sessions):
    # The first of the sessions may be earlier this week: past sessions are a filter away.
    url = reverse("admin:scheduling_session_changelist") + "?shown=all"
    target = sessions[0]

    response = staff_client.post(url, {"action": "cancel_sessions", "_selected_action": [target.pk], "apply": "1"})
    assert "reason" in response.context["form"].errors
    target.refresh_from_db()
    assert target.status == Session.Status.SCHEDULED

    staff_client.post(
        url, {"action": "cancel_sessions", "_selected_action": [target.pk], "apply": "1", "reason": "Facilitator ill"}
    )
    target.refresh_from_db()
    assert (target.status, target.cancellation_reason) == (Session.Status.CANCELLED, "Facilitator ill")


def test_generate_now_is_idempotent(staff_client, sessions):
    before = Session.objects.count()

    response = staff_client.post(reverse("admin:scheduling_session_generate"), {"weeks": "8"}, follow=True)

    assert "0 new sessions generated" in response.content.decode()
    assert Session.objects.count() == before


def test_generate_now_refuses_a_bad_number(staff_client, sessions):
    response = staff_client.post(reverse("admin:scheduling_session_generate"), {"weeks": "-3"})

    assert response.status_code == 200
    assert "weeks" in response.context["form"].errors


def test_a_closure_added_in_the_admin_cancels_its_sessions(staff_client, sessions):
    day = timezone.localtime(sessions[1].starts_at).date()

    staff_client.post(
        reverse("admin:scheduling_closure_add"),
        {"name": "Staff training", "starts_on": day.isoformat(), "ends_on": day.isoformat()},
    )

    sessions[1].refresh_from_db()
    assert Closure.objects.count() == 1
    assert sessions[1].cancellation_reason == "Clinic closed: Staff training"


def test_editing_a_session_with_a_busy_substitute_is_a_field_error(staff_client, sessions, other_therapist, make_slot):
    from tests.factories import TherapyGroupFactory

    busy = TherapyGroupFactory(facilitator=other_therapist, room="Room 808")
    make_slot(busy, weekday=0, today=timezone.localdate())
    session = sessions[0]
    response = staff_client.post(
        reverse("admin:scheduling_session_change", args=[session.pk]),
        session_change_post(session, facilitator=other_therapist.pk),
    )

    assert response.status_code == 200
    assert "already leads" in str(response.context["adminform"].form.errors["facilitator"])
    session.refresh_from_db()
    assert session.facilitator != other_therapist


def test_slot_inline_conflict_is_a_field_error_and_saves_nothing(staff_client, group, make_slot, therapist):
    from tests.factories import TherapyGroupFactory

    make_slot(group, weekday=0, start="18:00")
    second = TherapyGroupFactory(facilitator=therapist, room="Room 202")
    data = {
        "name": second.name,
        "kind": second.kind,
        "capacity": "8",
        "facilitator": therapist.pk,
        "modality": "in_person",
        "room": "Room 202",
        "language": "en",
        "audience": "adult_iop",
        "enrolment": "open",
        "status": "running",
        "start_date": "2026-01-05",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "topics-TOTAL_FORMS": "0",
        "topics-INITIAL_FORMS": "0",
        "slots-0-weekday": "0",
        "slots-0-start_time": "18:30",
        "slots-0-duration_minutes": "60",
        "slots-0-default_objective": "Coping",
        "slots-0-effective_from": "2026-11-23",
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "waitlist-TOTAL_FORMS": "0",
        "waitlist-INITIAL_FORMS": "0",
    }

    response = staff_client.post(reverse("admin:groups_therapygroup_change", args=[second.pk]), data)

    assert response.status_code == 200
    assert "already leads" in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert WeeklySlot.objects.filter(group=second).count() == 0


def test_slot_added_in_the_admin_generates_sessions(staff_client, group):
    data = {
        "name": group.name,
        "kind": group.kind,
        "capacity": "8",
        "facilitator": group.facilitator.pk,
        "modality": "in_person",
        "room": group.room,
        "language": "en",
        "audience": "adult_iop",
        "enrolment": "open",
        "status": "running",
        "start_date": "2026-01-05",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "topics-TOTAL_FORMS": "0",
        "topics-INITIAL_FORMS": "0",
        "slots-0-weekday": "2",
        "slots-0-start_time": "09:00",
        "slots-0-duration_minutes": "75",
        "slots-0-default_objective": "Grounding",
        "slots-0-effective_from": "2026-01-05",
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "waitlist-TOTAL_FORMS": "0",
        "waitlist-INITIAL_FORMS": "0",
    }

    response = staff_client.post(reverse("admin:groups_therapygroup_change", args=[group.pk]), data)

    assert response.status_code == 302
    assert Session.objects.filter(group=group).count() >= 8
    assert all(s.duration_minutes == 75 for s in Session.objects.filter(group=group))


@pytest.mark.parametrize("url_name", ["admin:scheduling_session_generate", "admin:scheduling_session_changelist"])
def test_non_staff_users_are_sent_to_the_admin_login(client, url_name):
    from tests.factories import UserFactory

    client.force_login(UserFactory())

    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
