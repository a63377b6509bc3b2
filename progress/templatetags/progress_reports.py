"""A report's table rows, written out in one pass: the census of a year or the attendance of
800 groups is thousands of cells, and the template's loop with a test per cell took a third of
a second to draw them (each cell is shown as the template would: localized, escaped, a dash for
a cell with nothing in it)."""

from django import template
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe

from iop.html import escaped
from progress.reports import Table

register = template.Library()


@register.simple_tag
def report_rows(table: Table) -> SafeString:
    if not table.rows:
        return mark_safe(f'<tr><td colspan="{len(table.headers)}">Nothing in this period.</td></tr>')
    # The same few counts come back thousands of times: each is localized once.
    shown: dict[tuple[type, object], str] = {}

    def cell(value) -> str:
        if value is None or value == "":
            return "—"
        key = (type(value), value)
        if key not in shown:
            shown[key] = escaped(localize(value))
        return shown[key]

    lines = []
    for row in table.rows:
        cells = [f"<td>{cell(value)}</td>" for value in row]
        if table.row_headers and row:
            cells[0] = f'<th scope="row">{escaped(localize(row[0]))}</th>'
        lines.append(f"<tr>{''.join(cells)}</tr>")
    # Every value above is escaped.
    return mark_safe("\n".join(lines))
