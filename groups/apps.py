from django.apps import AppConfig


class GroupsConfig(AppConfig):
    name = "groups"
    verbose_name = "Therapy groups"

    def ready(self) -> None:
        # Its part of the clinic's dashboard (iop.dashboard).
        from groups import dashboard

        dashboard.register()
