from celery import shared_task

from groups import services


@shared_task(name="groups.tasks.end_finished_groups", acks_late=True)
def end_finished_groups() -> int:
    """Groups whose last day has passed end, with their memberships (beat, nightly)."""
    return len(services.end_finished_groups())
