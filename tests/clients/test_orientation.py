"""The orientation checklist before the first group: its rules, and staff recording it on the
client's page."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client, OrientationItem, OrientationStep
from clients.services import (
    orientation_checklist,
    orientation_missing,
    record_orientation_step,
    remove_orientation_step,
    revoke_signature,
)
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _change_page_post(client_record, **forms):
    """The client's change page as staff submit it, with the orientation forms given."""
    data = {
        "chart_number": client_record.chart_number,
        "legal_first_name": client_record.legal_first_name,
        "legal_last_name": client_record.legal_last_name,
        "date_of_birth": client_record.date_of_birth.isoformat(),
        "level_of_care": client_record.level_of_care,
        "preferred_language": client_record.preferred_language,
        "reminder_channel": client_record.reminder_channel,
        "reminder_consent": "on",
        "signatures-TOTAL_FORMS": "0",
        "signatures-INITIAL_FORMS": "0",
        "orientation_steps-TOTAL_FORMS": "0",
        "orientation_steps-INITIAL_FORMS": "0",
    }
    data.update(forms)
    return data


def test_a_ticked_item_records_who_went_through_it_and_when(client_record, staff_user, today):
    step = record_orientation_step(
        client=client_record,
        item=OrientationItem.ACTIVE_LISTENING,
        covered_by=staff_user,
        covered_on=today - datetime.timedelta(days=2),
    )

    assert step.covered_by == staff_user
    assert step.covered_on == today - datetime.timedelta(days=2)
    assert AuditEvent.objects.filter(client_id=client_record.pk, detail="orientation: active_listening").exists()


def test_an_item_ticked_without_a_day_was_gone_through_today(client_record, staff_user, today):
    step = record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    assert step.covered_on == today


def test_the_checklist_is_finished_when_every_item_is_ticked(client_record, staff_user):
    for item in OrientationItem:
        assert item in orientation_missing(client_record)
        record_orientation_step(client=client_record, item=item, covered_by=staff_user)

    assert orientation_missing(client_record) == []
    assert all(step is not None for _, step in orientation_checklist(client_record))


def test_the_agreement_item_needs_a_signature_in_force(agreement, staff_user):
    unsigned = ClientFactory(signed=False)

    with pytest.raises(ValidationError) as refused:
        record_orientation_step(client=unsigned, item=OrientationItem.CONFIDENTIALITY, covered_by=staff_user)

    assert "no signature of the current confidentiality agreement" in refused.value.message_dict["item"][0]
    assert not OrientationStep.objects.exists()


def test_the_agreement_item_is_refused_once_the_signature_is_revoked(client_record, staff_user):
    revoke_signature(signature=client_record.signatures.get(), reason="Signed the wrong form.", revoked_by=staff_user)

    with pytest.raises(ValidationError):
        record_orientation_step(client=client_record, item=OrientationItem.CONFIDENTIALITY, covered_by=staff_user)

    assert not OrientationStep.objects.exists()


def test_the_other_items_need_no_signature(agreement, staff_user):
    unsigned = ClientFactory(signed=False)

    record_orientation_step(client=unsigned, item=OrientationItem.PERSONAL_BOUNDARIES, covered_by=staff_user)

    assert orientation_missing(unsigned)[-1] == OrientationItem.CONFIDENTIALITY


def test_an_item_is_ticked_once(client_record, staff_user):
    record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    with pytest.raises(ValidationError) as refused:
        record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    assert "already ticked" in refused.value.message_dict["item"][0]
    assert OrientationStep.objects.count() == 1


def test_a_day_after_today_is_refused(client_record, staff_user, today):
    with pytest.raises(ValidationError) as refused:
        record_orientation_step(
            client=client_record,
            item=OrientationItem.FEEDBACK,
            covered_by=staff_user,
            covered_on=today + datetime.timedelta(days=1),
        )

    assert "on or before today" in refused.value.message_dict["covered_on"][0]
    assert not OrientationStep.objects.exists()


def test_a_discharged_client_is_not_oriented(client_record, staff_user, today):
    Client.objects.filter(pk=client_record.pk).update(status=Client.Status.DISCHARGED, discharge_date=today)
    client_record.refresh_from_db()

    with pytest.raises(ValidationError):
        record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    assert not OrientationStep.objects.exists()


def test_an_item_ticked_by_mistake_is_removed_and_the_trail_keeps_it(client_record, staff_user):
    step = record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    remove_orientation_step(step=step)

    assert not OrientationStep.objects.exists()
    assert AuditEvent.objects.filter(
        client_id=client_record.pk, action=AuditEvent.Action.DELETE, detail="orientation: feedback"
    ).exists()


# --- On the client's page in the admin -------------------------------------------------------------


