"""Admin lists of tables that grow by the hundred thousand (sessions, attendance, notes,
reminders): counted only up to a bound (``audit.paginator``), never as a whole, and the unfiltered
total not counted at all (``show_full_result_count``)."""

from django.contrib import admin

from audit.paginator import BoundedCountPaginator


class LargeListAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
