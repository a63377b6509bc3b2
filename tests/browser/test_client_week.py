from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from iop.permissions import CLINIC_STAFF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_clinic(transactional_db):
    # Before the browser starts: Playwright's event loop makes later ORM calls in this thread unsafe.
    # An earlier transactional test may have flushed the permission group seed_demo expects.
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())


def test_demo_client_sees_this_week_and_moves_to_next(demo_clinic, live_server, browser_page, screenshot_dir):
    page = browser_page

    page.goto(f"{live_server.url}/schedule/")
    page.fill("#id_username", "client")
    page.fill("#id_password", "demo-pass-2026")
    page.click("button[type=submit]")

    page.wait_for_selector("[data-testid=session]")
    main = page.inner_text("main")
    assert page.locator("[data-testid=session]").count() == 5
    assert "Understanding Anxiety & Depression" in main
    # A past meeting is shown as past, without its video link (the Friday group meets online).
    for card in page.locator("[data-testid=session][data-past]").all():
        assert "Join video" not in card.inner_text()
    page.screenshot(path=screenshot_dir / "client-week.png", full_page=True)

    page.click("a[rel=next]")
    page.wait_for_url("**/schedule/?week=*")
    assert page.locator("[data-testid=session]").count() == 5
    assert "This week" in page.inner_text("main")
    assert page.locator("[data-testid=session] >> text=Join video").count() == 1  # all ahead: Friday's
    page.screenshot(path=screenshot_dir / "client-next-week.png", full_page=True)
