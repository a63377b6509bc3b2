"""What the reminder benches build alike: full groups of clients who consent to reminders.

Imported once Django is set up; it sets nothing in the environment (each bench chooses its own
settings)."""

import datetime

MEMBERS_PER_GROUP = 10


def groups_of_consenting_members(therapist, group_count: int, *, tag: str):
    """``group_count`` full support groups of MEMBERS_PER_GROUP active clients who consent to
    email reminders, members since the first Monday of 2026 (bulk inserts). Returns the groups
    and the clients, the clients of group n at n * MEMBERS_PER_GROUP onwards."""
    from django.utils import timezone

    from clients.models import Client
    from groups.models import Membership, TherapyGroup

    groups = TherapyGroup.objects.bulk_create(
        TherapyGroup(
            name=f"Bench {n}",
            kind=TherapyGroup.Kind.SUPPORT,
            capacity=MEMBERS_PER_GROUP,
            facilitator=therapist,
            room=f"Room {n}",
            start_date=datetime.date(2026, 1, 5),
        )
        for n in range(group_count)
    )
    clients = Client.objects.bulk_create(
        Client(
            chart_number=f"{tag[0].upper()}-{n:06d}",
            legal_first_name="Bench",
            legal_last_name=f"Client {n}",
            date_of_birth=datetime.date(1990, 1, 1),
            email=f"{tag}{n}@example.org",
            status=Client.Status.ACTIVE,
            admission_date=datetime.date(2026, 1, 5),
            reminder_consent=True,
        )
        for n in range(group_count * MEMBERS_PER_GROUP)
    )
    joined_at = timezone.make_aware(datetime.datetime(2026, 1, 5))
    Membership.objects.bulk_create(
        Membership(
            client=client,
            group=groups[n // MEMBERS_PER_GROUP],
            status="active",
            joined_on=joined_at.date(),
            joined_at=joined_at,
        )
        for n, client in enumerate(clients)
    )
    return groups, clients
