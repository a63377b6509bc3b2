"""The group finder page in the admin: who may see it and enrol from it, the one-click enrolment
through the service (its refusals as messages, nothing written), the confirmations asked by the
admin's other enrolment paths too, and the plan's kinds of group on the therapist's plan page."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client as WebClient
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client
from clients.services import link_partners
from groups.models import Membership
from progress.models import TreatmentPlan
from scheduling.enrolment import enroll_client
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    TherapyGroupFactory,
    TreatmentPlanFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def finder_url(client):
    return reverse("admin:progress_find_group", args=[client.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def spanish_group(therapist):
    return TherapyGroupFactory(name="Grupo de Apoyo", language="es", facilitator=therapist)


# --- Who sees it ---------------------------------------------------------------------------


def test_staff_see_the_groups_that_fit_and_those_that_do_not_with_why(staff_client, client_record, group):
    teens = TherapyGroupFactory(name="Teen skills", audience="adolescent_iop")

    response = staff_client.get(finder_url(client_record))

    assert response.status_code == 200
    search = response.context["search"]
    assert [fit.group for fit in search.fitting] == [group]
    assert [fit.group for fit in search.not_fitting] == [teens]
    page = response.content.decode()
    assert "For Adolescent IOP clients; Jordan Avery is in Adult IOP." in page
    assert f'name="group" value="{group.pk}"' in page
    assert f'name="group" value="{teens.pk}"' not in page  # no enrol button on what does not fit


def test_the_finder_leaves_a_read_in_the_audit_trail(staff_client, client_record, group):
    staff_client.get(finder_url(client_record))

    events = AuditEvent.objects.about_client(client_record.pk).filter(action=AuditEvent.Action.VIEW)
    assert events.filter(detail__startswith="group finder").count() == 1


def test_the_client_page_links_the_finder(staff_client, client_record):
    response = staff_client.get(reverse("admin:clients_client_change", args=[client_record.pk]))

    # In the tools at the top (beside "History") and in the "Groups" part of the page.
    assert response.content.decode().count(f'href="{finder_url(client_record)}"') == 2


def test_a_client_that_does_not_exist_is_not_found(staff_client, client_record):
    assert staff_client.get(reverse("admin:progress_find_group", args=[client_record.pk + 1000])).status_code == 404


def test_staff_without_the_view_permissions_get_403(client, client_record):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(finder_url(client_record)).status_code == 403


@pytest.mark.parametrize("who", ["anonymous", "therapist", "portal client"])
def test_people_who_are_not_staff_are_sent_to_sign_in(client, client_record, therapist, who):
    if who == "therapist":
        client.force_login(therapist.user)
    elif who == "portal client":
        client_record.portal_user = UserFactory()
        client_record.save(update_fields=["portal_user"])
        client.force_login(client_record.portal_user)

    response = client.get(finder_url(client_record))

    assert response.status_code == 302
    assert "login" in response["Location"]


# --- One click enrols -----------------------------------------------------------------------


def test_one_click_enrols_through_the_service(staff_client, client_record, group):
    response = staff_client.post(finder_url(client_record), {"group": group.pk})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:clients_client_change", args=[client_record.pk])
    membership = Membership.objects.get(client=client_record, group=group)
    assert membership.status == Membership.Status.ACTIVE
    assert "Jordan Avery is now active in" in messages_of(response)[0]


def test_one_click_on_a_full_group_waitlists(staff_client, client_record, group):
    MembershipFactory.create_batch(group.capacity, group=group)

    staff_client.post(finder_url(client_record), {"group": group.pk})

    assert Membership.objects.get(client=client_record, group=group).status == Membership.Status.WAITLISTED


def test_a_refusal_comes_back_as_a_message_and_writes_nothing(staff_client, client_record, spanish_group):
    before = Membership.objects.count()

    response = staff_client.post(finder_url(client_record), {"group": spanish_group.pk}, follow=True)

    assert Membership.objects.count() == before
    page = response.content.decode()
    assert "Not enrolled in Grupo de Apoyo: Grupo de Apoyo is held in Spanish" in page
    assert response.redirect_chain[-1][0] == finder_url(client_record)


def test_one_click_with_the_language_reason_records_it(staff_client, client_record, spanish_group):
    staff_client.post(finder_url(client_record), {"group": spanish_group.pk, "language_reason": "Fluent in Spanish"})

    assert Membership.objects.get(client=client_record, group=spanish_group).language_reason == "Fluent in Spanish"


@pytest.mark.parametrize("group_value", ["", "abc", "999999999", "99999999999999999999999"])
def test_a_group_that_cannot_be_read_is_a_message_not_a_500(staff_client, client_record, group_value):
    before = Membership.objects.count()

    response = staff_client.post(finder_url(client_record), {"group": group_value})

    assert response.status_code == 302
    assert Membership.objects.count() == before
    assert messages_of(response)


def test_staff_who_may_only_look_cannot_enrol(client, client_record, group):
    looker = UserFactory(is_staff=True)
    looker.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_client", "view_therapygroup", "view_membership"])
    )
    client.force_login(looker)

    assert client.get(finder_url(client_record)).status_code == 200
    assert client.post(finder_url(client_record), {"group": group.pk}).status_code == 403
    assert not Membership.objects.exists()


def test_enrolling_needs_the_form_token(staff_user, client_record, group):
    browser = WebClient(enforce_csrf_checks=True)
    browser.force_login(staff_user)

    assert browser.post(finder_url(client_record), {"group": group.pk}).status_code == 403
    assert not Membership.objects.exists()


# --- Couples, to staff ----------------------------------------------------------------------


def test_staff_see_where_the_partner_is_and_are_asked_to_confirm(staff_client, client_record, other_client):
    link_partners(client=client_record, partner=other_client)
    process = TherapyGroupFactory(name="Open Process", kind="process")
    enroll_client(client=other_client, group=process)

    page = staff_client.get(finder_url(client_record)).content.decode()

    assert "Morgan Blake" in page and "Open Process (active)" in page
    assert 'name="partner_reason"' in page

    staff_client.post(finder_url(client_record), {"group": process.pk})
    assert not Membership.objects.filter(client=client_record).exists()
    staff_client.post(finder_url(client_record), {"group": process.pk, "partner_reason": "Agreed in team meeting"})
    assert Membership.objects.get(client=client_record, group=process).partner_reason == "Agreed in team meeting"


# --- The admin's other enrolment paths ask too ------------------------------------------------


def test_the_membership_add_form_asks_why_another_language(staff_client, client_record, spanish_group):
    url = reverse("admin:groups_membership_add")
    data = {"client": client_record.pk, "group": spanish_group.pk, "waitlist_if_full": "on"}
    before = Membership.objects.count()

    response = staff_client.post(url, data)

    assert response.status_code == 200
    assert "is held in Spanish" in response.context["form"].errors["language_reason"][0]
    assert Membership.objects.count() == before

    staff_client.post(url, {**data, "language_reason": "Interpreter arranged"})
    membership = Membership.objects.get(client=client_record, group=spanish_group)
    assert membership.language_reason == "Interpreter arranged"
    change_page = staff_client.get(reverse("admin:groups_membership_change", args=[membership.pk])).content.decode()
    assert "Interpreter arranged" in change_page


def test_the_enrol_action_asks_why_another_language(staff_client, client_record, spanish_group):
    url = reverse("admin:clients_client_changelist")
    data = {
        "action": "enrol_in_group",
        "_selected_action": [client_record.pk],
        "apply": "1",
        "group": spanish_group.pk,
        "waitlist_if_full": "on",
    }

    response = staff_client.post(url, data, follow=True)

    assert "is held in Spanish" in response.content.decode()
    assert not Membership.objects.exists()

    staff_client.post(url, {**data, "language_reason": "Bilingual"})
    assert Membership.objects.get(client=client_record).language_reason == "Bilingual"


# --- The client's page: interpreter and focus preferences -----------------------------------


def client_post(client_record, **changes):
    data = {
        "chart_number": client_record.chart_number,
        "legal_first_name": client_record.legal_first_name,
        "legal_last_name": client_record.legal_last_name,
        "date_of_birth": client_record.date_of_birth.isoformat(),
        "level_of_care": client_record.level_of_care,
        "email": client_record.email,
        "preferred_language": "en",
        "reminder_channel": "email",
        "signatures-TOTAL_FORMS": "0",
        "signatures-INITIAL_FORMS": "0",
        "signatures-MIN_NUM_FORMS": "0",
        "signatures-MAX_NUM_FORMS": "1000",
        "orientation_steps-TOTAL_FORMS": "0",
        "orientation_steps-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_staff_note_an_interpreter_and_focus_preferences(staff_client, client_record):
    url = reverse("admin:clients_client_change", args=[client_record.pk])

    response = staff_client.post(
        url,
        client_post(
            client_record, interpreter="arranged", welcomes_focuses=["women", "veterans"], avoids_focuses=["men"]
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    client_record.refresh_from_db()
    assert client_record.interpreter == Client.Interpreter.ARRANGED
    assert client_record.welcomes_focuses == ["women", "veterans"]
    assert client_record.avoids_focuses == ["men"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"welcomes_focuses": ["women"], "avoids_focuses": ["women"]}, "avoids_focuses"),
        ({"welcomes_focuses": ["astronauts"]}, "welcomes_focuses"),
        ({"interpreter": "maybe"}, "interpreter"),
    ],
)
def test_bad_preferences_get_a_field_error_and_change_nothing(staff_client, client_record, changes, field):
    url = reverse("admin:clients_client_change", args=[client_record.pk])

    response = staff_client.post(url, client_post(client_record, **changes))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    client_record.refresh_from_db()
    assert (client_record.interpreter, client_record.welcomes_focuses, client_record.avoids_focuses) == ("", [], [])


def test_a_group_focus_outside_the_list_is_refused_by_the_database(group):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        type(group).objects.filter(pk=group.pk).update(focus="astronauts")


# --- The plan names the kinds of group ---------------------------------------------------------


@pytest.fixture
def plan_of_member(therapist, client_record, group):
    enroll_client(client=client_record, group=group)
    return TreatmentPlanFactory(client=client_record, created_by=therapist.user)


def test_the_therapist_names_the_kinds_of_group_the_plan_calls_for(client, therapist, plan_of_member):
    client.force_login(therapist.user)
    url = reverse("therapist:plan_group_kinds", args=[plan_of_member.client_id])

    response = client.post(url, {"kinds": ["support", "process"]})

    assert response.status_code == 302
    plan_of_member.refresh_from_db()
    assert plan_of_member.recommended_group_kinds == ["process", "support"]
    assert AuditEvent.objects.filter(detail="changed: recommended_group_kinds").exists()


def test_a_kind_outside_the_list_is_a_field_error_and_changes_nothing(client, therapist, plan_of_member):
    client.force_login(therapist.user)
    url = reverse("therapist:plan_group_kinds", args=[plan_of_member.client_id])

    response = client.post(url, {"kinds": ["astrology"]})

    assert response.status_code == 200
    assert response.context["kinds_form"].errors["kinds"]
    assert TreatmentPlan.objects.get(pk=plan_of_member.pk).recommended_group_kinds == []


def test_another_therapist_cannot_name_the_kinds(client, other_therapist, plan_of_member):
    client.force_login(other_therapist.user)
    url = reverse("therapist:plan_group_kinds", args=[plan_of_member.client_id])

    assert client.post(url, {"kinds": ["process"]}).status_code == 404
    assert TreatmentPlan.objects.get(pk=plan_of_member.pk).recommended_group_kinds == []


def test_the_finder_ranks_the_kinds_the_plan_calls_for(staff_client, client_record, plan_of_member, group):
    TreatmentPlan.objects.filter(pk=plan_of_member.pk).update(recommended_group_kinds=["process"])
    process = TherapyGroupFactory(name="Zz process", kind="process")

    response = staff_client.get(finder_url(client_record))

    # The client is in ``group`` already: the process group is the one that fits, and first.
    assert response.context["search"].fitting[0].group == process
    assert "Process groups" in response.content.decode()


def test_intake_client_sees_why_and_no_enrol_buttons(staff_client, agreement, group):
    intake = ClientFactory(status=Client.Status.INTAKE, admission_date=None)

    page = staff_client.get(finder_url(intake)).content.decode()

    assert "cannot join a group now" in page
    assert 'name="group"' not in page
