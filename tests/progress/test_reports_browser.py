"""Staff open a report and a session's sign-in sheet from the admin, in Debian's Chromium, at 1280 px."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db.models import Count, Q

from iop.permissions import CLINIC_STAFF
from progress.selectors import roster_for_session
from scheduling.models import Session
from tests.helpers import SCREENSHOTS, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESK = {"width": 1280, "height": 900}


@pytest.fixture
def demo_session(transactional_db):
    # All ORM work before the browser starts (see test_browser.py).
    # An earlier transactional test may have flushed the group and its grants (the migrations');
    # the permissions themselves come back with every flush.
    staff, _ = Group.objects.get_or_create(name=CLINIC_STAFF)
    staff.permissions.add(
        *Permission.objects.filter(
            Q(content_type__app_label="progress", codename="view_reports")
            | Q(content_type__app_label="scheduling", codename="view_session")
        )
    )
    call_command("seed_demo", stdout=StringIO())
    # The demo's past meeting with the most members on its roster.
    session = (
        Session.objects.filter(attendances__isnull=False)
        .annotate(recorded=Count("attendances"))
        .select_related("group")
        .order_by("-recorded", "pk")
        .first()
    )
    return session, [f"{c.legal_first_name} {c.legal_last_name}" for c in roster_for_session(session)]


def test_staff_open_the_attendance_report_and_print_a_sign_in_sheet(demo_session, live_server):
    session, names = demo_session
    with chromium_page(DESK) as page:
        page.goto(f"{live_server.url}/admin/")
        page.fill("#id_username", "staff")
        page.fill("#id_password", "demo-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/")

        page.get_by_role("link", name="Reports", exact=True).click()
        page.get_by_role("link", name="Attendance and no-shows").click()
        page.wait_for_selector("[data-testid=by-group]")
        chart = page.locator("svg[role=img]")
        assert chart.count() == 1
        assert page.locator("svg[role=img] > title").text_content() == "Attendance rate by month"
        assert session.group.name in page.inner_text("[data-testid=by-group]")
        assert page.get_by_role("link", name="Download CSV").count() == 1
        # The page fits the window: nothing wider than 1280 px.
        assert page.evaluate("document.documentElement.scrollWidth") <= DESK["width"]
        page.screenshot(path=SCREENSHOTS / "admin-report-attendance.png", full_page=True)

        # A bad day is refused at its field, and no report is drawn.
        page.fill("#id_end", "2000-01-01")
        page.get_by_role("button", name="Show").click()
        page.wait_for_selector("#id_end_error")
        assert page.locator("svg[role=img]").count() == 0

        page.goto(f"{live_server.url}/admin/scheduling/session/{session.pk}/change/")
        page.get_by_role("link", name="Sign-in sheet to print").click()
        page.wait_for_selector("[data-testid=sign-in-sheet]")
        sheet = page.inner_text("[data-testid=sign-in-sheet]")
        for name in names:
            assert name in sheet
        page.emulate_media(media="print")
        assert not page.locator("nav.navbar").is_visible()
        assert not page.get_by_role("link", name="Back to the session").is_visible()
        page.screenshot(path=SCREENSHOTS / "sign-in-sheet-print.png", full_page=True)
