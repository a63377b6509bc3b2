from django.core.management.base import BaseCommand, CommandError

from audit.trail import verify


class Command(BaseCommand):
    help = "Check the audit trail's hash chain from the first row to the last; report the first broken link."

    def handle(self, *args, **options):
        result = verify()
        if not result.intact:
            raise CommandError(
                f"The audit trail is broken at row {result.broken_at}: {result.reason}. "
                f"{result.checked} rows before it are intact."
            )
        self.stdout.write(f"The audit trail is intact: {result.checked} rows checked.")
