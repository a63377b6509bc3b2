import datetime
import threading

import pytest
from django.db import connection

from groups.models import Membership
from scheduling.enrolment import end_membership, enroll_client
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
