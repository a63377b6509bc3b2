"""In Debian's Chromium: the Content-Security-Policy breaks nothing (no page, the admin's
included, triggers a violation), and the idle warning appears and keeps the login on request."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from clients.models import Client
from groups.models import Therapist, TherapyGroup
from iop.permissions import CLINIC_STAFF
from progress.selectors import week_sessions
from tests.factories import PASSWORD, UserFactory
from tests.helpers import SCREENSHOTS, TABLET, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-pass-2026"
# Chromium's words for a blocked inline script or style, an eval, or a blocked source.
CSP_WORDS = ("Content Security Policy", "Refused to")
# Every violation the page sees, kept across navigations in the page's own session storage.
COLLECT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const seen = JSON.parse(sessionStorage.getItem("csp-violations") || "[]");
  seen.push(`${event.violatedDirective} ${event.blockedURI} at ${event.sourceFile}:${event.lineNumber}`);
  sessionStorage.setItem("csp-violations", JSON.stringify(seen));
});
"""


@pytest.fixture
def demo_clinic(transactional_db):
    """The demo, and the addresses of its pages; all ORM work before the browser starts."""
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())
    therapist = Therapist.objects.get(user__username="therapist")
    today, now = timezone.localdate(), timezone.now()
    session = next(s for s in week_sessions(therapist) if s.day == today and s.starts_at <= now and not s.is_cancelled)
    client = Client.objects.get(portal_user__username="client")
    group = TherapyGroup.objects.filter(facilitator=therapist).first()
    # A superuser for the admin: every button and link shows, and an earlier transactional test
    # may have flushed the permissions the data migrations gave the "Clinic staff" group.
    UserFactory(username="administrator", is_staff=True, is_superuser=True)
    return {
        "client": ["/schedule/", "/schedule/progress/", "/accounts/password_change/"],
        "therapist": [
            "/therapist/",
            f"/therapist/sessions/{session.pk}/",
            f"/therapist/sessions/{session.pk}/note/",
            f"/therapist/groups/{group.pk}/",
            # The charts are inline SVG without pygal's <style> or script.
            f"/therapist/clients/{client.pk}/progress/",
        ],
        "administrator": [
            "/admin/",
            "/admin/clients/client/",
            f"/admin/clients/client/{client.pk}/change/",
            "/admin/clients/client/add/",
            "/admin/scheduling/session/",
            f"/admin/scheduling/session/{session.pk}/change/",
            f"/admin/groups/therapygroup/{group.pk}/change/",
            "/admin/progress/groupnote/",
        ],
    }


def failed(response) -> bool:
    # The admin names no icon, so the browser asks for /favicon.ico, which does not exist.
    return response.status >= 400 and not response.url.endswith("/favicon.ico")


def sign_in(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD if username == "administrator" else DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def test_no_page_breaks_the_content_security_policy(demo_clinic, live_server):
    console = []
    failures = []
    for username, pages in demo_clinic.items():
        with chromium_page(TABLET) as page:
            page.add_init_script(COLLECT_VIOLATIONS)
            page.on("console", lambda message: console.append(f"{page.url}: {message.text}"))
            page.on("response", lambda response: failures.append(response.url) if failed(response) else None)
            sign_in(page, live_server.url, username)
            for address in pages:
                response = page.goto(f"{live_server.url}{address}")
                assert response.status == 200, address
                assert "/login/" not in page.url, address
                assert "default-src 'self'" in response.headers["content-security-policy"]
                page.wait_for_load_state("networkidle")
            page.screenshot(path=SCREENSHOTS / f"csp-{username}.png", full_page=True)
            violations = page.evaluate("JSON.parse(sessionStorage.getItem('csp-violations') || '[]')")
            assert violations == [], violations

    assert [line for line in console if any(word in line for word in CSP_WORDS)] == []
    assert failures == []


def test_the_idle_warning_appears_and_stay_signed_in_keeps_the_login(demo_clinic, live_server, settings):
    # Nine seconds instead of fifteen minutes; the warning six seconds before instead of one minute.
    settings.IOP_IDLE_MINUTES_STAFF = 0.15
    settings.IOP_IDLE_WARNING_SECONDS = 6
    with chromium_page(TABLET) as page:
        sign_in(page, live_server.url, "therapist")
        assert page.url.endswith("/therapist/")

        warning = page.get_by_role("alertdialog")
        warning.wait_for(state="visible", timeout=8_000)
        assert "signed out in" in warning.inner_text()
        assert page.evaluate("document.activeElement.textContent") == "Stay signed in"
        page.screenshot(path=SCREENSHOTS / "idle-warning.png")
        page.get_by_role("button", name="Stay signed in").click()
        warning.wait_for(state="hidden", timeout=3_000)

        # Past the first nine seconds the login goes on: the keep-alive reset the server's clock.
        page.wait_for_timeout(5_000)
        page.reload()
        assert page.url.endswith("/therapist/")
        assert page.locator("button", has_text="Sign out").count() == 1

        # Left alone, the page goes to the sign-in page, which says why.
        page.wait_for_url("**/accounts/login/?next=/therapist/", timeout=20_000)
        assert "You were signed out after 0.15 minutes without activity." in page.inner_text("main")
