"""iop.html.escaped: what every page drawn in Python escapes with, the same as a template's
``{{ value }}``."""

import pytest
from django.template import Context, Template
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from iop.html import escaped


@pytest.mark.parametrize(
    "value",
    [
        "Anger & <b>boundaries</b>",
        "Room \"B\" 'north'",
        "",
        42,
        gettext_lazy("Today"),
        mark_safe("<em>already markup</em>"),
        None,
    ],
)
def test_escaped_writes_what_a_template_writes(value):
    assert escaped(value) == Template("{{ value }}").render(Context({"value": value}))


def test_markup_marked_safe_is_not_escaped_twice():
    assert escaped(mark_safe("&amp;")) == "&amp;"
    assert escaped("&amp;") == "&amp;amp;"
