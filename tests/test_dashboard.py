"""The clinic's dashboard (the admin's index) and the "Not documented" state of a session whose time
is over with nothing recorded."""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from clients.models import AgreementSignature
from groups.models import Membership
from iop import dashboard
from iop.clock import monday_of, start_of_day
from iop.permissions import CLINIC_STAFF, CLINICAL_SUPERVISOR
from progress.checkins import record_measure
from scheduling.models import Session
from tests.factories import (
    AttendanceFactory,
    ClientFactory,
    MembershipFactory,
    SessionFactory,
    TherapistFactory,
    TherapyGroupFactory,
    TreatmentPlanFactory,
    UserFactory,
)
from tests.test_query_counts import build_clinic, grow, queries

pytestmark = pytest.mark.django_db

INDEX = "admin:index"


def sections_of(response) -> dict[str, dashboard.Section]:
    return {section.name: section for section in response.context["dashboard_sections"]}


@pytest.fixture
def supervisor(db):
    user = UserFactory(username="supervisor", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[CLINIC_STAFF, CLINICAL_SUPERVISOR]))
    return user


# --- "Not documented": derived from the time and the rows --------------------------------------


def _ending(now, *, minutes_from_now: int, **fields) -> Session:
    """A 60-minute session that ends ``minutes_from_now`` minutes from now (negative: ended)."""
    starts_at = now + datetime.timedelta(minutes=minutes_from_now - 60)
    return SessionFactory(starts_at=starts_at, minutes=60, **fields)


def test_a_session_a_minute_before_its_end_is_still_scheduled(now):
    session = _ending(now, minutes_from_now=1)

    assert session.state_at(now) == Session.State.SCHEDULED
    assert not Session.objects.not_documented(now=now).exists()


def test_a_session_a_minute_after_its_end_without_attendance_is_not_documented(now):
    session = _ending(now, minutes_from_now=-1)

    assert session.state_at(now) == Session.State.NOT_DOCUMENTED
    assert session.state_at(now).label == "Not documented"
    assert list(Session.objects.not_documented(now=now)) == [session]


def test_a_session_with_attendance_after_its_end_is_held(now):
    session = _ending(now, minutes_from_now=-1)
    AttendanceFactory(session=session, client=ClientFactory())
    Session.objects.filter(pk=session.pk).update(first_recorded_at=now)  # as record_attendance leaves it
    session.refresh_from_db()

    assert session.state_at(now) == Session.State.HELD
    assert not Session.objects.not_documented(now=now).exists()


def test_a_session_marked_held_without_attendance_is_held(now):
    session = _ending(now, minutes_from_now=-1, status=Session.Status.HELD)

    assert session.state_at(now) == Session.State.HELD
    assert not Session.objects.not_documented(now=now).exists()


@pytest.mark.parametrize("minutes_from_now", [1, -1])
def test_a_cancelled_session_stays_cancelled_before_and_after_its_end(now, minutes_from_now):
    session = _ending(now, minutes_from_now=minutes_from_now, status=Session.Status.CANCELLED)

    assert session.state_at(now) == Session.State.CANCELLED
    assert not Session.objects.not_documented(now=now).exists()


def test_the_session_pages_say_not_documented(staff_client, therapist, now):
    group = TherapyGroupFactory(facilitator=therapist)
    session = _ending(now, minutes_from_now=-1, group=group)

    admin_page = staff_client.get(reverse("admin:scheduling_session_change", args=[session.pk]))
    staff_client.force_login(therapist.user)
    therapist_page = staff_client.get(reverse("therapist:session", args=[session.pk]))

    assert "Not documented" in admin_page.content.decode()
    assert 'data-state="not_documented"' in therapist_page.content.decode()
    # The therapist can still take its attendance.
    assert therapist_page.context["closed_reasons"] == []


# --- The sessions list ---------------------------------------------------------------------------


@pytest.fixture
def week_of_sessions(group, now):
    """Yesterday's (never documented), one earlier today, and tomorrow's."""
    today = start_of_day(timezone.localdate(now))
    return {
        "yesterday": SessionFactory(group=group, starts_at=today - datetime.timedelta(hours=14)),
        "today": SessionFactory(group=group, starts_at=today + datetime.timedelta(minutes=5)),
        "tomorrow": SessionFactory(group=group, starts_at=today + datetime.timedelta(days=1, hours=10)),
    }


def listed(staff_client, **parameters) -> list[Session]:
    response = staff_client.get(reverse("admin:scheduling_session_changelist"), parameters)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_sessions_list_opens_on_today_and_upcoming(staff_client, week_of_sessions):
    assert listed(staff_client) == [week_of_sessions["today"], week_of_sessions["tomorrow"]]


