"""The clinic's admin site: Django's, with its request parameters read before a view uses them.

Every admin view (each model's changelist, actions, add and change pages, the autocomplete) goes
through ``admin_view``; a value there that no admin page could mean answers 400 instead of
reaching a query or date arithmetic as a 500."""

import functools

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBadRequest
from django.urls import reverse

from audit.trail import Action, record
from iop.admin_widgets import BIGINT_MAX, BIGINT_MIN

# Each word of a search becomes one more OR across the search fields; SQLite stops at a depth.
MAX_SEARCH_WORDS = 20
DATE_PARTS = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}


def _bad_selection(model_admin: admin.ModelAdmin, request: HttpRequest) -> str:
    pk = model_admin.model._meta.pk
    for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
        try:
            parsed = pk.to_python(value)
        except ValidationError:
            return "The selected rows could not be read."
        if isinstance(parsed, int) and not BIGINT_MIN <= parsed <= BIGINT_MAX:
            return "The selected rows could not be read."
    return ""


def _bad_date_hierarchy(model_admin: admin.ModelAdmin, request: HttpRequest) -> str:
    if not model_admin.date_hierarchy:
        return ""
    for part, (lowest, highest) in DATE_PARTS.items():
        value = request.GET.get(f"{model_admin.date_hierarchy}__{part}")
        if value is None:
            continue
        if not (value.isascii() and value.isdigit() and lowest <= int(value) <= highest):
            return f"The {part} to show must be a number from {lowest} to {highest}."
    return ""


def _bad_search(request: HttpRequest) -> str:
    for name in ("q", "term"):
        if len(request.GET.get(name, "").split()) > MAX_SEARCH_WORDS:
            return f"Search for at most {MAX_SEARCH_WORDS} words."
    return ""


def refusal(request: HttpRequest, view) -> str:
    """Why the admin cannot read this request's parameters (empty when it can)."""
    model_admin = getattr(view, "__self__", None)
    reason = _bad_search(request)
    if not reason and isinstance(model_admin, admin.ModelAdmin):
        reason = _bad_date_hierarchy(model_admin, request)
        if not reason and request.method == "POST":
            reason = _bad_selection(model_admin, request)
    return reason


class RecordedAutocompleteView(AutocompleteJsonView):
    """The admin's search-as-you-type answers with the names of what it finds: when those are
    client records (an ``AuditedAdmin``), the answer is a read like a list page's, and recorded."""

    def get(self, request, *args, **kwargs):
        # Here, not at the top: audit.admin registers on admin.site, which is built from this module.
        from audit.admin import AuditedAdmin

        self.shown = []
        response = super().get(request, *args, **kwargs)
        model_admin = getattr(self, "model_admin", None)
        if response.status_code == 200 and isinstance(model_admin, AuditedAdmin) and model_admin.audit_changelist:
            record(
                Action.VIEW,
                target=model_admin.model,
                clients=[client for obj in self.shown for client in model_admin.audit_clients(obj)],
                detail=f"search as you type: {len(self.shown)} {model_admin.model._meta.verbose_name_plural}",
            )
        return response

    def serialize_result(self, obj, to_field_name):
        self.shown.append(obj)
        return super().serialize_result(obj, to_field_name)


class ClinicAdminSite(admin.AdminSite):
    site_header = "Clinic administration"
    site_title = "Clinic administration"
    index_title = "Run the clinic"

    def login(self, request, extra_context=None):
        """One sign-in page for everyone (/accounts/login/): the lockout, the second factor and the
        "choose your own password" step apply to the admin exactly as to the other pages."""
        target = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target, login_url=reverse("login"))

    def admin_view(self, view, cacheable=False):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            reason = refusal(request, view)
            if reason:
                return HttpResponseBadRequest(reason, content_type="text/plain")
            return view(request, *args, **kwargs)

        return super().admin_view(guarded, cacheable)

    def autocomplete_view(self, request):
        return RecordedAutocompleteView.as_view(admin_site=self)(request)
