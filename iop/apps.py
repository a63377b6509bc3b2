from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Django's admin, with the clinic's site as ``admin.site``."""

    default_site = "iop.admin_site.ClinicAdminSite"