def test_past_sessions_are_a_filter_away_latest_first(staff_client, week_of_sessions, group, now):
    older = SessionFactory(group=group, starts_at=week_of_sessions["yesterday"].starts_at - datetime.timedelta(days=1))

    assert listed(staff_client, shown="past") == [week_of_sessions["yesterday"], older]
    not_documented = listed(staff_client, shown="not_documented")
    assert not_documented[-2:] == [week_of_sessions["yesterday"], older]
    assert week_of_sessions["tomorrow"] not in not_documented
    assert len(listed(staff_client, shown="all")) == 4


def test_a_date_chosen_in_the_date_filter_shows_that_dates_sessions(staff_client, week_of_sessions, now):
    yesterday = timezone.localdate(now) - datetime.timedelta(days=1)
    found = listed(
        staff_client,
        starts_at__gte=str(start_of_day(yesterday)),
        starts_at__lt=str(start_of_day(timezone.localdate(now))),
    )

    assert found == [week_of_sessions["yesterday"]]


def test_the_sessions_list_names_each_sessions_state(staff_client, week_of_sessions):
    page = staff_client.get(reverse("admin:scheduling_session_changelist"), {"shown": "all"}).content.decode()

    assert page.count("Not documented") >= 2  # the filter's choice and yesterday's row
    assert "Scheduled" in page


# --- The dashboard's sections ---------------------------------------------------------------------


def test_an_empty_clinic_shows_each_section_with_its_empty_words(staff_client, agreement):
    response = staff_client.get(reverse(INDEX))

    assert response.status_code == 200
    sections = sections_of(response)
    assert set(sections) == {
        "safety",
        "today",
        "undocumented",
        "waitlists",
        "group-sizes",
        "agreements",
        "hours",
        "plan-reviews",
        "census",
    }
    page = response.content.decode()
    for name, section in sections.items():
        if name != "census":
            assert section.lines == [] and escape(section.empty) in page
    # The list of every admin page is still there.
    assert reverse("admin:clients_client_changelist") in page


@pytest.fixture
def busy_day(therapist, now, agreement):
    """A clinic with a row for each section."""
    today = timezone.localdate(now)
    group = TherapyGroupFactory(facilitator=therapist, name="Mindfulness", capacity=8)
    member = ClientFactory(legal_first_name="Jordan", legal_last_name="Avery")
    MembershipFactory(client=member, group=group)
    waiting = ClientFactory(legal_first_name="Morgan", legal_last_name="Blake")
    MembershipFactory(
        client=waiting,
        group=group,
        status=Membership.Status.WAITLISTED,
        joined_on=None,
        joined_at=None,
        waitlisted_at=now - datetime.timedelta(days=3),
    )
    undocumented = SessionFactory(group=group, starts_at=now - datetime.timedelta(days=2))
    todays = SessionFactory(group=group, starts_at=start_of_day(today) + datetime.timedelta(minutes=1), minutes=60)
    unsigned = ClientFactory(legal_first_name="Riley", legal_last_name="Unsigned", signed=False)
    alert = record_measure(
        client=member, instrument="phq9", answers={f"item_{n}": 1 for n in range(1, 10)}
    ).safety_alert
    plan = TreatmentPlanFactory(client=member, started_on=today - datetime.timedelta(days=90))
    return {
        "group": group,
        "member": member,
        "undocumented": undocumented,
        "todays": todays,
        "unsigned": unsigned,
        "alert": alert,
        "plan": plan,
    }


def test_each_section_lists_its_rows_with_links_to_where_they_are_fixed(supervisor, client, busy_day, therapist):
    client.force_login(supervisor)
    response = client.get(reverse(INDEX))
    sections = sections_of(response)
    page = response.content.decode()

    (alert,) = sections["safety"].lines
    assert alert.url == reverse("admin:progress_safetyalert_follow_up", args=[busy_day["alert"].pk])
    (today,) = sections["today"].lines
    assert today.url == reverse("admin:scheduling_session_change", args=[busy_day["todays"].pk])
    (behind,) = sections["undocumented"].lines
    assert behind.text.startswith("Dana Whitfield")
    assert any(label.endswith("without attendance") and "shown=not_documented" in url for label, url in behind.links)
    (waitlist,) = sections["waitlists"].lines
    assert waitlist.url == reverse("admin:groups_therapygroup_change", args=[busy_day["group"].pk])
    assert waitlist.cells[0] == "1" and "(3 days)" in waitlist.cells[1]
    (small,) = sections["group-sizes"].lines
    assert small.cells == ("1 / 8", "below 8")
    assert [line.text for line in sections["agreements"].lines] == [str(busy_day["unsigned"])]
    assert sections["agreements"].lines[0].cells == ("Active", "Never signed")
    assert busy_day["member"].pk in {int(line.url.split("/")[-3]) for line in sections["hours"].lines}
    (review,) = sections["plan-reviews"].lines
    assert review.url == reverse("admin:progress_treatmentplan_change", args=[busy_day["plan"].pk])
    adults = sections["census"].lines[0]
    assert adults.text == "Adult IOP" and adults.cells == (str(3),)
    # Every line's link is on the page.
    for section in sections.values():
        for line in section.lines:
            assert f'href="{escape(line.url)}"' in page


