from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class TolerantAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget queries the submitted value to redraw the form; a value that
    is not an id (a crafted POST) would turn a form error into a 500. Such values are dropped here
    and the field reports "Select a valid choice" as usual.

    With no value (a client without a partner, a group without a co-facilitator) there is nothing
    to look up: the widget offers only the empty choice, as Django's does after building, and
    finding empty, its query. With the value of ``signed_in`` (the signed-in user, whom a new row
    offers as its witness or as who went through an item), the option is drawn from the request's
    user, as the query would find them."""

    def __init__(self, field, admin_site, attrs=None, choices=(), using=None, signed_in=None):
        super().__init__(field, admin_site, attrs, choices, using)
        self.signed_in = signed_in

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
        empty_choice = [] if self.is_required else [self.create_option(name, "", "", False, 0)]
        if all(str(item) in self.choices.field.empty_values for item in valid):
            return [(None, empty_choice, 0)]
        user = self.signed_in
        if user is not None and field.attname == user._meta.pk.attname and [str(i) for i in valid] == [str(user.pk)]:
            label = self.choices.field.label_from_instance(user)
            option = self.create_option(name, user.pk, label, {str(user.pk)}, len(empty_choice))
            return [(None, [*empty_choice, option], 0)]
        return super().optgroups(name, valid, attr)


class TolerantAutocompleteMixin:
    """For ModelAdmin and inline classes whose ``autocomplete_fields`` should never 500."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            signed_in = request.user if db_field.remote_field.model is get_user_model() else None
            kwargs["widget"] = TolerantAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using"), signed_in=signed_in
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
