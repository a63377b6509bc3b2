from django.apps import AppConfig


class ProgressConfig(AppConfig):
    name = "progress"
    verbose_name = "Progress"

    def ready(self) -> None:
        # Its part of the clinic's dashboard (iop.dashboard).
        from progress import dashboard

        dashboard.register()
