import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.urls import reverse

from progress.models import Attendance, GroupNote, IndividualNote
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_staff_see_a_sessions_attendance_on_the_session_page(staff_client, session, signed_note, members):
    page = staff_client.get(reverse("admin:scheduling_session_change", args=[session.pk])).content.decode()

    assert members[0].legal_last_name in page
    assert "Attendance" in page


def test_staff_filter_attendance_by_client(staff_client, session, signed_note, members):
    url = reverse("admin:progress_attendance_changelist") + f"?client__id__exact={members[0].pk}"

    response = staff_client.get(url)

    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [Attendance.objects.get(client=members[0])]


def test_staff_filter_notes_by_client(staff_client, signed_note, members):
    url = reverse("admin:progress_groupnote_changelist") + f"?individual_notes__client__id__exact={members[0].pk}"

    response = staff_client.get(url)

    assert list(response.context["cl"].queryset) == [signed_note]


def test_staff_see_who_signed_a_note_and_when_but_not_its_text(staff_client, signed_note):
    response = staff_client.get(reverse("admin:progress_groupnote_change", args=[signed_note.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert signed_note.signed_by.get_username() in page
    assert "Triggers and cravings" not in page  # the topic is note text (tests/progress/test_minimum_necessary.py)
    assert 'name="topic"' not in page
    assert 'name="_save"' not in page


def test_admin_change_of_a_signed_note_is_refused(superuser_client, signed_note):
    response = superuser_client.post(
        reverse("admin:progress_groupnote_change", args=[signed_note.pk]),
        {"topic": "Rewritten topic", "objective": "x", "interventions": "x", "group_dynamics": "x"},
    )

    assert response.status_code == 403
    assert GroupNote.objects.get(pk=signed_note.pk).topic == "Triggers and cravings"


def test_admin_delete_of_a_signed_note_is_refused(superuser_client, signed_note):
    response = superuser_client.post(reverse("admin:progress_groupnote_delete", args=[signed_note.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert GroupNote.objects.filter(pk=signed_note.pk).exists()


def test_admin_bulk_delete_action_is_not_offered(superuser_client, signed_note):
    request = RequestFactory().get("/")
    request.user = UserFactory(username="root2", is_staff=True, is_superuser=True)

    assert "delete_selected" not in site._registry[GroupNote].get_actions(request)
    superuser_client.post(
        reverse("admin:progress_groupnote_changelist"),
        {"action": "delete_selected", "_selected_action": [signed_note.pk], "post": "yes"},
    )
    assert GroupNote.objects.filter(pk=signed_note.pk).exists()


def test_admin_change_of_attendance_is_refused(superuser_client, signed_note):
    attendance = Attendance.objects.first()

    response = superuser_client.post(
        reverse("admin:progress_attendance_change", args=[attendance.pk]), {"status": "absent"}
    )

    assert response.status_code == 403
    assert Attendance.objects.get(pk=attendance.pk).status == "present"


def test_individualized_notes_are_read_only_inside_the_note_page(superuser_client, signed_note):
    page = superuser_client.get(reverse("admin:progress_groupnote_change", args=[signed_note.pk])).content.decode()

    assert "Engaged and shared one trigger." in page
    assert 'name="individual_notes-0-behaviour"' not in page
    assert IndividualNote.objects.filter(group_note=signed_note).count() == 3


def test_admin_cannot_add_notes(superuser_client):
    assert superuser_client.get(reverse("admin:progress_groupnote_add")).status_code == 403
