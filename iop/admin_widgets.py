from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class TolerantAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget queries the submitted value to redraw the form; a value that
    is not an id (a crafted POST) would turn a form error into a 500. Such values are dropped here
    and the field reports "Select a valid choice" as usual.

    With no value (a client without a partner, a group without a co-facilitator) there is nothing
    to look up: the widget offers only the empty choice, as Django's does after building, and
    finding empty, its query."""

    def optgroups(self, name, value, attr=None):
        field = self.field.remote_field.model._meta.get_field(self.field.remote_field.field_name)
        valid = []
        for item in value:
            try:
                parsed = field.to_python(item)
            except ValidationError:
                continue
            if isinstance(parsed, int) and not BIGINT_MIN <= parsed <= BIGINT_MAX:
                continue  # no such id, and the database driver would overflow on it
            valid.append(item)
        if all(str(item) in self.choices.field.empty_values for item in valid):
            empty_choice = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
            return [(None, empty_choice, 0)]
        return super().optgroups(name, valid, attr)


class TolerantAutocompleteMixin:
    """For ModelAdmin and inline classes whose ``autocomplete_fields`` should never 500."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = TolerantAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
