import datetime

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from progress import notes, selectors
from progress.models import Addendum, Attendance, GroupNote, IndividualNote, SignedNoteLocked
from progress.views import OVERDUE_ON_DASHBOARD, OVERDUE_PER_PAGE
from scheduling.models import Session
from scheduling.services import update_session
from tests.factories import PASSWORD
from tests.helpers import attendance_post, make_session, note_post, record_everyone_present, write_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def attended(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    return members


def counts():
    return GroupNote.objects.count(), IndividualNote.objects.count()


# --- Writing --------------------------------------------------------------------------------


def test_note_is_written_with_an_individualized_part_per_attending_member(facilitator_client, session, attended):
    response = facilitator_client.post(reverse("therapist:note", args=[session.pk]), note_post(attended))

    assert response.status_code == 302
    note = GroupNote.objects.get(session=session)
    assert note.topic == "Triggers and cravings"
    assert note.individual_notes.count() == 3
    assert not note.is_signed


def test_note_form_is_prefilled_with_attendance_and_observation(facilitator_client, session, members):
    facilitator_client.post(
        reverse("therapist:session", args=[session.pk]),
        attendance_post(session, members, **{"1-observation": "Arrived calm, shared openly."}),
    )

    page = facilitator_client.get(reverse("therapist:note", args=[session.pk])).content.decode()

    assert "Arrived calm, shared openly." in page
    assert "Identify triggers" in page
    assert "2 — Took part" in page


def test_absent_members_get_attendance_only(facilitator_client, session, members, therapist):
    facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members, **{"0-status": "absent"})
    )

    response = facilitator_client.get(reverse("therapist:note", args=[session.pk]))

    assert [m.pk for m, _ in response.context["individual_rows"]] == [members[1].pk, members[2].pk]
    assert "Attendance only" in response.content.decode()
    with pytest.raises(ValidationError):
        notes.save_group_note(
            session=session,
            author=therapist.user,
            topic="Triggers",
            objective="Identify triggers",
            interventions="Psychoeducation.",
            group_dynamics="Cohesive.",
            individual={members[0].pk: {"behaviour": "Not there."}},
        )
    assert counts() == (0, 0)


@pytest.mark.parametrize("field", ["topic", "interventions", "group_dynamics"])
@pytest.mark.parametrize("which", ["legal_first_name", "legal_last_name", "preferred_name"])
def test_a_members_name_in_the_shared_part_is_refused(facilitator_client, session, attended, field, which):
    member = attended[1]
    member.preferred_name = "Birdie"
    member.save(update_fields=["preferred_name"])
    name = getattr(member, which)
    before = counts()

    response = facilitator_client.post(
        reverse("therapist:note", args=[session.pk]),
        note_post(attended, **{field: f"Discussion led by {name.lower()}."}),
    )

    assert response.status_code == 200
    assert f'found "{name}"' in response.context["note_form"].errors[field][0]
    assert counts() == before


def test_a_name_inside_another_word_is_not_a_name(facilitator_client, session, attended):
    # "Quimby" is a member; "Quimbyesque" is not that member's name.
    response = facilitator_client.post(
        reverse("therapist:note", args=[session.pk]), note_post(attended, topic="A Quimbyesque approach")
    )

    assert response.status_code == 302


def test_another_members_full_name_in_an_individualized_note_is_refused(facilitator_client, session, attended):
    other = attended[2]
    before = counts()

    response = facilitator_client.post(
        reverse("therapist:note", args=[session.pk]),
        note_post(
            attended, **{"form-0-response": f"Responded warmly to {other.legal_first_name}  {other.legal_last_name}."}
        ),
    )

    assert response.status_code == 200
    error = response.context["individual_formset"].forms[0].errors["response"][0]
    assert f'"{other.legal_first_name} {other.legal_last_name}"' in error
    assert other.initials in error
    assert counts() == before


