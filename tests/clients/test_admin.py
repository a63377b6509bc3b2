import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clients.models import AgreementSignature, Client
from groups.models import Membership
from scheduling.enrolment import enroll_client
from tests.factories import ClientFactory, UserFactory
from tests.helpers import AUDIT_READ_QUERIES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:clients_client_changelist",
        "admin:clients_client_add",
        "admin:clients_confidentialityagreement_changelist",
        "admin:clients_confidentialityagreement_add",
        "admin:clients_agreementsignature_changelist",
    ],
)
def test_staff_open_client_pages(staff_client, client_record, url_name):
    assert staff_client.get(reverse(url_name)).status_code == 200


def test_staff_user_is_not_a_superuser(staff_user):
    assert staff_user.is_staff and not staff_user.is_superuser


def test_non_staff_user_is_kept_out(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:clients_client_changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_client_page_shows_signatures_and_memberships(staff_client, client_record, group):
    enroll_client(client=client_record, group=group)

    page = staff_client.get(reverse("admin:clients_client_change", args=[client_record.pk])).content.decode()

    assert "Group confidentiality agreement, version 1" in page
    assert group.name in page


def test_search_finds_clients_by_chart_number(staff_client, client_record, other_client):
    response = staff_client.get(reverse("admin:clients_client_changelist"), {"q": client_record.chart_number})

    assert list(response.context["cl"].result_list) == [client_record]


def test_client_changelist_query_count_does_not_grow(staff_client, agreement, django_assert_max_num_queries):
    ClientFactory.create_batch(2)
    url = reverse("admin:clients_client_changelist")
    # The audit row of the list (one INSERT for all its clients) costs the page its queries
    # (tests/helpers.py); the staff member's role is known from the user's row (iop/backends.py).
    with django_assert_max_num_queries(12 + AUDIT_READ_QUERIES) as small:
        staff_client.get(url)
    ClientFactory.create_batch(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        staff_client.get(url)


def _client_form(**overrides):
    data = {
        "chart_number": "IOP-9001",
        "legal_first_name": "Riley",
        "legal_last_name": "Moss",
        "date_of_birth": "1992-04-01",
        "level_of_care": "adult_iop",
        "preferred_language": "en",
        "reminder_channel": "email",
        "signatures-TOTAL_FORMS": "0",
        "signatures-INITIAL_FORMS": "0",
        "orientation_steps-TOTAL_FORMS": "0",
        "orientation_steps-INITIAL_FORMS": "0",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_staff_add_a_client(staff_client):
    response = staff_client.post(reverse("admin:clients_client_add"), _client_form())

    assert response.status_code == 302
    assert Client.objects.get().status == Client.Status.INTAKE


def test_duplicate_chart_number_in_the_admin_is_a_field_error(staff_client, client_record):
    before = Client.objects.count()

    data = _client_form(chart_number=client_record.chart_number)

    response = staff_client.post(reverse("admin:clients_client_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["chart_number"] == ["Another client already has this chart number."]
    assert Client.objects.count() == before


def test_a_chart_number_taken_in_another_letter_case_is_a_field_error(staff_client, client_record):
    before = Client.objects.count()

    response = staff_client.post(
        reverse("admin:clients_client_add"), _client_form(chart_number=client_record.chart_number.swapcase())
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["chart_number"] == ["Another client already has this chart number."]
    assert Client.objects.count() == before


def test_bad_date_of_birth_is_a_field_error(staff_client):
    response = staff_client.post(reverse("admin:clients_client_add"), _client_form(date_of_birth="31/31/1990"))

    assert "date_of_birth" in response.context["adminform"].form.errors
    assert not Client.objects.exists()


def test_signature_added_on_the_client_page_goes_through_the_service(staff_client, agreement, staff_user):
    unsigned = ClientFactory(signed=False)
    data = _client_form(
        chart_number=unsigned.chart_number,
        legal_first_name=unsigned.legal_first_name,
        legal_last_name=unsigned.legal_last_name,
        **{
            "signatures-TOTAL_FORMS": "1",
            "signatures-0-agreement": str(agreement.pk),
            "signatures-0-signed_at_0": "2026-11-20",
            "signatures-0-signed_at_1": "10:00:00",
            "signatures-0-method": "paper",
            "signatures-0-witnessed_by": str(staff_user.pk),
        },
    )

    response = staff_client.post(reverse("admin:clients_client_change", args=[unsigned.pk]), data)

    assert response.status_code == 302
    assert AgreementSignature.objects.current().filter(client=unsigned).count() == 1


def test_partner_set_in_the_admin_links_both_sides(staff_client, client_record, other_client):
    data = _client_form(
        chart_number=client_record.chart_number,
        legal_first_name=client_record.legal_first_name,
        legal_last_name=client_record.legal_last_name,
        partner=str(other_client.pk),
        **{
            "signatures-INITIAL_FORMS": "1",
            "signatures-TOTAL_FORMS": "1",
            "signatures-0-id": str(client_record.signatures.get().pk),
            "signatures-0-client": str(client_record.pk),
        },
    )

    response = staff_client.post(reverse("admin:clients_client_change", args=[client_record.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    other_client.refresh_from_db()
    assert other_client.partner == client_record


def test_enrol_action_enrols_each_selected_client(staff_client, group, client_record, other_client):
    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "enrol_in_group",
            "_selected_action": [client_record.pk, other_client.pk],
            "apply": "1",
            "group": group.pk,
            "waitlist_if_full": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert Membership.objects.active().filter(group=group).count() == 2


def test_enrol_action_reports_each_refusal(staff_client, group, client_record, agreement):
    unsigned = ClientFactory(signed=False)

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "enrol_in_group",
            "_selected_action": [client_record.pk, unsigned.pk],
            "apply": "1",
            "group": group.pk,
        },
        follow=True,
    )

    assert "has not signed the current version" in response.content.decode()
    assert list(Membership.objects.values_list("client", flat=True)) == [client_record.pk]


def test_discharge_action_ends_memberships(staff_client, group, client_record, today):
    enroll_client(client=client_record, group=group)

    staff_client.post(
        reverse("admin:clients_client_changelist"),
        {
            "action": "discharge",
            "_selected_action": [client_record.pk],
            "apply": "1",
            "discharged_on": today.isoformat(),
        },
    )

    client_record.refresh_from_db()
    assert client_record.status == Client.Status.DISCHARGED
    assert not Membership.objects.open().exists()


def test_revoke_action_needs_a_reason(staff_client, client_record):
    signature = client_record.signatures.get()
    url = reverse("admin:clients_agreementsignature_changelist")

    response = staff_client.post(url, {"action": "revoke", "_selected_action": [signature.pk], "apply": "1"})

    assert "reason" in response.context["form"].errors
    signature.refresh_from_db()
    assert signature.revoked_at is None

    staff_client.post(url, {"action": "revoke", "_selected_action": [signature.pk], "apply": "1", "reason": "Asked"})

    signature.refresh_from_db()
    assert signature.revoked_reason == "Asked"


def test_a_second_signature_of_the_same_version_is_a_field_error(staff_client, client_record, agreement, staff_user):
    data = _client_form(
        chart_number=client_record.chart_number,
        legal_first_name=client_record.legal_first_name,
        legal_last_name=client_record.legal_last_name,
        **{
            "signatures-TOTAL_FORMS": "2",
            "signatures-INITIAL_FORMS": "1",
            "signatures-0-id": str(client_record.signatures.get().pk),
            "signatures-0-client": str(client_record.pk),
            "signatures-1-agreement": str(agreement.pk),
            "signatures-1-signed_at_0": "2026-11-20",
            "signatures-1-signed_at_1": "10:00:00",
            "signatures-1-method": "paper",
            "signatures-1-witnessed_by": str(staff_user.pk),
        },
    )
    before = AgreementSignature.objects.count()

    response = staff_client.post(reverse("admin:clients_client_change", args=[client_record.pk]), data)

    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors
    assert "already has a signature of version 1 in force" in str(errors)
    assert AgreementSignature.objects.count() == before


def test_the_same_version_twice_on_a_new_client_is_a_form_error(staff_client, agreement, staff_user):
    row = {
        "agreement": str(agreement.pk),
        "signed_at_0": "2026-11-20",
        "signed_at_1": "10:00:00",
        "method": "paper",
        "witnessed_by": str(staff_user.pk),
    }
    data = _client_form(**{"signatures-TOTAL_FORMS": "2"})
    for index in (0, 1):
        data.update({f"signatures-{index}-{key}": value for key, value in row.items()})

    response = staff_client.post(reverse("admin:clients_client_add"), data)

    assert response.status_code == 200
    assert "added twice" in str(response.context["inline_admin_formsets"][0].formset.non_form_errors())
    assert not Client.objects.exists()


def test_staff_replace_a_clients_calendar_link(staff_client, client_record):
    old_token = client_record.calendar_token

    staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "replace_calendar_link", "_selected_action": [client_record.pk]},
    )

    client_record.refresh_from_db()
    assert client_record.calendar_token != old_token


def test_an_out_of_range_id_in_the_enrol_form_is_not_a_500(staff_client):
    response = staff_client.get(reverse("admin:groups_membership_add"), {"client": "99999999999999999999"})

    assert response.status_code == 200


def test_client_page_links_to_their_attendance_and_notes(staff_client, client_record):
    page = staff_client.get(reverse("admin:clients_client_change", args=[client_record.pk])).content.decode()

    assert f"/admin/progress/attendance/?client__id__exact={client_record.pk}" in page
    assert f"/admin/progress/groupnote/?individual_notes__client__id__exact={client_record.pk}" in page
    attendance = staff_client.get(f"/admin/progress/attendance/?client__id__exact={client_record.pk}")
    assert attendance.status_code == 200


def test_admit_action_admits_intake_clients_and_reports_the_others(staff_client, client_record, agreement):
    newcomer = ClientFactory(status=Client.Status.INTAKE, admission_date=None)

    response = staff_client.post(
        reverse("admin:clients_client_changelist"),
        {"action": "admit", "_selected_action": [newcomer.pk, client_record.pk]},
        follow=True,
    )

    newcomer.refresh_from_db()
    assert newcomer.status == Client.Status.ACTIVE
    page = response.content.decode()
    assert f"{newcomer} admitted." in page
    assert "is already active" in page


def test_client_page_reads_the_client_without_the_lists_columns(staff_client, client_record):
    url = reverse("admin:clients_client_change", args=[client_record.pk])
    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(url).status_code == 200

    # The agreement in force and the open groups are columns of the list, not of this page.
    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "clients_client"."id"')]
    assert reads and not any("has_current_signature" in sql or "open_membership_count" in sql for sql in reads)


@pytest.mark.parametrize("object_id", ["999999", "not-a-number"])
def test_a_client_page_that_is_not_there_goes_back_to_the_admin_home(staff_client, object_id):
    response = staff_client.get(reverse("admin:clients_client_change", args=[object_id]))

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
