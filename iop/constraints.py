"""Constraint errors on the field they are about.

Django reports a violated constraint with its own message as an error of the whole form; staff
look for it on the field they typed. A model lists, by ``violation_error_code``, the field each
of its constraints belongs to, and ``full_clean`` (so every ModelForm and admin page) shows it
there."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


class ConstraintErrorsOnFields:
    """Mixin for models: ``constraint_error_fields`` maps a violation_error_code to a field."""

    constraint_error_fields: dict[str, str] = {}

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as error:
            errors = dict(error.error_dict)
            for item in errors.pop(NON_FIELD_ERRORS, []):
                field = self.constraint_error_fields.get(item.code, NON_FIELD_ERRORS)
                errors.setdefault(field, []).append(item)
            raise ValidationError(errors) from error
