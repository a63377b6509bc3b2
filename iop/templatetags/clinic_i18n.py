"""Dates and times in the active language's own format: ``{% load clinic_i18n %}``, then
``{{ day|local_date:"day" }}`` or ``{{ session.starts_at|local_time }}`` (iop.i18n.FORMATS)."""

from django import template

from iop import i18n

register = template.Library()


@register.filter
def local_date(value, name: str = "short_date") -> str:
    return i18n.local_date(value, name)


@register.filter
def local_time(value) -> str:
    return i18n.local_time(value)
