"""The base of the project's admin lists, and of the lists of tables that grow by the hundred
thousand (sessions, attendance, notes, reminders).

At the size of a program of 800 groups a list's page costs more to draw than to find: each row's
cells go through the admin's display helpers, and the action checkbox of each row through the form
renderer's templates. ``ListAdmin`` draws 50 rows a page and the checkbox directly.
``LargeListAdmin`` also counts only up to a bound (``audit.paginator``), never the whole table,
and does not count the unfiltered total at all (``show_full_result_count``)."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.utils.html import format_html
from django.utils.translation import gettext as _

from audit.paginator import BoundedCountPaginator


class ListAdmin(admin.ModelAdmin):
    list_per_page = 50

    def action_checkbox(self, obj):
        # The markup of Django's CheckboxInput, written here: rendering the widget's templates
        # once per row took a fifth of a 100-row list.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), str(obj)),
        )


class LargeListAdmin(ListAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
