"""The admin's change pages draw their forms (iop.admin_lists.DrawnFormsMixin) and fieldsets
(iop.templatetags.admin_drawn) in Python: the page is the one Django's widget, error and fieldset
templates write, field for field, with and without errors."""

import re
from pathlib import Path

import django.contrib.admin
import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse

from clients.admin import SignatureInline
from clients.models import AgreementSignature, Client, OrientationItem
from clients.services import record_orientation_step
from iop import admin_lists
from iop.admin_widgets import TolerantAutocompleteSelect
from iop.templatetags import admin_drawn
from tests.factories import (
    ClientFactory,
    GoalFactory,
    SessionFactory,
    TreatmentPlanFactory,
    UserFactory,
    WeeklySlotFactory,
)

pytestmark = pytest.mark.django_db


def page(response):
    """The page as HTML elements: the same whitespace between the options of a select is not
    asked for (the templates' indentation), the same elements, attributes and text are."""
    assert response.status_code == 200
    # The CSRF token changes with each form drawn, the idle timeout's seconds left with the clock.
    content = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    content = re.sub(r'csrf-token="[^"]+"', "", content)
    return parse_html(re.sub(r'name="idle-timeout" content="\d+"', "", content))


DJANGO_TEMPLATES = Path(django.contrib.admin.__file__).parent / "templates/admin"


def as_django_draws_it(monkeypatch):
    monkeypatch.setattr(admin_lists, "drawn_in_python", lambda form_class: form_class)
    engine = engines["django"].engine
    fieldset = engine.from_string((DJANGO_TEMPLATES / "includes/fieldset.html").read_text())
    monkeypatch.setattr(admin_drawn, "fieldset_html", fieldset.render)
    tabular = engine.from_string((DJANGO_TEMPLATES / "edit_inline/tabular.html").read_text())
    monkeypatch.setattr(admin_drawn, "tabular_html", tabular.render)


@pytest.fixture
def pages(group, now, staff_user):
    WeeklySlotFactory(group=group, weekday=1)
    WeeklySlotFactory(group=group, weekday=3, is_virtual=True)
    client = ClientFactory()
    # Rows of both of the client's tabular inlines: its signature and an orientation item.
    record_orientation_step(client=client, item=OrientationItem.FEEDBACK, covered_by=staff_user)
    session = SessionFactory(group=group, starts_at=now)
    # A plan's goals are fieldsets of an inline, each with its own heading.
    plan = TreatmentPlanFactory(client=client)
    GoalFactory.create_batch(2, plan=plan)
    return [
        reverse("admin:groups_therapygroup_change", args=[group.pk]),
        reverse("admin:clients_client_change", args=[client.pk]),
        reverse("admin:scheduling_session_change", args=[session.pk]),
        reverse("admin:progress_treatmentplan_change", args=[plan.pk]),
        # Check boxes, help texts written in HTML, a collapsed fieldset.
        reverse("admin:auth_user_change", args=[staff_user.pk]),
        reverse("admin:groups_therapygroup_add"),
        reverse("admin:scheduling_closure_add"),
    ]


def test_change_pages_are_the_pages_djangos_templates_draw(staff_client, pages, monkeypatch, now):
    def get(url):
        # A new signature's time is now, to the second: the same, stopped moment for both drawings.
        with time_machine.travel(now, tick=False):
            return page(staff_client.get(url))

    drawn = [get(url) for url in pages]
    # Drawn in Python: the options written without the templates' line breaks.
    assert '<select name="kind" required id="id_kind"><option' in staff_client.get(pages[0]).content.decode()
    as_django_draws_it(monkeypatch)

    assert drawn == [get(url) for url in pages]
    text = str(drawn[0])
    assert 'name="slots-0-weekday"' in text and '<option selected value="1">' in text
    assert str(drawn[1]).count('class="form-row has_original"') == 2


def test_a_login_groups_page_with_every_permission_is_djangos(client, staff_user, monkeypatch):
    client.force_login(UserFactory(username="administrator", is_staff=True, is_superuser=True))
    # Every permission, in the filtered select's list.
    url = reverse("admin:auth_group_change", args=[staff_user.groups.get().pk])

    drawn = page(client.get(url))
    as_django_draws_it(monkeypatch)

    assert drawn == page(client.get(url))
    assert str(drawn).count("<option") > 100


def test_a_refused_group_page_shows_the_same_errors(staff_client, group, monkeypatch):
    url = reverse("admin:groups_therapygroup_change", args=[group.pk])
    # A capacity outside 8-12 and a slot without a start time: field errors, nothing saved.
    form = {
        "name": group.name,
        "kind": group.kind,
        "status": group.status,
        "start_date": group.start_date.isoformat(),
        "capacity": "40",
        "enrolment": group.enrolment,
        "facilitator": group.facilitator_id,
        "language": group.language,
        "audience": group.audience,
        "modality": group.modality,
        "room": group.room,
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-0-weekday": "2",
        "slots-0-duration_minutes": "90",
        "slots-0-default_objective": "Practise refusal skills",
        "slots-0-effective_from": group.start_date.isoformat(),
    }

    drawn = page(staff_client.post(url, form))
    as_django_draws_it(monkeypatch)

    assert drawn == page(staff_client.post(url, form))
    assert str(drawn).count('class="errorlist') >= 2
    group.refresh_from_db()
    assert group.capacity == 8 and not group.slots.exists()


@pytest.mark.parametrize("value", [None, ""])
def test_an_autocomplete_without_a_value_is_djangos_empty_select_without_a_query(
    rf, staff_user, value, django_assert_num_queries
):
    request = rf.get("/")
    request.user = staff_user
    partner = admin.site._registry[Client].get_form(request)().fields["partner"]
    tolerant = partner.widget.widget
    assert isinstance(tolerant, TolerantAutocompleteSelect)
    djangos = AutocompleteSelect(Client._meta.get_field("partner"), admin.site, attrs=tolerant.attrs)
    djangos.choices, djangos.is_required = tolerant.choices, tolerant.is_required

    with django_assert_num_queries(0):
        drawn = tolerant.render("partner", value)
    assert parse_html(drawn) == parse_html(djangos.render("partner", value))


def test_the_signed_in_users_autocomplete_option_is_djangos_without_a_query(rf, staff_user, django_assert_num_queries):
    request = rf.get("/")
    request.user = staff_user
    witness = SignatureInline(Client, admin.site).get_formset(request).form.base_fields["witnessed_by"]
    tolerant = witness.widget.widget
    assert isinstance(tolerant, TolerantAutocompleteSelect)
    field = AgreementSignature._meta.get_field("witnessed_by")
    djangos = AutocompleteSelect(field, admin.site, attrs=tolerant.attrs)
    djangos.choices, djangos.is_required = tolerant.choices, tolerant.is_required
    other = UserFactory(username="another.witness")

    with django_assert_num_queries(0):
        drawn = tolerant.render("witnessed_by", staff_user.pk)
    assert parse_html(drawn) == parse_html(djangos.render("witnessed_by", staff_user.pk))
    assert f'<option value="{staff_user.pk}" selected>{staff_user}</option>' in drawn
    # Anyone else is read from the database, as Django reads them.
    with django_assert_num_queries(1):
        drawn = tolerant.render("witnessed_by", other.pk)
    assert parse_html(drawn) == parse_html(djangos.render("witnessed_by", other.pk))
