"""WCAG 2.1 A and AA in Debian's Chromium: axe-core on every page of the portal, the therapist's
workspace, the account pages and the admin, at a phone's width and a desktop's, each opened by
the person it is for with the demo clinic's data (every form in full).

The pages come from tests/browser/pages.py and the admin site's registry; tests/test_page_coverage.py
keeps that list complete. One browser for the module: all ORM work happens before it starts."""

import json
import time
from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from clients.models import Client
from groups.models import Therapist
from iop.models import PasswordChangeDue
from iop.permissions import CLINIC_STAFF
from progress.models import Goal, GroupNote, MeasureResponse, SafetyAlert
from progress.notes import add_addendum
from progress.selectors import clients_of_therapist, groups_for_therapist, sessions_for_therapist
from scheduling.models import Closure, Session
from scheduling.services import save_closure
from tests.browser.pages import (
    ADMIN_PAGES,
    ADMINISTRATOR,
    ANONYMOUS,
    CLIENT,
    PAGES,
    ROLES,
    STATES,
    THERAPIST,
    VERIFYING,
)
from tests.factories import PASSWORD, ReminderFactory, UserFactory
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, serious_axe_violations, with_authenticator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_PASSWORD = "demo-pass-2026"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SETTLED = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
CREDENTIALS = {
    CLIENT: ("client", DEMO_PASSWORD),
    THERAPIST: ("therapist", DEMO_PASSWORD),
    ADMINISTRATOR: ("administrator", PASSWORD),
    VERIFYING: ("twostep", PASSWORD),
}


def _demo_objects() -> dict:
    """The demo's rows each page needs, and a row for every admin list that the demo leaves empty."""
    Group.objects.get_or_create(name=CLINIC_STAFF)
    call_command("seed_demo", stdout=StringIO())
    therapist = Therapist.objects.get(user__username="therapist")
    client = Client.objects.get(portal_user__username="client")
    now = timezone.now()
    # The latest meeting that took place: its roster is taken and its note written by the demo.
    session = (
        sessions_for_therapist(therapist)
        .filter(starts_at__lte=now)
        .exclude(status=Session.Status.CANCELLED)
        .order_by("-starts_at")
        .first()
    )
    led = sessions_for_therapist(therapist)
    administrator = UserFactory(username="administrator", is_staff=True, is_superuser=True)
    verifying = UserFactory(username="twostep")
    with_authenticator(verifying)
    PasswordChangeDue.objects.get_or_create(user=UserFactory(username="newhire"))
    today = timezone.localdate()
    closure = Closure(name="Staff training", starts_on=today + timezone.timedelta(days=40))
    closure.ends_on = closure.starts_on
    save_closure(closure=closure)
    # A correction to one of the demo's signed notes.
    signed = GroupNote.objects.filter(signed_by=therapist.user).latest("signed_at")
    add_addendum(note=signed, author=therapist.user, text="The member arrived ten minutes late, not on time.")
    # A reminder of the next meeting (the scheduler plans them only a day ahead: none on some days).
    upcoming = Session.objects.filter(starts_at__gt=now, status=Session.Status.SCHEDULED).earliest("starts_at")
    ReminderFactory(session=upcoming, client=client, session_starts_at=upcoming.starts_at)
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    seen = {"user_agent": "Chromium", "ip_address": "127.0.0.1", "username": "client", "http_accept": "text/html"}
    AccessLog.objects.create(path_info="/accounts/login/", **seen)
    AccessFailureLog.objects.create(path_info="/accounts/login/", **seen)
    AccessAttempt.objects.create(
        path_info="/accounts/login/", get_data="", post_data="", failures_since_start=1, **seen
    )
    return {
        "administrator": administrator,
        "session": session,
        "group": groups_for_therapist(therapist).first(),
        "client": client,
        "client_user": client.portal_user,
        "alert": SafetyAlert.objects.filter(followed_up_at__isnull=True).first(),
        "discharged": Client.objects.get(chart_number="IOP-1023"),
        "goal": Goal.objects.filter(plan__client=client).first(),
        "questionnaire": MeasureResponse.objects.filter(client=client).latest("pk"),
        "closure": closure,
        "unsigned_session": GroupNote.objects.filter(signed_at__isnull=True, session__in=led).first().session,
        "signed_session": signed.session,
        "client_without_plan": clients_of_therapist(therapist).filter(treatment_plan__isnull=True).first(),
        "signed_discharge": Client.objects.get(chart_number="IOP-1022"),
        "authenticator": verifying.totpdevice_set.get(),
        "reset": {
            "uidb64": urlsafe_base64_encode(force_bytes(client.portal_user.pk)),
            "token": default_token_generator.make_token(client.portal_user),
        },
    }


def _admin_pages(demo: dict) -> list[str]:
    """Each registered model's list, add page (where the admin offers one) and change page."""
    request = RequestFactory().get("/admin/")
    request.user = demo["administrator"]
    addresses = []
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        addresses.append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            addresses.append(reverse(f"{name}_add"))
        first = model._default_manager.order_by("pk").first()
        assert first is not None, f"the demo has no {model._meta.verbose_name} to open"
        addresses.append(reverse(f"{name}_change", args=[first.pk]))
    for name, arguments in ADMIN_PAGES.items():
        addresses.append(reverse(name, kwargs=arguments(demo) if arguments else None))
    return addresses


@pytest.fixture
def every_page(transactional_db) -> dict[str, list[str]]:
    demo = _demo_objects()
    assert all(value is not None for value in demo.values()), demo
    pages = {role: [] for role in ROLES}
    for name, (role, arguments) in PAGES.items():
        pages[role].append(reverse(name, kwargs=arguments(demo) if arguments else None))
    for name, role, arguments in STATES:
        pages[role].append(reverse(name, kwargs=arguments(demo)))
    pages[ADMINISTRATOR] += _admin_pages(demo)
    return pages


def _sign_in(page, base_url: str, role: str) -> None:
    username, password = CREDENTIALS[role]
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


def test_every_page_meets_wcag_21_aa_at_both_widths(every_page, live_server):
    from playwright.sync_api import sync_playwright

    found, checked, started = {}, 0, time.monotonic()
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for role, addresses in every_page.items():
            context = browser.new_context(viewport=WIDTHS["desktop"], device_scale_factor=1)
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role != ANONYMOUS:
                _sign_in(page, live_server.url, role)
            for address in addresses:
                response = page.goto(f"{live_server.url}{address}")
                assert response.status == 200, (role, address, response.status)
                assert "/login/" not in page.url or address.startswith("/accounts/login/"), (role, address)
                # The page's own scripts (the admin's repairs, select2) finish before axe looks.
                page.evaluate(SETTLED)
                for viewport in WIDTHS.values():
                    page.set_viewport_size(viewport)
                    page.evaluate(SETTLED)
                    problems = serious_axe_violations(page)
                    checked += 1
                    if problems:
                        found[f"{role} {address} at {viewport['width']} px"] = problems
                page.set_viewport_size(WIDTHS["desktop"])
            context.close()
        browser.close()

    seconds = time.monotonic() - started
    (SCREENSHOTS / "axe-violations.json").write_text(
        json.dumps({"checked": checked, "seconds": round(seconds, 1), "violations": found}, indent=1)
    )
    assert found == {}, json.dumps(found, indent=1)
