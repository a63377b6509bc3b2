from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin, with the clinic's site as ``admin.site``."""

    default_site = "iop.admin_site.ClinicAdminSite"


class IopConfig(AppConfig):
    """The project's shared pieces. At every sign-in, however it happens (the sign-in page, a
    test's ``force_login``): the idle clock starts, and the steps still owed after the password
    (a second factor, a first password to change) are worked out once. Its one model is the
    "choose your own password" flag; the reset throttle uses the database cache."""

    name = "iop"
    label = "iop"
    verbose_name = "Signing in"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from iop import sign_in
        from iop.middleware import start_idle_clock

        user_logged_in.connect(start_idle_clock, dispatch_uid="iop.start_idle_clock")
        user_logged_in.connect(sign_in.remember_steps_at_login, dispatch_uid="iop.sign_in.remember_steps")
