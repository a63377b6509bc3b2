"""The demo's Spanish-speaking client (issue 15): Maria Gonzalez reads her portal, her reminders
and her calendar in Spanish. Called with one line from ``seed_demo``; idempotent like it."""

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from audit.trail import Action, record
from clients.models import Client
from scheduling import reminders
from scheduling.models import Reminder, Session
from scheduling.selectors import sessions_for_client

SPANISH_DEMO_CHART = "IOP-1002"
SPANISH_DEMO_LOGIN = "cliente"


@transaction.atomic
def seed_spanish_client(*, stdout, make_user: Callable) -> Client:
    """Her portal login (``cliente``), reminders by e-mail, and the first reminder of her next
    meeting due now, so that the demo's worker writes it in Spanish to var/outbox/ at its next
    sweep (and her calendar link, on her week page, gives the entries in Spanish)."""
    client = Client.objects.get(chart_number=SPANISH_DEMO_CHART)
    if client.portal_user_id is None:
        client.portal_user = make_user(SPANISH_DEMO_LOGIN, client.first_name, client.legal_last_name)
        client.reminder_channel = Client.ReminderChannel.EMAIL
        client.reminder_consent = True
        client.save(update_fields=["portal_user", "reminder_channel", "reminder_consent"])
        record(Action.CREATE, target=client.portal_user, clients=[client], detail="demo portal login (Spanish)")
    now = timezone.now()
    upcoming = (
        sessions_for_client(client)
        .filter(starts_at__gt=now, status=Session.Status.SCHEDULED)
        .select_related(None)
        .first()
    )
    if upcoming is not None and not Reminder.objects.filter(client=client, session=upcoming).exists():
        Reminder.objects.create(
            session=upcoming,
            client=client,
            channel=client.reminder_channel,
            kind=next(iter(reminders.reminder_kinds())),
            session_starts_at=upcoming.starts_at,
            send_at=now,
        )
    stdout.write(
        f"Spanish-speaking demo client: {client.first_name} {client.legal_last_name}, login {SPANISH_DEMO_LOGIN}"
    )
    return client
