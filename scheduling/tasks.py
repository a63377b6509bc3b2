import logging
from collections import Counter

from celery import shared_task

from iop.db import CONNECTION_ERRORS
from scheduling import group_changes, reminders, services

log = logging.getLogger(__name__)

# A reminder task that found the database out of reach tries again every few seconds for a few
# minutes; after that the row waits for the sweep.
DATABASE_RETRY_SECONDS = 3
DATABASE_RETRIES = 60


@shared_task(name="scheduling.tasks.generate_sessions_ahead", acks_late=True)
def generate_sessions_ahead() -> int:
    """Keep every group's sessions generated SESSION_GENERATION_WEEKS ahead (idempotent). A
    meeting that cannot be made is logged for staff; the others are made all the same."""
    generation = services.generate_sessions()
    for refusal in generation.refused:
        log.error("Session not generated: %s", refusal)
    return len(generation.made)


@shared_task(name="scheduling.tasks.end_finished_groups", acks_late=True)
def end_finished_groups() -> int:
    """Groups whose last day has passed end, with their memberships (beat, nightly)."""
    return len(group_changes.end_finished_groups())


# --- Reminders: the task carries the row's id only; the row is the truth ---------------------


@shared_task(
    name="scheduling.tasks.send_reminders",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=reminders.SEND_SOFT_TIME_LIMIT,
    time_limit=reminders.SEND_TIME_LIMIT,
)
def send_reminders(self, reminder_ids: list[int]) -> dict[str, int]:
    try:
        outcomes = reminders.send_reminders(reminder_ids=reminder_ids, token=self.request.id or "")
    except CONNECTION_ERRORS as error:
        # Nothing was sent. The same task (the same id, so the same claim) tries again shortly;
        # should this message be lost, the sweep publishes the rows again.
        raise self.retry(exc=error, countdown=DATABASE_RETRY_SECONDS, max_retries=DATABASE_RETRIES) from error
    return dict(Counter(outcome.status for outcome in outcomes.values()))


@shared_task(
    name="scheduling.tasks.send_reminder",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=reminders.SEND_SOFT_TIME_LIMIT,
    time_limit=reminders.SEND_TIME_LIMIT,
)
def send_reminder(reminder_id: int) -> str:
    """One id: messages published before reminders went out in batches still find their task."""
    return reminders.send_reminder(reminder_id=reminder_id).status


@shared_task(name="scheduling.tasks.sweep_reminders", acks_late=True, soft_time_limit=120, time_limit=180)
def sweep_reminders() -> dict[str, int]:
    """Plan the rows of sessions entering the window and publish the due ones (beat, every
    REMINDER_SWEEP_SECONDS)."""
    planned, published = reminders.sweep()
    return {"planned": planned, "published": published}