def test_initials_and_the_members_own_name_are_fine_in_an_individualized_note(facilitator_client, session, attended):
    own = attended[0]
    text = f"{own.legal_first_name} {own.legal_last_name} responded warmly to {attended[2].initials}."

    response = facilitator_client.post(
        reverse("therapist:note", args=[session.pk]), note_post(attended, **{"form-0-response": text})
    )

    assert response.status_code == 302
    assert IndividualNote.objects.get(client=own).response == text


def test_service_refuses_a_name_in_the_shared_part_naming_it(session, attended, therapist):
    with pytest.raises(ValidationError) as refusal:
        write_note(session, attended, by=therapist.user, group_dynamics=f"{attended[0].legal_last_name} dominated.")

    assert attended[0].legal_last_name in refusal.value.message_dict["group_dynamics"][0]
    assert counts() == (0, 0)


def test_other_therapist_cannot_write_the_note(session, attended, other_therapist):
    with pytest.raises(ValidationError):
        write_note(session, attended, by=other_therapist.user)
    assert counts() == (0, 0)


# --- Signing --------------------------------------------------------------------------------


@pytest.fixture
def note(session, attended, therapist):
    return write_note(session, attended, by=therapist.user)


def test_facilitator_signs_with_their_password_and_sees_it_locked(facilitator_client, session, note):
    response = facilitator_client.post(reverse("therapist:note_sign", args=[session.pk]), {"password": PASSWORD})

    assert response.status_code == 302
    note.refresh_from_db()
    assert note.is_signed
    page = facilitator_client.get(reverse("therapist:note", args=[session.pk])).content.decode()
    assert "Signed and locked" in page
    assert 'name="save"' not in page


def test_a_note_signed_after_its_session_was_read_is_read_as_signed(session, note, therapist):
    # The note page read the session a moment before the note was signed elsewhere.
    read_before = Session.objects.get(pk=session.pk)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    shown = selectors.read_note(read_before, detail="note page")

    assert shown.is_signed
    assert shown.addenda_shown == []
    assert [part.client for part in shown.parts] == [part.client for part in note.individual_notes.all()]
    assert all(part.goals_addressed == [] for part in shown.parts)


def test_wrong_password_does_not_sign(facilitator_client, session, note):
    response = facilitator_client.post(reverse("therapist:note_sign", args=[session.pk]), {"password": "not-it"})

    assert response.status_code == 200
    assert "password is not correct" in response.context["sign_form"].errors["password"][0]
    note.refresh_from_db()
    assert not note.is_signed


def test_other_therapist_cannot_sign_even_with_their_password(session, note, other_therapist):
    with pytest.raises(ValidationError):
        notes.sign_note(note=note, user=other_therapist.user, password=PASSWORD)
    note.refresh_from_db()
    assert not note.is_signed


def test_note_cannot_be_signed_before_attendance_is_complete(group, session, members, therapist):
    record_everyone_present(session, members[:2], by=therapist.user)
    note = write_note(session, members[:2], by=therapist.user)

    with pytest.raises(ValidationError) as refusal:
        notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    assert members[2].display_name in " ".join(refusal.value.messages)


def test_note_cannot_be_signed_without_each_attending_members_behaviour(session, attended, therapist):
    note = write_note(session, attended[:1], by=therapist.user)

    with pytest.raises(ValidationError) as refusal:
        notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    assert attended[2].display_name in " ".join(refusal.value.messages)


# --- Every write path against a signed note ---------------------------------------------------


def test_therapist_page_refuses_to_change_a_signed_note(facilitator_client, session, signed_note, members):
    response = facilitator_client.post(
        reverse("therapist:note", args=[session.pk]), note_post(members, topic="Rewritten topic")
    )

    assert response.status_code == 302
    signed_note.refresh_from_db()
    assert signed_note.topic == "Triggers and cravings"
    assert not IndividualNote.objects.filter(response="Named two coping skills.").exists()


def test_service_refuses_to_change_a_signed_note(session, signed_note, members, therapist):
    with pytest.raises(ValidationError):
        write_note(session, members, by=therapist.user, topic="Rewritten topic")
    signed_note.refresh_from_db()
    assert signed_note.topic == "Triggers and cravings"