def test_a_therapists_line_counts_in_words_one_and_many(supervisor, client, therapist, now, agreement):
    group = TherapyGroupFactory(facilitator=therapist)
    SessionFactory(group=group, starts_at=now - datetime.timedelta(days=2))
    SessionFactory(group=group, starts_at=now - datetime.timedelta(days=3))
    SessionFactory(group=group, starts_at=now - datetime.timedelta(days=4), status=Session.Status.HELD)
    client.force_login(supervisor)

    (line,) = sections_of(client.get(reverse(INDEX)))["undocumented"].lines

    assert [label for label, _ in line.links] == ["2 without attendance", "1 note unsigned after 24 h"]
    SessionFactory(group=group, starts_at=now - datetime.timedelta(days=5), status=Session.Status.HELD)
    (line,) = sections_of(client.get(reverse(INDEX)))["undocumented"].lines
    assert line.links[1][0] == "2 notes unsigned after 24 h"


def test_a_long_section_shows_its_first_lines_and_links_the_rest(staff_client, agreement):
    ClientFactory.create_batch(dashboard.SHOWN + 3, signed=False)

    response = staff_client.get(reverse(INDEX))
    section = sections_of(response)["agreements"]

    assert (len(section.lines), section.total, section.more) == (dashboard.SHOWN, dashboard.SHOWN + 3, 3)
    assert "and 3 more" in response.content.decode()
    listed = staff_client.get(section.more_url)
    assert listed.context["cl"].result_count == dashboard.SHOWN + 3


def test_a_section_without_a_list_of_its_own_has_a_page_of_all_its_lines(staff_client, agreement, now):
    ClientFactory.create_batch(dashboard.SHOWN + 2)  # never attended: below the minimum last week

    response = staff_client.get(reverse("admin:dashboard_section", args=["hours"]))

    assert response.status_code == 200
    assert len(response.context["section"].lines) == dashboard.SHOWN + 2
    assert staff_client.get(reverse("admin:dashboard_section", args=["no-such-part"])).status_code == 404


def test_agreements_revoked_or_of_an_older_version_are_to_sign_again(staff_client, agreement):
    from tests.factories import AgreementFactory

    revoked = ClientFactory(legal_last_name="Revoked")
    AgreementSignature.objects.filter(client=revoked).update(
        revoked_at=timezone.now(), revoked_reason="Asked to withdraw"
    )
    AgreementFactory(version=agreement.version + 1)
    older = ClientFactory(legal_last_name="Older", signed=False)
    AgreementSignature.objects.create(
        client=older, agreement=agreement, signed_at=timezone.now(), witnessed_by=UserFactory()
    )

    why = {line.text: line.cells[1] for line in sections_of(staff_client.get(reverse(INDEX)))["agreements"].lines}

    assert why[str(revoked)] == "Signature revoked"
    assert why[str(older)] == f"Signed version {agreement.version}; version {agreement.version + 1} is current"


def test_hours_are_counted_as_on_the_progress_page(staff_client, agreement, group, today):
    """Held sessions of last week count; attendance at a session not marked held does not."""
    last_monday = monday_of(today) - datetime.timedelta(weeks=1)
    client = ClientFactory(legal_last_name="Counted")
    for day in range(3):
        starts_at = start_of_day(last_monday + datetime.timedelta(days=day)) + datetime.timedelta(hours=10)
        held = SessionFactory(group=group, starts_at=starts_at, status=Session.Status.HELD)
        AttendanceFactory(session=held, client=client, minutes_attended=90)
    below = sections_of(staff_client.get(reverse(INDEX)))["hours"]
    line = next(line for line in below.lines if line.text == str(client))
    assert line.cells == ("4.5 h of 9 h",)

    for day in range(3, 6):
        starts_at = start_of_day(last_monday + datetime.timedelta(days=day)) + datetime.timedelta(hours=10)
        held = SessionFactory(group=group, starts_at=starts_at, status=Session.Status.HELD)
        AttendanceFactory(session=held, client=client, minutes_attended=90)
    below = sections_of(staff_client.get(reverse(INDEX)))["hours"]
    assert str(client) not in {line.text for line in below.lines}


# --- Who sees what --------------------------------------------------------------------------------


