from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from audit.admin import AuditedAdmin
from audit.models import AuditEvent
from clients import services as client_services
from clients.admin import AgreementDueFilter, OrientationStepInline, SearchFromClientsMixin, SignatureInline
from clients.forms import ClientAdminForm, DischargeForm, PortalAccountForm
from clients.models import FOUND_BY, AgreementSignature, Client, OrientationItem, OrientationStep
from groups import services as group_services
from groups.admin import MembersTablesMixin, open_memberships
from groups.forms import EndGroupForm, EndMembershipForm, EnrolActionForm
from groups.models import Membership, TherapyGroup
from iop.admin_actions import action_with_form, apply_to_each, render_action_form
from iop.admin_filters import AutocompleteFilter, AutocompleteFilterMixin
from iop.admin_lists import LargeListAdmin, ListAdmin
from iop.admin_tables import EMPTY, change_urls, table
from iop.admin_widgets import TolerantAutocompleteMixin
from scheduling import enrolment, group_changes, reminders, services, topics
from scheduling.forms import (
    ClosureForm,
    EnrolmentForm,
    TherapyGroupAdminForm,
    WeeklySlotForm,
)
from scheduling.models import Closure, Reminder, Topic, WeeklySlot


class WeeklySlotInline(admin.TabularInline):
    """Shown on the group page; saved through scheduling.services.save_slot."""

    model = WeeklySlot
    form = WeeklySlotForm
    extra = 0
    fields = WeeklySlotForm.Meta.fields

    class Media:
        # Its eight columns fit a 1280 px screen beside the navigation.
        css = {"all": ["css/admin-slots.css"]}

    # Each row is titled by its __str__, which names the group: read once with the rows.
    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


class TopicInline(admin.TabularInline):
    """The group's topic cycle, on the group page; saved through scheduling.topics.save_topic,
    which gives the meetings to come their topics."""

    model = Topic
    extra = 0
    fields = ["position", "title"]
    verbose_name = "topic"
    verbose_name_plural = "Topic cycle (each meeting takes the next topic, round and round)"

    # The group's own topics in the cycle's order, without the model's ordering by group first,
    # which joins the group to sort its one group by name.
    def get_queryset(self, request):
        return super().get_queryset(request).order_by("position", "pk")


@admin.register(Closure)
class ClosureAdmin(ListAdmin):
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


