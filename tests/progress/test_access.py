"""Every therapist URL: the facilitating therapist gets in; everyone else gets 404 or the login page."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import TherapyGroupFactory
from tests.helpers import make_session, record_everyone_present, write_note

pytestmark = pytest.mark.django_db

# (url name, method, takes the session or group id, status for the facilitating therapist)
URLS = [
    ("therapist:session", "get", "session", 200),
    ("therapist:session_held", "post", "session", 302),
    ("therapist:note", "get", "session", 200),
    ("therapist:note", "post", "session", 200),
    ("therapist:note_sign", "post", "session", 200),
    ("therapist:note_addendum", "post", "session", 200),
    ("therapist:group", "get", "group", 200),
]


@pytest.fixture
def note_written(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    return write_note(session, members, by=therapist.user)


def url_for(name, kind, session):
    return reverse(name, args=[session.pk if kind == "session" else session.group_id])


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_facilitating_therapist_gets_in(client, therapist, session, note_written, name, method, kind, allowed):
    client.force_login(therapist.user)

    response = getattr(client, method)(url_for(name, kind, session))

    assert response.status_code == allowed


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_co_facilitator_gets_in(client, group, other_therapist, session, note_written, name, method, kind, allowed):
    group.co_facilitator = other_therapist
    group.save(update_fields=["co_facilitator"])
    client.force_login(other_therapist.user)

    assert getattr(client, method)(url_for(name, kind, session)).status_code == allowed


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_substitute_gets_in(client, group, members, substitute, therapist, name, method, kind, allowed):
    covered = make_session(group, facilitator=substitute)
    record_everyone_present(covered, members, by=substitute.user)
    write_note(covered, members, by=substitute.user)
    client.force_login(substitute.user)

    assert getattr(client, method)(url_for(name, kind, covered)).status_code == allowed


def test_substitute_does_not_see_the_groups_other_sessions(client, group, substitute, session):
    make_session(group, facilitator=substitute)
    client.force_login(substitute.user)

    assert client.get(reverse("therapist:session", args=[session.pk])).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_other_therapist_gets_404(client, other_therapist, session, note_written, name, method, kind, allowed):
    client.force_login(other_therapist.user)

    assert getattr(client, method)(url_for(name, kind, session)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_client_gets_404(client, portal_user, session, note_written, name, method, kind, allowed):
    client.force_login(portal_user)

    assert getattr(client, method)(url_for(name, kind, session)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_staff_get_404(staff_client, session, note_written, name, method, kind, allowed):
    assert getattr(staff_client, method)(url_for(name, kind, session)).status_code == 404


@pytest.mark.parametrize(("name", "method", "kind", "allowed"), URLS)
def test_anonymous_is_sent_to_login(client, session, note_written, name, method, kind, allowed):
    response = getattr(client, method)(url_for(name, kind, session))

    assert response.status_code == 302
    assert response.url.startswith(reverse(settings.LOGIN_URL))


@pytest.mark.parametrize("name", ["therapist:session", "therapist:note", "therapist:group", "therapist:sign_in_sheet"])
@pytest.mark.parametrize("pk", [987654, 2**63 - 1, 2**63, 10**20])
def test_missing_id_is_404_like_someone_elses(facilitator_client, staff_client, name, pk):
    """Any number an address can carry, one no key of the database can hold too."""
    assert facilitator_client.get(reverse(name, args=[pk])).status_code == 404
    if name == "therapist:sign_in_sheet":  # staff print any session's sheet
        assert staff_client.get(reverse(name, args=[pk])).status_code == 404


def test_dashboard_lets_in_only_therapists(client, therapist, other_therapist, portal_user, staff_user):
    url = reverse("therapist:dashboard")
    assert client.get(url).url.startswith(reverse(settings.LOGIN_URL))
    for user, status in [(therapist.user, 200), (other_therapist.user, 200), (portal_user, 404), (staff_user, 404)]:
        client.force_login(user)
        assert client.get(url).status_code == status


def test_dashboard_lists_only_the_therapists_own_sessions(client, group, session, other_therapist):
    client.force_login(other_therapist.user)

    page = client.get(reverse("therapist:dashboard")).content.decode()

    assert group.name not in page
    assert "no sessions this week" in page


def test_dashboard_links_the_page_of_each_group_the_therapist_leads(client, group, other_therapist, therapist):
    other_group = TherapyGroupFactory(facilitator=other_therapist)
    client.force_login(therapist.user)

    page = client.get(reverse("therapist:dashboard")).content.decode()

    assert f'href="{reverse("therapist:group", args=[group.pk])}">{group.name}</a>' in page
    assert reverse("therapist:group", args=[other_group.pk]) not in page


def test_inactive_therapist_gets_404(client, therapist, session):
    therapist.is_active = False
    therapist.save(update_fields=["is_active"])
    client.force_login(therapist.user)

    assert client.get(reverse("therapist:session", args=[session.pk])).status_code == 404
