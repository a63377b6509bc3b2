"""Admin lists of tables that grow by the hundred thousand (sessions, attendance, notes,
reminders): counted only up to a bound, never as a whole.

Django's changelist counts every row the filters match to number the pages, and once more
without the filters to say "of N"; over a million attendance rows each count costs more than
the page itself. Here the count stops at ``COUNT_LIMIT`` (the list says "more than" then), and the
unfiltered total is not counted (``show_full_result_count``)."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        # The order does not change how many rows there are; without it no sort is needed.
        return self.object_list.order_by()[: COUNT_LIMIT + 1].count()

    @property
    def counted_all(self) -> bool:
        return self.count <= COUNT_LIMIT


class LargeListAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
