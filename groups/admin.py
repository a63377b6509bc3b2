from collections.abc import Callable

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from groups import services
from groups.forms import NewTherapistForm
from groups.models import Membership, Therapist, TherapyGroup
from iop.admin_lists import ListAdmin
from iop.admin_tables import EMPTY, change_urls, table
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


class MembersTablesMixin:
    """A group's active members and its waitlist, as read-only tables on its change page (add
    ``members_table`` and ``waitlist_table`` to the fields). Each client links to the membership,
    where it is ended or moved. Both come from one read of the group's open memberships
    (``open_memberships``)."""

    @admin.display(description="Active members")
    def members_table(self, group):
        if group.pk is None:
            return "Members join once the group is saved."
        members = sorted(
            (m for m in open_memberships(group) if m.status == Membership.Status.ACTIVE),
            key=lambda m: (m.joined_on, m.pk),
        )
        membership_url = change_urls("admin:groups_membership_change")
        return table(
            headers=["Client", "Joined on"],
            rows=((_membership_link(m, membership_url), date_format(m.joined_on)) for m in members),
            empty="No active members.",
        )

    @admin.display(description="Waitlist (first come, first served)")
    def waitlist_table(self, group):
        if group.pk is None:
            return EMPTY
        # First come, first served, as ``MembershipQuerySet.waitlisted`` orders them.
        waiting = sorted(
            (m for m in open_memberships(group) if m.status == Membership.Status.WAITLISTED),
            key=lambda m: (m.waitlisted_at, m.pk),
        )
        membership_url = change_urls("admin:groups_membership_change")
        return table(
            headers=["Client", "Waitlisted at"],
            rows=(
                (_membership_link(m, membership_url), date_format(localtime(m.waitlisted_at), "DATETIME_FORMAT"))
                for m in waiting
            ),
            empty="Nobody is waiting.",
        )


def open_memberships(group: TherapyGroup) -> list[Membership]:
    """The group's members and waitlist with their clients, read once for the group's page (its
    two tables and its audit record) and kept on the group read for it. Sorted by the tables: an
    active member has a day they joined, a waiting one a time they were waitlisted (the
    constraints of groups.models)."""
    if not hasattr(group, "_open_memberships"):
        group._open_memberships = list(group.memberships.open().select_related("client").order_by())
    return group._open_memberships


def _membership_link(membership: Membership, membership_url: Callable[[object], str]) -> str:
    return format_html('<a href="{}">{}</a>', membership_url(membership.pk), membership.client)