class ReminderKindFilter(admin.SimpleListFilter):
    """The kinds the clinic plans (its settings) and cancellation notices: named, not read from
    every reminder row (a DISTINCT over the outbox)."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(kind, kind) for kind in [*reminders.reminder_kinds(), Reminder.CANCELLATION]]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Reminder)
class ReminderAdmin(AuditedAdmin, SearchFromClientsMixin, LargeListAdmin):
    """The reminder outbox: staff watch it, retry failed rows and cancel pending ones; the rows
    themselves are written only by scheduling.reminders."""

    # The meeting on two lines (a group's name can be long): the list fits a 1280-pixel screen.
    list_display = ["send_at", "meeting", "client", "channel", "kind", "status", "attempts", "sent_at", "last_error"]
    # A date filter, not a date hierarchy: the hierarchy scans every matching row for its years.
    list_filter = ["status", "channel", ReminderKindFilter, ("send_at", admin.DateFieldListFilter)]
    # From the client (chart number, name prefix: indexed); failed rows are a filter away.
    search_fields = [f"^client__{field}" for field in FOUND_BY]
    list_select_related = ["session__group", "client"]
    readonly_fields = [field.name for field in Reminder._meta.fields]
    actions = ["retry", "cancel"]

    def audit_clients(self, reminder):
        return [reminder.client_id]

    @admin.display(description="Session", ordering="session__starts_at")
    def meeting(self, reminder):
        session = reminder.session
        return format_html(
            '{}<br><span class="quiet">{}</span>',
            session.group.name,
            date_format(timezone.localtime(session.starts_at), "D N j, H:i"),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is read-only; the actions below need "change".
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry selected failed reminders", permissions=["change"])
    def retry(self, request, queryset):
        def retry(reminder):
            if not reminders.retry_failed(reminder=reminder):
                raise ValidationError("not failed, left alone.")
            return ""

        apply_to_each(self, request, queryset, retry, summary=lambda count: f"{count} reminders will be sent again.")

    @admin.action(description="Cancel selected pending reminders", permissions=["change"])
    def cancel(self, request, queryset):
        def cancel(reminder):
            if not reminders.cancel_reminder(reminder=reminder):
                raise ValidationError("not pending, left alone.")
            return ""

        apply_to_each(self, request, queryset, cancel, summary=lambda count: f"{count} reminders cancelled.")


# --- Clients, groups and memberships: their workflows reach the schedule ----------------------


# Registered here, not in clients: its actions enrol and discharge, workflows that reach the schedule.
@admin.register(Client)
class ClientAdmin(AuditedAdmin, TolerantAutocompleteMixin, ListAdmin):
    form = ClientAdminForm
    list_display = [
        "chart_number",
        "display_name",
        "status",
        "level_of_care",
        "preferred_language",
        "agreement_signed",
        "open_memberships",
    ]
    list_display_links = ["chart_number", "display_name"]
    list_filter = ["status", "level_of_care", AgreementDueFilter, "preferred_language", "reminder_channel"]
    search_fields = ["chart_number", "legal_first_name", "legal_last_name", "preferred_name", "email"]
    # Said here as well as on the model: search-as-you-type pages it, and a paged list needs an order.
    ordering = ["legal_last_name", "legal_first_name", "chart_number"]
    readonly_fields = [
        "status",
        "admission_date",
        "discharge_date",
        "portal_user",
        "clinical_record",
        "find_a_group",
        "memberships_table",
        "orientation_state",
        "created_at",
        "updated_at",
    ]
    autocomplete_fields = ["partner"]
    inlines = [SignatureInline, OrientationStepInline]
    actions = [
        "enrol_in_group",
        "admit",
        "discharge",
        "open_portal_login",
        "close_portal_login",
        "replace_calendar_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "chart_number",
                    ("legal_first_name", "legal_last_name"),
                    "preferred_name",
                    "pronouns",
                    "date_of_birth",
                ]
            },
        ),
        ("Treatment", {"fields": ["status", "admission_date", "discharge_date", "level_of_care"]}),
        (
            "Contact and preferences",
            {
                "fields": [
                    "email",
                    "phone",
                    "preferred_language",
                    "interpreter",
                    "communication_preferences",
                    "cultural_considerations",
                    "welcomes_focuses",
                    "avoids_focuses",
                    "reminder_channel",
                    "reminder_consent",
                ]
            },
        ),
        ("Links", {"fields": ["portal_user", "partner"]}),
        ("Groups", {"fields": ["find_a_group", "memberships_table"]}),
        ("Before the first group", {"fields": ["orientation_state"]}),
        ("Attendance and notes", {"fields": ["clinical_record"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    # Shown only to holders of audit.view_auditevent (the "Privacy officer" group).
    LOOKED_AT = ("Who has looked at this record", {"fields": ["looked_at"]})
    LOOKED_AT_SHOWN = 20

    def audit_clients(self, client):
        # The change page names the partner too.
        return [client.pk, client.partner_id]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and request.user.has_perm("audit.view_auditevent"):
            return [*fieldsets, self.LOOKED_AT]
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, "looked_at"] if request.user.has_perm("audit.view_auditevent") else readonly

    @admin.display(description="Last views and exports")
    def looked_at(self, client):
        """The last views and exports of this client's information, newest first, in one query;
        the link opens the whole trail about the client."""
        events = (
            AuditEvent.objects.about_client(client.pk)
            .filter(action__in=[AuditEvent.Action.VIEW, AuditEvent.Action.EXPORT])
            .only("at", "username", "role", "action", "model", "object_id", "detail")
            .order_by("-id")[: self.LOOKED_AT_SHOWN]
        )
        # The labels looked up once: get_FOO_display() rebuilds a field's choices at each call.
        roles, actions = dict(AuditEvent.Role.choices), dict(AuditEvent.Action.choices)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            (
                (
                    timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M"),
                    event.username or "—",
                    roles.get(event.role, event.role),
                    actions.get(event.action, event.action),
                    event.model,
                    event.object_id,
                    event.detail,
                )
                for event in events
            ),
        )
        trail = reverse("admin:audit_auditevent_changelist") + f"?client_id={client.pk}"
        return format_html(
            '<table class="looked-at"><thead><tr><th scope="col">When</th><th scope="col">Who</th>'
            '<th scope="col">Role</th><th scope="col">Action</th><th scope="col">What</th>'
            '<th scope="col">Detail</th></tr></thead><tbody>{}</tbody></table>'
            '<p><a href="{}">The whole audit trail about this client</a></p>',
            rows or mark_safe('<tr><td colspan="6">No views recorded yet.</td></tr>'),
            trail,
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                # A subquery that reads one row, not an EXISTS: PostgreSQL would answer an EXISTS
                # by hashing every signature on file for each page, this looks up the page's rows.
                has_current_signature=Coalesce(
                    Subquery(
                        AgreementSignature.objects.current()
                        .filter(client=OuterRef("pk"))
                        .order_by()
                        .annotate(signed=Value(True))
                        .values("signed")[:1]
                    ),
                    Value(False),
                ),
                # A count per client row, not a GROUP BY over every membership: the list's count
                # and its filters then read the clients alone.
                open_membership_count=Coalesce(
                    Subquery(
                        Membership.objects.filter(client=OuterRef("pk"))
                        .exclude(status=Membership.Status.ENDED)
                        .order_by()
                        .values("client")
                        .annotate(count=Count("pk"))
                        .values("count")
                    ),
                    0,
                ),
            )
        )

    def get_object(self, request, object_id, from_field=None):
        # The change, delete and history pages show neither column that get_queryset() adds for
        # the list (the agreement in force, the open groups): the client is read without them,
        # with the portal login the page names.
        clients = super().get_queryset(request).select_related("portal_user")
        field = Client._meta.pk if from_field is None else Client._meta.get_field(from_field)
        try:
            return clients.get(**{field.name: field.to_python(object_id)})
        except (Client.DoesNotExist, ValidationError, ValueError):
            return None

    @admin.display(description="Memberships")
    def memberships_table(self, client):
        """The client's groups; enrolment and ending go through the membership pages."""
        if client.pk is None:
            return EMPTY
        memberships = client.memberships.select_related("group")
        statuses, end_reasons = dict(Membership.Status.choices), dict(Membership.EndReason.choices)
        membership_url = change_urls("admin:groups_membership_change")
        return table(
            headers=["Group", "Status", "Joined on", "Waitlisted at", "Ended on", "End reason"],
            rows=(
                (
                    format_html('<a href="{}">{}</a>', membership_url(m.pk), m.group),
                    statuses.get(m.status, m.status),
                    m.joined_on and date_format(m.joined_on),
                    m.waitlisted_at and date_format(timezone.localtime(m.waitlisted_at), "DATETIME_FORMAT"),
                    m.ended_on and date_format(m.ended_on),
                    end_reasons.get(m.end_reason, m.end_reason),
                )
                for m in memberships
            ),
            empty="Not in any group yet.",
        )

    @admin.display(description="Orientation")
    def orientation_state(self, client):
        """How far the checklist below has come, and whether process groups wait for it."""
        if client.pk is None:
            return "Save the client first; then tick the orientation items below."
        missing = client_services.orientation_missing(client)
        if not missing:
            return "Finished: every item has been gone through."
        rule = (
            "process groups take the client only once it is finished"
            if settings.IOP_ORIENTATION_BEFORE_PROCESS_GROUPS
            else "the program does not require it before process groups"
        )
        items = ", ".join(str(item.label) for item in missing)
        done = len(OrientationItem) - len(missing)
        return f"{done} of {len(OrientationItem)} done; still to go through: {items} ({rule})."

    @admin.display(description="Find a group")
    def find_a_group(self, client):
        if client.pk is None:
            return "Save the client first."
        url = reverse("admin:progress_find_group", args=[client.pk])
        return format_html(
            '<a class="button" href="{}">Find a group</a> '
            '<span class="help">Groups that fit {}\'s level of care, language, schedule, plan and preferences.</span>',
            url,
            client.first_name,
        )

    @admin.display(description="Clinical record")
    def clinical_record(self, client):
        if client.pk is None:
            return "—"
        attendance = reverse("admin:progress_attendance_changelist") + f"?client__id__exact={client.pk}"
        notes = reverse("admin:progress_groupnote_changelist") + f"?individual_notes__client__id__exact={client.pk}"
        return format_html('<a href="{}">Attendance</a> · <a href="{}">Progress notes</a>', attendance, notes)

    @admin.display(description="Name", ordering="legal_last_name")
    def display_name(self, client):
        return client.display_name

    @admin.display(description="Agreement", boolean=True, ordering="has_current_signature")
    def agreement_signed(self, client):
        return client.has_current_signature

    @admin.display(description="Groups", ordering="open_membership_count")
    def open_memberships(self, client):
        return client.open_membership_count

    def save_model(self, request, obj, form, change):
        enrolment.update_client(client=obj, partner=form.cleaned_data.get("partner"), changed=form.changed_data)

    # Deletes go through the service, which records them in the audit trail.
    def delete_model(self, request, obj):
        client_services.delete_client(client=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for client in queryset:
                client_services.delete_client(client=client)

    def save_formset(self, request, form, formset, change):
        if formset.model is OrientationStep:
            return self._save_orientation(request, form, formset)
        if formset.model is not AgreementSignature:
            return super().save_formset(request, form, formset, change)
        for signature in formset.save(commit=False):
            client_services.sign_agreement(
                client=form.instance,
                agreement=signature.agreement,
                witnessed_by=signature.witnessed_by,
                signed_at=signature.signed_at,
                method=signature.method,
            )

    def _save_orientation(self, request, form, formset):
        for step in formset.save(commit=False):
            client_services.record_orientation_step(
                client=form.instance, item=step.item, covered_by=step.covered_by, covered_on=step.covered_on
            )
        for step in formset.deleted_objects:
            client_services.remove_orientation_step(step=step)

    @admin.action(description="Enrol selected clients in a group…", permissions=["change"])
    def enrol_in_group(self, request, queryset):
        def enrol(client, data):
            membership = enrolment.enroll_client(
                client=client,
                group=data["group"],
                allow_waitlist=data["waitlist_if_full"],
                language_reason=data["language_reason"],
                partner_reason=data["partner_reason"],
            )
            return f"{client}: {membership.get_status_display().lower()} in {membership.group}."

        return action_with_form(
            self, request, queryset, form_class=EnrolActionForm, title="Enrol clients in a group", apply=enrol
        )

    @admin.action(description="Open a portal login for the selected client…", permissions=["change"])
    def open_portal_login(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one client to open a portal login.", level="error")
            return None
        client = queryset.get()
        form = PortalAccountForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                user = client_services.open_portal_account(
                    client=client, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                self.message_user(request, f"{client} can now sign in as {user.get_username()}.")
                return None
        return render_action_form(self, request, queryset, form=form, title="Open a portal login")

    @admin.action(description="Close the portal login of selected clients", permissions=["change"])
    def close_portal_login(self, request, queryset):
        def close(client):
            client_services.close_portal_account(client=client)
            return f"{client}'s portal login no longer works."

        apply_to_each(self, request, queryset, close)

    @admin.action(description="Replace the calendar link of selected clients", permissions=["change"])
    def replace_calendar_link(self, request, queryset):
        for client in queryset:
            services.rotate_calendar_token(client=client)
        self.message_user(request, f"{queryset.count()} calendar links replaced; the old links no longer work.")

    @admin.action(description="Admit selected clients (intake → active)", permissions=["change"])
    def admit(self, request, queryset):
        def admit(client):
            client_services.admit_client(client=client)
            return f"{client} admitted."

        apply_to_each(self, request, queryset, admit)

    @admin.action(description="Discharge selected clients…", permissions=["change"])
    def discharge(self, request, queryset):
        def discharge(client, data):
            enrolment.discharge_client(client=client, on=data["discharged_on"], note=data["note"])
            return (
                f"{client} discharged; their group memberships have ended, their portal login is closed "
                "and their calendar link no longer works."
            )

        return action_with_form(
            self, request, queryset, form_class=DischargeForm, title="Discharge clients", apply=discharge
        )


# Registered here, not in groups: a group's edits reach its slots and meetings (scheduling).
@admin.register(TherapyGroup)
class TherapyGroupAdmin(
    AuditedAdmin, MembersTablesMixin, TolerantAutocompleteMixin, AutocompleteFilterMixin, ListAdmin
):
    form = TherapyGroupAdminForm
    list_display = ["name", "kind", "seats", "waitlist", "facilitator", "modality", "language", "audience", "status"]
    list_filter = [
        "kind",
        "status",
        "modality",
        "audience",
        "enrolment",
        "language",
        "focus",
        ("facilitator", AutocompleteFilter),
    ]
    search_fields = ["name", "description", "room"]
    list_select_related = ["facilitator__user"]
    autocomplete_fields = ["facilitator", "co_facilitator"]
    readonly_fields = ["seats", "enrol_link", "members_table", "waitlist_table", "coming_topics"]
    inlines = [WeeklySlotInline, TopicInline]
    actions = ["end_groups"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "description", "status", ("start_date", "end_date")]}),
        ("Seats", {"fields": ["capacity", "seats", "enrolment", "enrol_link"]}),
        ("Facilitation", {"fields": ["facilitator", "co_facilitator", "language", "audience", "focus"]}),
        ("Where", {"fields": ["modality", "room", "video_link"]}),
        ("Members", {"fields": ["members_table", "waitlist_table"]}),
        ("Topic plan", {"fields": ["coming_topics"]}),
    ]

    # The list shows seat counts; the change page names the members and the waitlist.
    audit_changelist = False

    def audit_clients(self, group):
        # The members and the waitlist the page names.
        return [membership.client_id for membership in open_memberships(group)]

    def get_queryset(self, request):
        return super().get_queryset(request).with_seat_counts()

    @admin.display(description="Seats", ordering="active_count")
    def seats(self, group):
        return group_services.seat_count(group)

    @admin.display(description="Waitlist", ordering="waitlist_count")
    def waitlist(self, group):
        return group.waitlist_count

    @admin.display(description="Enrol")
    def enrol_link(self, group):
        if group.pk is None:
            return "Save the group first."
        url = reverse("admin:groups_membership_add") + f"?group={group.pk}"
        return format_html('<a class="button" href="{}">Enrol a client</a>', url)

    @admin.display(description="Coming meetings")
    def coming_topics(self, group):
        """The next meetings and the topic each takes; a topic is swapped for one meeting on the
        meeting's page (its objective)."""
        if group.pk is None:
            return EMPTY
        titles, coming = topics.coming_topics(group)
        if not titles:
            return "No topic cycle: each meeting takes its weekly slot's objective. Add topics below to start one."
        session_url = change_urls("admin:scheduling_session_change")
        return table(
            headers=["Meeting", "Topic", "Place in the cycle"],
            rows=(
                (
                    format_html(
                        '<a href="{}">{}</a>',
                        session_url(c.session.pk),
                        date_format(timezone.localtime(c.session.starts_at), "DATETIME_FORMAT"),
                    ),
                    c.session.objective,
                    f"swapped for this meeting (place {c.step} of {c.of})"
                    if c.session.topic_swapped
                    else f"{c.step} of {c.of}",
                )
                for c in coming
            ),
            empty="No meeting to come.",
        )

    def save_formset(self, request, form, formset, change):
        if formset.model is Topic:
            for topic in formset.save(commit=False):
                topics.save_topic(topic=topic)
            for topic in formset.deleted_objects:
                topics.delete_topic(topic=topic)
            return None
        if formset.model is not WeeklySlot:
            return super().save_formset(request, form, formset, change)
        # Each slot goes through the service, which regenerates the group's sessions.
        for slot in formset.save(commit=False):
            try:
                services.save_slot(slot=slot)
            except ValidationError as error:
                messages.error(request, f"{slot}: {' '.join(error.messages)}")
        for slot in formset.deleted_objects:
            services.delete_slot(slot=slot)

    def save_model(self, request, obj, form, change):
        update = group_changes.update_group(group=obj, changed=form.changed_data if change else ())
        for membership in update.promoted:
            self.message_user(request, f"{membership.client} moved from the waitlist into the group.")
        if update.cancelled:
            self.message_user(request, f"{update.cancelled} meetings after the group's last day were cancelled.")
        if update.ended:
            self.message_user(request, self._ended_message(update.ended))

    @staticmethod
    def _ended_message(group: TherapyGroup) -> str:
        return f"{group} ended on {group.end_date:%Y-%m-%d}; its members left and its later sessions are cancelled."

    @admin.action(description="End selected groups…", permissions=["change"])
    def end_groups(self, request, queryset):
        def end(group, data):
            return self._ended_message(group_changes.end_group(group=group, on=data["ended_on"]))

        return action_with_form(
            self,
            request,
            queryset,
            form_class=EndGroupForm,
            title="End groups",
            apply=end,
            form_kwargs={"initial": {"ended_on": timezone.localdate()}},
        )


