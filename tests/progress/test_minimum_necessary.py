"""Minimum necessary (42 CFR Part 2): the front desk sees that a note exists, who signed it and
when, never its text; the "Clinical supervisor" group reads notes in full, and its reads are
recorded."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from audit.models import AuditEvent
from iop.permissions import CLINIC_STAFF, CLINICAL_SUPERVISOR
from progress import attendance, notes
from progress.models import Addendum, Attendance
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

# Words no admin page shows except as this note's text.
TOPIC = "Quarrelsome marmalade"
INTERVENTIONS = "Xylographic rehearsal"
DYNAMICS = "Gossamer cohesion"
BEHAVIOUR = "Juxtaposed kaleidoscope"
PLAN = "Zeppelin itinerary"
ADDENDUM = "Phosphorescent afterthought"
OBSERVATION = "Velvet quietude"
NOTE_TEXT = [TOPIC, INTERVENTIONS, DYNAMICS, BEHAVIOUR, PLAN, ADDENDUM, OBSERVATION]


@pytest.fixture
def written(session, members, therapist):
    attendance.record_attendance(
        session=session,
        entries=[
            attendance.AttendanceEntry(
                client=m,
                status="present",
                minutes_attended=session.duration_minutes,
                participation=2,
                observation=OBSERVATION,
            )
            for m in members
        ],
        recorded_by=therapist.user,
    )
    note = notes.save_group_note(
        session=session,
        author=therapist.user,
        topic=TOPIC,
        objective=session.objective,
        interventions=INTERVENTIONS,
        group_dynamics=DYNAMICS,
        individual={m.pk: {"behaviour": BEHAVIOUR, "plan": PLAN} for m in members},
    )
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    notes.add_addendum(note=note, author=therapist.user, text=ADDENDUM)
    return note


@pytest.fixture
def supervisor(db):
    user = UserFactory(username="clinical-supervisor", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, CLINICAL_SUPERVISOR]))
    return user


def admin_pages(note) -> list[str]:
    addendum = Addendum.objects.get(group_note=note)
    an_attendance = Attendance.objects.filter(session=note.session).first()
    return [
        reverse("admin:progress_groupnote_changelist"),
        reverse("admin:progress_groupnote_change", args=[note.pk]),
        reverse("admin:progress_addendum_changelist"),
        reverse("admin:progress_addendum_change", args=[addendum.pk]),
        reverse("admin:progress_attendance_changelist"),
        reverse("admin:progress_attendance_change", args=[an_attendance.pk]),
        reverse("admin:scheduling_session_change", args=[note.session_id]),
    ]


def test_only_supervisors_hold_the_permission_to_read_note_text():
    read_text = Permission.objects.get(content_type__app_label="progress", codename="read_note_text")

    assert list(read_text.group_set.values_list("name", flat=True)) == [CLINICAL_SUPERVISOR]


def test_staff_see_no_note_text_on_any_admin_page(staff_client, written):
    for url in admin_pages(written):
        response = staff_client.get(url)
        page = response.content.decode()

        assert response.status_code == 200, url
        assert [text for text in NOTE_TEXT if text in page] == [], url


def test_staff_see_that_the_note_exists_who_signed_it_and_when(staff_client, written, therapist):
    page = staff_client.get(reverse("admin:progress_groupnote_change", args=[written.pk])).content.decode()
    listing = staff_client.get(reverse("admin:progress_groupnote_changelist")).content.decode()

    assert therapist.user.get_username() in page and therapist.user.get_username() in listing
    assert "field-signed_at" in page
    assert "Addend" in page  # the addenda are listed, by author and time


# The notes list is searched by client (chart number, start of a name) for everyone: a word common
# to a year of note topics would have the list sort every one of the notes it finds.
@pytest.mark.parametrize(
    ("changelist", "words", "found_by_a_supervisor"),
    [
        ("admin:progress_groupnote_changelist", TOPIC, 0),
        ("admin:progress_addendum_changelist", ADDENDUM, 1),
    ],
)
def test_staff_cannot_find_a_note_by_searching_its_text(
    staff_client, supervisor, client, written, changelist, words, found_by_a_supervisor
):
    found_by_staff = staff_client.get(reverse(changelist), {"q": words}).context["cl"].result_count
    client.force_login(supervisor)
    found_by_supervisor = client.get(reverse(changelist), {"q": words}).context["cl"].result_count

    assert (found_by_staff, found_by_supervisor) == (0, found_by_a_supervisor)


def test_supervisors_read_notes_in_full_and_each_read_is_recorded(client, supervisor, written, members):
    client.force_login(supervisor)
    before = AuditEvent.objects.count()

    pages = [client.get(url) for url in admin_pages(written)]

    everything = "".join(page.content.decode() for page in pages)
    assert [text for text in NOTE_TEXT if text not in everything] == []
    reads = AuditEvent.objects.filter(action="view", user=supervisor)
    assert AuditEvent.objects.count() - before == reads.count()
    assert reads.values("request_id").distinct().count() == len(pages)  # one read per page
    note_read = reads.filter(model="progress.groupnote", object_id=str(written.pk))
    assert set(note_read.values_list("client_id", flat=True)) == {m.pk for m in members}
    assert set(note_read.values_list("detail", flat=True)) == {"note text shown"}


def test_staff_reads_are_recorded_as_without_the_text(staff_client, staff_user, written):
    staff_client.get(reverse("admin:progress_groupnote_change", args=[written.pk]))

    assert set(
        AuditEvent.objects.filter(user=staff_user, model="progress.groupnote").values_list("detail", flat=True)
    ) == {"note text withheld"}


def test_the_facilitator_still_reads_the_note_on_the_note_page(facilitator_client, written):
    page = facilitator_client.get(reverse("therapist:note", args=[written.session_id])).content.decode()

    assert TOPIC in page and BEHAVIOUR in page and ADDENDUM in page
