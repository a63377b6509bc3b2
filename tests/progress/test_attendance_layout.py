"""The attendance page of a full group in Debian's Chromium: twelve members fit about one screen
at 1280 px, one compact row each, and the page is measured at ten and twelve."""

import json

import pytest

from tests.factories import PASSWORD, TherapyGroupFactory
from tests.helpers import MEMBER_NAMES, SCREENSHOTS, add_members, chromium_page, make_session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
TWELVE_NAMES = [*MEMBER_NAMES, ("Perpetua", "Lindqvist"), ("Thaddeus", "Okonkwo")]
# About one screen: the roster from its first row to the save button within a 1280 x 900 window,
# below the session's header.
ONE_SCREEN = 900


def _roster_heights(live_server, session_pk: int, username: str) -> dict:
    with chromium_page(DESKTOP) as page:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        page.goto(f"{live_server.url}/therapist/sessions/{session_pk}/")
        page.screenshot(path=SCREENSHOTS / f"attendance-{page.locator('.attendance-row').count()}.png", full_page=True)
        return page.evaluate(
            """() => {
              const rows = document.querySelectorAll('.attendance-row');
              const save = document.querySelector('.attendance-save');
              return {
                page: document.documentElement.scrollHeight,
                rows: rows.length,
                roster: save.getBoundingClientRect().bottom - rows[0].getBoundingClientRect().top,
              };
            }"""
        )


@pytest.mark.parametrize("members", [10, 12])
def test_a_full_group_fits_about_one_screen_at_1280_px(transactional_db, therapist, live_server, members):
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    add_members(group, members, names=TWELVE_NAMES)
    session = make_session(group)
    therapist.user.set_password(PASSWORD)
    therapist.user.save()

    heights = _roster_heights(live_server, session.pk, therapist.user.username)

    (SCREENSHOTS / f"attendance-{members}.json").write_text(json.dumps(heights))
    assert heights["rows"] == members
    assert heights["roster"] <= ONE_SCREEN, heights
