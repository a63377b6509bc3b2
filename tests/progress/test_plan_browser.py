"""The demo therapist reviews an overdue treatment plan in Debian's Chromium, on a tablet-sized screen."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from iop.permissions import CLINIC_STAFF
from progress.demo import OVERDUE_PLAN_CHART
from progress.models import TreatmentPlan
from tests.helpers import SCREENSHOTS, TABLET, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def overdue_plan(transactional_db):
    # All ORM work before the browser starts (see test_browser.py).
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())
    return TreatmentPlan.objects.select_related("client").get(client__chart_number=OVERDUE_PLAN_CHART)


def test_demo_therapist_reviews_the_overdue_plan_from_the_dashboard(overdue_plan, live_server):
    client = overdue_plan.client
    with chromium_page(TABLET) as page:
        page.goto(f"{live_server.url}/therapist/")
        page.fill("#id_username", "therapist")
        page.fill("#id_password", "demo-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/therapist/")
        overdue = page.locator("[data-testid=plan-reviews-due]")
        assert client.display_name in overdue.inner_text()

        # The plan's link (the row also links the client's progress page).
        overdue.get_by_role("link", name=re.compile(f"^{re.escape(client.display_name)} \\(")).click()
        page.wait_for_selector("text=Treatment plan:")
        assert "overdue" in page.inner_text("[data-testid=plan-dates]")
        # A review without its text is refused at the field, and the plan stays overdue.
        page.click("text=Record the review")
        page.wait_for_selector("#id_summary.is-invalid")
        page.fill("#id_summary", "Weekend plans written 3 of 4 Fridays; keep the goal, add a Sunday check-in.")
        page.click("text=Record the review")
        page.wait_for_selector("text=The review is recorded.")
        assert "overdue" not in page.inner_text("[data-testid=plan-dates]")
        page.screenshot(path=SCREENSHOTS / "therapist-treatment-plan.png", full_page=True)

        page.goto(f"{live_server.url}/therapist/")
        assert page.locator("[data-testid=plan-reviews-due]").count() == 0
