"""The clinic's reports: each one's numbers against a small clinic worked out by hand, their
filters, the CSV file (formula cells escaped), and who may open them."""

import csv
import datetime
import io
import zoneinfo

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client, LevelOfCare
from groups.models import Membership, TherapyGroup
from iop.clock import monday_of
from progress import reports
from progress.models import Attendance
from scheduling.models import Session
from tests.factories import (
    AttendanceFactory,
    ClientFactory,
    MembershipFactory,
    SessionFactory,
    TherapistFactory,
    TherapyGroupFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
WEEK = datetime.timedelta(weeks=1)


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def held(group, day, *, hour=10, minutes=90, facilitator=None, status=Session.Status.HELD):
    return SessionFactory(
        group=group,
        starts_at=at(day, hour),
        minutes=minutes,
        status=status,
        facilitator=facilitator or group.facilitator,
    )


def attend(session, client, status="present", minutes=None):
    attended = status in Attendance.ATTENDED
    return AttendanceFactory(
        session=session,
        client=client,
        status=status,
        minutes_attended=(session.duration_minutes if minutes is None else minutes) if attended else 0,
    )


def admitted(on, *, level=LevelOfCare.ADULT_IOP, discharged=None, **names):
    client = ClientFactory(admission_date=on, level_of_care=level, **names)
    if discharged is not None:
        Client.objects.filter(pk=client.pk).update(status=Client.Status.DISCHARGED, discharge_date=discharged)
        client.refresh_from_db()
    return client


@pytest.fixture
def reader(db):
    """A member of the clinic staff group, who may read reports and client records."""
    from django.contrib.auth.models import Group

    from iop.permissions import CLINIC_STAFF

    user = UserFactory(username="report-reader", is_staff=True)
    user.groups.add(Group.objects.get(name=CLINIC_STAFF))
    return user


@pytest.fixture
def reader_client(client, reader):
    client.force_login(reader)
    return client


def page(browser, slug, **query):
    return browser.get(reverse("reports:report", args=[slug]), query)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


# --- 1. Attendance --------------------------------------------------------------------------


@pytest.fixture
def attendance_clinic(today):
    """Two groups; the first led by Lee, whose second meeting Sam covered; the second led by Sam.
    Last month: A1 (present, absent, excused), A2 (late, present). This month: B1 (left early).
    Outside the period: one more present."""
    lee = TherapistFactory(user__first_name="Lee", user__last_name="Ames", credentials="LPC")
    sam = TherapistFactory(user__first_name="Sam", user__last_name="Brook", credentials="LCSW")
    first = TherapyGroupFactory(name="Anxiety skills", facilitator=lee)
    second = TherapyGroupFactory(name="Process", facilitator=sam, kind=TherapyGroup.Kind.PROCESS)
    month = (today.replace(day=1) - DAY).replace(day=1)
    members = [ClientFactory() for _ in range(4)]
    a1 = held(first, month + 2 * DAY)
    attend(a1, members[0])
    attend(a1, members[1], "absent")
    attend(a1, members[2], "excused")
    a2 = held(first, month + 9 * DAY, facilitator=sam)
    attend(a2, members[0], "late", 80)
    attend(a2, members[1])
    b1 = held(second, today.replace(day=1), hour=0)
    attend(b1, members[3], "left_early", 45)
    attend(held(first, month - 3 * DAY), members[0])
    return {"lee": lee, "sam": sam, "first": first, "second": second, "month": month}


def test_attendance_is_counted_by_group_by_therapist_and_by_month(reader_client, attendance_clinic, today):
    month = attendance_clinic["month"]

    response = page(reader_client, "attendance", start=month, end=today, format="csv")

    rows = csv_rows(response)
    assert rows[0] == [
        "By",
        "Name",
        "Sessions",
        "Attendance recorded",
        "Attended",
        "No-shows",
        "Excused",
        "Attendance rate (%)",
    ]
    assert rows[1:] == [
        ["group", "Anxiety skills", "2", "5", "3", "1", "1", "60.0"],
        ["group", "Process", "1", "1", "1", "0", "0", "100.0"],
        ["therapist", "Lee Ames, LPC", "1", "3", "1", "1", "1", "33.3"],
        ["therapist", "Sam Brook, LCSW", "2", "3", "3", "0", "0", "100.0"],
        ["month", f"{month:%B %Y}", "2", "5", "3", "1", "1", "60.0"],
        ["month", f"{today:%B %Y}", "1", "1", "1", "0", "0", "100.0"],
    ]


def test_attendance_narrows_to_a_group_and_to_the_therapist_who_led(reader_client, attendance_clinic, today):
    month, first, sam = attendance_clinic["month"], attendance_clinic["first"], attendance_clinic["sam"]

    by_group = csv_rows(page(reader_client, "attendance", start=month, end=today, group=first.pk, format="csv"))
    by_sam = csv_rows(page(reader_client, "attendance", start=month, end=today, therapist=sam.pk, format="csv"))

    assert [row[:3] for row in by_group[1:] if row[0] == "group"] == [["group", "Anxiety skills", "2"]]
    assert [row[1:6] for row in by_sam[1:] if row[0] == "group"] == [
        ["Anxiety skills", "1", "2", "2", "0"],
        ["Process", "1", "1", "1", "0"],
    ]


def test_the_attendance_page_draws_the_chart_and_the_tables(reader_client, attendance_clinic, today):
    response = page(reader_client, "attendance", start=attendance_clinic["month"], end=today)

    body = response.content.decode()
    assert response.status_code == 200
    assert '<figure class="progress-figure report-figure"' in body
    assert 'role="img"' in body and "<script" not in body.split('role="img"')[1].split("</svg>")[0]
    assert '<th scope="row">Anxiety skills</th><td>2</td><td>5</td><td>3</td><td>1</td><td>1</td><td>60.0</td>' in body
    assert "format=csv" in body


# --- 2. Hours against the weekly minimum ----------------------------------------------------


@pytest.fixture
def hours_clinic(today):
    """An adult admitted three weeks before this one (minimum 9 h) and an adolescent two weeks
    before (minimum 6 h). Adult: 6 × 90 min the first week; 2 × 90 and an absence the second; a
    meeting not held the third (not counted); 60 min this week. Adolescent: 4 × 90 the second
    week, 90 min the third. A client discharged before the period and one still in intake are
    not in it."""
    this_monday = monday_of(today)
    weeks = [this_monday - 3 * WEEK, this_monday - 2 * WEEK, this_monday - WEEK]
    group = TherapyGroupFactory(name="Daily skills")
    other = TherapyGroupFactory(name="Evening process")
    adult = admitted(weeks[0], legal_first_name="Avery", legal_last_name="Adams")
    teen = admitted(weeks[1], level=LevelOfCare.ADOLESCENT_IOP, legal_first_name="Blair", legal_last_name="Brown")
    gone = admitted(weeks[0] - 10 * WEEK, discharged=weeks[0] - 2 * WEEK)
    ClientFactory(status=Client.Status.INTAKE, admission_date=None)
    MembershipFactory(client=adult, group=group, joined_on=weeks[0] - WEEK)
    MembershipFactory(client=teen, group=other, joined_on=weeks[0] - WEEK)
    for day in range(6):
        attend(held(group, weeks[0] + day * DAY), adult)
    for day in range(2):
        attend(held(group, weeks[1] + day * DAY), adult)
    attend(held(group, weeks[1] + 2 * DAY), adult, "absent")
    attend(held(group, weeks[2], status=Session.Status.SCHEDULED), adult)
    attend(held(group, this_monday, hour=0, minutes=60), adult)
    for day in range(4):
        attend(held(other, weeks[1] + day * DAY, hour=17), teen)
    attend(held(other, weeks[2] + DAY, hour=17), teen)
    attend(held(group, weeks[0] - 3 * WEEK), gone)
    return {"weeks": weeks, "adult": adult, "teen": teen, "group": group, "other": other}


def test_hours_are_counted_per_client_per_week_by_the_progress_rule(reader_client, hours_clinic, today):
    weeks, adult, teen = hours_clinic["weeks"], hours_clinic["adult"], hours_clinic["teen"]
    this_monday = monday_of(today)

    rows = csv_rows(page(reader_client, "hours", start=weeks[0], end=today, format="csv"))

    assert rows[0] == ["Chart number", "Client", "Level of care", "Week of", "Hours", "Sessions", "Minimum", "Below"]
    assert rows[1:] == [
        [adult.chart_number, "Avery Adams", "Adult IOP", weeks[0].isoformat(), "9.0", "6", "9", "no"],
        [adult.chart_number, "Avery Adams", "Adult IOP", weeks[1].isoformat(), "3.0", "2", "9", "yes"],
        [adult.chart_number, "Avery Adams", "Adult IOP", weeks[2].isoformat(), "0.0", "0", "9", "yes"],
        [adult.chart_number, "Avery Adams", "Adult IOP", this_monday.isoformat(), "1.0", "1", "9", "in progress"],
        [teen.chart_number, "Blair Brown", "Adolescent IOP", weeks[1].isoformat(), "6.0", "4", "6", "no"],
        [teen.chart_number, "Blair Brown", "Adolescent IOP", weeks[2].isoformat(), "1.5", "1", "6", "yes"],
        [teen.chart_number, "Blair Brown", "Adolescent IOP", this_monday.isoformat(), "0.0", "0", "6", "in progress"],
    ]


def test_the_hours_page_flags_weeks_below_and_counts_them_in_the_chart(reader_client, hours_clinic, today):
    weeks = hours_clinic["weeks"]

    body = page(reader_client, "hours", start=weeks[0], end=today).content.decode()

    assert (
        '<th scope="row">Avery Adams ('
        + hours_clinic["adult"].chart_number
        + ")</th><td>9</td><td>9</td><td>3 (below)</td><td>0 (below)</td><td>1 (this week)</td><td>2</td>"
        in body
    )
    assert "<td>—</td><td>6</td><td>1.5 (below)</td><td>0 (this week)</td><td>1</td>" in body
    assert "clients below the minimum each week: 0, 1, 2, 0." in body


def test_hours_narrow_to_the_clients_of_a_group_or_of_a_therapists_groups(reader_client, hours_clinic, today):
    weeks, other = hours_clinic["weeks"], hours_clinic["other"]

    by_group = csv_rows(page(reader_client, "hours", start=weeks[0], end=today, group=other.pk, format="csv"))
    by_therapist = csv_rows(
        page(reader_client, "hours", start=weeks[0], end=today, therapist=other.facilitator.pk, format="csv")
    )

    assert {row[1] for row in by_group[1:]} == {"Blair Brown"}
    assert {row[1] for row in by_therapist[1:]} == {"Blair Brown"}


def test_each_showing_of_the_hours_report_is_a_read_of_the_clients_in_it(reader_client, hours_clinic, today):
    before = AuditEvent.objects.count()

    page(reader_client, "hours", start=hours_clinic["weeks"][0], end=today)
    page(reader_client, "hours", start=hours_clinic["weeks"][0], end=today, format="csv")

    events = AuditEvent.objects.order_by("pk")[before:]
    assert sorted((event.client_id, event.detail) for event in events) == sorted(
        [
            (hours_clinic["adult"].pk, "report: hours against the weekly minimum"),
            (hours_clinic["teen"].pk, "report: hours against the weekly minimum"),
            (hours_clinic["adult"].pk, "report: hours against the weekly minimum (CSV)"),
            (hours_clinic["teen"].pk, "report: hours against the weekly minimum (CSV)"),
        ]
    )


def test_the_hours_page_shows_a_page_of_clients_and_counts_everyone_in_the_chart(
    reader_client, hours_clinic, today, monkeypatch
):
    monkeypatch.setattr(reports, "HOURS_PAGE_SIZE", 1)
    weeks, adult, teen = hours_clinic["weeks"], hours_clinic["adult"], hours_clinic["teen"]
    before = AuditEvent.objects.count()

    first = page(reader_client, "hours", start=weeks[0], end=today).content.decode()
    second = page(reader_client, "hours", start=weeks[0], end=today, page=2).content.decode()
    whole = csv_rows(page(reader_client, "hours", start=weeks[0], end=today, format="csv"))

    assert "Avery Adams" in first and "Blair Brown" not in first
    assert "Blair Brown" in second and "Avery Adams" not in second
    assert "Clients 2 to 2 of 2, by name" in second
    assert f'href="?start={weeks[0]}&amp;end={today}&amp;page=1"' in second
    assert '<span aria-current="page">2</span>' in second
    # The chart and the CSV count and name everyone, whatever the page.
    assert "clients below the minimum each week: 0, 1, 2, 0." in first and "0, 1, 2, 0." in second
    assert {row[1] for row in whole[1:]} == {"Avery Adams", "Blair Brown"}
    # Each page is a read of its own client only; the CSV, of everyone.
    events = [(event.client_id, event.detail) for event in AuditEvent.objects.order_by("pk")[before:]]
    assert events[:2] == [
        (adult.pk, "report: hours against the weekly minimum"),
        (teen.pk, "report: hours against the weekly minimum"),
    ]
    assert sorted(events[2:]) == sorted(
        [
            (adult.pk, "report: hours against the weekly minimum (CSV)"),
            (teen.pk, "report: hours against the weekly minimum (CSV)"),
        ]
    )


@pytest.mark.parametrize(
    ("asked", "shown", "not_shown"),
    [("abc", "Avery Adams", "Blair Brown"), ("0", "Blair Brown", "Avery Adams"), ("99", "Blair Brown", "Avery Adams")],
)
def test_a_page_number_that_cannot_be_read_shows_the_first_page_and_one_out_of_range_the_last(
    reader_client, hours_clinic, today, monkeypatch, asked, shown, not_shown
):
    monkeypatch.setattr(reports, "HOURS_PAGE_SIZE", 1)

    response = page(reader_client, "hours", start=hours_clinic["weeks"][0], end=today, page=asked)

    content = response.content.decode()
    assert response.status_code == 200
    assert shown in content and not_shown not in content


def test_the_reports_of_counts_leave_no_client_in_the_trail_and_name_none(reader_client, hours_clinic, today):
    before = AuditEvent.objects.count()

    for slug in ("attendance", "census", "length-of-stay", "waitlist"):
        body = page(reader_client, slug, start=hours_clinic["weeks"][0], end=today).content.decode()
        assert "Avery" not in body and hours_clinic["adult"].chart_number not in body

    assert AuditEvent.objects.count() == before


# --- 3. Census and length of stay -----------------------------------------------------------


def test_census_counts_clients_in_care_and_group_members_on_each_monday(reader_client, today, now):
    this_monday = monday_of(today)
    weeks = [this_monday - 3 * WEEK, this_monday - 2 * WEEK, this_monday - WEEK]
    skills = TherapyGroupFactory(kind=TherapyGroup.Kind.SKILLS_DEVELOPMENT)
    process = TherapyGroupFactory(kind=TherapyGroup.Kind.PROCESS)
    early = admitted(weeks[0] - WEEK)
    later = admitted(weeks[1])
    # Discharged on the second Monday: in care on the first only.
    admitted(weeks[0] - 10 * DAY, level=LevelOfCare.ADOLESCENT_IOP, discharged=weeks[1])
    # Admitted after the period.
    admitted(this_monday)
    MembershipFactory(client=early, group=process, joined_on=weeks[0] - WEEK)
    MembershipFactory(
        client=early,
        group=skills,
        joined_on=weeks[0],
        status=Membership.Status.ENDED,
        ended_on=weeks[2],
        end_reason=Membership.EndReason.COMPLETED,
    )
    MembershipFactory(client=later, group=skills, joined_on=weeks[1])
    MembershipFactory(
        client=later,
        group=process,
        status=Membership.Status.WAITLISTED,
        joined_on=None,
        joined_at=None,
        waitlisted_at=now,
    )

    rows = csv_rows(page(reader_client, "census", start=weeks[0], end=this_monday - DAY, format="csv"))

    assert rows[0] == [
        "On",
        "Adult IOP",
        "Adolescent IOP",
        "All levels",
        "In psychoeducational groups",
        "In skills development groups",
        "In process groups",
        "In support groups",
    ]
    assert rows[1:] == [
        [weeks[0].isoformat(), "1", "1", "2", "0", "1", "1", "0"],
        [weeks[1].isoformat(), "2", "0", "2", "0", "2", "1", "0"],
        [weeks[2].isoformat(), "2", "0", "2", "0", "1", "1", "0"],
    ]
    by_group = csv_rows(
        page(reader_client, "census", start=weeks[0], end=this_monday - DAY, group=process.pk, format="csv")
    )
    assert [row[4:] for row in by_group[1:]] == [["0", "0", "1", "0"]] * 3


def test_length_of_stay_gives_the_median_and_percentiles_by_level_of_care(reader_client, today):
    discharged_on = today - 3 * DAY
    for days in (10, 20, 30, 40):
        admitted(discharged_on - days * DAY, discharged=discharged_on)
    admitted(discharged_on - 14 * DAY, level=LevelOfCare.ADOLESCENT_IOP, discharged=discharged_on)
    # Discharged before the period, and still in care: not counted.
    admitted(today - 200 * DAY, discharged=today - 100 * DAY)
    admitted(today - 50 * DAY)

    rows = csv_rows(page(reader_client, "length-of-stay", start=today - 30 * DAY, end=today, format="csv"))

    assert rows[1:] == [
        ["Adult IOP", "4", "25.0", "17.5", "32.5", "37.0", "10", "40"],
        ["Adolescent IOP", "1", "14.0", "14.0", "14.0", "14.0", "14", "14"],
        ["All levels", "5", "20.0", "14.0", "30.0", "36.0", "10", "40"],
    ]


# --- 4. Waitlist times ----------------------------------------------------------------------


def test_waitlist_times_of_those_who_joined_and_of_those_waiting(reader_client, now, today):
    group = TherapyGroupFactory(name="Women's process")

    def waited(waitlisted_days_ago, joined_days_ago=None):
        joined_at = now - datetime.timedelta(days=joined_days_ago) if joined_days_ago is not None else None
        return MembershipFactory(
            group=group,
            status=Membership.Status.ACTIVE if joined_at else Membership.Status.WAITLISTED,
            waitlisted_at=now - datetime.timedelta(days=waitlisted_days_ago),
            joined_at=joined_at,
            joined_on=joined_at and joined_at.astimezone(zoneinfo.ZoneInfo(settings.TIME_ZONE)).date(),
        )

    waited(10, 4)
    waited(30, 20)
    waited(3.5)
    waited(200, 150)  # joined before the period
    MembershipFactory(group=group)  # enrolled without waiting

    rows = csv_rows(page(reader_client, "waitlist", start=today - 60 * DAY, end=today, format="csv"))

    assert rows[1:] == [
        ["Women's process", "2", "8.0", "10.0", "1", "3.5", "3.5"],
        ["All groups", "2", "8.0", "10.0", "1", "3.5", "3.5"],
    ]


# --- Filters --------------------------------------------------------------------------------


def test_without_dates_a_report_covers_the_last_twelve_full_weeks(reader_client, today):
    response = page(reader_client, "census")

    form = response.context["form"]
    last_sunday = monday_of(today) - DAY
    assert (form.period.start, form.period.end) == (last_sunday - 12 * WEEK + DAY, last_sunday)
    assert form.period.start.weekday() == 0


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"start": "2026-13-01", "end": "2026-12-01"}, "start", "Enter a valid date."),
        ({"start": "", "end": "2026-12-01"}, "start", "This field is required."),
        ({"start": "2026-12-01", "end": "2026-11-01"}, "end", "The last day cannot be before the first."),
        ({"start": "2025-01-01", "end": "2026-12-01"}, "end", "A report covers at most 367 days"),
        ({"start": "2026-01-01", "end": "2026-02-01", "group": "999999"}, "group", "Select a valid choice."),
        ({"start": "2026-01-01", "end": "2026-02-01", "therapist": "x"}, "therapist", "Select a valid choice."),
        ({"start": "2026-01-01", "end": "2026-02-01", "group": str(2**66)}, "group", "Select a valid choice."),
        ({"start": "2026-01-01", "end": "2026-02-01", "therapist": "-1"}, "therapist", "Select a valid choice."),
        ({"start": "9999-12-31", "end": "9999-12-31"}, "start", "Give a date between"),
        ({"start": "0001-01-01", "end": "0001-01-02"}, "start", "Give a date between"),
    ],
)
def test_bad_filters_get_a_field_error_and_no_report(reader_client, hours_clinic, query, field, message):
    before = AuditEvent.objects.count()

    response = page(reader_client, "hours", **query)
    as_csv = page(reader_client, "hours", **query, format="csv")

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert response.context["report"] is None
    assert "progress-chart" not in response.content.decode()
    # The CSV is not made either: the page with the error comes back.
    assert as_csv["Content-Type"].startswith("text/html")
    assert AuditEvent.objects.count() == before


