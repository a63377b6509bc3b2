"""The admin's long lists: filters chosen by search-as-you-type, counts that stop at a bound,
searches that start from the client."""

import datetime

import pytest
from django.urls import reverse

from audit import lists
from progress.models import Attendance
from tests.factories import (
    AttendanceFactory,
    ClientFactory,
    IndividualNoteFactory,
    MembershipFactory,
    ReminderFactory,
    SessionFactory,
    SignatureFactory,
    TherapistFactory,
    TherapyGroupFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_groups(therapist, other_therapist):
    ours = TherapyGroupFactory(name="Anger management", facilitator=therapist)
    theirs = TherapyGroupFactory(name="Mindfulness", facilitator=other_therapist)
    return ours, theirs


def sessions_of(*groups, now):
    return [
        SessionFactory(group=group, starts_at=now - datetime.timedelta(hours=hours))
        for group in groups
        for hours in (2, 30)
    ]


def test_sessions_filter_by_a_group_chosen_by_search_as_you_type(staff_client, two_groups, now):
    ours, theirs = two_groups
    sessions_of(ours, theirs, now=now)
    url = reverse("admin:scheduling_session_changelist")

    response = staff_client.get(url, {"group__id__exact": ours.pk, "shown": "all"})

    assert {session.group for session in response.context["cl"].result_list} == {ours}
    # The filter offers a search box, not every group: only the chosen one is in the page.
    page = response.content.decode()
    assert 'data-field-name="group"' in page and "Anger management" in page
    assert "Mindfulness" not in page


def test_an_emptied_group_filter_shows_every_session(staff_client, two_groups, now):
    sessions = sessions_of(*two_groups, now=now)

    response = staff_client.get(
        reverse("admin:scheduling_session_changelist"), {"group__id__exact": "", "shown": "all"}
    )

    assert response.status_code == 200
    assert response.context["cl"].result_count == len(sessions)


def test_the_group_filter_searches_groups_by_name(staff_client, two_groups):
    query = {"app_label": "scheduling", "model_name": "session", "field_name": "group", "term": "mind"}

    results = staff_client.get(reverse("admin:autocomplete"), query).json()["results"]

    assert [row["text"] for row in results] == ["Mindfulness"]


def test_groups_filter_by_a_facilitator_chosen_by_search_as_you_type(staff_client, two_groups, therapist):
    ours, _theirs = two_groups
    TherapistFactory.create_batch(3)

    url = reverse("admin:groups_therapygroup_changelist")

    response = staff_client.get(url, {"facilitator__id__exact": therapist.pk})

    assert list(response.context["cl"].result_list) == [ours]


def test_a_long_list_counts_only_up_to_its_bound(staff_client, two_groups, now, monkeypatch):
    monkeypatch.setattr(lists, "COUNT_LIMIT", 2)
    sessions_of(*two_groups, now=now)

    response = staff_client.get(reverse("admin:scheduling_session_changelist"), {"shown": "all"})

    assert "More than 2 sessions" in response.content.decode()
    assert len(response.context["cl"].result_list) == 4


def test_attendance_is_found_by_the_start_of_a_chart_number_or_name(staff_client, agreement):
    jordan = ClientFactory(chart_number="C-1234", legal_first_name="Jordan", legal_last_name="Avery")
    morgan = ClientFactory(chart_number="C-9876", legal_first_name="Morgan", legal_last_name="Blake")
    for client in (jordan, morgan):
        AttendanceFactory(client=client)
    url = reverse("admin:progress_attendance_changelist")

    def found(term):
        return {row.client for row in staff_client.get(url, {"q": term}).context["cl"].result_list}

    assert found("c-12") == {jordan}
    assert found("bla") == {morgan}
    assert found("jord") == {jordan}
    # A substring in the middle of a name is not a start: no scan of every row's client.
    assert found("very") == set()
    assert Attendance.objects.count() == 2


def _row_for(admin_list: str, client):
    """One row of the list about ``client``; its id, and the list's URL."""
    if admin_list == "attendance":
        return AttendanceFactory(client=client), "admin:progress_attendance_changelist"
    if admin_list == "reminder":
        return ReminderFactory(client=client), "admin:scheduling_reminder_changelist"
    if admin_list == "membership":
        return MembershipFactory(client=client), "admin:groups_membership_changelist"
    if admin_list == "signature":
        return SignatureFactory(client=client), "admin:clients_agreementsignature_changelist"
    note = IndividualNoteFactory(client=client).group_note
    return note, "admin:progress_groupnote_changelist"


@pytest.mark.parametrize("admin_list", ["attendance", "reminder", "membership", "signature", "group note"])
def test_a_clients_rows_are_found_by_chart_number_or_name_from_their_start(staff_client, agreement, admin_list):
    jordan = ClientFactory(
        chart_number="C-1234", legal_first_name="Jordan", legal_last_name="Avery", preferred_name="Jo", signed=False
    )
    morgan = ClientFactory(chart_number="C-9876", legal_first_name="Morgan", legal_last_name="Blake", signed=False)
    ours, url = _row_for(admin_list, jordan)
    theirs, _ = _row_for(admin_list, morgan)
    model = type(ours)
    rows_before = model.objects.count()

    def found(term):
        return {row.pk for row in staff_client.get(reverse(url), {"q": term}).context["cl"].result_list}

    assert found("c-12") == {ours.pk}
    assert found("BLA") == {theirs.pk}
    assert found("jord aver") == {ours.pk}  # every word, each the start of one of the names
    assert found("jo") == {ours.pk}  # the preferred name too
    assert found("jordan blake") == set()
    assert found("very") == set()  # the middle of a name is not a start
    assert found("c-") == {ours.pk, theirs.pk}
    assert model.objects.count() == rows_before


def test_memberships_are_found_by_a_word_of_their_groups_name_too(staff_client, agreement):
    anger = MembershipFactory(group=TherapyGroupFactory(name="Anger management"))
    MembershipFactory(group=TherapyGroupFactory(name="Mindfulness"))
    url = reverse("admin:groups_membership_changelist")

    rows = staff_client.get(url, {"q": "manage"}).context["cl"].result_list

    assert [row.pk for row in rows] == [anger.pk]


def test_a_filtered_lists_row_links_lead_back_to_the_same_list(staff_client):
    """The row links are written once for the page (iop.admin_lists); they still carry the
    filters and the search, as Django's own, and saving the client returns to that list."""
    client = ClientFactory(status="active", legal_last_name="Blake")
    url = reverse("admin:clients_client_changelist")
    change = reverse("admin:clients_client_change", args=[client.pk])

    filtered = staff_client.get(url, {"status__exact": "active", "q": "Blake"}).content.decode()
    plain = staff_client.get(url).content.decode()

    assert f'href="{change}?_changelist_filters=status__exact%3Dactive%26q%3DBlake"' in filtered
    assert f'href="{change}"' in plain and f'href="{change}?' not in plain


def test_sessions_search_finds_the_meetings_of_groups_with_every_word_in_their_name(staff_client, now):
    anger = TherapyGroupFactory(name="Understanding anger")
    grief = TherapyGroupFactory(name="Understanding grief")
    other = TherapyGroupFactory(name="Mindfulness")
    sessions = sessions_of(anger, grief, other, now=now)
    url = reverse("admin:scheduling_session_changelist")

    def found(term):
        # Every meeting, past ones too (the list opens on today and upcoming).
        return set(staff_client.get(url, {"q": term, "shown": "all"}).context["cl"].result_list)

    assert found("understanding") == {s for s in sessions if s.group in (anger, grief)}
    assert found("ANGER underst") == {s for s in sessions if s.group == anger}
    assert found("understanding mindfulness") == set()
