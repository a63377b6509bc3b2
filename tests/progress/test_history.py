"""History is never rewritten: a roster is the members at the session's start, attendance records
only what the therapist chose, and a double click makes one addendum."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clients.services import revoke_signature
from groups.models import Membership
from iop.clock import local_start
from progress import attendance, notes, selectors
from progress.models import Addendum, Attendance
from progress.views import WEEK_SECTION_ON_DASHBOARD
from scheduling.enrolment import end_membership, enroll_client
from scheduling.models import Reminder
from scheduling.reminders import plan_reminders
from scheduling.selectors import sessions_for_client
from tests.factories import PASSWORD, ClientFactory
from tests.helpers import add_members, attendance_post, make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db


def earlier_today(now):
    """A session that began earlier today (just after midnight when it is that early)."""
    return max(now - datetime.timedelta(hours=2), local_start(timezone.localdate(now), datetime.time.min))


def ids(clients):
    return {c.pk for c in clients}


@pytest.fixture
def full_group(group):
    """Eight members (the cap), one session held earlier today: attendance taken, note signed."""
    return group, add_members(group, 8)


@pytest.fixture
def signed_session(full_group, therapist, now):
    group, members = full_group
    session = make_session(group, starts_at=earlier_today(now))
    for member in members:
        member.refresh_from_db()
    record_everyone_present(session, members, by=therapist.user)
    notes.sign_note(note=write_note(session, members, by=therapist.user), user=therapist.user, password=PASSWORD)
    return session


def join_today(how, group, members):
    """A newcomer joins today: promoted from the waitlist when a member leaves, or enrolled."""
    newcomer = ClientFactory(legal_first_name="Leopold", legal_last_name="Latecomer")
    if how == "promoted":
        waiting = enroll_client(client=newcomer, group=group)
        assert waiting.status == Membership.Status.WAITLISTED
        leaver = Membership.objects.get(client=members[0], group=group)
        assert end_membership(membership=leaver, reason=Membership.EndReason.COMPLETED).client == newcomer
    else:
        end_membership(
            membership=Membership.objects.get(client=members[0], group=group), reason=Membership.EndReason.COMPLETED
        )
        enroll_client(client=ClientFactory(), group=group)  # takes the freed seat
        group.capacity = 9
        group.save(update_fields=["capacity"])
        assert enroll_client(client=newcomer, group=group).status == Membership.Status.ACTIVE
    return newcomer


@pytest.mark.parametrize("how", ["promoted", "enrolled"])
def test_a_member_who_joins_after_a_session_began_is_not_on_its_roster(full_group, signed_session, how):
    group, members = full_group

    newcomer = join_today(how, group, members)

    roster = ids(selectors.roster_for_session(signed_session))
    assert newcomer.pk not in roster
    # The leaver's attendance was taken: they stay on the roster of the session they attended.
    assert roster == ids(members)
    assert notes.signing_refusals(signed_session.group_note) == []
    assert newcomer.pk not in ids(notes.attending_clients(signed_session))


@pytest.mark.parametrize("how", ["promoted", "enrolled"])
def test_the_dashboard_does_not_ask_for_attendance_of_a_signed_session_after_someone_joins(
    facilitator_client, full_group, signed_session, how
):
    group, members = full_group
    join_today(how, group, members)

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert f'data-session="{signed_session.pk}"' in page
    assert "Attendance to take" not in page
    assert "Note signed" in page


def test_a_member_who_joins_today_has_the_sessions_still_to_come(full_group, signed_session, now, therapist):
    group, members = full_group
    newcomer = join_today("promoted", group, members)
    later = make_session(group, starts_at=now + datetime.timedelta(hours=1))

    assert newcomer.pk in ids(selectors.roster_for_session(later))
    schedule = set(sessions_for_client(newcomer).values_list("pk", flat=True))
    assert later.pk in schedule
    assert signed_session.pk not in schedule
    plan_reminders(sessions=[later])
    assert Reminder.objects.filter(session=later, client=newcomer).exists()


def test_the_session_page_lists_only_the_members_at_its_start(facilitator_client, full_group, signed_session):
    group, members = full_group
    newcomer = join_today("promoted", group, members)

    response = facilitator_client.get(reverse("therapist:session", args=[signed_session.pk]))

    assert newcomer.pk not in ids(response.context["roster"])
    assert "Leopold" not in response.content.decode()


def test_a_backdated_enrolment_cannot_join_a_session_whose_attendance_was_taken(full_group, signed_session, today):
    group, members = full_group
    end_membership(
        membership=Membership.objects.get(client=members[0], group=group), reason=Membership.EndReason.COMPLETED
    )
    before = Membership.objects.count()

    with pytest.raises(ValidationError) as refusal:
        enroll_client(client=ClientFactory(), group=group, on=today - datetime.timedelta(days=1))

    assert "attendance" in " ".join(refusal.value.messages)
    assert Membership.objects.count() == before


# --- Attendance is chosen, never assumed ---------------------------------------------------


def blank_post(session, roster) -> dict:
    """The roster form as the page first shows it: nothing chosen."""
    data = attendance_post(session, roster)
    for index in range(len(roster)):
        data.update(
            {f"form-{index}-status": "", f"form-{index}-minutes_attended": "", f"form-{index}-participation": ""}
        )
    return data


def test_the_attendance_page_starts_with_nothing_chosen(facilitator_client, session, members):
    response = facilitator_client.get(reverse("therapist:session", args=[session.pk]))

    for form in response.context["formset"].forms:
        assert form["status"].value() in (None, "")
        assert form["minutes_attended"].value() in (None, "")
        assert form["participation"].value() in (None, "")
    page = response.content.decode()
    assert "selected>Present" not in page
    assert "Mark everyone present" in page


def test_rows_left_unchosen_are_refused_with_a_summary_and_nothing_is_saved(facilitator_client, session, members):
    data = blank_post(session, members)
    data.update({"form-1-status": "present", "form-1-minutes_attended": "90"})

    response = facilitator_client.post(reverse("therapist:session", args=[session.pk]), data)

    assert response.status_code == 200
    assert Attendance.objects.count() == 0
    forms = response.context["formset"].forms
    assert "status" in forms[0].errors
    assert "participation" in forms[1].errors
    assert "status" not in forms[1].errors
    summary = response.context["missing"]
    assert [name for name, _ in summary] == [m.display_name for m in members]
    assert dict(summary)[members[1].display_name] == ["participation"]
    page = response.content.decode()
    assert "Attendance is not saved" in page
    assert members[0].display_name in page


def test_mark_everyone_present_fills_the_form_and_saves_nothing(facilitator_client, group, members):
    session = make_session(group, minutes=75)
    data = blank_post(session, members)
    data.update({"form-2-status": "absent", "form-0-observation": "Arrived calm.", "mark_everyone_present": "1"})

    response = facilitator_client.post(reverse("therapist:session", args=[session.pk]), data)

    assert response.status_code == 200
    assert Attendance.objects.count() == 0
    forms = response.context["formset"].forms
    assert [f["status"].value() for f in forms] == ["present", "present", "absent"]
    assert forms[0]["minutes_attended"].value() == 75
    assert forms[0]["observation"].value() == "Arrived calm."
    assert forms[0]["participation"].value() in (None, "")
    assert not any(form.errors for form in forms)


def test_mark_everyone_present_leaves_a_member_without_an_agreement_unchosen(
    facilitator_client, session, members, unsigned_member
):
    data = blank_post(session, [*members])
    data["mark_everyone_present"] = "1"

    response = facilitator_client.post(reverse("therapist:session", args=[session.pk]), data)

    statuses = {f.member.pk: f["status"].value() for f in response.context["formset"].forms}
    assert statuses[unsigned_member.pk] in (None, "")


def test_the_service_refuses_an_entry_without_a_chosen_status_or_participation(session, members, therapist):
    entries = [
        attendance.AttendanceEntry(client=members[0], status="", minutes_attended=None),
        attendance.AttendanceEntry(client=members[1], status=Attendance.Status.PRESENT, minutes_attended=90),
        attendance.AttendanceEntry(
            client=members[2], status=Attendance.Status.LATE, minutes_attended=None, participation=2
        ),
    ]

    with pytest.raises(ValidationError) as refusal:
        attendance.record_attendance(session=session, entries=entries, recorded_by=therapist.user)

    text = " ".join(refusal.value.messages)
    assert members[0].display_name in text
    assert members[1].display_name in text
    assert members[2].display_name in text
    assert Attendance.objects.count() == 0


# --- The dashboard -------------------------------------------------------------------------


def test_a_session_that_has_not_started_asks_for_no_attendance(facilitator_client, group, members, now):
    upcoming = make_session(group, starts_at=now + datetime.timedelta(minutes=10))

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert f'data-session="{upcoming.pk}"' in page
    assert "Attendance to take" not in page


def test_a_session_that_began_without_attendance_asks_for_it(facilitator_client, group, members, now):
    make_session(group, starts_at=earlier_today(now))

    page = facilitator_client.get(reverse("therapist:dashboard")).content.decode()

    assert "Attendance to take" in page


def test_earlier_this_week_rows_show_their_date(facilitator_client, therapist, group, members, clock, today):
    thursday = today + datetime.timedelta(days=(3 - today.weekday()) % 7)
    clock.move_to(local_start(thursday, datetime.time(12)))
    facilitator_client.force_login(therapist.user)  # days later: a login left idle has ended
    tuesday = thursday - datetime.timedelta(days=2)
    earlier = make_session(group, starts_at=local_start(tuesday, datetime.time(10)))

    response = facilitator_client.get(reverse("therapist:dashboard"))

    assert [s.pk for s in response.context["earlier_sessions"]] == [earlier.pk]
    assert f"{tuesday:%a} {tuesday:%b} {tuesday.day}" in response.content.decode()


def test_a_busy_week_shows_the_next_and_the_latest_sessions_and_links_to_the_whole_week(
    facilitator_client, therapist, group, members, clock, today
):
    thursday = today + datetime.timedelta(days=(3 - today.weekday()) % 7)
    clock.move_to(local_start(thursday, datetime.time(12)))
    facilitator_client.force_login(therapist.user)  # days later: a login left idle has ended
    earlier, later = [], []
    for hour in range(8, 20, 2):
        for day, found in ((-2, earlier), (-1, earlier), (1, later), (2, later)):
            found.append(
                make_session(group, starts_at=local_start(thursday + datetime.timedelta(days=day), datetime.time(hour)))
            )
    earlier.sort(key=lambda s: s.starts_at)
    later.sort(key=lambda s: s.starts_at)
    shown = WEEK_SECTION_ON_DASHBOARD

    response = facilitator_client.get(reverse("therapist:dashboard"))

    assert [s.pk for s in response.context["later_sessions"]] == [s.pk for s in later[:shown]]
    assert [s.pk for s in response.context["earlier_sessions"]] == [s.pk for s in earlier[-shown:]]
    page = response.content.decode()
    assert f"Show all {len(later)} sessions later this week" in page
    assert "Show all sessions earlier this week" in page

    whole = facilitator_client.get(reverse("therapist:dashboard"), {"week": "all"})

    assert [s.pk for s in whole.context["later_sessions"]] == [s.pk for s in later]
    assert [s.pk for s in whole.context["earlier_sessions"]] == [s.pk for s in earlier]
    assert "Show all" not in whole.content.decode()


def test_the_dashboard_counts_the_roster_at_each_sessions_start(full_group, signed_session, therapist):
    group, members = full_group
    join_today("promoted", group, members)

    [listed] = [s for s in selectors.week_sessions(therapist) if s.pk == signed_session.pk]

    assert listed.roster_size == 8
    assert not listed.attendance_due


# --- One addendum per submission -------------------------------------------------------------


def test_a_double_clicked_addendum_is_added_once(facilitator_client, session, signed_note):
    page = facilitator_client.get(reverse("therapist:note", args=[session.pk]))
    form = page.context["addendum_form"]
    data = {field.html_name: field.value() for field in form.hidden_fields()}
    data["text"] = "Late entry: the session ran 10 minutes over."
    url = reverse("therapist:note_addendum", args=[session.pk])

    first = facilitator_client.post(url, data)
    second = facilitator_client.post(url, data)

    assert (first.status_code, second.status_code) == (302, 302)
    assert Addendum.objects.count() == 1


def test_two_addenda_from_two_forms_are_both_added(facilitator_client, session, signed_note):
    url = reverse("therapist:note_addendum", args=[session.pk])
    for text in ("First correction.", "Second correction."):
        form = facilitator_client.get(reverse("therapist:note", args=[session.pk])).context["addendum_form"]
        data = {field.html_name: field.value() for field in form.hidden_fields()}
        facilitator_client.post(url, {**data, "text": text})

    assert list(Addendum.objects.values_list("text", flat=True)) == ["First correction.", "Second correction."]


@pytest.fixture
def unsigned_member(members, staff_user):
    member = members[0]
    revoke_signature(signature=member.signatures.get(), reason="Withdrew consent", revoked_by=staff_user)
    return member
