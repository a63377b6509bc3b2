from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        # The system checks register themselves; the tasks too, since reminders publish by name.
        from scheduling import checks, dashboard, tasks  # noqa: F401

        # Its part of the clinic's dashboard (iop.dashboard).
        dashboard.register()