# --- CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_escaped(start):
    assert reports.csv_cell(f'{start}HYPERLINK("http://evil.example")') == f'\'{start}HYPERLINK("http://evil.example")'


@pytest.mark.parametrize("value", ["Anxiety skills", "", " =1+1", "a=b", 0, 12.5, None])
def test_other_cells_are_written_as_they_are(value):
    expected = "" if value is None else str(value)
    assert reports.csv_cell(value) == expected


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_group_named_like_a_formula_downloads_escaped(reader_client, attendance_clinic, today, start):
    name = f"{start}cmd|' /C calc'!A0"
    TherapyGroup.objects.filter(pk=attendance_clinic["second"].pk).update(name=name)

    response = page(reader_client, "attendance", start=attendance_clinic["month"], end=today, format="csv")

    assert ["group", f"'{name}", "1", "1", "1", "0", "0", "100.0"] in csv_rows(response)


def test_the_csv_is_a_download_named_with_its_dates(reader_client, today):
    start, end = today - 30 * DAY, today - DAY

    response = page(reader_client, "waitlist", start=start, end=end, format="csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="waitlist-{start}-to-{end}.csv"'


# --- Who may open them ----------------------------------------------------------------------

SLUGS = [kind.slug for kind in reports.REPORTS]


@pytest.mark.parametrize("slug", SLUGS)
def test_clinic_staff_open_every_report(reader_client, slug):
    assert page(reader_client, slug).status_code == 200
    assert page(reader_client, slug, format="csv")["Content-Type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize("url", [reverse("reports:index"), *(reverse("reports:report", args=[s]) for s in SLUGS)])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize("url", [reverse("reports:index"), *(reverse("reports:report", args=[s]) for s in SLUGS)])
@pytest.mark.parametrize("who", ["client", "therapist", "staff without the permission"])
def test_everyone_else_is_refused(client, therapist, client_record, url, who):
    if who == "client":
        client_record.portal_user = UserFactory()
        client_record.save(update_fields=["portal_user"])
        user = client_record.portal_user
    elif who == "therapist":
        user = therapist.user
    else:
        user = UserFactory(is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_client"))
    client.force_login(user)

    assert client.get(url).status_code == 403
    assert client.get(url, {"format": "csv"}).status_code == 403


def test_the_report_naming_clients_needs_the_permission_to_see_clients(client):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client.force_login(user)

    assert page(client, "attendance").status_code == 200
    assert page(client, "hours").status_code == 403
    assert page(client, "hours", format="csv").status_code == 403
    assert "Hours against the weekly minimum" not in client.get(reverse("reports:index")).content.decode()


def test_an_unknown_report_is_404(reader_client):
    assert page(reader_client, "diagnoses").status_code == 404


def test_reports_are_linked_from_every_admin_page_for_who_may_read_them(reader_client, client):
    assert 'href="/admin/reports/"' in reader_client.get(reverse("admin:index")).content.decode()
    user = UserFactory(is_staff=True)
    client.force_login(user)
    assert 'href="/admin/reports/"' not in client.get(reverse("admin:index")).content.decode()