def test_staff_tick_an_item_on_the_clients_page(staff_client, staff_user, client_record, today):
    url = reverse("admin:clients_client_change", args=[client_record.pk])

    response = staff_client.post(
        url,
        _change_page_post(
            client_record,
            **{
                "orientation_steps-TOTAL_FORMS": "1",
                "orientation_steps-0-item": OrientationItem.CONFIDENTIALITY,
                "orientation_steps-0-covered_on": today.isoformat(),
                "orientation_steps-0-covered_by": staff_user.pk,
            },
        ),
    )

    assert response.status_code == 302
    step = OrientationStep.objects.get()
    assert (step.client, step.item, step.covered_by, step.covered_on) == (
        client_record,
        OrientationItem.CONFIDENTIALITY,
        staff_user,
        today,
    )
    page = staff_client.get(url).content.decode()
    assert "Orientation before the first group" in page
    assert "The confidentiality agreement" in page


def test_staff_record_who_else_went_through_it(staff_client, client_record, today):
    therapist_user = UserFactory(username="counselor", first_name="Dana")

    staff_client.post(
        reverse("admin:clients_client_change", args=[client_record.pk]),
        _change_page_post(
            client_record,
            **{
                "orientation_steps-TOTAL_FORMS": "1",
                "orientation_steps-0-item": OrientationItem.ACTIVE_LISTENING,
                "orientation_steps-0-covered_on": today.isoformat(),
                "orientation_steps-0-covered_by": therapist_user.pk,
            },
        ),
    )

    assert OrientationStep.objects.get().covered_by == therapist_user


@pytest.mark.parametrize(
    "item, covered_on, field, message",
    [
        (OrientationItem.CONFIDENTIALITY, 0, "item", "no signature of the current confidentiality agreement"),
        (OrientationItem.FEEDBACK, 3, "covered_on", "on or before today"),
        ("gossip", 0, "item", "Select a valid choice"),
        (OrientationItem.FEEDBACK, "yesterday-ish", "covered_on", "Enter a valid date"),
        (OrientationItem.FEEDBACK, "1899-01-01", "covered_on", ""),
    ],
)
def test_bad_input_on_the_clients_page_is_a_field_error_and_changes_nothing(
    staff_client, staff_user, agreement, today, item, covered_on, field, message
):
    unsigned = ClientFactory(signed=False, legal_first_name="Riley")
    day = (today + datetime.timedelta(days=covered_on)).isoformat() if isinstance(covered_on, int) else covered_on
    before = OrientationStep.objects.count()

    response = staff_client.post(
        reverse("admin:clients_client_change", args=[unsigned.pk]),
        _change_page_post(
            unsigned,
            **{
                "orientation_steps-TOTAL_FORMS": "1",
                "orientation_steps-0-item": item,
                "orientation_steps-0-covered_on": day,
                "orientation_steps-0-covered_by": staff_user.pk,
            },
        ),
    )

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][1].formset.forms[0].errors
    assert message in " ".join(errors[field])
    assert OrientationStep.objects.count() == before
    assert not AuditEvent.objects.filter(detail__startswith="orientation").exists()
    unsigned.refresh_from_db()
    assert unsigned.legal_first_name == "Riley"


def test_the_same_item_twice_in_one_save_is_refused(staff_client, staff_user, client_record, today):
    row = {"item": OrientationItem.FEEDBACK, "covered_on": today.isoformat(), "covered_by": staff_user.pk}

    response = staff_client.post(
        reverse("admin:clients_client_change", args=[client_record.pk]),
        _change_page_post(
            client_record,
            **{"orientation_steps-TOTAL_FORMS": "2"},
            **{f"orientation_steps-{n}-{key}": value for n in (0, 1) for key, value in row.items()},
        ),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][1].formset
    assert formset.non_form_errors() or any(form.errors for form in formset.forms)
    assert not OrientationStep.objects.exists()


def test_staff_untick_an_item_on_the_clients_page(staff_client, staff_user, client_record):
    step = record_orientation_step(client=client_record, item=OrientationItem.FEEDBACK, covered_by=staff_user)

    response = staff_client.post(
        reverse("admin:clients_client_change", args=[client_record.pk]),
        _change_page_post(
            client_record,
            **{
                "orientation_steps-TOTAL_FORMS": "1",
                "orientation_steps-INITIAL_FORMS": "1",
                "orientation_steps-0-id": step.pk,
                "orientation_steps-0-client": client_record.pk,
                "orientation_steps-0-DELETE": "on",
            },
        ),
    )

    assert response.status_code == 302
    assert not OrientationStep.objects.exists()


def test_the_clients_page_says_how_far_the_orientation_has_come(staff_client, staff_user, client_record, settings):
    settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS = True
    for item in (OrientationItem.ACTIVE_LISTENING, OrientationItem.FEEDBACK):
        record_orientation_step(client=client_record, item=item, covered_by=staff_user)

    page = staff_client.get(reverse("admin:clients_client_change", args=[client_record.pk])).content.decode()

    assert "2 of 5 done; still to go through: Respectful communication, Personal boundaries" in page
    assert "process groups take the client only once it is finished" in page