def test_signing_twice_is_refused(signed_note, therapist):
    with pytest.raises(ValidationError):
        notes.sign_note(note=signed_note, user=therapist.user, password=PASSWORD)


def test_attendance_is_locked_with_the_signed_note(facilitator_client, session, signed_note, members):
    facilitator_client.post(
        reverse("therapist:session", args=[session.pk]), attendance_post(session, members, **{"0-status": "absent"})
    )

    assert Attendance.objects.get(session=session, client=members[0]).status == "present"


def test_model_save_of_a_signed_note_is_refused(signed_note):
    stale = GroupNote.objects.get(pk=signed_note.pk)
    stale.topic = "Rewritten topic"

    with pytest.raises(SignedNoteLocked):
        stale.save()
    assert GroupNote.objects.get(pk=signed_note.pk).topic == "Triggers and cravings"


def test_a_copy_loaded_before_signing_cannot_overwrite_the_signature(note, therapist):
    stale = GroupNote.objects.get(pk=note.pk)
    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)
    stale.topic = "Rewritten topic"

    with pytest.raises(SignedNoteLocked):
        stale.save()
    assert GroupNote.objects.get(pk=note.pk).is_signed


def test_model_delete_of_a_signed_note_is_refused(signed_note):
    with pytest.raises(SignedNoteLocked):
        signed_note.delete()
    assert GroupNote.objects.filter(pk=signed_note.pk).exists()


def test_queryset_update_of_a_signed_note_is_refused(signed_note):
    with pytest.raises(SignedNoteLocked):
        GroupNote.objects.filter(pk=signed_note.pk).update(topic="Rewritten topic")
    with pytest.raises(SignedNoteLocked):
        GroupNote.objects.all().update(signed_at=None, signed_by=None)
    assert GroupNote.objects.get(pk=signed_note.pk).topic == "Triggers and cravings"


def test_bulk_update_of_a_signed_note_is_refused(signed_note):
    signed_note.topic = "Rewritten topic"

    with pytest.raises(SignedNoteLocked), transaction.atomic():
        GroupNote.objects.bulk_update([signed_note], ["topic"])
    assert GroupNote.objects.get(pk=signed_note.pk).topic == "Triggers and cravings"


def test_queryset_delete_of_a_signed_note_is_refused(signed_note):
    with pytest.raises(SignedNoteLocked):
        GroupNote.objects.filter(pk=signed_note.pk).delete()
    assert GroupNote.objects.filter(pk=signed_note.pk).exists()


def test_individualized_notes_of_a_signed_note_are_locked(signed_note):
    individual = signed_note.individual_notes.first()
    individual.plan = "Rewritten plan"

    with pytest.raises(SignedNoteLocked):
        individual.save()
    with pytest.raises(SignedNoteLocked):
        individual.delete()
    with pytest.raises(SignedNoteLocked):
        IndividualNote.objects.filter(group_note=signed_note).update(plan="Rewritten plan")
    with pytest.raises(SignedNoteLocked):
        IndividualNote.objects.filter(group_note=signed_note).delete()
    with pytest.raises(SignedNoteLocked):
        IndividualNote.objects.create(group_note=signed_note, client=individual.client, behaviour="Late entry")
    assert not IndividualNote.objects.filter(plan="Rewritten plan").exists()
    assert signed_note.individual_notes.count() == 3


def test_unsigned_notes_can_still_be_changed_and_deleted(note):
    GroupNote.objects.filter(pk=note.pk).update(topic="Changed")
    assert GroupNote.objects.get(pk=note.pk).topic == "Changed"

    GroupNote.objects.filter(pk=note.pk).delete()
    assert counts() == (0, 0)


# --- Addenda --------------------------------------------------------------------------------


