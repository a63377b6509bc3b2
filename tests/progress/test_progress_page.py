"""A client's progress: what is gathered over the stay, the charts, and who may read the pages."""

import datetime
import re
import zoneinfo

import pytest
from django.conf import settings
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client, LevelOfCare
from groups.models import Membership
from iop.clock import monday_of
from progress import charts, course, selectors
from scheduling.models import Session
from tests.factories import (
    AttendanceFactory,
    CheckInFactory,
    GoalFactory,
    MeasureResponseFactory,
    MembershipFactory,
    SessionFactory,
    TherapyGroupFactory,
    TreatmentPlanFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def at(day: datetime.date, hour: int = 18, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def attend(client, group, starts_at, *, minutes=90, participation=2, status="present", held=True, observation=""):
    session = SessionFactory(
        group=group, starts_at=starts_at, status=Session.Status.HELD if held else Session.Status.SCHEDULED
    )
    return AttendanceFactory(
        session=session,
        client=client,
        status=status,
        minutes_attended=minutes if status in ("present", "late", "left_early") else 0,
        participation=participation,
        observation=observation,
    )


@pytest.fixture
def member(client_record, group):
    MembershipFactory(client=client_record, group=group)
    return client_record


# --- Gathering ------------------------------------------------------------------------------


@pytest.mark.now("2026-11-12")
def test_hours_are_summed_by_the_clinics_week_across_the_fall_back_night(member, group):
    # Sunday Nov 1, 2026 the clocks go back; 23:30 that night is already Monday in UTC.
    Client.objects.filter(pk=member.pk).update(admission_date=datetime.date(2026, 10, 26))
    member.refresh_from_db()
    attend(member, group, at(datetime.date(2026, 10, 27)))
    attend(member, group, at(datetime.date(2026, 11, 1), 22, 0), minutes=60)
    attend(member, group, at(datetime.date(2026, 11, 3)), minutes=75)

    weeks = course.gather(member).weeks

    assert [(w.monday, w.minutes, w.sessions) for w in weeks] == [
        (datetime.date(2026, 10, 26), 150, 2),
        (datetime.date(2026, 11, 2), 75, 1),
        (datetime.date(2026, 11, 9), 0, 0),
    ]


@pytest.mark.now("2026-11-12")
def test_weeks_below_the_minimum_are_flagged_and_this_week_is_not(member, group):
    Client.objects.filter(pk=member.pk).update(admission_date=datetime.date(2026, 10, 19))
    member.refresh_from_db()
    for day in (19, 21, 23):  # three 3-hour days: 9 hours, the adult minimum
        attend(member, group, at(datetime.date(2026, 10, day), 9), minutes=180)
    attend(member, group, at(datetime.date(2026, 10, 26), 9), minutes=180)
    attend(member, group, at(datetime.date(2026, 10, 28), 9), minutes=90, status="absent")
    attend(member, group, at(datetime.date(2026, 11, 2), 9), minutes=180, held=False)  # not held: not counted

    weeks = course.gather(member).weeks

    assert [(w.hours, w.below_minimum) for w in weeks] == [(9.0, False), (3.0, True), (0.0, True), (0.0, False)]
    assert weeks[-1].in_progress


@pytest.mark.now("2026-11-12")
def test_an_adolescents_minimum_is_six_hours(member, group):
    Client.objects.filter(pk=member.pk).update(
        admission_date=datetime.date(2026, 11, 2), level_of_care=LevelOfCare.ADOLESCENT_IOP
    )
    member.refresh_from_db()
    attend(member, group, at(datetime.date(2026, 11, 3)), minutes=360)

    stay = course.gather(member)

    assert stay.minimum_hours == 6
    assert not stay.weeks[0].below_minimum


@pytest.mark.now("2026-11-12")
def test_participation_is_the_mean_level_per_group_per_week(member, group, therapist):
    other_group = TherapyGroupFactory(facilitator=therapist, name="Coping skills", capacity=8)
    attend(member, group, at(datetime.date(2026, 11, 2)), participation=1)
    attend(member, group, at(datetime.date(2026, 11, 4)), participation=4)
    attend(member, group, at(datetime.date(2026, 11, 5)), participation=0, status="absent")  # not attended
    attend(member, other_group, at(datetime.date(2026, 11, 3)), participation=3)

    rows = course.gather(member).participation

    assert [(r.group, r.monday, r.mean, r.sessions) for r in rows] == sorted(
        [(group.name, datetime.date(2026, 11, 2), 2.5, 2), ("Coping skills", datetime.date(2026, 11, 2), 3.0, 1)],
        key=lambda r: (r[1], r[0]),
    )


def test_measures_come_with_their_bands_and_change_from_baseline(member, now):
    MeasureResponseFactory(client=member, total=16, taken_on=now - datetime.timedelta(weeks=4))
    MeasureResponseFactory(client=member, total=9, taken_on=now - datetime.timedelta(weeks=2))
    MeasureResponseFactory(client=member, instrument="gad7", total=12, taken_on=now - datetime.timedelta(weeks=4))

    stay = course.gather(member)

    assert [(r.response.total, r.band, r.category.value) for r in stay.measures["phq9"]] == [
        (16, "Moderately severe", "baseline"),
        (9, "Mild", "reliable_improvement"),
    ]
    assert stay.latest_change("phq9").label == "Reliable improvement"
    assert stay.latest_change("gad7") is None


def test_the_course_costs_the_same_queries_for_a_short_and_a_long_stay(
    member, group, now, today, django_assert_num_queries
):
    plan = TreatmentPlanFactory(client=member)
    GoalFactory(plan=plan)
    attend(member, group, now - datetime.timedelta(days=1))
    with django_assert_num_queries(7):
        course.gather(member)
    for week in range(1, 30):
        attend(member, group, now - datetime.timedelta(weeks=week))
        CheckInFactory(client=member, week=monday_of(today) - datetime.timedelta(weeks=week))
        GoalFactory(plan=plan)
    with django_assert_num_queries(7):
        course.gather(member)


def test_observations_are_newest_first_a_page_of_whole_days_at_a_time(member, group, today, monkeypatch):
    monkeypatch.setattr(selectors, "OBSERVATIONS_SHOWN", 3)
    for days_ago, hour in ((1, 9), (2, 9), (3, 9), (3, 14), (4, 9)):
        day = today - datetime.timedelta(days=days_ago)
        attend(member, group, at(day, hour), observation=f"day -{days_ago} at {hour}")
    attend(member, group, at(today - datetime.timedelta(days=5)))  # no observation: not listed

    first, older = selectors.observations_of(member)
    second, none = selectors.observations_of(member, before=older)

    assert [a.observation for a in first] == ["day -1 at 9", "day -2 at 9"]
    assert older == today - datetime.timedelta(days=2)
    assert [a.observation for a in second] == ["day -3 at 14", "day -3 at 9", "day -4 at 9"]
    assert none is None


# --- Charts ---------------------------------------------------------------------------------

START = datetime.date(2026, 1, 5)


def weeks_of(count: int, value=lambda i: i % 10):
    return [(START + datetime.timedelta(weeks=i), value(i)) for i in range(count)]


def chart_of(kind: str, points):
    if kind == "hours":
        return charts.weekly_hours(points, minimum=9)
    if kind == "phq9":
        return charts.measure("phq9", points)
    if kind == "gad7":
        return charts.measure("gad7", [(day, min(value, 21)) for day, value in points])
    if kind == "check_ins":
        return charts.check_ins({"Mood": points, "Coping": points[::2]})
    return charts.participation({"Process group": [(d, v % 5) for d, v in points], "Skills": points[:1]})


KINDS = ["hours", "phq9", "gad7", "check_ins", "participation"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("count", [0, 1, 52])
def test_every_chart_draws_with_no_data_one_point_and_a_year(kind, count):
    svg = chart_of(kind, weeks_of(count) if kind != "participation" or count else [])

    assert svg.startswith("<svg")
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    # No script and no inline style: the Content-Security-Policy would block them.
    assert "<script" not in svg and "<style" not in svg and "style=" not in svg
    assert ("No data yet" in svg) == (count == 0)


def test_a_years_bars_are_all_drawn_and_labelled_every_fourth_week():
    svg = charts.weekly_hours(weeks_of(52, lambda i: 6 + i % 5), minimum=9)

    assert svg.count('class="rect reactive tooltip-trigger"') == 52
    assert "Jan 5" in svg and "Feb 2" in svg and "Jan 12" not in svg


def test_the_bands_are_guide_lines_on_the_phq9_chart():
    svg = charts.measure("phq9", weeks_of(3))

    labels = re.findall(r'<g class="guides">.*?<text[^>]*class="major"[^>]*>(\d+)</text>', svg)
    assert labels == ["5", "10", "15", "20"]


def test_a_group_name_is_escaped_in_the_chart():
    svg = charts.participation({"<b>Tuesday</b> & co": weeks_of(2, lambda i: 2), "Skills": weeks_of(2)})

    assert "<b>" not in svg and "&lt;b&gt;Tuesday&lt;/b&gt; &amp; co" in svg


# --- The pages ------------------------------------------------------------------------------


@pytest.fixture
def course_of_member(member, group, now):
    plan = TreatmentPlanFactory(client=member)
    GoalFactory(plan=plan, goal="Sleep without drinking.")
    attend(member, group, now - datetime.timedelta(days=1), observation="Spoke about the weekend's craving.")
    CheckInFactory(client=member, what_helped="Calling my sister.")
    MeasureResponseFactory(client=member, total=14, taken_on=now - datetime.timedelta(weeks=2))
    MeasureResponseFactory(client=member, total=8, taken_on=now - datetime.timedelta(days=1))
    return member


def progress_url(client_record):
    return reverse("therapist:progress", args=[client_record.pk])


def test_the_facilitator_reads_every_part_and_the_read_is_audited(client, therapist, course_of_member):
    client.force_login(therapist.user)
    before = AuditEvent.objects.count()

    response = client.get(progress_url(course_of_member))

    assert response.status_code == 200
    page = response.content.decode()
    for part in (
        "Hours attended per week",
        "Participation per week",
        "Calling my sister.",
        "PHQ-9 total",
        "Reliable improvement",
        "Sleep without drinking.",
        "Spoke about the weekend&#x27;s craving.",
    ):
        assert part in page, part
    assert page.count("<figure") == 5 and page.count("<figcaption") == 5 and '<th scope="col">' in page
    event = AuditEvent.objects.order_by("pk").last()
    assert AuditEvent.objects.count() == before + 1
    assert event.detail.startswith("progress page:") and "1 observations" in event.detail


def test_a_past_therapist_still_reads_the_page(client, therapist, course_of_member, group, today):
    Membership.objects.filter(client=course_of_member).update(
        status=Membership.Status.ENDED, ended_on=today, end_reason=Membership.EndReason.COMPLETED
    )
    client.force_login(therapist.user)

    assert client.get(progress_url(course_of_member)).status_code == 200


def test_the_co_facilitator_reads_the_page(client, other_therapist, group, course_of_member):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    client.force_login(other_therapist.user)

    assert client.get(progress_url(course_of_member)).status_code == 200


def test_other_therapist_gets_404(client, other_therapist, course_of_member):
    client.force_login(other_therapist.user)

    assert client.get(progress_url(course_of_member)).status_code == 404


def test_a_substitute_gets_404(client, group, course_of_member, db):
    from tests.factories import TherapistFactory

    substitute = TherapistFactory(user__username="substitute")
    SessionFactory(group=group, facilitator=substitute)
    client.force_login(substitute.user)

    assert client.get(progress_url(course_of_member)).status_code == 404


def test_staff_get_404(staff_client, course_of_member):
    assert staff_client.get(progress_url(course_of_member)).status_code == 404


def test_the_client_gets_404_on_the_therapist_page(client, course_of_member):
    course_of_member.portal_user = UserFactory(username="portal-client")
    course_of_member.save(update_fields=["portal_user"])
    client.force_login(course_of_member.portal_user)

    assert client.get(progress_url(course_of_member)).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, course_of_member):
    response = client.get(progress_url(course_of_member))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_waitlisted_clients_page_is_404(client, therapist, group, other_client, now):
    MembershipFactory(
        client=other_client,
        group=group,
        status=Membership.Status.WAITLISTED,
        joined_on=None,
        joined_at=None,
        waitlisted_at=now,
    )
    client.force_login(therapist.user)

    assert client.get(progress_url(other_client)).status_code == 404


@pytest.mark.parametrize("path", ["/therapist/clients/abc/progress/", "/therapist/clients/99999999/progress/"])
def test_a_bad_client_id_is_404(client, therapist, path):
    client.force_login(therapist.user)

    assert client.get(path).status_code == 404


def test_a_bad_before_day_shows_the_latest(client, therapist, course_of_member):
    client.force_login(therapist.user)

    response = client.get(progress_url(course_of_member) + "?before=2026-13-45")

    assert response.status_code == 200 and "weekend&#x27;s craving" in response.content.decode()


# --- The client's page ----------------------------------------------------------------------


@pytest.fixture
def portal(client, course_of_member):
    course_of_member.portal_user = UserFactory(username="portal-client")
    course_of_member.save(update_fields=["portal_user"])
    client.force_login(course_of_member.portal_user)
    return client


def test_the_client_sees_hours_check_ins_goals_and_scores(portal, settings):
    settings.IOP_PORTAL_SHOWS_SCORES = True

    page = portal.get(reverse("portal:progress")).content.decode()

    assert "Hours attended per week" in page and "Calling my sister." in page and "Sleep without drinking." in page
    assert "PHQ-9 total" in page and "Reliable improvement" in page
    # The facilitators' observations stay on the therapists' page.
    assert "the weekend" not in page and "Participation" not in page


def test_the_client_page_hides_scores_when_the_clinic_does(portal, settings):
    settings.IOP_PORTAL_SHOWS_SCORES = False

    page = portal.get(reverse("portal:progress")).content.decode()

    assert "PHQ-9" not in page and "GAD-7" not in page and "Moderate" not in page and "Mild" not in page
    assert "Sleep without drinking." in page


def test_the_client_page_shows_no_other_client(portal, other_client, group, now):
    MembershipFactory(client=other_client, group=group)
    CheckInFactory(client=other_client, what_helped="Someone else's walk.")

    page = portal.get(reverse("portal:progress")).content.decode()

    assert "Someone else" not in page


def test_a_therapist_gets_404_on_the_client_page(client, therapist):
    client.force_login(therapist.user)

    assert client.get(reverse("portal:progress")).status_code == 404


def test_the_schedule_links_the_progress_page(portal):
    assert reverse("portal:progress") in portal.get(reverse("scheduling:week")).content.decode()


def test_the_session_and_plan_pages_link_the_progress_page(client, therapist, group, course_of_member, now):
    session = SessionFactory(group=group, starts_at=now - datetime.timedelta(hours=2))
    client.force_login(therapist.user)
    link = progress_url(course_of_member)

    assert link in client.get(reverse("therapist:session", args=[session.pk])).content.decode()
    assert link in client.get(reverse("therapist:plan", args=[course_of_member.pk])).content.decode()


def test_staff_get_404_on_the_client_page(staff_client):
    assert staff_client.get(reverse("portal:progress")).status_code == 404


def test_anonymous_is_sent_to_sign_in_from_the_client_page(client):
    response = client.get(reverse("portal:progress"))

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
