"""Staff read attendance and notes here; they are written only through the therapist pages.

Everything is view-only: a signed note is locked, and an unsigned one belongs to its
facilitator until signed. The models refuse writes to signed notes as well.

Minimum necessary: the front desk ("Clinic staff") sees that a note exists, who signed it and
when; the text of notes, addenda and the facilitator's observations is shown (and searched)
only for holders of ``progress.read_note_text`` ("Clinical supervisor"). Every page here that
shows client data records its read (``audit.admin.AuditedAdmin``)."""

import datetime

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.shortcuts import redirect
from django.template.defaultfilters import linebreaksbr
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator

from audit.admin import AuditedAdmin
from clients.admin import SearchFromClientsMixin
from clients.models import FOUND_BY, Client
from groups.models import TherapyGroup
from iop.admin_actions import action_with_form, render_action_form
from iop.admin_filters import AutocompleteFilter, AutocompleteFilterMixin
from iop.admin_lists import LargeListAdmin, ListAdmin
from iop.admin_tables import table
from iop.clock import start_of_day, start_of_day_after

# Registers the questionnaires' and safety alerts' pages.
from progress import admin_finder, admin_measures  # noqa: F401
from progress.models import (
    Addendum,
    Attendance,
    DischargeSummary,
    Goal,
    GoalStatusChange,
    GroupNote,
    IndividualNote,
    PlanReview,
    TreatmentPlan,
)
from progress.selectors import may_read_note_text, plans_overdue, review_cutoff, review_due_on
from scheduling import services
from scheduling.dashboard import SHOWN_NOT_DOCUMENTED, SHOWN_NOTE_OVERDUE, SHOWN_PARAMETER, SHOWN_TODAY
from scheduling.forms import CancelForm, GenerateForm, SessionForm
from scheduling.models import Session


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The sessions list shows the start of each objective; the session's page has it whole.
OBJECTIVE_SHOWN = 60

# A client's rows are found by chart number or the start of a name: each served by an index
# (clients/migrations: trigram indexes on PostgreSQL), where a substring search of a million
# rows' joins would not be.
CLIENT_SEARCH_FIELDS = [f"^client__{field}" for field in FOUND_BY]

# Clinical text: shown and searched only with ``progress.read_note_text``.
NOTE_TEXT_FIELDS = {"topic", "interventions", "group_dynamics", "text", "observation", "individualized_notes"}


class NoteTextAdminMixin:
    """Leaves the fields in ``NOTE_TEXT_FIELDS`` out of the page and the search for whoever may
    not read note text; ``fields`` and ``search_fields`` list everything, for supervisors."""

    note_text_fields = NOTE_TEXT_FIELDS

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if may_read_note_text(request.user) else [f for f in fields if f not in self.note_text_fields]

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if may_read_note_text(request.user):
            return fields
        return [f for f in fields if f.split("__")[-1].lstrip("=^@") not in self.note_text_fields]

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        return fields if may_read_note_text(request.user) else [f for f in fields if f not in self.note_text_fields]


def _shown_or_withheld(request, what: str) -> str:
    """For the audit row: whether the page carried clinical text."""
    return f"{what} shown" if may_read_note_text(request.user) else f"{what} withheld"


def _note_clients():
    """The parts of notes as an audit row needs them (which clients a note concerns): ids only."""
    return IndividualNote.objects.order_by().only("pk", "group_note", "client")


