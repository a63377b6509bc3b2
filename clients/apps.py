from django.apps import AppConfig


class ClientsConfig(AppConfig):
    name = "clients"
    verbose_name = "Clients"

    def ready(self) -> None:
        # Its part of the clinic's dashboard (iop.dashboard).
        from clients import dashboard

        dashboard.register()
