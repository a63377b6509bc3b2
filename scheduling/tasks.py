import logging

from celery import shared_task

from scheduling import group_changes, reminders, services

log = logging.getLogger(__name__)


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
    name="scheduling.tasks.send_reminder",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # the row counts attempts (settings.REMINDER_MAX_ATTEMPTS)
    soft_time_limit=30,
    time_limit=60,
)
def send_reminder(self, reminder_id: int) -> str:
    outcome = reminders.send_reminder(reminder_id=reminder_id)
    if outcome.retry_in is not None:
        # Eagerly (tests) the retry runs at once and returns; on a worker it raises Retry.
        self.retry(countdown=outcome.retry_in, throw=not self.request.is_eager)
    return outcome.status


@shared_task(name="scheduling.tasks.sweep_reminders", acks_late=True, soft_time_limit=120, time_limit=180)
def sweep_reminders() -> dict[str, int]:
    """Plan the rows of sessions entering the window and publish the due ones (beat, every 30 s)."""
    planned, published = reminders.sweep()
    return {"planned": planned, "published": published}
