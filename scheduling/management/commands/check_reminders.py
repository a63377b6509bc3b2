"""Whether reminders are flowing, for a supervisor (deploy/systemd/iop-check.timer):

    manage.py check_reminders && echo fine || systemctl restart iop-worker iop-beat

It exits 1 only when the database and the broker answer but reminders are late or no sweep has
run (scheduling.reminders.health): then the worker or the scheduler is the part that is stuck,
and restarting them is the cure. When the database or the broker is down it says so and exits 0:
restarting the worker would not bring them back, and the worker reconnects by itself.
"""

from django.core.management.base import BaseCommand

from iop.health import broker_ok, database_ok
from scheduling.reminders import health


class Command(BaseCommand):
    help = "Exit 1 when reminders are late or no sweep runs although the database and the broker answer."

    def handle(self, *args, **options):
        if not database_ok() or not broker_ok():
            self.stdout.write("Database or broker down: the worker waits for it; nothing to restart.")
            return
        report = health()
        self.stdout.write(
            f"Reminders {report['state']}: {report['late_reminders']} late, last sweep "
            + ("never seen." if report["seconds_since_sweep"] is None else f"{report['seconds_since_sweep']} s ago.")
        )
        if report["state"] != "ok":
            raise SystemExit(1)
