"""The audit chain's lock and the rows' locks, taken in one order by every write that records
(the chain first, audit.trail.hold_chain): real threads on PostgreSQL."""

import queue
import threading
import time

import pytest
from django.db import connection

from audit.trail import verify
from groups.models import Membership
from scheduling import enrolment, reminders
from tests.factories import ClientFactory, TherapyGroupFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_discharge_ending_two_memberships_and_an_enrolment_into_the_second_group_both_go_through(
    agreement, therapist, other_therapist, monkeypatch
):
    """Without one lock order the discharge, having recorded its first membership's end (holding
    the chain), would wait for the second group, which the enrolment has locked and holds while
    it waits for the chain: a deadlock, and one of them refused."""
    groups = [TherapyGroupFactory(facilitator=therapist), TherapyGroupFactory(facilitator=other_therapist)]
    leaving, joining = ClientFactory(), ClientFactory()
    for group in groups:
        enrolment.enroll_client(client=leaving, group=group)
    first_ended: queue.Queue[int] = queue.Queue()
    enrolment_started = threading.Event()
    stop_for_membership = reminders.stop_for_membership

    def stop_then_let_the_enrolment_in(*, membership):
        stopped = stop_for_membership(membership=membership)
        if threading.current_thread().name == "discharge" and first_ended.empty():
            first_ended.put(membership.group_id)
            enrolment_started.wait(timeout=10)
            time.sleep(0.5)  # time for the enrolment to lock its group, if the chain lets it
        return stopped

    monkeypatch.setattr(reminders, "stop_for_membership", stop_then_let_the_enrolment_in)
    errors = []

    def discharge():
        try:
            enrolment.discharge_client(client=leaving)
        except Exception as error:  # asserted on below
            errors.append(error)
        finally:
            connection.close()

    def enrol():
        try:
            first = first_ended.get(timeout=20)
            second = next(g for g in groups if g.pk != first)
            enrolment_started.set()
            enrolment.enroll_client(client=joining, group=second)
        except Exception as error:  # asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=discharge, name="discharge"), threading.Thread(target=enrol, name="enrol")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert not Membership.objects.open().filter(client=leaving).exists()
    assert Membership.objects.active().filter(client=joining).count() == 1
    assert verify().intact
