from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from groups import services
from groups.forms import EndGroupForm, EndMembershipForm, EnrolmentForm, NewTherapistForm, TherapyGroupAdminForm
from groups.models import Membership, Therapist, TherapyGroup
from iop.admin_actions import action_with_form
from iop.admin_widgets import TolerantAutocompleteMixin
from scheduling.admin import WeeklySlotInline, save_slot_formset
from scheduling.models import WeeklySlot


@admin.register(Therapist)
class TherapistAdmin(TolerantAutocompleteMixin, admin.ModelAdmin):
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
        return super().get_queryset(request).filter(status=self.status).select_related("client")


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


@admin.register(TherapyGroup)
class TherapyGroupAdmin(TolerantAutocompleteMixin, admin.ModelAdmin):
    form = TherapyGroupAdminForm
    list_display = ["name", "kind", "seats", "waitlist", "facilitator", "modality", "language", "audience", "status"]
    list_filter = ["kind", "status", "modality", "audience", "enrolment", "language", "facilitator"]
    search_fields = ["name", "description", "room"]
    list_select_related = ["facilitator__user"]
    autocomplete_fields = ["facilitator", "co_facilitator"]
    readonly_fields = ["seats", "enrol_link"]
    inlines = [WeeklySlotInline, ActiveMemberInline, WaitlistInline]
    actions = ["end_groups"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "description", "status", ("start_date", "end_date")]}),
        ("Seats", {"fields": ["capacity", "seats", "enrolment", "enrol_link"]}),
        ("Facilitation", {"fields": ["facilitator", "co_facilitator", "language", "audience"]}),
        ("Where", {"fields": ["modality", "room", "video_link"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_seat_counts()

    @admin.display(description="Seats", ordering="active_count")
    def seats(self, group):
        return services.seat_count(group)

    @admin.display(description="Waitlist", ordering="waitlist_count")
    def waitlist(self, group):
        return group.waitlist_count

    @admin.display(description="Enrol")
    def enrol_link(self, group):
        from django.utils.html import format_html

        if group.pk is None:
            return "Save the group first."
        url = reverse("admin:groups_membership_add") + f"?group={group.pk}"
        return format_html('<a class="button" href="{}">Enrol a client</a>', url)

    def save_formset(self, request, form, formset, change):
        if formset.model is WeeklySlot:
            save_slot_formset(request, formset)
        else:
            super().save_formset(request, form, formset, change)

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Fields with a rule downstream are saved by their service; the rest is a plain save.
        changed = set(form.changed_data)
        new_capacity = obj.capacity
        new_facilitator, new_co_facilitator = obj.facilitator, obj.co_facilitator
        leaders_changed = bool({"facilitator", "co_facilitator"} & changed)
        ending = form.is_ending()
        if ending:
            on = obj.end_date or timezone.localdate()
            obj.status, obj.end_date = form.initial["status"], form.initial["end_date"]
        if "capacity" in changed:
            obj.capacity = form.initial["capacity"]
        planning_end = "end_date" in changed and not ending
        new_last_day = obj.end_date
        if planning_end:
            obj.end_date = form.initial["end_date"]
        if leaders_changed:
            obj.facilitator_id = form.initial["facilitator"]
            obj.co_facilitator_id = form.initial["co_facilitator"]
        super().save_model(request, obj, form, change)
        if leaders_changed:
            # Moves the group's future sessions to the new facilitator along with the group.
            services.change_facilitators(group=obj, facilitator=new_facilitator, co_facilitator=new_co_facilitator)
            obj.facilitator, obj.co_facilitator = new_facilitator, new_co_facilitator
        if "capacity" in changed:
            # A raised cap fills its new seats from the waitlist.
            promoted = services.change_capacity(group=obj, capacity=new_capacity)
            obj.capacity = new_capacity
            for membership in promoted:
                self.message_user(request, f"{membership.client} moved from the waitlist into the group.")
        if planning_end:
            # Cancels (or, when it moves later, makes again) the meetings after the last day.
            cancelled = services.set_last_day(group=obj, last_day=new_last_day)
            obj.end_date = new_last_day
            if cancelled:
                self.message_user(request, f"{cancelled} meetings after the group's last day were cancelled.")
        if ending:
            # Ends the memberships and cancels the future sessions along with the group.
            ended = services.end_group(group=obj, on=on)
            obj.status, obj.end_date = ended.status, ended.end_date
            self.message_user(request, self._ended_message(ended))

    @staticmethod
    def _ended_message(group: TherapyGroup) -> str:
        return f"{group} ended on {group.end_date:%Y-%m-%d}; its members left and its later sessions are cancelled."

    @admin.action(description="End selected groups…", permissions=["change"])
    def end_groups(self, request, queryset):
        def end(group, data):
            return self._ended_message(services.end_group(group=group, on=data["ended_on"]))

        return action_with_form(
            self,
            request,
            queryset,
            form_class=EndGroupForm,
            title="End groups",
            apply=end,
            form_kwargs={"initial": {"ended_on": timezone.localdate()}},
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["client", "group", "status", "joined_on", "waitlisted_at", "ended_on", "end_reason"]
    list_filter = ["status", "group__kind", "group", "end_reason"]
    search_fields = [
        "client__chart_number",
        "client__legal_first_name",
        "client__legal_last_name",
        "client__preferred_name",
        "group__name",
    ]
    list_select_related = ["client", "group"]
    readonly_fields = [
        "client",
        "group",
        "status",
        "waitlisted_at",
        "joined_on",
        "joined_at",
        "ended_on",
        "end_reason",
        "end_note",
        "created_at",
    ]
    actions = ["end_memberships"]

    def has_delete_permission(self, request, obj=None):
        # Memberships are clinical history: they end, they are not deleted.
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """Enrolment is a service call, not a bare insert: a small form, then enroll_client."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        initial = {key: request.GET[key] for key in ("client", "group") if key in request.GET}
        form = EnrolmentForm(data, initial=initial, admin_site=self.admin_site)
        if data is not None and form.is_valid():
            try:
                membership = services.enroll_client(
                    client=form.cleaned_data["client"],
                    group=form.cleaned_data["group"],
                    allow_waitlist=form.cleaned_data["waitlist_if_full"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, membership, [{"added": {}}])
                group = membership.group
                self.message_user(
                    request,
                    f"{membership.client} is now {membership.get_status_display().lower()} in {group} "
                    f"(seats {services.seat_count(group)}).",
                    messages.SUCCESS,
                )
                return redirect("admin:groups_therapygroup_change", group.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Enrol a client in a group",
            "submit_label": "Enrol",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/form_page.html", context)

    @admin.action(description="End selected memberships…", permissions=["change"])
    def end_memberships(self, request, queryset):
        def end(membership, data):
            promoted = services.end_membership(
                membership=membership, reason=data["reason"], note=data["note"], on=data["ended_on"]
            )
            done = f"{membership.client} left {membership.group}."
            if promoted:
                done += f" {promoted.client} moved from the waitlist into the group."
            return done

        return action_with_form(
            self,
            request,
            queryset.select_related("client", "group"),
            form_class=EndMembershipForm,
            title="End memberships",
            apply=end,
            form_kwargs={"initial": {"ended_on": timezone.localdate()}},
        )
