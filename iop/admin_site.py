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
from django.http import Http404, HttpRequest, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from audit.trail import Action, record
from iop import dashboard
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
    index_template = "admin/dashboard.html"
    # Every admin list fits a 1280-pixel screen beside its filters: Django's list of every page,
    # in a column on the left of each, would leave the lists 600 pixels. That list is on the
    # dashboard (the "Home" of every page's breadcrumbs).
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        """The apps and models the user may see, built when a page reads them. Django asks for
        them on every admin page for its navigation sidebar (``available_apps``), which is off
        here: a URL reversed and the permissions asked for each model, on each change page."""
        build = super().get_app_list
        return SimpleLazyObject(lambda: build(request, app_label))

    def get_urls(self):
        section = self.admin_view(self.dashboard_section)
        return [path("dashboard/<slug:name>/", section, name="dashboard_section"), *super().get_urls()]

    def _dashboard(self, request, *, limit: int, only: str | None = None) -> list[dashboard.Section]:
        """The sections the user may see, and the audit row of the clients they name: the page
        is read like any admin list of client records."""
        now = timezone.now()
        sections = dashboard.build(
            request, moment=dashboard.Moment(now=now, today=timezone.localdate(now)), limit=limit, only=only
        )
        shown = [client for section in sections for client in section.clients]
        # As for any admin list: a page that names no client records nothing.
        if shown:
            names = ", ".join(section.name for section in sections if section.clients)
            record(Action.VIEW, target=None, clients=shown, detail=f"clinic dashboard: {names}")
        return sections

    def index(self, request, extra_context=None):
        """The clinic's dashboard above the list of everything in the admin (``iop.dashboard``)."""
        sections = self._dashboard(request, limit=dashboard.SHOWN)
        return super().index(request, {"dashboard_sections": sections, **(extra_context or {})})

    def dashboard_section(self, request, name: str):
        """All the lines of one section (up to ``SHOWN_ON_SECTION_PAGE``), for the sections whose
        rows no filtered admin list shows."""
        if name not in dashboard.section_names():
            raise Http404("No such part of the dashboard.")
        sections = self._dashboard(request, limit=dashboard.SHOWN_ON_SECTION_PAGE, only=name)
        if not sections:
            # Not the user's to see: as for a part that does not exist.
            raise Http404("No such part of the dashboard.")
        context = {
            **self.each_context(request),
            "title": sections[0].title,
            "section": sections[0],
            "subtitle": None,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/dashboard_section.html", context)

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
