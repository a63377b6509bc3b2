"""Keyboard only, in Debian's Chromium: a client walks through their week, a therapist takes
attendance and signs the note. No mouse: Tab, Shift+Tab, Enter, Space and typing. Every stop of
the keyboard shows where it is (a focus outline or ring), every field has a label, and a refused
save says so at once (role=alert, focused) and ties each error to its field."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from iop.permissions import CLINIC_STAFF
from progress.models import Attendance, GroupNote
from tests.factories import PASSWORD, TherapyGroupFactory
from tests.helpers import PHONE, SCREENSHOTS, add_members, chromium_page, make_session, serious_axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
# What the focused element looks like: a visible outline or a focus ring, and whether it has a name.
FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const ring = style.boxShadow && style.boxShadow !== "none";
  const labelled = element.labels && element.labels.length > 0;
  const named = Boolean(labelled || element.getAttribute("aria-label") || element.getAttribute("aria-labelledby")
    || (element.textContent || "").trim() || element.value);
  return {tag: element.tagName, id: element.id, name: element.name || "", visible: outline || ring, named,
          text: (element.textContent || "").trim().slice(0, 60)};
}"""


def tab_to(page, selector: str, *, backwards: bool = False, limit: int = 200) -> list[dict]:
    """Tab (or Shift+Tab) until the focused element matches ``selector``; every stop on the way
    shows its focus and has a name."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        stop = page.evaluate(FOCUSED)
        if stop["tag"] != "BODY":
            stops.append(stop)
            assert stop["visible"], f"no visible focus on {stop}"
            assert stop["named"], f"no name on {stop}"
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return stops
    raise AssertionError(f"{selector} is not reachable with the keyboard; stops: {stops[-10:]}")


def press_and_wait(page, key: str) -> None:
    """Press a key that submits a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def sign_in_by_keyboard(page, base_url: str, username: str, password: str, then: str) -> None:
    page.goto(f"{base_url}{then}")
    assert "/accounts/login/" in page.url
    tab_to(page, "#id_username")
    page.keyboard.type(username)
    tab_to(page, "#id_password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/" not in url and url.endswith(then))


@pytest.fixture
def demo_clinic(transactional_db):
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())


def test_a_client_walks_through_their_week_by_keyboard(demo_clinic, live_server):
    with chromium_page(PHONE) as page:
        sign_in_by_keyboard(page, live_server.url, "client", "demo-pass-2026", "/schedule/")
        assert page.locator("[data-testid=session]").count() > 0

        tab_to(page, "a[rel=next]")
        page.keyboard.press("Enter")
        page.wait_for_url("**/schedule/?week=*")
        assert "This week" in page.inner_text("main")

        # The calendar link: its Copy button reached and pressed (the link it copies is the feed's),
        # the Subscribe link after it; Shift+Tab goes back.
        copy = "button[data-copy-target=feed-url]"
        tab_to(page, copy)
        assert page.inner_text("#feed-url").endswith(".ics")
        page.keyboard.press("Enter")
        page.wait_for_selector("[data-copy-status]:not(:empty)")
        tab_to(page, "a[href^='webcal:']")
        tab_to(page, copy, backwards=True)
        page.screenshot(path=SCREENSHOTS / "keyboard-client-week.png", full_page=True)


@pytest.fixture
def session_to_take(transactional_db, therapist):
    therapist.user.set_password(PASSWORD)
    therapist.user.save()
    group = TherapyGroupFactory(facilitator=therapist, capacity=8)
    members = add_members(group, 3)
    return make_session(group), members, therapist.user.username


def test_a_therapist_takes_attendance_and_signs_the_note_by_keyboard(session_to_take, live_server):
    session, members, username = session_to_take
    address = f"/therapist/sessions/{session.pk}/"
    with chromium_page(DESKTOP) as page:
        sign_in_by_keyboard(page, live_server.url, username, PASSWORD, "/therapist/")
        page.goto(f"{live_server.url}{address}")

        # Saved with nothing chosen: refused, and the summary is announced and has the focus.
        tab_to(page, ".attendance-save")
        press_and_wait(page, "Enter")
        assert page.evaluate("document.activeElement.id") == "attendance-missing"
        assert page.get_attribute("#attendance-missing", "role") == "alert"

        # Each row by keyboard: type-ahead in the selects, digits in the minutes; the last
        # member's minutes are more than the session lasts.
        for index, member in enumerate(members):
            tab_to(page, f"#id_form-{index}-status")
            page.keyboard.type("Present")
            tab_to(page, f"#id_form-{index}-minutes_attended")
            page.keyboard.type("500" if index == len(members) - 1 else str(session.duration_minutes))
            tab_to(page, f"#id_form-{index}-participation")
            page.keyboard.type("2")
            tab_to(page, f"#id_form-{index}-observation")
            page.keyboard.type(f"Shared one trigger ({member.legal_first_name[0]}).")
        tab_to(page, ".attendance-save")
        press_and_wait(page, "Space")

        minutes = f"#id_form-{len(members) - 1}-minutes_attended"
        assert page.evaluate("document.activeElement.id") == "attendance-missing"
        assert page.get_attribute("#attendance-missing", "role") == "alert"
        assert serious_axe_violations(page) == []  # the refused page, errors and all
        assert page.get_attribute(minutes, "aria-invalid") == "true"
        error_id = f"{minutes[1:]}_error"
        assert error_id in page.get_attribute(minutes, "aria-describedby").split()
        assert "90" in page.inner_text(f"#{error_id}")
        assert page.input_value("#id_form-0-status") == "present"  # what was chosen is kept

        # The summary's link leads to the field; the corrected value saves everyone at once.
        tab_to(page, f"#attendance-missing a[href='{minutes}']")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == minutes[1:]
        page.keyboard.press("Control+A")
        page.keyboard.type(str(session.duration_minutes))
        tab_to(page, ".attendance-save")
        press_and_wait(page, "Enter")
        assert f"Attendance saved for {len(members)} members." in page.inner_text("main")

        # The note: the shared part, each member's behaviour, saved, then signed with the password.
        page.goto(f"{live_server.url}{address}note/")
        tab_to(page, "#id_topic")
        page.keyboard.type("Triggers and cravings")
        for field, words in (
            ("#id_interventions", "Psychoeducation; urge surfing practice."),
            ("#id_group_dynamics", "Cohesive; members gave each other feedback."),
        ):
            tab_to(page, field)
            page.keyboard.type(words)
        for index in range(len(members)):
            tab_to(page, f"#id_form-{index}-behaviour")
            page.keyboard.type("Shared a recent trigger.")
        tab_to(page, "button[name=save]")
        press_and_wait(page, "Enter")
        tab_to(page, "form[action$='/note/sign/'] input[type=password]")
        page.keyboard.type(PASSWORD)
        tab_to(page, "button[name=sign]")
        press_and_wait(page, "Enter")
        page.screenshot(path=SCREENSHOTS / "keyboard-note-signed.png", full_page=True)

    assert Attendance.objects.filter(session=session, minutes_attended=session.duration_minutes).count() == 3
    assert GroupNote.objects.get(session=session).signed_at is not None
