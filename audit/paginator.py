"""A paginator for admin lists of tables that grow by the hundred thousand: it counts at most
``COUNT_LIMIT`` rows (the list then says "More than …").

Django's changelist counts every row the filters match to number the pages; over a million rows
that count costs more than the page itself. It lives here, in the lowest layer, so that the audit
trail's own list (``audit.admin``) can use it as well as every app's (``iop.admin_lists``)."""

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
