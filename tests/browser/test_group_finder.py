"""Staff find a group for a Spanish-speaking client in Debian's Chromium: open the client, "Find a
group", read why each group fits or not, enrol in one click; then enrol in a group held in English
with the interpreter arranged, which asks why and keeps it."""

import pytest

from clients.models import Client
from groups.models import Membership
from tests.factories import (
    PASSWORD,
    ClientFactory,
    TherapistFactory,
    TherapyGroupFactory,
    UserFactory,
    WeeklySlotFactory,
)
from tests.helpers import SCREENSHOTS, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def story(transactional_db):
    # All ORM work before the browser starts: Playwright's event loop makes ORM calls in this
    # thread unsafe while it runs.
    UserFactory(username="front-desk", is_staff=True, is_superuser=True)
    therapist = TherapistFactory()
    ana = ClientFactory(
        legal_first_name="Ana", legal_last_name="Morales", preferred_language="es", interpreter="arranged"
    )
    spanish = TherapyGroupFactory(name="Grupo de Apoyo", language="es", kind="support", facilitator=therapist)
    english = TherapyGroupFactory(name="Coping in English", language="en", facilitator=therapist, room="Room 102")
    teens = TherapyGroupFactory(name="Teen skills", audience="adolescent_iop", facilitator=therapist, room="Room 103")
    for group, weekday in ((spanish, 1), (english, 2), (teens, 3)):
        WeeklySlotFactory(group=group, weekday=weekday)
    return {"ana": ana, "spanish": spanish, "english": english}


def test_staff_find_a_group_and_enrol_in_one_click(story, live_server):
    ana = story["ana"]
    with chromium_page(DESKTOP) as page:
        page.goto(f"{live_server.url}/admin/clients/client/{ana.pk}/change/")
        page.fill("#id_username", "front-desk")
        page.fill("#id_password", PASSWORD)
        page.click("[type=submit]")
        page.click("a.button:has-text('Find a group')")

        fitting = page.wait_for_selector("[data-testid=fitting]")
        rows = page.locator("[data-testid=fitting] tbody tr")
        assert rows.count() == 2
        assert "Grupo de Apoyo" in rows.nth(0).inner_text()
        assert "Held in Spanish (Español), Ana Morales's language." in rows.nth(0).inner_text()
        assert "with the interpreter arranged" in rows.nth(1).inner_text()
        not_fitting = page.inner_text("[data-testid=not-fitting]")
        assert "Teen skills" in not_fitting and "For Adolescent IOP clients" in not_fitting
        assert "Grupo de Apoyo" in fitting.inner_text()
        page.screenshot(path=SCREENSHOTS / "admin-group-finder.png", full_page=True)

        page.click("button[aria-label='Enrol in Grupo de Apoyo']")
        page.wait_for_selector(".messagelist .success")
        assert "Ana Morales is now active in Grupo de Apoyo" in page.inner_text(".messagelist")

        page.click("a.button:has-text('Find a group')")
        page.wait_for_selector("[data-testid=fitting]")
        reason = page.locator(f"#language-{story['english'].pk}")
        assert reason.input_value() == "Interpreter arranged"
        reason.fill("Interpreter arranged: Spanish, Wednesdays")
        page.click("button[aria-label='Enrol in Coping in English']")
        page.wait_for_selector(".messagelist .success")

    memberships = {m.group.name: m for m in Membership.objects.filter(client=ana).select_related("group")}
    assert memberships["Grupo de Apoyo"].status == Membership.Status.ACTIVE
    assert memberships["Grupo de Apoyo"].language_reason == ""
    assert memberships["Coping in English"].language_reason == "Interpreter arranged: Spanish, Wednesdays"
    assert Client.objects.get(pk=ana.pk).memberships.count() == 2
