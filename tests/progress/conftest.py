import datetime

import pytest
from django.utils import timezone

from progress import attendance, notes
from progress.models import Attendance
from scheduling.enrolment import enroll_client
from scheduling.models import Session
from tests.factories import PASSWORD, ClientFactory, TherapistFactory, UserFactory

MEMBER_NAMES = [
    ("Quentin", "Zabriskie"),
    ("Ursula", "Vandermeer"),
    ("Xavier", "Quimby"),
    ("Yolanda", "Oyelaran"),
    ("Imogen", "Haverford"),
    ("Bartholomew", "Ashcombe"),
    ("Cornelius", "Pemberton"),
    ("Delphine", "Marchetti"),
    ("Evander", "Kowalczyk"),
    ("Ottoline", "Fairweather"),
]


def add_members(group, count: int, *, names=MEMBER_NAMES):
    """Enrol members with names no clinical sentence contains by accident."""
    members = []
    for first, last in names[:count]:
        client = ClientFactory(legal_first_name=first, legal_last_name=last)
        enroll_client(client=client, group=group, on=group.start_date)
        members.append(client)
    # In roster order, so that members[i] is row i of the roster form.
    return sorted(members, key=lambda c: (c.legal_last_name, c.legal_first_name))


def make_session(group, *, starts_at=None, minutes=90, facilitator=None, objective="Identify triggers"):
    starts_at = starts_at or timezone.now() - datetime.timedelta(hours=2)
    return Session.objects.create(
        group=group,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        objective=objective,
        facilitator=facilitator or group.facilitator,
        room=group.room,
    )


def attendance_post(session, roster, **overrides) -> dict:
    """The POST of the roster form, every value chosen: everyone present for the whole session and
    taking part, unless overridden.

    ``overrides`` maps "<row>-<field>" to a value, e.g. ``{"0-status": "absent"}``."""
    data = {"form-TOTAL_FORMS": str(len(roster)), "form-INITIAL_FORMS": str(len(roster))}
    for index, member in enumerate(roster):
        data.update(
            {
                f"form-{index}-client": str(member.pk),
                f"form-{index}-status": "present",
                f"form-{index}-minutes_attended": str(session.duration_minutes),
                f"form-{index}-mode": "in_person",
                f"form-{index}-participation": "2",
                f"form-{index}-observation": "",
            }
        )
    data.update({f"form-{key}": value for key, value in overrides.items()})
    return data


def record_everyone_present(session, members, *, by):
    """Everyone present for the whole session, taking part: each value chosen, as the page asks."""
    return attendance.record_attendance(
        session=session,
        entries=[
            attendance.AttendanceEntry(
                client=member,
                status=Attendance.Status.PRESENT,
                minutes_attended=session.duration_minutes,
                participation=Attendance.Participation.TOOK_PART,
            )
            for member in members
        ],
        recorded_by=by,
    )


def write_note(session, members, *, by, **shared):
    fields = {
        "topic": "Triggers and cravings",
        "objective": session.objective,
        "interventions": "Psychoeducation on triggers; paired practice of urge surfing.",
        "group_dynamics": "Members listened well and gave each other feedback.",
        **shared,
    }
    individual = {
        member.pk: {"behaviour": "Engaged and shared one trigger.", "plan": "Practise daily."} for member in members
    }
    return notes.save_group_note(session=session, author=by, individual=individual, **fields)


@pytest.fixture
def members(group):
    return add_members(group, 3)


@pytest.fixture
def session(group, members):
    return make_session(group)


@pytest.fixture
def facilitator_client(client, therapist):
    client.force_login(therapist.user)
    return client


@pytest.fixture
def signed_note(session, members, therapist):
    record_everyone_present(session, members, by=therapist.user)
    note = write_note(session, members, by=therapist.user)
    return notes.sign_note(note=note, user=therapist.user, password=PASSWORD)


@pytest.fixture
def substitute(db):
    return TherapistFactory(user__username="substitute")


@pytest.fixture
def portal_user(client_record):
    client_record.portal_user = UserFactory(username="portal-client")
    client_record.save(update_fields=["portal_user"])
    return client_record.portal_user
