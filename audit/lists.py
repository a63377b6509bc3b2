"""Admin lists that stay fast at the size of a program of 800 groups: the base of the project's
admin lists, and of the lists of tables that grow by the hundred thousand (sessions, attendance,
notes, reminders, the audit trail).

At that size a list's page costs more to draw than to find: each row's cells go through the
admin's display helpers, and each row's action checkbox through the form renderer's templates.
``ListAdmin`` draws 50 rows a page, and the checkbox directly. ``LargeListAdmin`` also counts
only up to ``COUNT_LIMIT`` rows (the list then says "More than …") and does not count the
unfiltered total at all (``show_full_result_count``): Django counts every row the filters match
to number the pages, and over a million rows that count costs more than the page itself.

They live here, in the lowest layer, so that the audit trail's own list (``audit.admin``) uses
them as well as every app's."""

from django.contrib import admin
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

# Twenty pages of 50: past them staff narrow the list with a filter or a search. Counting 10,000
# notes, each joined to its session, took a sixth of the page.
COUNT_LIMIT = 1_000


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        # The order does not change how many rows there are; without it no sort is needed.
        return self.object_list.order_by()[: COUNT_LIMIT + 1].count()

    @property
    def counted_all(self) -> bool:
        return self.count <= COUNT_LIMIT


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
