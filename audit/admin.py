"""The audit trail in the admin: read-only, for holders of ``audit.view_auditevent`` (the
"Privacy officer" group), with a CSV export; and ``AuditedAdmin``, which records the reads of
the admin's pages that show client data."""

import csv

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone

from audit.lists import LargeListAdmin
from audit.models import AuditEvent
from audit.trail import Action, record

# A spreadsheet runs a cell that begins with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class AuditedAdmin:
    """For a ModelAdmin whose pages show client data: each changelist page and change page that
    is shown records one VIEW, with the clients on it, in one INSERT.

    ``audit_clients(obj)`` says which clients a row concerns; list pages fetch what it needs
    with ``list_select_related`` (or a prefetch in ``get_queryset``), or say which clients all
    of their rows concern at once (``audit_clients_of_list``). A model whose list names
    no client (sessions, groups) sets ``audit_changelist = False``: only its change page, which
    does, is recorded. ``audit_detail(request)`` adds what the privacy officer should know about
    what was shown (e.g. whether note text was on the page)."""

    audit_changelist = True

    def audit_clients(self, obj) -> list[int]:
        raise NotImplementedError

    def audit_clients_of_list(self, rows: list) -> list[int]:
        """The clients a list page's rows concern: ``audit_clients`` of each row, unless a model
        whose rows each concern many clients asks the database for them all at once."""
        return [client for row in rows for client in self.audit_clients(row)]

    def audit_detail(self, request) -> str:
        return ""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl") if response.status_code == 200 else None
        if changelist is not None and self.audit_changelist:
            rows = list(changelist.result_list)
            detail = f"list of {len(rows)} {self.model._meta.verbose_name_plural}"
            extra = self.audit_detail(request)
            record(
                Action.VIEW,
                target=self.model,
                clients=self.audit_clients_of_list(rows),
                detail=f"{detail}; {extra}" if extra else detail,
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        original = getattr(response, "context_data", {}).get("original") if response.status_code == 200 else None
        if original is not None:
            record(
                Action.VIEW, target=original, clients=self.audit_clients(original), detail=self.audit_detail(request)
            )
        return response


class ClientIdFilter(admin.SimpleListFilter):
    """Filter by a client's id: the "who has looked at this record" link of a client's page."""

    title = "client"
    parameter_name = "client_id"

    def lookups(self, request, model_admin):
        value = self.value()
        return [(value, f"Client #{value}")] if value else []

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isascii() and value.isdigit() and len(value) < 19:
            return queryset.about_client(int(value))
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(LargeListAdmin):
    # The request's id is on each event's page and found by search ("=<id>"): without its column
    # the list fits a 1280-pixel screen.
    list_display = ["at", "username", "role", "action", "model", "object_id", "client_id", "ip"]
    list_filter = [ClientIdFilter, "action", "role", ("at", admin.DateFieldListFilter)]
    search_fields = ["username", "=object_id", "=request_id", "detail"]
    # Counting a long trail on every page is slow: the count stops at a bound (LargeListAdmin),
    # and the date is a filter, not a date hierarchy (which scans the whole trail for its months).
    actions = ["export_csv"]
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        events = list(queryset.order_by("id"))
        record(
            Action.EXPORT,
            target=AuditEvent,
            clients=[event.client_id for event in events],
            detail=f"{len(events)} audit events",
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
        writer = csv.writer(response)
        columns = [field.name for field in AuditEvent._meta.fields]
        writer.writerow(columns)
        for event in events:
            writer.writerow([spreadsheet_safe(getattr(event, column)) for column in columns])
        return response
