"""Admin lists of tables that grow by the hundred thousand (sessions, attendance, notes,
reminders): counted only up to a bound (``audit.paginator``), never as a whole, the unfiltered
total not counted at all (``show_full_result_count``), and shown 50 rows at a time."""

from django.contrib import admin

from audit.paginator import BoundedCountPaginator


class LargeListAdmin(admin.ModelAdmin):
    paginator = BoundedCountPaginator
    show_full_result_count = False
    # Drawing a row costs more than finding it once the queries are bounded: 50 rows a page.
    list_per_page = 50
