"""The safety path end to end in Debian's Chromium: a client answers PHQ-9 item 9 above 0 and sees
the crisis message at once; their therapist sees the alert at the top of their pages, records the
follow-up, and the alert is gone."""

import pytest
from django.contrib.auth.models import Group

from iop.permissions import CLINIC_STAFF
from progress.models import SafetyAlert
from scheduling.enrolment import enroll_client
from tests.factories import PASSWORD, ClientFactory, TherapistFactory, TherapyGroupFactory, UserFactory
from tests.helpers import PHONE, SCREENSHOTS, TABLET, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def story(transactional_db, settings):
    # All ORM work before the browser starts: Playwright's event loop makes ORM calls in this
    # thread unsafe while it runs.
    settings.IOP_CRISIS_LINE = "988 Suicide & Crisis Lifeline — call or text 988"
    settings.CLINIC_PHONE = "(312) 555-0142"
    Group.objects.get_or_create(name=CLINIC_STAFF)
    therapist = TherapistFactory(user__username="dana", user__first_name="Dana", user__last_name="Whitfield")
    group = TherapyGroupFactory(facilitator=therapist, name="Mindfulness")
    client = ClientFactory(legal_first_name="Jordan", legal_last_name="Avery")
    client.portal_user = UserFactory(username="jordan")
    client.save(update_fields=["portal_user"])
    enroll_client(client=client, group=group, on=group.start_date)
    return client


def sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def test_item_9_reaches_the_therapist_who_follows_it_up_and_the_alert_closes(story, live_server):
    with chromium_page(PHONE) as page:
        sign_in(page, f"{live_server.url}/schedule/questionnaires/phq-9/", "jordan")
        page.wait_for_selector("form[data-instrument=phq9]")
        # Sent half answered: every missing question says so, and nothing is saved.
        page.check("#id_item_1_1")
        page.click("form[data-instrument] button[type=submit]")
        page.wait_for_selector("#form-errors")
        assert page.locator("fieldset.is-invalid").count() == 8
        for number in range(1, 9):
            page.check(f"#id_item_{number}_1")
        page.check("#id_item_9_1")  # "Several days"
        page.check("#id_difficulty_1")
        page.click("form[data-instrument] button[type=submit]")
        crisis = page.wait_for_selector("#crisis-message")
        text = crisis.inner_text()
        assert "988 Suicide & Crisis Lifeline — call or text 988" in text
        assert "(312) 555-0142" in text
        page.screenshot(path=SCREENSHOTS / "portal-crisis-message.png", full_page=True)
        page.click("text=Sign out")

    with chromium_page(TABLET) as page:
        sign_in(page, f"{live_server.url}/therapist/", "dana")
        banner = page.wait_for_selector("[data-testid=safety-alerts]")
        assert "Jordan Avery" in banner.inner_text()
        page.screenshot(path=SCREENSHOTS / "therapist-safety-alert.png", full_page=True)
        page.click("[data-testid=safety-alerts] a")
        page.wait_for_selector("[data-alert-state=open]")
        page.select_option("#id_contacted_by", "phone")
        page.fill("#id_outcome", "Called the same hour; safety plan reviewed, no intent; seen tomorrow.")
        page.click("button[name=record]")
        page.wait_for_selector(".alert-success")
        assert page.locator("[data-testid=safety-alerts]").count() == 0
        page.screenshot(path=SCREENSHOTS / "therapist-alert-followed-up.png", full_page=True)

    alert = SafetyAlert.objects.get(client=story)
    assert not alert.is_open
    assert alert.followed_up_by.username == "dana"
    assert alert.contacted_by == "phone"
