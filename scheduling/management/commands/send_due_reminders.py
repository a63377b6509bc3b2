"""One reminder sweep without Celery, for deployments that run only cron:

    */1 * * * *  cd /srv/iop && .venv/bin/python manage.py send_due_reminders

It plans the rows of sessions entering the window and sends the due ones in this process, with
the same claim as the worker, so it may run beside workers without sending anything twice.
"""

from django.core.management.base import BaseCommand

from scheduling.reminders import send_due_now


class Command(BaseCommand):
    help = "Plan reminders for sessions entering the window and send the due ones, without Celery."

    def handle(self, *args, **options):
        outcomes = send_due_now()
        summary = ", ".join(f"{count} {status}" for status, count in sorted(outcomes.items())) or "nothing due"
        self.stdout.write(f"Reminders: {summary}.")
