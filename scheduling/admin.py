from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import path

from iop.admin_actions import action_with_form, render_action_form
from progress.admin import AttendanceInline
from scheduling import reminders, services
from scheduling.forms import CancelForm, ClosureForm, GenerateForm, SessionForm, WeeklySlotForm
from scheduling.models import Closure, Reminder, Session, WeeklySlot


class WeeklySlotInline(admin.TabularInline):
    """Shown on the group page; saved through scheduling.services.save_slot."""

    model = WeeklySlot
    form = WeeklySlotForm
    extra = 0
    fields = [
        "weekday",
        "start_time",
        "duration_minutes",
        "is_virtual",
        "room",
        "default_objective",
        "effective_from",
        "effective_until",
    ]


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    form = SessionForm
    list_display = ["starts_at", "group", "kind", "objective", "facilitator", "place", "status"]
    list_filter = ["status", "group__kind", "group", "facilitator"]
    search_fields = ["group__name", "objective", "room", "cancellation_reason"]
    date_hierarchy = "starts_at"
    list_select_related = ["group", "facilitator__user"]
    readonly_fields = ["group", "slot", "status", "cancellation_reason", "closure"]
    actions = ["cancel_sessions"]
    change_list_template = "admin/scheduling/session/change_list.html"
    inlines = [AttendanceInline]

    def has_add_permission(self, request):
        # Sessions come from weekly slots; one meeting is changed here, not invented.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Session.Status.SCHEDULED:
            return [*self.readonly_fields, *SessionForm.Meta.fields]
        return self.readonly_fields

    @admin.display(description="Kind", ordering="group__kind")
    def kind(self, session):
        return session.group.get_kind_display()

    @admin.display(description="Where")
    def place(self, session):
        return session.room or "Video"

    def save_model(self, request, obj, form, change):
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in SessionForm.Meta.fields}
        services.update_session(session=obj, **changes)

    @admin.action(description="Cancel selected sessions with a reason…", permissions=["change"])
    def cancel_sessions(self, request, queryset):
        def cancel(session, data):
            services.cancel_session(session=session, reason=data["reason"])
            return f"{session} cancelled."

        return action_with_form(
            self,
            request,
            queryset.select_related("group"),
            form_class=CancelForm,
            title="Cancel sessions",
            apply=cancel,
        )

    def get_urls(self):
        generate = self.admin_site.admin_view(self.generate_view)
        return [path("generate/", generate, name="scheduling_session_generate"), *super().get_urls()]

    def generate_view(self, request):
        """Generate sessions now for every group, as far ahead as staff ask."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = GenerateForm(request.POST or None, initial={"weeks": settings.SESSION_GENERATION_WEEKS})
        if request.method == "POST" and form.is_valid():
            generation = services.generate_sessions(weeks=form.cleaned_data["weeks"])
            self.message_user(request, f"{len(generation.made)} new sessions generated.", messages.SUCCESS)
            for refusal in generation.refused:
                self.message_user(request, f"Not generated: {refusal}", messages.ERROR)
            return redirect("admin:scheduling_session_changelist")
        return render_action_form(self, request, Session.objects.none(), form=form, title="Generate sessions now")


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
    form = ClosureForm
    list_display = ["name", "starts_on", "ends_on", "cancelled_sessions"]
    date_hierarchy = "starts_on"
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(session_count=Count("sessions"))

    @admin.display(description="Sessions cancelled", ordering="session_count")
    def cancelled_sessions(self, closure):
        return closure.session_count

    def save_model(self, request, obj, form, change):
        cancelled = services.save_closure(closure=obj)
        self.message_user(request, f"{len(cancelled)} sessions cancelled for {obj.name}.")


def save_slot_formset(request, formset) -> None:
    """Used by the group admin: each slot goes through the service, which regenerates sessions."""
    for slot in formset.save(commit=False):
        try:
            services.save_slot(slot=slot)
        except ValidationError as error:
            messages.error(request, f"{slot}: {' '.join(error.messages)}")
    for slot in formset.deleted_objects:
        services.delete_slot(slot=slot)


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    """The reminder outbox: staff watch it, retry failed rows and cancel pending ones; the rows
    themselves are written only by scheduling.reminders."""

    list_display = ["send_at", "session", "client", "channel", "kind", "status", "attempts", "sent_at", "last_error"]
    list_filter = ["status", "channel", "kind", ("send_at", admin.DateFieldListFilter)]
    search_fields = ["client__chart_number", "client__legal_last_name", "last_error"]
    date_hierarchy = "send_at"
    list_select_related = ["session__group", "client"]
    readonly_fields = [field.name for field in Reminder._meta.fields]
    actions = ["retry", "cancel"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is read-only; the actions below need "change".
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry selected failed reminders", permissions=["change"])
    def retry(self, request, queryset):
        retried = sum(reminders.retry_failed(reminder=reminder) for reminder in queryset)
        skipped = queryset.count() - retried
        self.message_user(request, f"{retried} reminders will be sent again.")
        if skipped:
            self.message_user(request, f"{skipped} were not failed and were left alone.", level=messages.WARNING)

    @admin.action(description="Cancel selected pending reminders", permissions=["change"])
    def cancel(self, request, queryset):
        cancelled = sum(reminders.cancel_reminder(reminder=reminder) for reminder in queryset)
        skipped = queryset.count() - cancelled
        self.message_user(request, f"{cancelled} reminders cancelled.")
        if skipped:
            self.message_user(request, f"{skipped} were not pending and were left alone.", level=messages.WARNING)
