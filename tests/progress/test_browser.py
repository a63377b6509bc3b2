"""The demo therapist's day in Debian's Chromium, on a tablet-sized screen."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from groups.models import Therapist
from iop.permissions import CLINIC_STAFF
from progress.models import Attendance, GroupNote
from progress.selectors import roster_for_session, week_sessions
from tests.helpers import SCREENSHOTS, TABLET, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def todays_session(transactional_db):
    # All ORM work happens before the browser starts: Playwright's event loop makes ORM calls
    # in this thread unsafe while it runs. An earlier transactional test may have flushed the
    # permission group the data migrations made; seed_demo expects it.
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())
    therapist = Therapist.objects.get(user__username="therapist")
    today, now = timezone.localdate(), timezone.now()
    return next(s for s in week_sessions(therapist) if s.day == today and s.starts_at <= now and not s.is_cancelled)


def test_demo_therapist_takes_attendance_writes_signs_and_sees_the_note_locked(todays_session, live_server):
    session = todays_session
    roster_size = roster_for_session(session).count()
    started = session.starts_at <= timezone.now()
    with chromium_page(TABLET) as page:
        page.goto(f"{live_server.url}/therapist/")
        page.fill("#id_username", "therapist")
        page.fill("#id_password", "demo-pass-2026")
        page.click("button[type=submit]")
        page.wait_for_url("**/therapist/")
        card = page.inner_text(f"[data-session='{session.pk}']")
        assert ("Attendance to take" in card) == started
        page.screenshot(path=SCREENSHOTS / "therapist-dashboard.png", full_page=True)

        page.click(f"[data-session='{session.pk}']")
        rows = page.locator(".attendance-row")
        assert rows.count() == roster_size
        # Nothing is chosen for the therapist: saving the empty form is refused and says why.
        page.click("text=Save attendance for all")
        page.wait_for_selector("#attendance-missing")
        page.click("button[name=mark_everyone_present]")
        page.wait_for_selector("#attendance-missing", state="detached")
        for index in range(rows.count()):
            row = rows.nth(index)
            if not row.locator("select[name$='-status']").input_value():
                # No current agreement: not marked present, so the therapist chooses.
                row.locator("select[name$='-status']").select_option("excused")
            else:
                row.locator("select[name$='-participation']").select_option("4" if index == 0 else "2")
        rows.first.locator("textarea[name$='-observation']").fill("Spoke at length; redirected twice.")
        page.click("text=Save attendance for all")
        page.wait_for_selector(".alert-success")
        page.screenshot(path=SCREENSHOTS / "therapist-attendance.png", full_page=True)

        page.click("text=Progress note")
        page.fill("#id_topic", "Grounding skills for the weekend")
        page.fill("#id_interventions", "Guided grounding exercise; paired practice.")
        page.fill("#id_group_dynamics", "Supportive; quieter members joined the closing round.")
        behaviours = page.locator("textarea[name$='-behaviour']")
        for index in range(behaviours.count()):
            if not behaviours.nth(index).input_value():
                behaviours.nth(index).fill("Took part in the grounding exercise.")
        page.click("button[name=save]")
        page.wait_for_selector("text=The note is saved")

        page.fill("#id_password", "demo-pass-2026")
        page.click("button[name=sign]")
        page.wait_for_selector("[data-note-state=locked]")
        assert "Signed and locked" in page.inner_text("main")
        assert page.locator("button[name=save]").count() == 0
        page.screenshot(path=SCREENSHOTS / "therapist-note-signed.png", full_page=True)

    assert Attendance.objects.filter(session=session).count() == roster_size
    note = GroupNote.objects.get(session=session)
    assert note.is_signed
    assert note.signed_by.username == "therapist"
