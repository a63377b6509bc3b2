from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin, with the clinic's site as ``admin.site``."""

    default_site = "iop.admin_site.ClinicAdminSite"


class IopConfig(AppConfig):
    """The project's shared pieces: the idle clock starts at every sign-in, however it happens
    (the sign-in page, the admin's, a test's ``force_login``)."""

    name = "iop"
    verbose_name = "Clinic"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from iop.middleware import start_idle_clock

        user_logged_in.connect(start_idle_clock, dispatch_uid="iop.start_idle_clock")