def test_addendum_is_added_under_the_signed_note(facilitator_client, session, signed_note, therapist):
    response = facilitator_client.post(
        reverse("therapist:note_addendum", args=[session.pk]), {"text": "Late entry: the session ran 10 minutes over."}
    )

    assert response.status_code == 302
    addendum = Addendum.objects.get()
    assert (addendum.group_note, addendum.author) == (signed_note, therapist.user)
    page = facilitator_client.get(reverse("therapist:note", args=[session.pk])).content.decode()
    assert "Late entry: the session ran 10 minutes over." in page
    assert therapist.user.get_full_name() in page
    signed_note.refresh_from_db()
    assert signed_note.topic == "Triggers and cravings"


def test_empty_addendum_is_refused(facilitator_client, session, signed_note):
    response = facilitator_client.post(reverse("therapist:note_addendum", args=[session.pk]), {"text": "  "})

    assert response.status_code == 200
    assert "text" in response.context["addendum_form"].errors
    assert Addendum.objects.count() == 0


def test_addendum_naming_a_member_in_full_is_refused(facilitator_client, session, signed_note, members):
    response = facilitator_client.post(
        reverse("therapist:note_addendum", args=[session.pk]),
        {"text": f"Correction: {members[0].legal_first_name} {members[0].legal_last_name} left at 6:40."},
    )

    assert members[0].initials in response.context["addendum_form"].errors["text"][0]
    assert Addendum.objects.count() == 0


def test_unsigned_note_takes_no_addendum(facilitator_client, session, note):
    response = facilitator_client.post(reverse("therapist:note_addendum", args=[session.pk]), {"text": "Correction."})

    assert response.status_code == 200
    assert Addendum.objects.count() == 0


def test_other_therapist_cannot_add_an_addendum(session, signed_note, other_therapist):
    with pytest.raises(ValidationError):
        notes.add_addendum(note=signed_note, author=other_therapist.user, text="Correction.")
    assert Addendum.objects.count() == 0


# --- The dashboard's reminders --------------------------------------------------------------


def test_unsigned_note_older_than_24_hours_is_listed(facilitator_client, group, members, therapist):
    old = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=2))
    record_everyone_present(old, members, by=therapist.user)
    write_note(old, members, by=therapist.user)
    recent = make_session(group, starts_at=timezone.now() - datetime.timedelta(hours=3))
    record_everyone_present(recent, members, by=therapist.user)
    write_note(recent, members, by=therapist.user)

    response = facilitator_client.get(reverse("therapist:dashboard"))

    assert [s.pk for s in response.context["overdue_sessions"]] == [old.pk]
    page = response.content.decode()
    assert "unsigned for more than 24 hours" in page
    day = date_format(timezone.localtime(old.starts_at), "D M j")
    assert f'href="{reverse("therapist:note", args=[old.pk])}"' in page
    assert f"{day} · {group.name} — sign the note" in page


def test_signed_note_is_not_listed_as_overdue(facilitator_client, group, members, therapist):
    old = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=2))
    record_everyone_present(old, members, by=therapist.user)
    notes.sign_note(note=write_note(old, members, by=therapist.user), user=therapist.user, password=PASSWORD)

    assert facilitator_client.get(reverse("therapist:dashboard")).context["overdue_sessions"] == []


def test_signing_a_note_stamps_its_session_and_nothing_else_of_it(group, members, therapist):
    session = make_session(group, starts_at=timezone.now() - datetime.timedelta(days=2))
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    session.refresh_from_db()
    calendar_version = session.updated_at

    notes.sign_note(note=note, user=therapist.user, password=PASSWORD)

    session.refresh_from_db()
    note.refresh_from_db()
    assert session.note_signed_at == note.signed_at
    # Signing changes no calendar entry: the feed's version (updated_at) stays.
    assert session.updated_at == calendar_version
    assert not Session.objects.note_unsigned().filter(pk=session.pk).exists()


def held_sessions_without_signed_notes(group, count):
    """``count`` meetings held on the days before yesterday, none with a signed note."""
    return [
        make_session(group, starts_at=timezone.now() - datetime.timedelta(days=2 + n), status=Session.Status.HELD)
        for n in range(count)
    ]


