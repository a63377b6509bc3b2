from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from audit.lists import ListAdmin
from groups import services
from groups.forms import NewTherapistForm
from groups.models import Membership, Therapist
from iop.admin_widgets import TolerantAutocompleteMixin


@admin.register(Therapist)
class TherapistAdmin(TolerantAutocompleteMixin, ListAdmin):
    list_display = ["__str__", "credentials", "license_number", "is_active"]
    list_filter = ["is_active", "credentials"]
    search_fields = ["user__first_name", "user__last_name", "user__username", "credentials"]
    list_select_related = ["user"]
    readonly_fields = ["user"]

    def add_view(self, request, form_url="", extra_context=None):
        """A therapist comes with their own login: made here, through groups.services.add_therapist."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = NewTherapistForm(request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                therapist = services.add_therapist(
                    username=data["username"],
                    password=data["password1"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    credentials=data["credentials"],
                    email=data["email"],
                    license_number=data["license_number"],
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                self.log_addition(request, therapist, [{"added": {}}])
                self.message_user(request, f"{therapist} can now sign in as {therapist.user.get_username()}.")
                return redirect("admin:groups_therapist_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a therapist",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
            "submit_label": "Add the therapist",
        }
        return TemplateResponse(request, "admin/form_page.html", context)


class _MembersFormSet(BaseInlineFormSet):
    prefix_name = "members"

    @classmethod
    def get_default_prefix(cls):
        return cls.prefix_name


class _WaitlistFormSet(_MembersFormSet):
    prefix_name = "waitlist"


class _ReadOnlyMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    can_delete = False
    show_change_link = True
    status = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        # Each row is titled by its __str__, which names the client and the group.
        return super().get_queryset(request).filter(status=self.status).select_related("client", "group")


class ActiveMemberInline(_ReadOnlyMembershipInline):
    verbose_name = "active member"
    verbose_name_plural = "active members"
    status = Membership.Status.ACTIVE
    formset = _MembersFormSet
    fields = ["client", "joined_on"]
    readonly_fields = fields


class WaitlistInline(_ReadOnlyMembershipInline):
    verbose_name = "waitlisted client"
    verbose_name_plural = "waitlist (first come, first served)"
    status = Membership.Status.WAITLISTED
    formset = _WaitlistFormSet
    fields = ["client", "waitlisted_at"]
    readonly_fields = fields
    ordering = ["waitlisted_at", "pk"]
