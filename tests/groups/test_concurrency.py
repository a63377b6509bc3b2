import datetime
import queue
import threading
import time

import pytest
from django.db import connection

from audit.trail import verify
from groups.models import Membership
from scheduling import reminders
from scheduling.enrolment import discharge_client, end_membership, enroll_client
from tests.factories import ClientFactory, TherapistFactory, TherapyGroupFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(jobs):
    """Run each job in its own thread (and so its own database connection), released together."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            barrier.wait(timeout=30)
            job()
        except Exception as error:  # collected and asserted on below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_thirty_clients_enrolling_at_once_never_overfill_a_twelve_seat_group(agreement, therapist):
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)
    clients = [ClientFactory() for _ in range(30)]

    errors = run_at_once([lambda c=c: enroll_client(client=c, group=group) for c in clients])

    assert errors == []
    memberships = Membership.objects.filter(group=group)
    assert memberships.filter(status=Membership.Status.ACTIVE).count() == 12
    assert memberships.filter(status=Membership.Status.WAITLISTED).count() == 18
    assert memberships.count() == 30
    assert memberships.values("client").distinct().count() == 30


def test_the_same_client_enrolling_twice_at_once_gets_one_membership(client_record, therapist):
    group = TherapyGroupFactory(facilitator=therapist, capacity=12)

    errors = run_at_once([lambda: enroll_client(client=client_record, group=group)] * 2)

    assert len(errors) == 1
    assert "already a member" in str(errors[0])
    assert Membership.objects.filter(group=group, client=client_record).count() == 1


def test_a_seat_freed_while_others_enrol_is_taken_once(agreement, therapist):
    group = TherapyGroupFactory(facilitator=therapist, capacity=8)
    members = [enroll_client(client=ClientFactory(), group=group) for _ in range(8)]
    newcomers = [ClientFactory() for _ in range(6)]

    jobs = [lambda c=c: enroll_client(client=c, group=group) for c in newcomers]
    jobs.append(lambda: end_membership(membership=members[0], reason=Membership.EndReason.COMPLETED))
    errors = run_at_once(jobs)

    assert errors == []
    assert Membership.objects.active().filter(group=group).count() == 8


def test_one_therapist_handed_two_groups_at_the_same_hour_at_once_gets_one(therapist, other_therapist):
    from django.utils import timezone

    from groups.models import TherapyGroup
    from scheduling.group_changes import change_facilitators
    from scheduling.models import WeeklySlot
    from scheduling.services import save_slot

    newcomer = TherapistFactory(user__username="newcomer")
    groups = [
        TherapyGroupFactory(facilitator=therapist, room="Room 1"),
        TherapyGroupFactory(facilitator=other_therapist, room="Room 2"),
    ]
    for group in groups:
        save_slot(
            slot=WeeklySlot(
                group=group,
                weekday=2,
                start_time=datetime.time(10),
                default_objective="Identify triggers",
                effective_from=group.start_date,
            ),
            today=timezone.localdate(),
        )

    errors = run_at_once([lambda g=g: change_facilitators(group=g, facilitator=newcomer) for g in groups])

    assert len(errors) == 1
    assert "already leads" in str(errors[0])
    assert TherapyGroup.objects.filter(facilitator=newcomer).count() == 1


# The audit chain's lock and the rows' locks, taken in one order by every write that records (the
# chain first, audit.trail.hold_chain).
def test_a_discharge_ending_two_memberships_and_an_enrolment_into_the_second_group_both_go_through(
    agreement, therapist, other_therapist, monkeypatch
):
    """Without one lock order the discharge, having recorded its first membership's end (holding
    the chain), would wait for the second group, which the enrolment has locked and holds while
    it waits for the chain: a deadlock, and one of them refused."""
    groups = [TherapyGroupFactory(facilitator=therapist), TherapyGroupFactory(facilitator=other_therapist)]
    leaving, joining = ClientFactory(), ClientFactory()
    for group in groups:
        enroll_client(client=leaving, group=group)
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
            discharge_client(client=leaving)
        except Exception as error:  # asserted on below
            errors.append(error)
        finally:
            connection.close()

    def enrol():
        try:
            first = first_ended.get(timeout=20)
            second = next(g for g in groups if g.pk != first)
            enrolment_started.set()
            enroll_client(client=joining, group=second)
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