def test_dashboard_shows_the_oldest_unsigned_notes_and_links_to_the_rest(facilitator_client, group):
    sessions = held_sessions_without_signed_notes(group, OVERDUE_ON_DASHBOARD + 1)

    response = facilitator_client.get(reverse("therapist:dashboard"))

    oldest_first = sorted(sessions, key=lambda s: s.starts_at)
    assert [s.pk for s in response.context["overdue_sessions"]] == [s.pk for s in oldest_first][:OVERDUE_ON_DASHBOARD]
    assert reverse("therapist:overdue_notes") in response.content.decode()


def test_dashboard_with_few_unsigned_notes_has_no_link_to_more(facilitator_client, group):
    held_sessions_without_signed_notes(group, OVERDUE_ON_DASHBOARD)

    response = facilitator_client.get(reverse("therapist:dashboard"))

    assert len(response.context["overdue_sessions"]) == OVERDUE_ON_DASHBOARD
    assert reverse("therapist:overdue_notes") not in response.content.decode()


def test_unsigned_notes_page_shows_every_one_a_page_at_a_time(facilitator_client, group):
    sessions = held_sessions_without_signed_notes(group, OVERDUE_PER_PAGE + 2)
    url = reverse("therapist:overdue_notes")

    first = facilitator_client.get(url)
    second = facilitator_client.get(url, {"page": 2})

    shown = [s.pk for s in first.context["page"].object_list] + [s.pk for s in second.context["page"].object_list]
    assert shown == [s.pk for s in sorted(sessions, key=lambda s: s.starts_at)]
    assert len(first.context["page"].object_list) == OVERDUE_PER_PAGE
    assert "?page=2" in first.content.decode()


def test_unsigned_notes_page_answers_a_bad_page_number_with_a_page(facilitator_client, group):
    held_sessions_without_signed_notes(group, 2)

    response = facilitator_client.get(reverse("therapist:overdue_notes"), {"page": "x"})

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 2


def test_unsigned_notes_page_lists_only_the_therapists_own(client, group, other_therapist):
    held_sessions_without_signed_notes(group, 2)
    client.force_login(other_therapist.user)

    response = client.get(reverse("therapist:overdue_notes"))

    assert list(response.context["page"].object_list) == []
    assert group.name not in response.content.decode()


def test_unsigned_notes_page_lets_in_only_therapists(client, therapist, portal_user, staff_user):
    url = reverse("therapist:overdue_notes")
    assert client.get(url).url.startswith(reverse(settings.LOGIN_URL))
    for user, status in [(therapist.user, 200), (portal_user, 404), (staff_user, 404)]:
        client.force_login(user)
        assert client.get(url).status_code == status


# --- Before the session ---------------------------------------------------------------------


@pytest.fixture
def upcoming(group, members):
    return make_session(group, starts_at=timezone.now() + datetime.timedelta(days=3))


def test_service_refuses_a_note_for_a_session_that_has_not_started(upcoming, members, therapist):
    before = counts()

    with pytest.raises(ValidationError) as refused:
        write_note(upcoming, [], by=therapist.user)

    assert refused.value.messages == ["Notes are written once the session has started."]
    assert counts() == before


def test_a_session_with_attendance_cannot_move_later_so_its_note_is_never_held_back(session, attended, therapist):
    starts_at = session.starts_at

    with pytest.raises(ValidationError) as refused:
        update_session(session=session, starts_at=starts_at + datetime.timedelta(days=3))

    assert refused.value.messages == ["Attendance or a note is recorded for this session; it can no longer change."]
    session.refresh_from_db()
    assert session.starts_at == starts_at
    assert write_note(session, attended, by=therapist.user).individual_notes.count() == len(attended)


def test_note_page_refuses_a_note_for_a_session_that_has_not_started(facilitator_client, upcoming):
    before = counts()

    response = facilitator_client.post(reverse("therapist:note", args=[upcoming.pk]), note_post([]))

    assert response.status_code == 200
    assert "Notes are written once the session has started." in response.content.decode()
    assert counts() == before