def test_staff_without_note_access_see_no_clinical_detail(staff_client, supervisor, client, busy_day):
    staff_page = staff_client.get(reverse(INDEX)).content.decode()
    client.force_login(supervisor)
    supervisor_page = client.get(reverse(INDEX)).content.decode()

    assert "PHQ-9 item 9" not in staff_page
    assert "PHQ-9 item 9: Several days" in supervisor_page
    # Both see that the alert is open, and for whom.
    assert str(busy_day["member"]) in staff_page and str(busy_day["member"]) in supervisor_page


def test_a_staff_member_without_permissions_sees_no_section(client, busy_day):
    bare = UserFactory(username="new-hire", is_staff=True)
    client.force_login(bare)

    response = client.get(reverse(INDEX))

    assert response.status_code == 200
    assert response.context["dashboard_sections"] == []
    assert str(busy_day["member"]) not in response.content.decode()
    assert client.get(reverse("admin:dashboard_section", args=["hours"])).status_code == 404


@pytest.mark.parametrize("who", ["therapist", "client", "anonymous"])
def test_therapists_and_clients_get_no_admin(client, therapist, client_record, who):
    if who == "therapist":
        client.force_login(therapist.user)
    elif who == "client":
        client_record.portal_user = UserFactory(username="portal")
        client_record.save(update_fields=["portal_user"])
        client.force_login(client_record.portal_user)

    for url in (reverse(INDEX), reverse("admin:dashboard_section", args=["hours"])):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_dashboard_records_the_clients_it_names(staff_client, staff_user, busy_day):
    before = AuditEvent.objects.count()

    response = staff_client.get(reverse(INDEX))

    named = {client for section in response.context["dashboard_sections"] for client in section.clients}
    rows = AuditEvent.objects.order_by("id")[before:]
    assert named >= {busy_day["member"].pk, busy_day["unsigned"].pk}
    assert {(row.action, row.client_id, row.user_id) for row in rows} == {
        (AuditEvent.Action.VIEW, client, staff_user.pk) for client in named
    }


def test_a_dashboard_that_names_no_client_records_nothing(staff_client, agreement):
    before = AuditEvent.objects.count()

    staff_client.get(reverse(INDEX))

    assert AuditEvent.objects.count() == before


# --- A constant number of queries -------------------------------------------------------------------


def add_dashboard_rows(clinic, now, units):
    """What the query-count clinic lacks for the dashboard, one of each per unit: a client who
    must sign the agreement and a session today."""
    while clinic.setdefault("dashboard_units", 0) < units:
        clinic["dashboard_units"] += 1
        ClientFactory(signed=False)
        group = TherapyGroupFactory(facilitator=TherapistFactory())
        SessionFactory(group=group, starts_at=start_of_day(timezone.localdate(now)) + datetime.timedelta(minutes=1))


def test_the_dashboard_costs_the_same_queries_for_staff_in_a_clinic_ten_times_larger(client, staff_user, now):
    clinic = build_clinic(now)
    grow(clinic, now, 1)
    add_dashboard_rows(clinic, now, 1)
    client.force_login(staff_user)
    pages = [reverse(INDEX), *(reverse("admin:dashboard_section", args=[name]) for name in dashboard.section_names())]
    small = {page: queries(client, page, first_visit=True) for page in pages}

    grow(clinic, now, 10)
    add_dashboard_rows(clinic, now, 10)
    large = {page: queries(client, page) for page in pages}

    assert small == large
    assert {status for status, _ in small.values()} == {200}
    # Every section had rows to show at the smaller size already.
    sections = sections_of(client.get(reverse(INDEX)))
    assert all(section.lines for section in sections.values()), [n for n, s in sections.items() if not s.lines]


def test_a_discharged_clients_plan_is_not_overdue_for_review(staff_client, agreement, today):
    kept = TreatmentPlanFactory(client=ClientFactory(), started_on=today - datetime.timedelta(days=90))
    left = ClientFactory(status="discharged", discharge_date=today, signed=False)
    TreatmentPlanFactory(client=left, started_on=today - datetime.timedelta(days=90))

    on_dashboard = sections_of(staff_client.get(reverse(INDEX)))["plan-reviews"]
    filtered = staff_client.get(reverse("admin:progress_treatmentplan_changelist"), {"review": "overdue"})

    assert [line.url for line in on_dashboard.lines] == [reverse("admin:progress_treatmentplan_change", args=[kept.pk])]
    assert list(filtered.context["cl"].result_list) == [kept]


def test_the_demo_has_a_past_session_nobody_documented_on_the_dashboard(client, now):
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", stdout=StringIO())
    client.force_login(UserFactory(username="demo-reader", is_staff=True, is_superuser=True))

    undocumented = sections_of(client.get(reverse(INDEX)))["undocumented"]

    assert Session.objects.not_documented(now=timezone.now()).exists()
    assert any(label.endswith("without attendance") for line in undocumented.lines for label, _ in line.links)