class AttendanceInline(NoteTextAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    """The session's attendance, on the session page."""

    model = Attendance
    fields = ["client", "status", "minutes_attended", "mode", "participation", "observation"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["client__legal_last_name", "client__legal_first_name"]

    # Each row is titled by its __str__ (the client and the session's group): read with the rows.
    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client", "session__group")


class AddendumInline(NoteTextAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = Addendum
    fields = ["created_at", "author", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "group_note__session__group")


@admin.register(Attendance)
class AttendanceAdmin(
    AuditedAdmin,
    SearchFromClientsMixin,
    NoteTextAdminMixin,
    ReadOnlyAdminMixin,
    AutocompleteFilterMixin,
    LargeListAdmin,
):
    # Status, minutes and mode in one column: the list fits a 1280-pixel screen.
    list_display = ["session", "client", "attended", "participation"]
    # A date filter, not a date hierarchy: the hierarchy scans every matching row for its years.
    list_filter = [
        "status",
        "participation",
        "mode",
        ("session__group", AutocompleteFilter),
        ("session__starts_at", admin.DateFieldListFilter),
    ]
    # Searches start from the client (chart number, name prefix: indexed); a group is a filter.
    search_fields = CLIENT_SEARCH_FIELDS
    list_select_related = ["session__group", "client"]
    fields = [
        "session",
        "client",
        "status",
        "minutes_attended",
        "mode",
        "participation",
        "observation",
        "recorded_by",
        "recorded_at",
        "updated_at",
    ]
    readonly_fields = fields

    def audit_clients(self, attendance):
        return [attendance.client_id]

    @admin.display(description="Attendance", ordering="status")
    def attended(self, attendance):
        mode = attendance.get_mode_display().lower()
        return f"{attendance.get_status_display()}, {attendance.minutes_attended} min, {mode}"

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "observations")

    def lookup_allowed(self, lookup, value, request=None):
        # "Per client" and "per session" links from other admin pages filter by id.
        return lookup in {"client__id__exact", "session__id__exact"} or super().lookup_allowed(lookup, value, request)


class SignedFilter(admin.SimpleListFilter):
    title = "signature"
    parameter_name = "signed"

    def lookups(self, request, model_admin):
        return [("yes", "Signed"), ("no", "Not signed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.signed()
        if self.value() == "no":
            return queryset.unsigned()
        return queryset


@admin.register(GroupNote)
class GroupNoteAdmin(AuditedAdmin, NoteTextAdminMixin, ReadOnlyAdminMixin, AutocompleteFilterMixin, LargeListAdmin):
    list_display = ["session", "topic", "signed", "signed_by", "signed_at"]
    list_filter = [
        SignedFilter,
        ("session__group", AutocompleteFilter),
        ("session__starts_at", admin.DateFieldListFilter),
    ]
    # The notes about a client (chart number, name prefix: indexed); a group is a filter.
    search_fields = [f"^individual_notes__client__{field}" for field in FOUND_BY]
    list_select_related = ["session__group", "signed_by"]
    fields = [
        "session",
        "attendance",
        "topic",
        "objective",
        "interventions",
        "group_dynamics",
        "individualized_notes",
        "created_by",
        "created_at",
        "signed_by",
        "signed_at",
    ]
    readonly_fields = fields
    inlines = [AddendumInline]

    def get_queryset(self, request):
        # A note is written once its session has started (progress.notes): said here too, so that
        # the list, newest session first, starts from now instead of from the sessions planned
        # weeks ahead, none of which has a note (the walk down the starts_at index is short).
        return super().get_queryset(request).filter(session__starts_at__lte=timezone.now())

    def get_search_results(self, request, queryset, search_term):
        """The notes with a part about a client the words find: one EXISTS per note, instead of
        joining every individualized part and removing the duplicates (DISTINCT) of the join."""
        if not search_term.split():
            return queryset, False
        parts = IndividualNote.objects.filter(
            group_note=OuterRef("pk"), client__in=Client.objects.found_by(search_term)
        )
        return queryset.filter(Exists(parts)), False

    @admin.display(description="Individualized notes (BIRP)")
    def individualized_notes(self, note):
        """Shown only to readers of note text (``NoteTextAdminMixin``)."""
        # Not note.individual_notes: the queryset's prefetch of the parts' client ids (the text
        # left out) is cached there.
        parts = IndividualNote.objects.filter(group_note=note).select_related("client")
        parts = parts.order_by("client__legal_last_name", "pk").prefetch_related(
            Prefetch("goals", queryset=Goal.objects.order_by("created_at", "pk"))
        )
        return table(
            headers=["Client", "Behaviour", "Intervention", "Response", "Plan", "Goals addressed"],
            rows=(
                (
                    part.client,
                    *(linebreaksbr(text) for text in (part.behaviour, part.intervention, part.response, part.plan)),
                    # The golden thread: which goals of the member's plan this part served.
                    "; ".join(goal.short for goal in part.goals.all()),
                )
                for part in parts
            ),
            empty="No individualized notes.",
        )

    def audit_clients(self, note):
        return list(note.individual_notes.values_list("client_id", flat=True))

    def audit_clients_of_list(self, notes):
        # A page of notes concerns some four hundred members: their ids in one query, rather than
        # a prefetch that made a model instance of each part.
        return list(IndividualNote.objects.filter(group_note__in=notes).order_by().values_list("client_id", flat=True))

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "note text")

    @admin.display(boolean=True, description="Signed", ordering="signed_at")
    def signed(self, note):
        return note.is_signed

    @admin.display(description="Attendance")
    def attendance(self, note):
        url = reverse("admin:progress_attendance_changelist") + f"?session__id__exact={note.session_id}"
        return format_html('<a href="{}">Attendance at this session</a>', url)

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "individual_notes__client__id__exact" or super().lookup_allowed(lookup, value, request)


@admin.register(Addendum)
class AddendumAdmin(AuditedAdmin, NoteTextAdminMixin, ReadOnlyAdminMixin, LargeListAdmin):
    list_display = ["group_note", "author", "created_at"]
    list_select_related = ["group_note__session__group", "author"]
    search_fields = ["group_note__session__group__name", "text"]
    fields = ["group_note", "author", "created_at", "text"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("group_note__individual_notes", queryset=_note_clients()))
        )

    def audit_clients(self, addendum):
        # An addendum amends the note about these members.
        return [part.client_id for part in addendum.group_note.individual_notes.all()]

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "addendum text")


class SessionShownFilter(admin.SimpleListFilter):
    """Which sessions the list shows: today's and the ones to come unless asked otherwise (a list
    that opens on the first meeting of the year shows nothing anyone needs). Past ones, those
    nobody documented and those whose note is late are a click away. A date chosen in the date
    filter shows that date's sessions, whatever this says by default."""

    title = "sessions"
    parameter_name = SHOWN_PARAMETER
    UPCOMING, PAST, ALL = "upcoming", "past", "all"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dated = any(name.startswith("starts_at__") for name in request.GET)

    def lookups(self, request, model_admin):
        return [
            (self.UPCOMING, "Today and upcoming"),
            (SHOWN_TODAY, "Today"),
            (self.PAST, "Past"),
            (SHOWN_NOT_DOCUMENTED, "Not documented"),
            (SHOWN_NOTE_OVERDUE, "Note unsigned after 24 h"),
            (self.ALL, "All"),
        ]

    def value(self):
        return super().value() or (self.ALL if self.dated else self.UPCOMING)

    def choices(self, changelist):
        # No "All" of Django's own: it would be the default's link; "All" here is a choice.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        now = timezone.now()
        today = start_of_day(timezone.localdate(now))
        value = self.value()
        if value == self.UPCOMING:
            return queryset.filter(starts_at__gte=today)
        if value == SHOWN_TODAY:
            return queryset.filter(starts_at__gte=today, starts_at__lt=start_of_day_after(timezone.localdate(now)))
        if value == self.PAST:
            return queryset.filter(starts_at__lt=today)
        if value == SHOWN_NOT_DOCUMENTED:
            return queryset.not_documented(now=now)
        if value == SHOWN_NOTE_OVERDUE:
            return queryset.note_overdue(now=now)
        return queryset


# Registered here, not in scheduling: its page shows the meeting's attendance (progress).
@admin.register(Session)
class SessionAdmin(AuditedAdmin, AutocompleteFilterMixin, LargeListAdmin):
    form = SessionForm
    # Kind and place under the group's name, state last: the list fits a 1280-pixel screen.
    list_display = ["starts_at", "meeting", "objective_short", "facilitator", "state"]
    list_filter = [
        SessionShownFilter,
        "status",
        "group__kind",
        ("group", AutocompleteFilter),
        ("facilitator", AutocompleteFilter),
        ("starts_at", admin.DateFieldListFilter),
    ]
    # The group's name (a few hundred groups), then its meetings through (group, starts_at).
    search_fields = ["group__name"]
    list_select_related = ["group", "facilitator__user"]
    readonly_fields = ["group", "slot", "state", "cancellation_reason", "closure", "topic_plan"]
    actions = ["cancel_sessions"]
    change_list_template = "admin/scheduling/session/change_list.html"
    inlines = [AttendanceInline]
    # The list names no client; the change page shows the meeting's attendance.
    audit_changelist = False

    def audit_clients(self, session):
        return list(session.attendances.values_list("client_id", flat=True))

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "observations")

    def get_search_results(self, request, queryset, search_term):
        """The meetings of the groups whose name holds every word, as Django searches
        ``group__name``, with the groups' ids found first: given the ids, PostgreSQL walks the
        meetings in the list's order and stops at a page; given the words, it guessed one group
        and sorted all ten thousand meetings of fifty."""
        if not search_term.split():
            return queryset, False
        groups = list(TherapyGroup.objects.named(search_term).order_by().values_list("pk", flat=True))
        return queryset.filter(group__in=groups), False

    def has_add_permission(self, request):
        # Sessions come from weekly slots; one meeting is changed here, not invented.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Session.Status.SCHEDULED:
            return [*self.readonly_fields, *SessionForm.Meta.fields]
        return self.readonly_fields

    @admin.display(description="Topic cycle")
    def topic_plan(self, session):
        """Where the meeting is in its group's cycle; an objective edited here is this meeting's
        alone (a swap) and the cycle goes on around it."""
        if session.topic_swapped:
            place = f" (place {session.cycle_step} of the cycle)" if session.cycle_step else ""
            return f"The objective was chosen for this meeting{place}; the cycle goes on around it."
        if session.cycle_step:
            return f"Topic {session.cycle_step} of the group's cycle. Editing the objective swaps it for this meeting."
        return "Not from a topic cycle."

    def get_ordering(self, request):
        # The past is read from the latest back; today and what comes, in order.
        if request.GET.get(SHOWN_PARAMETER) in (SessionShownFilter.PAST, SHOWN_NOT_DOCUMENTED, SHOWN_NOTE_OVERDUE):
            return ["-starts_at", "-pk"]
        return super().get_ordering(request)

    @admin.display(description="Group", ordering="group__name")
    def meeting(self, session):
        place = session.room or "Video"
        return format_html(
            '{}<br><span class="quiet">{} · {}</span>', session.group.name, session.group.get_kind_display(), place
        )

    @admin.display(description="Objective")
    def objective_short(self, session):
        return Truncator(session.objective).chars(OBJECTIVE_SHOWN)

    @admin.display(description="State")
    def state(self, session):
        """Scheduled, held, cancelled, or "Not documented" once its time is over with nothing
        recorded (``Session.state_at``): derived, never stored."""
        return session.state.label

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


