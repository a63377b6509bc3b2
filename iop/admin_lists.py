"""The project's admin pages (``audit.lists``), with each list row's link written once for the
page and the change pages' forms drawn in Python.

Every app's admin list uses ``ListAdmin`` or ``LargeListAdmin`` from here; ``audit.lists`` holds
what they are built on (50 rows a page, the bounded count), in the lowest layer for the audit
trail's own list."""

from collections.abc import Callable

from django.contrib.admin.views.main import ChangeList
from django.utils.functional import cached_property

from audit import lists
from iop.admin_tables import change_urls
from iop.forms import drawn_in_python


class RowLinksChangeList(ChangeList):
    """Each row's link to its change page from one ``reverse`` for the page, not one per row.

    The link carries the list's filters and search (``_changelist_filters``: saving the change
    page leads back to the same list). Django adds them to each link with
    ``add_preserved_filters``, which resolves the link against every URL of the site to learn
    whether it points at the list itself; a change page never does. On a filtered list of 50
    rows those resolves were the largest part of drawing it. Here the filters are appended to the
    link directly, and the list's own ``preserved_filters`` is left empty so that Django adds
    nothing more: the links are the ones Django writes."""

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.row_link_filters = self.preserved_filters
        self.preserved_filters = ""

    @cached_property
    def change_url(self) -> Callable[[object], str]:
        return change_urls(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change", current_app=self.model_admin.admin_site.name
        )

    def url_for_result(self, result) -> str:
        url = self.change_url(getattr(result, self.pk_attname))
        return f"{url}?{self.row_link_filters}" if self.row_link_filters else url


class RowLinksMixin:
    def get_changelist(self, request, **kwargs):
        return RowLinksChangeList


class DrawnFormsMixin:
    """The change page's form and its inlines' forms drawn in Python (``iop.forms.DrawnField``:
    the HTML of Django's widget templates, without the template engine), and their empty error
    lists written as nothing. A group's page drew some seventy controls and sixty empty error
    lists through templates: most of its time. The admin makes these classes for each page."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        return drawn_in_python(super().get_form(request, obj, change=change, **kwargs))

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            drawn_in_python(formset.form)
            yield type(formset.__name__, (EmptyFormOnce, formset), {}), inline


class EmptyFormOnce:
    """A formset whose empty form (the row that "Add another" copies) is made once. Django makes a
    new one each time it is asked for: the inline's rows, its column headings, its media, whether
    it uploads files and the prepopulated fields' script each ask, and each time every field of
    the form is deep-copied (for the client's page, ten empty forms and some 760 copies)."""

    @cached_property
    def empty_form(self):
        return super().empty_form


class ListAdmin(RowLinksMixin, DrawnFormsMixin, lists.ListAdmin):
    pass


class LargeListAdmin(RowLinksMixin, DrawnFormsMixin, lists.LargeListAdmin):
    pass
