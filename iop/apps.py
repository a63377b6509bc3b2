from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin, with the clinic's site as ``admin.site``."""

    default_site = "iop.admin_site.ClinicAdminSite"

    def ready(self):
        super().ready()
        from iop import user_admin

        user_admin.register(self.module.site)
