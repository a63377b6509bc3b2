from celery import shared_task

from scheduling import services


@shared_task(name="scheduling.tasks.generate_sessions_ahead", acks_late=True)
def generate_sessions_ahead() -> int:
    """Keep every group's sessions generated SESSION_GENERATION_WEEKS ahead (idempotent)."""
    return len(services.generate_sessions())
