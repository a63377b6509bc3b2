"""Admin actions that need a few words from staff first (a reason, a group to enrol into).

The action shows a small form with the selected rows; on "Apply" it hands the cleaned data to a
callback that calls the app's service for each row.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from iop.db import CONNECTION_ERRORS, drop_broken_connection


def action_with_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    form_class: type[forms.Form],
    title: str,
    apply: Callable[[object, dict], str],
    form_kwargs: dict | None = None,
) -> HttpResponse | None:
    """Run ``apply(row, cleaned_data)`` for each selected row once the form is valid.

    ``apply`` returns a short success message, or raises ``ValidationError`` for a row the
    service refused; each refusal is reported and the other rows still go ahead.
    """
    form_kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **form_kwargs)
        if form.is_valid():
            apply_to_each(modeladmin, request, queryset, lambda row: apply(row, form.cleaned_data))
            return None
    else:
        form = form_class(**form_kwargs)
    return render_action_form(modeladmin, request, queryset, form=form, title=title)


def apply_to_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    apply: Callable[[object], str],
    *,
    summary: Callable[[int], str] | None = None,
) -> None:
    """Call the service for each row; report its success message, or its refusal, row by row
    (with ``summary``, the successes in one message: ``summary(count)``).

    Each row is the service's own transaction: done whole or not at all. A row the database did
    not take (its connection lost halfway, as in a failover) is reported as not done, and the
    rows after it go ahead on a new connection, so the report says exactly what changed."""
    succeeded = 0
    for row in queryset:
        try:
            done = apply(row)
        except ValidationError as error:
            modeladmin.message_user(request, f"{row}: {' '.join(error.messages)}", messages.ERROR)
        except CONNECTION_ERRORS:
            drop_broken_connection()
            modeladmin.message_user(
                request, f"{row}: not done, the database did not answer; nothing changed. Try it again.", messages.ERROR
            )
        else:
            succeeded += 1
            if summary is None:
                modeladmin.message_user(request, done, messages.SUCCESS)
    if summary is not None and succeeded:
        modeladmin.message_user(request, summary(succeeded), messages.SUCCESS)


def render_action_form(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, *, form: forms.Form, title: str
) -> TemplateResponse:
    """The page that asks for the action's few words, with the selected rows carried along."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
    }
    return TemplateResponse(request, "admin/action_form.html", context)
