import pytest
from django.urls import reverse

from groups.models import Membership, TherapyGroup
from scheduling.enrolment import enroll_client
from tests.factories import ClientFactory, TherapyGroupFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD_MEMBERSHIP = reverse("admin:groups_membership_add")


def fill(group, seats):
    return [enroll_client(client=ClientFactory(), group=group) for _ in range(seats)]


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:groups_therapygroup_changelist",
        "admin:groups_therapygroup_add",
        "admin:groups_membership_changelist",
        "admin:groups_membership_add",
        "admin:groups_therapist_changelist",
        "admin:groups_therapist_add",
    ],
)
def test_staff_open_group_pages(staff_client, group, url_name):
    assert staff_client.get(reverse(url_name)).status_code == 200


@pytest.mark.parametrize("url_name", ["admin:groups_therapygroup_changelist", "admin:groups_membership_add"])
def test_non_staff_user_is_sent_to_the_login_page(client, url_name):
    client.force_login(UserFactory())

    response = client.get(reverse(url_name))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_group_changelist_shows_the_seat_count(staff_client, group):
    fill(group, 3)

    response = staff_client.get(reverse("admin:groups_therapygroup_changelist"))

    assert "3 / 8" in response.content.decode()


def test_group_page_lists_members_and_waitlist(staff_client, group):
    members = fill(group, 8)
    waiting = enroll_client(client=ClientFactory(legal_last_name="Waitingham"), group=group)

    page = staff_client.get(reverse("admin:groups_therapygroup_change", args=[group.pk])).content.decode()

    assert "8 / 8" in page
    assert members[0].client.legal_last_name in page
    assert "waitlist (first come, first served)" in page.lower()
    assert waiting.client.legal_last_name in page


@pytest.mark.parametrize("sizes", [(2, 20)])
def test_group_changelist_query_count_does_not_grow(staff_client, therapist, django_assert_max_num_queries, sizes):
    small, large = sizes
    for _ in range(small):
        fill(TherapyGroupFactory(facilitator=therapist), 2)
    url = reverse("admin:groups_therapygroup_changelist")
    with django_assert_max_num_queries(12) as small_run:
        staff_client.get(url)
    for _ in range(large - small):
        fill(TherapyGroupFactory(facilitator=therapist), 2)
    with django_assert_max_num_queries(len(small_run.captured_queries)):
        staff_client.get(url)


def test_staff_enrol_a_client_and_the_seat_count_changes(staff_client, group, client_record):
    response = staff_client.post(
        ADD_MEMBERSHIP, {"client": client_record.pk, "group": group.pk, "waitlist_if_full": "on"}, follow=True
    )

    assert response.status_code == 200
    assert Membership.objects.active().filter(group=group, client=client_record).count() == 1
    assert "1 / 8" in response.content.decode()


def test_full_group_with_waitlist_declined_is_a_form_error(staff_client, group, client_record):
    fill(group, 8)
    before = Membership.objects.count()

    response = staff_client.post(ADD_MEMBERSHIP, {"client": client_record.pk, "group": group.pk})

    assert response.status_code == 200
    assert "is full (8 / 8) and the waitlist was declined" in response.context["form"].errors["group"][0]
    assert Membership.objects.count() == before


def test_full_group_with_waitlist_accepted_waitlists(staff_client, group, client_record):
    fill(group, 8)

    staff_client.post(ADD_MEMBERSHIP, {"client": client_record.pk, "group": group.pk, "waitlist_if_full": "on"})

    assert Membership.objects.get(client=client_record).status == Membership.Status.WAITLISTED


def test_missing_signature_is_a_form_error(staff_client, group, agreement):
    unsigned = ClientFactory(signed=False)

    response = staff_client.post(ADD_MEMBERSHIP, {"client": unsigned.pk, "group": group.pk})

    assert "has not signed the current version" in response.context["form"].errors["client"][0]
    assert not Membership.objects.exists()


def test_duplicate_enrolment_is_a_form_error(staff_client, group, client_record):
    enroll_client(client=client_record, group=group)

    response = staff_client.post(ADD_MEMBERSHIP, {"client": client_record.pk, "group": group.pk})

    assert "already a member" in response.context["form"].errors["client"][0]
    assert Membership.objects.count() == 1


