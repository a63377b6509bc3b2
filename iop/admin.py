"""Accounts in the admin: passwords staff set for someone else must be changed at that person's
first sign-in, a paused sign-in can be unlocked, and a password set or a login deleted here is
recorded in the audit trail (a change to how someone signs in: HIPAA 164.312(d))."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group
from django.db import transaction

from iop.accounts import RecordsPasswordChange, delete_login
from iop.admin_lists import DrawnFormsMixin
from iop.models import PasswordChangeDue
from iop.passwords import password_chosen_by_staff

User = get_user_model()


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(Group)
class ClinicGroupAdmin(DrawnFormsMixin, GroupAdmin):
    """Django's, with its form drawn in Python: its list of every permission is some two hundred
    options."""


class RecordedAdminPasswordChangeForm(RecordsPasswordChange, AdminPasswordChangeForm):
    pass


@admin.register(User)
class ClinicUserAdmin(DrawnFormsMixin, UserAdmin):
    actions = ["unlock_sign_in"]
    change_password_form = RecordedAdminPasswordChangeForm

    # Deletes go through the service, which records them (a client's portal login is the client's).
    def delete_model(self, request, obj):
        delete_login(user=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for user in queryset:
                delete_login(user=user)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and obj.has_usable_password():
            password_chosen_by_staff(obj)

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        before = user.password if user is not None else None
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and user is not None and user.pk != request.user.pk:
            user.refresh_from_db(fields=["password"])
            if user.password != before and user.has_usable_password():
                password_chosen_by_staff(user)
        return response

    @admin.action(description="Unlock sign-in for selected users", permissions=["change"])
    def unlock_sign_in(self, request, queryset):
        usernames = sorted(user.get_username() for user in queryset)
        for username in usernames:
            axes_reset(username=username)
        self.message_user(
            request,
            f"Sign-in unlocked for {', '.join(usernames)}; their wrong passwords are forgotten.",
            messages.SUCCESS,
        )


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class ClinicAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' failed sign-ins; "Unlock" forgets those of the selected accounts and addresses."""

    actions = [*AccessAttemptAdmin.actions, "unlock"]

    @admin.action(description="Unlock the accounts and addresses of selected rows", permissions=["delete"])
    def unlock(self, request, queryset):
        rows = list(queryset.values_list("username", "ip_address"))
        for username, address in rows:
            axes_reset(ip=address, username=username, ip_or_username=True)
        self.message_user(request, f"{len(rows)} locked sign-ins cleared.", messages.SUCCESS)


@admin.register(PasswordChangeDue)
class PasswordChangeDueAdmin(admin.ModelAdmin):
    list_display = ["user", "since"]
    search_fields = ["user__username"]
    readonly_fields = ["user", "since"]

    def has_add_permission(self, request):
        return False
