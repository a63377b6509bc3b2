"""Django's user admin with its password page recorded in the audit trail: a password that staff
set for someone is a change to how that person signs in (HIPAA 164.312(d)), so it is recorded
like the one a user changes for themselves."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction

from iop.accounts import RecordsPasswordChange, delete_login


class RecordedAdminPasswordChangeForm(RecordsPasswordChange, AdminPasswordChangeForm):
    pass


class ClinicUserAdmin(UserAdmin):
    change_password_form = RecordedAdminPasswordChangeForm

    # Deletes go through the service, which records them (a client's portal login is the client's).
    def delete_model(self, request, obj):
        delete_login(user=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for user in queryset:
                delete_login(user=user)


def register(site: admin.AdminSite) -> None:
    """Put the clinic's user admin in place of Django's (called once the admin modules are loaded)."""
    user_model = get_user_model()
    if site.is_registered(user_model) and type(site.get_model_admin(user_model)) is UserAdmin:
        site.unregister(user_model)
        site.register(user_model, ClinicUserAdmin)
