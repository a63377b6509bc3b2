"""Questionnaires and safety alerts in the staff admin. Staff see open alerts (a filter open /
closed), record an alert's follow-up and enter a paper PHQ-9 or GAD-7, each through the same
service as the therapist pages and the portal (``progress.safety``, ``progress.checkins``);
nothing here is edited or deleted directly. Every page that shows a client records its read."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from audit.admin import AuditedAdmin
from clients.models import Client
from iop.admin_lists import ListAdmin
from iop.admin_widgets import TolerantAutocompleteSelect
from iop.forms import add_refusals
from progress import checkins, measures, safety
from progress.forms import FollowUpForm
from progress.models import MeasureResponse, SafetyAlert


class PaperMeasureForm(forms.Form):
    """A PHQ-9 or GAD-7 the client filled in on paper, typed in by staff: every item 0-3."""

    client = forms.ModelChoiceField(queryset=Client.objects.all())
    instrument = forms.ChoiceField(choices=MeasureResponse.Instrument.choices)
    occasion = forms.ChoiceField(choices=MeasureResponse.Occasion.choices)
    taken_on = forms.DateTimeField(label="Answered on", help_text="When the client filled in the form.")

    def __init__(self, *args, admin_site=None, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            field = self.fields["client"]
            field.widget = TolerantAutocompleteSelect(MeasureResponse._meta.get_field("client"), admin_site)
            field.widget.choices = field.choices
        for number in range(1, 10):
            self.fields[f"item_{number}"] = forms.TypedChoiceField(
                label=f"Item {number}",
                coerce=int,
                choices=[("", "—")] + measures.ANSWERS,
                required=False,
                empty_value=None,
                help_text="PHQ-9 only" if number > 7 else "",
            )
        self.fields["difficulty"] = forms.TypedChoiceField(
            label="Difficulty (not scored)",
            coerce=int,
            choices=[("", "—")] + measures.DIFFICULTY_ANSWERS,
            required=False,
            empty_value=None,
        )

    def answers(self) -> dict:
        return {f"item_{n}": self.cleaned_data.get(f"item_{n}") for n in range(1, 10)}


def _band(response: MeasureResponse) -> str:
    return measures.band(response.instrument, response.total)


@admin.register(MeasureResponse)
class MeasureResponseAdmin(AuditedAdmin, ListAdmin):
    list_display = ["client", "instrument", "occasion", "taken_on", "source", "total", "band", "alert"]
    list_filter = ["instrument", "occasion", "source"]
    search_fields = ["^client__chart_number", "^client__legal_last_name", "^client__legal_first_name"]
    list_select_related = ["client", "safety_alert"]
    ordering = ["-taken_on", "-pk"]
    fields = ["client", "instrument", "occasion", "taken_on", "source", "entered_by", "total", "band", "difficulty"]
    readonly_fields = fields

    @admin.display(description="band")
    def band(self, response):
        return _band(response)

    @admin.display(description="safety alert")
    def alert(self, response):
        alert = getattr(response, "safety_alert", None)
        if alert is None:
            return ""
        return "open" if alert.is_open else "followed up"

    def audit_clients(self, response):
        return [response.client_id]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        """A paper questionnaire goes through checkins.record_measure, which raises the alert."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        initial = {"taken_on": timezone.localtime().replace(second=0, microsecond=0), **request.GET.dict()}
        form = PaperMeasureForm(data, initial=initial, admin_site=self.admin_site)
        if data is not None and form.is_valid():
            try:
                response = checkins.record_measure(
                    client=form.cleaned_data["client"],
                    instrument=form.cleaned_data["instrument"],
                    answers=form.answers(),
                    difficulty=form.cleaned_data["difficulty"],
                    source=MeasureResponse.Source.PAPER,
                    entered_by=request.user,
                    occasion=form.cleaned_data["occasion"],
                    taken_on=form.cleaned_data["taken_on"],
                )
            except ValidationError as error:
                add_refusals(form, error)
            else:
                self.log_addition(request, response, [{"added": {}}])
                done = f"{response} entered: total {response.total} ({_band(response).lower()})."
                if hasattr(response, "safety_alert"):
                    done += " Item 9 is above 0: a safety alert is open for the client's therapists."
                self.message_user(
                    request, done, messages.WARNING if hasattr(response, "safety_alert") else messages.SUCCESS
                )
                return redirect("admin:progress_measureresponse_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Enter a paper PHQ-9 or GAD-7",
            "submit_label": "Save the questionnaire",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/form_page.html", context)


class OpenFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("closed", "Followed up")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(followed_up_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(followed_up_at__isnull=False)
        return queryset


@admin.register(SafetyAlert)
class SafetyAlertAdmin(AuditedAdmin, ListAdmin):
    list_display = ["client", "raised_at", "state", "followed_up_by", "followed_up_at", "contacted_by"]
    list_filter = [OpenFilter]
    search_fields = ["^client__chart_number", "^client__legal_last_name", "^client__legal_first_name"]
    list_select_related = ["client", "followed_up_by"]
    ordering = ["followed_up_at", "raised_at"]
    fields = [
        "client",
        "raised_at",
        "response",
        "follow_up",
        "followed_up_by",
        "followed_up_at",
        "contacted_by",
        "outcome",
    ]
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, alert):
        return "Open" if alert.is_open else "Followed up"

    @admin.display(description="follow-up")
    def follow_up(self, alert):
        if not alert.is_open:
            return "Recorded"
        url = reverse("admin:progress_safetyalert_follow_up", args=[alert.pk])
        return format_html('<a class="button" href="{}">Record the follow-up</a>', url)

    def audit_clients(self, alert):
        return [alert.client_id]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing is edited here; the follow-up page (below) is the one write, through the service.
        return False

    def get_urls(self):
        follow_up = self.admin_site.admin_view(self.follow_up_view)
        return [path("<int:pk>/follow-up/", follow_up, name="progress_safetyalert_follow_up"), *super().get_urls()]

    def follow_up_view(self, request, pk):
        if not request.user.has_perm("progress.change_safetyalert"):
            raise PermissionDenied
        alert = get_object_or_404(SafetyAlert.objects.select_related("client"), pk=pk)
        if not alert.is_open:
            self.message_user(request, "The follow-up of this alert is already recorded.", messages.INFO)
            return redirect("admin:progress_safetyalert_change", alert.pk)
        data = request.POST if request.method == "POST" else None
        form = FollowUpForm(data, initial={"followed_up_at": timezone.localtime().replace(second=0, microsecond=0)})
        if data is not None and form.is_valid():
            try:
                safety.record_follow_up(alert=alert, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_refusals(form, error)
            else:
                self.message_user(request, f"The follow-up for {alert.client} is recorded.", messages.SUCCESS)
                return redirect("admin:progress_safetyalert_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Follow-up of the safety alert for {alert.client}",
            "submit_label": "Record the follow-up",
            "opts": self.model._meta,
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/form_page.html", context)
