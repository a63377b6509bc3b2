"""In Debian's Chromium at 1280 px, a common laptop's width: a group's page, with its weekly
slots drawn as a table, fits without scrolling sideways."""

import datetime

import pytest

from tests.factories import PASSWORD, TherapyGroupFactory, UserFactory, WeeklySlotFactory
from tests.helpers import SCREENSHOTS, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}


def test_a_groups_page_with_its_slots_fits_a_1280_px_screen(live_server, therapist, today):
    group = TherapyGroupFactory(facilitator=therapist, room="Room 12 (second floor, east wing)")
    for weekday in (0, 2, 4):
        WeeklySlotFactory(
            group=group,
            weekday=weekday,
            start_time=datetime.time(18),
            room="Room 4",
            default_objective="Identify triggers and practise one coping skill",
            effective_until=today + datetime.timedelta(weeks=20),
        )
    UserFactory(username="administrator", is_staff=True, is_superuser=True)
    url = f"{live_server.url}/admin/groups/therapygroup/{group.pk}/change/"

    with chromium_page(viewport=LAPTOP) as page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "administrator")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        page.goto(url)
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "admin-group-1280.png", full_page=True)
        widths = page.evaluate(
            "() => ({page: document.documentElement.scrollWidth,"
            " slots: document.querySelector('#slots-group').scrollWidth,"
            " slots_box: document.querySelector('#slots-group').clientWidth})"
        )
        slot_inputs = page.locator("#slots-group input[name$='-default_objective']").count()

    assert slot_inputs == 4  # three slots and the empty row the "Add" link copies
    assert widths["page"] <= LAPTOP["width"], widths
    assert widths["slots"] <= widths["slots_box"], widths
