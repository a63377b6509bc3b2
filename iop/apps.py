from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin, with the clinic's site as ``admin.site``."""

    default_site = "iop.admin_site.ClinicAdminSite"


class SignInConfig(AppConfig):
    """What signing in needs beyond Django's accounts: the "choose your own password" flag, the
    steps after the password (iop.middleware), and the database cache the reset throttle uses."""

    name = "iop"
    label = "iop"
    verbose_name = "Signing in"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from iop import sign_in

        user_logged_in.connect(sign_in.remember_steps_at_login, dispatch_uid="iop.sign_in.remember_steps")