# --- Treatment plans ------------------------------------------------------------------------

# A plan's clinical words: shown only with ``progress.read_note_text``.
PLAN_TEXT_FIELDS = {"problem", "goal", "objectives", "summary"}


class ReviewDueFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("due", "Due within 7 days"), ("current", "Not due yet")]

    def queryset(self, request, queryset):
        cutoff = review_cutoff(timezone.localdate())
        soon = cutoff + datetime.timedelta(days=7)
        if self.value() == "overdue":
            return queryset.filter(pk__in=plans_overdue(timezone.localdate()).values("pk"))
        if self.value() == "due":
            return queryset.filter(last_reviewed_on__gte=cutoff, last_reviewed_on__lt=soon)
        if self.value() == "current":
            return queryset.filter(last_reviewed_on__gte=soon)
        return queryset


class GoalInline(NoteTextAdminMixin, ReadOnlyAdminMixin, admin.StackedInline):
    model = Goal
    note_text_fields = PLAN_TEXT_FIELDS
    fields = ["status", "target_date", "created_at", "updated_at", "history", "problem", "goal", "objectives"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        changes = Prefetch("status_changes", queryset=GoalStatusChange.objects.order_by("changed_at", "pk"))
        return super().get_queryset(request).select_related("plan__client").prefetch_related(changes)

    @admin.display(description="Status history")
    def history(self, goal):
        # The changes' dates and statuses (status, for staff); why they changed is clinical text.
        return "; ".join(
            f"{timezone.localtime(change.changed_at):%Y-%m-%d} "
            f"{change.get_from_status_display() + ' → ' if change.from_status else 'added as '}"
            f"{change.get_to_status_display().lower()}"
            for change in goal.status_changes.all()
        )


class PlanReviewInline(NoteTextAdminMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = PlanReview
    note_text_fields = PLAN_TEXT_FIELDS
    fields = ["reviewed_on", "reviewed_by", "summary"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reviewed_by", "plan__client")


@admin.register(TreatmentPlan)
class TreatmentPlanAdmin(AuditedAdmin, NoteTextAdminMixin, ReadOnlyAdminMixin, ListAdmin):
    """Staff see each plan's status: when it started, when it was last reviewed, whether the
    review is overdue and how many goals are in each status. The goals' words and the reviews'
    text are for holders of ``progress.read_note_text``; therapists write plans on their pages."""

    note_text_fields = PLAN_TEXT_FIELDS
    list_display = ["client", "started_on", "last_reviewed_on", "review_due", "review_state", "goal_counts"]
    list_filter = [ReviewDueFilter]
    search_fields = CLIENT_SEARCH_FIELDS
    list_select_related = ["client"]
    # The longest unreviewed first: the overdue ones lead the list.
    ordering = ["last_reviewed_on", "pk"]
    fields = [
        "client",
        "started_on",
        "created_by",
        "created_at",
        "last_reviewed_on",
        "review_due",
        "review_state",
        "groups_called_for",
    ]
    readonly_fields = fields
    inlines = [GoalInline, PlanReviewInline]

    def get_urls(self):
        # The group finder weighs the plan; it is reached from the client's page ("Find a group").
        find_group = self.admin_site.admin_view(lambda request, pk: admin_finder.find_group_view(self, request, pk))
        return [path("find-a-group/<int:pk>/", find_group, name="progress_find_group"), *super().get_urls()]

    @admin.display(description="Groups the plan calls for")
    def groups_called_for(self, plan):
        return (
            ", ".join(str(label) for kind, label in TherapyGroup.Kind.choices if kind in plan.recommended_group_kinds)
            or "none named"
        )

    def get_queryset(self, request):
        counts = {
            f"goals_{status}": Count("goals", filter=Q(goals__status=status), distinct=True)
            for status in Goal.Status.values
        }
        return super().get_queryset(request).select_related("client", "created_by").annotate(**counts)

    def audit_clients(self, plan):
        return [plan.client_id]

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "plan text")

    @admin.display(description="Review due", ordering="last_reviewed_on")
    def review_due(self, plan):
        return review_due_on(plan)

    @admin.display(description="Review")
    def review_state(self, plan):
        due = review_due_on(plan)
        today = timezone.localdate()
        if due < today:
            return f"Overdue by {(today - due).days} days"
        if due <= today + datetime.timedelta(days=7):
            return "Due within 7 days"
        return "Not due yet"

    @admin.display(description="Goals")
    def goal_counts(self, plan):
        parts = [
            f"{getattr(plan, f'goals_{status}', 0)} {label.lower()}"
            for status, label in Goal.Status.choices
            if getattr(plan, f"goals_{status}", 0)
        ]
        return ", ".join(parts) or "none yet"


@admin.register(DischargeSummary)
class DischargeSummaryAdmin(AuditedAdmin, NoteTextAdminMixin, ReadOnlyAdminMixin, ListAdmin):
    """Staff see which discharges have a summary and whether it is signed; the narrative and the
    recommendations are for holders of ``progress.read_note_text``. Therapists write and sign
    summaries on their pages."""

    note_text_fields = NOTE_TEXT_FIELDS | {"narrative", "recommendations", "facts"}
    list_display = ["client", "discharge_date", "status", "written_by", "signed_by", "signed_at"]
    list_filter = [SignedFilter]
    search_fields = CLIENT_SEARCH_FIELDS
    list_select_related = ["client", "written_by", "signed_by"]
    ordering = ["-discharge_date", "pk"]
    fields = [
        "client",
        "discharge_date",
        "status",
        "written_by",
        "created_at",
        "updated_at",
        "signed_by",
        "signed_at",
        "narrative",
        "recommendations",
    ]
    readonly_fields = fields

    def audit_clients(self, summary):
        return [summary.client_id]

    def audit_detail(self, request) -> str:
        return _shown_or_withheld(request, "discharge summary text")

    @admin.display(description="Status")
    def status(self, summary):
        return "Signed" if summary.is_signed else "Draft"
