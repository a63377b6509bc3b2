"""The clinic's reports, as pages of the admin (``/admin/reports/``): staff holding
``progress.view_reports`` ("Clinic staff" and "Clinical supervisor"); anyone else signed in gets
403, and the sign-in page for whoever is not.

The report that names clients (hours per client per week) asks, besides, for the permission to
see client records (``clients.view_client``), and each showing of it, on the page or as a CSV
file, is one read in the audit trail naming every client in it: those of the page shown, or
everyone in the CSV."""

import functools
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from audit.trail import Action, record
from clients.models import Client
from progress import reports
from progress.forms import ReportFilterForm

VIEW_REPORTS = "progress.view_reports"
VIEW_CLIENTS = "clients.view_client"


def may_view_reports(user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(VIEW_REPORTS))


def may_open(user, kind: reports.Kind) -> bool:
    return may_view_reports(user) and (not kind.names_clients or user.has_perm(VIEW_CLIENTS))


def reports_view(view):
    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not may_view_reports(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return never_cache(require_GET(guarded))


@reports_view
def index(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Reports",
        "reports": [kind for kind in reports.REPORTS if may_open(request.user, kind)],
    }
    return TemplateResponse(request, "admin/reports/index.html", context)


@reports_view
def report(request: HttpRequest, slug: str) -> HttpResponse:
    kind = reports.BY_SLUG.get(slug)
    if kind is None:
        raise Http404("No such report.")
    if not may_open(request.user, kind):
        raise PermissionDenied
    default = reports.default_period(timezone.localdate())
    asked = any(name in request.GET for name in ("start", "end", "group", "therapist"))
    form = ReportFilterForm(request.GET if asked else {"start": default.start, "end": default.end})
    shown = None
    csv_url = page_url = ""
    if form.is_valid():
        as_csv = request.GET.get("format") == "csv"
        shown = reports.build(kind, form.period, page=request.GET.get("page"), as_csv=as_csv, **form.filters())
        if kind.names_clients:
            record(
                Action.VIEW,
                target=Client,
                clients=shown.clients,
                detail=f"report: {kind.title.lower()}{' (CSV)' if as_csv else ''}",
            )
        if as_csv:
            return reports.csv_response(
                name=kind.slug, period=form.period, headers=shown.csv_headers, rows=shown.csv_rows
            )
        query = {"start": form.period.start.isoformat(), "end": form.period.end.isoformat()}
        query.update({name: value.pk for name, value in form.filters().items() if value is not None})
        csv_url = f"?{urlencode({**query, 'format': 'csv'})}"
        page_url = f"?{urlencode(query)}&page="
    page_numbers = []
    if shown is not None and shown.page is not None and shown.page.paginator.num_pages > 1:
        page_numbers = list(shown.page.paginator.get_elided_page_range(shown.page.number, on_each_side=2, on_ends=1))
    context = {
        **admin.site.each_context(request),
        "title": kind.title,
        "kind": kind,
        "form": form,
        "report": shown,
        "csv_url": csv_url,
        "page_url": page_url,
        "page_numbers": page_numbers,
        "ellipsis": Paginator.ELLIPSIS,
    }
    return TemplateResponse(request, "admin/reports/report.html", context)
