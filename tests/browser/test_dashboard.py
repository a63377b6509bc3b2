"""In Debian's Chromium at 1280 pixels: staff open the admin on the clinic's dashboard, follow a
line to the sessions nobody documented, and every admin list fits the screen (no sideways scroll,
neither of the page nor of a list's table)."""

from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.helpers import SCREENSHOTS, chromium_page, restore_clinic_groups

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
DEMO_PASSWORD = "demo-pass-2026"
# Elements wider than their box that scroll (or clip) sideways: a list's table in its
# ``.results`` box, or the page itself.
OVERFLOWING = """() => {
  const found = [];
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) found.push(`page ${width}`);
  for (const element of document.querySelectorAll("#content *")) {
    if (element.closest(".visually-hidden") || element.clientWidth === 0) continue;
    const style = getComputedStyle(element);
    if (style.overflowX !== "visible" && element.scrollWidth > element.clientWidth + 1) {
      found.push(`${element.tagName}.${element.className} ${element.scrollWidth} > ${element.clientWidth}`);
    }
  }
  return found;
}"""


@pytest.fixture
def demo_clinic(transactional_db):
    """The demo (every list has rows; a past session nobody documented) and an administrator who
    sees every list; all ORM work before the browser starts. The staff group has its permissions
    whatever an earlier live-server test flushed."""
    restore_clinic_groups()
    call_command("seed_demo", stdout=StringIO())
    UserFactory(username="administrator", is_staff=True, is_superuser=True)
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


def sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_staff_start_on_the_dashboard_and_reach_the_sessions_nobody_documented(demo_clinic, live_server):
    with chromium_page(DESKTOP) as page:
        sign_in(page, f"{live_server.url}/admin/", "staff", DEMO_PASSWORD)
        page.wait_for_selector(".clinic-dashboard")
        assert page.locator("#dashboard-today h2").count() == 1
        assert page.locator("#dashboard-undocumented h2", has_text="not documented").count() == 1
        # The list of every admin page is still on the page.
        assert page.locator(".clinic-admin-pages a", has_text="Sessions").count() >= 1
        assert page.evaluate(OVERFLOWING) == []
        page.screenshot(path=SCREENSHOTS / "admin-dashboard-1280.png", full_page=True)

        page.locator("#dashboard-undocumented a", has_text="without attendance").first.click()
        page.wait_for_selector("#result_list")
        assert "shown=not_documented" in page.url
        states = page.locator("#result_list td.field-state").all_inner_texts()
        assert states and set(states) == {"Not documented"}
        assert page.evaluate(OVERFLOWING) == []


def test_every_admin_list_fits_1280_pixels(demo_clinic, live_server):
    lists = [*demo_clinic, reverse("admin:scheduling_session_changelist") + "?shown=all"]
    overflowing = {}
    with chromium_page(DESKTOP) as page:
        sign_in(page, f"{live_server.url}/admin/", "administrator", PASSWORD)
        for url in lists:
            page.goto(f"{live_server.url}{url}")
            page.wait_for_selector("#changelist")
            found = page.evaluate(OVERFLOWING)
            if found:
                overflowing[url] = found
    assert overflowing == {}