def test_unknown_ids_are_form_errors_not_500(staff_client, group):
    response = staff_client.post(ADD_MEMBERSHIP, {"client": "999999", "group": "not-a-number"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"client", "group"}
    assert not Membership.objects.exists()


def test_membership_change_page_is_read_only(staff_client, group, client_record):
    membership = enroll_client(client=client_record, group=group)
    other_group = TherapyGroupFactory(facilitator=group.facilitator)

    response = staff_client.post(
        reverse("admin:groups_membership_change", args=[membership.pk]),
        {"group": other_group.pk, "status": "ended"},
    )

    membership.refresh_from_db()
    assert response.status_code in (200, 302)
    assert (membership.group, membership.status) == (group, Membership.Status.ACTIVE)


def test_end_membership_action_promotes_the_waitlist(staff_client, group, today):
    members = fill(group, 8)
    waiting = enroll_client(client=ClientFactory(), group=group)

    response = staff_client.post(
        reverse("admin:groups_membership_changelist"),
        {
            "action": "end_memberships",
            "_selected_action": [members[0].pk],
            "apply": "1",
            "reason": Membership.EndReason.COMPLETED,
            "ended_on": today.isoformat(),
            "note": "",
        },
        follow=True,
    )

    assert response.status_code == 200
    members[0].refresh_from_db()
    waiting.refresh_from_db()
    assert members[0].status == Membership.Status.ENDED
    assert waiting.status == Membership.Status.ACTIVE
    assert "moved from the waitlist" in response.content.decode()


def test_end_membership_action_without_a_reason_changes_nothing(staff_client, group):
    member = fill(group, 1)[0]

    response = staff_client.post(
        reverse("admin:groups_membership_changelist"),
        {"action": "end_memberships", "_selected_action": [member.pk], "apply": "1", "reason": "", "ended_on": "x"},
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"reason", "ended_on"}
    member.refresh_from_db()
    assert member.status == Membership.Status.ACTIVE


@pytest.mark.parametrize("capacity", ["7", "13"])
def test_group_form_refuses_a_cap_outside_8_to_12(staff_client, therapist, capacity):
    response = staff_client.post(
        reverse("admin:groups_therapygroup_add"),
        {
            "name": "Anger management",
            "kind": "psychoeducational",
            "capacity": capacity,
            "facilitator": therapist.pk,
            "modality": "in_person",
            "room": "Room 7",
            "language": "en",
            "audience": "adult_iop",
            "enrolment": "open",
            "status": "running",
            "start_date": "2026-12-01",
            **_empty_inlines(),
        },
    )

    assert response.status_code == 200
    assert "between 8 and 12" in str(response.context["adminform"].form.errors)
    assert not TherapyGroup.objects.exists()


def test_raising_the_cap_in_the_admin_promotes_the_waitlist(staff_client, group):
    fill(group, 8)
    waiting = enroll_client(client=ClientFactory(), group=group)
    data = {
        "name": group.name,
        "kind": group.kind,
        "capacity": "9",
        "facilitator": group.facilitator.pk,
        "modality": group.modality,
        "room": group.room,
        "language": group.language,
        "audience": group.audience,
        "enrolment": group.enrolment,
        "status": group.status,
        "start_date": "2026-01-05",
        **_inline_management(group),
    }

    response = staff_client.post(reverse("admin:groups_therapygroup_change", args=[group.pk]), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    waiting.refresh_from_db()
    assert waiting.status == Membership.Status.ACTIVE


def _empty_inlines():
    return {
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
        "topics-TOTAL_FORMS": "0",
        "topics-INITIAL_FORMS": "0",
        "members-TOTAL_FORMS": "0",
        "members-INITIAL_FORMS": "0",
        "waitlist-TOTAL_FORMS": "0",
        "waitlist-INITIAL_FORMS": "0",
    }


def _inline_management(group):
    active = Membership.objects.active().filter(group=group)
    waiting = Membership.objects.waitlisted().filter(group=group)
    data = {
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
        "topics-TOTAL_FORMS": "0",
        "topics-INITIAL_FORMS": "0",
        "members-TOTAL_FORMS": str(active.count()),
        "members-INITIAL_FORMS": str(active.count()),
        "waitlist-TOTAL_FORMS": str(waiting.count()),
        "waitlist-INITIAL_FORMS": str(waiting.count()),
    }
    for prefix, rows in (("members", active), ("waitlist", waiting)):
        for index, membership in enumerate(rows):
            data[f"{prefix}-{index}-id"] = str(membership.pk)
            data[f"{prefix}-{index}-group"] = str(group.pk)
    return data
