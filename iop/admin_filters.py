"""A list filter that searches as you type instead of listing every choice.

A clinic of 800 groups and a few hundred therapists would render (and query) every one of them
as a link in the sidebar of each list; this filter renders one select that asks Django's admin
autocomplete view (``ClinicAdminSite.autocomplete_view``) for the rows matching what is typed,
and submits with the list's other parameters kept. Only the chosen row is read to draw it.

The related model's admin needs ``search_fields`` (the autocomplete view answers 404 without)."""

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import ValidationError

from iop.admin_widgets import BIGINT_MAX, BIGINT_MIN, TolerantAutocompleteSelect


class AutocompleteFilter(admin.RelatedFieldListFilter):
    template = "admin/filter_autocomplete.html"

    def field_choices(self, field, request, model_admin):
        chosen = self._chosen_pk()
        if chosen is None:
            return []
        return [(row.pk, str(row)) for row in self._related_queryset(field).filter(pk=chosen)]

    def _chosen_pk(self):
        value = self.lookup_val[-1] if isinstance(self.lookup_val, list) else self.lookup_val
        if value in (None, ""):
            return None
        try:
            parsed = self.field.target_field.to_python(value)
        except ValidationError:
            return None
        if isinstance(parsed, int) and not BIGINT_MIN <= parsed <= BIGINT_MAX:
            return None
        return parsed

    def _related_queryset(self, field):
        return field.related_model._default_manager.all()

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        # An emptied select submits "": the whole list, as "All" does (and so does a value that
        # is no id: nothing to filter by, rather than an error page).
        chosen = self._chosen_pk()
        return queryset if chosen is None else queryset.filter(**{self.lookup_kwarg: chosen})

    def choices(self, changelist):
        field = forms.ModelChoiceField(
            queryset=self._related_queryset(self.field),
            required=False,
            label=f"Find a {self.title}",
            widget=TolerantAutocompleteSelect(self.field, self.model_admin_site),
        )
        form = forms.Form(data={self.lookup_kwarg: self._chosen_pk() or ""})
        form.fields[self.lookup_kwarg] = field
        kept = {self.lookup_kwarg, self.lookup_kwarg_isnull, PAGE_VAR}
        yield {
            "selected": self._chosen_pk() is not None,
            "field": form[self.lookup_kwarg],
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name not in kept
                for value in values
            ],
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull]),
            "display": "All",
        }

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.model_admin_site = model_admin.admin_site
        super().__init__(field, request, params, model, model_admin, field_path)


class AutocompleteFilterMixin:
    """For a ModelAdmin with an ``AutocompleteFilter``: its list page loads the autocomplete's
    scripts and styles (the admin's own select2, no CDN)."""

    @property
    def media(self):
        media = super().media
        for spec in self.list_filter:
            if isinstance(spec, tuple) and issubclass(spec[1], AutocompleteFilter):
                field = get_fields_from_path(self.model, spec[0])[-1]
                return media + TolerantAutocompleteSelect(field, self.admin_site).media
        return media
