"""In Debian's Chromium at 390 px: the Spanish-speaking demo client's week is in Spanish, the next
session comes first, the calendar link is whole on the screen and "Copiar enlace" copies it (the
static script, under the Content-Security-Policy), and replacing it asks first."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from clients.models import Client
from iop.permissions import CLINIC_STAFF
from progress.demo_languages import SPANISH_DEMO_CHART, SPANISH_DEMO_LOGIN
from tests.helpers import PHONE, SCREENSHOTS, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const seen = JSON.parse(sessionStorage.getItem("csp-violations") || "[]");
  seen.push(`${event.violatedDirective} ${event.blockedURI}`);
  sessionStorage.setItem("csp-violations", JSON.stringify(seen));
});
"""


@pytest.fixture
def spanish_client(transactional_db):
    """The demo, and the Spanish-speaking client's calendar token; all ORM work before the browser."""
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())
    return Client.objects.get(chart_number=SPANISH_DEMO_CHART).calendar_token


def test_the_spanish_week_on_a_phone_shows_and_copies_the_whole_calendar_link(spanish_client, live_server):
    token = spanish_client
    with chromium_page(PHONE) as page:
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        page.add_init_script(COLLECT_VIOLATIONS)
        page.goto(f"{live_server.url}/accounts/login/?lang=es")
        assert page.get_by_role("link", name="¿Olvidó su contraseña?").is_visible()
        page.fill("#id_username", SPANISH_DEMO_LOGIN)
        page.fill("#id_password", "demo-pass-2026")
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_url("**/schedule/")

        assert page.evaluate("document.documentElement.lang") == "es"
        assert page.get_by_role("heading", name="Su próxima sesión").is_visible()
        main = page.inner_text("main")
        assert main.index("Su próxima sesión") < main.index("Agregue su horario")

        link = page.locator("#feed-url")
        link.scroll_into_view_if_needed()
        assert link.inner_text().strip().endswith(f"/schedule/feed/{token}.ics")
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        # Nothing cut off: the link wraps inside its box, and the page does not scroll sideways.
        assert link.evaluate("element => element.scrollWidth <= element.clientWidth + 1")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        copy = page.get_by_role("button", name="Copiar enlace")
        assert copy.is_visible()  # the script ran: the policy allowed it
        copy.click()
        page.get_by_role("status").filter(has_text="Enlace copiado.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == link.inner_text().strip()
        page.screenshot(path=SCREENSHOTS / "client-week-es-390.png", full_page=True)

        page.get_by_role("link", name="¿Lo compartió por error? Reemplace el enlace").click()
        assert page.get_by_role("heading", name="¿Reemplazar su enlace de calendario?").is_visible()
        page.get_by_role("link", name="No, conservarlo").click()
        page.wait_for_url("**/schedule/")
        assert page.locator("#feed-url").inner_text().strip().endswith(f"/schedule/feed/{token}.ics")

        page.get_by_role("link", name="¿Lo compartió por error? Reemplace el enlace").click()
        page.get_by_role("button", name="Sí, reemplazar el enlace").click()
        page.wait_for_url("**/schedule/")
        assert "Su enlace de calendario fue reemplazado" in page.inner_text("main")
        assert token not in page.locator("#feed-url").inner_text()

        violations = page.evaluate("JSON.parse(sessionStorage.getItem('csp-violations') || '[]')")
        assert violations == []