# Registered here, not in groups: enrolling and ending check and change the schedule.
@admin.register(Membership)
class MembershipAdmin(AuditedAdmin, SearchFromClientsMixin, AutocompleteFilterMixin, ListAdmin):
    # The dates in one column: the list fits a 1280-pixel screen.
    list_display = ["client", "group", "status", "dates", "end_reason"]
    list_filter = ["status", "group__kind", ("group", AutocompleteFilter), "end_reason"]
    # Newest first, from the primary key: ordering 36,000 rows by their group's name sorts them all.
    ordering = ["-pk"]
    # A client (chart number, name prefix) or a group (a word of its name).
    search_fields = [*(f"^client__{field}" for field in FOUND_BY), "group__name"]
    search_help_text = "A chart number, the start of the client's names, or words of the group's name."
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
        "language_reason",
        "partner_reason",
        "created_at",
    ]
    actions = ["end_memberships"]

    def audit_clients(self, membership):
        return [membership.client_id]

    @admin.display(description="Dates", ordering="joined_on")
    def dates(self, membership):
        """Waitlisted since, joined on, ended on: those the membership has."""
        parts = []
        if membership.waitlisted_at and membership.status == Membership.Status.WAITLISTED:
            parts.append(f"waiting since {date_format(timezone.localtime(membership.waitlisted_at))}")
        if membership.joined_on:
            parts.append(f"joined {date_format(membership.joined_on)}")
        if membership.ended_on:
            parts.append(f"ended {date_format(membership.ended_on)}")
        return ", ".join(parts).capitalize() or EMPTY

    def search_filter(self, search_term: str) -> Q:
        return super().search_filter(search_term) | Q(group__in=TherapyGroup.objects.named(search_term))

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
                membership = enrolment.enroll_client(
                    client=form.cleaned_data["client"],
                    group=form.cleaned_data["group"],
                    allow_waitlist=form.cleaned_data["waitlist_if_full"],
                    language_reason=form.cleaned_data["language_reason"],
                    partner_reason=form.cleaned_data["partner_reason"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.log_addition(request, membership, [{"added": {}}])
                group = membership.group
                self.message_user(
                    request,
                    f"{membership.client} is now {membership.get_status_display().lower()} in {group} "
                    f"(seats {group_services.seat_count(group)}).",
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
            promoted = enrolment.end_membership(
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
