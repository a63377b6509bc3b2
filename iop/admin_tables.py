"""Read-only tables on admin change pages, in place of read-only inlines.

A read-only inline still draws a form for each row (a hidden id, the formset's management form,
the admin's display helpers for every cell): on a group's page with twelve members and a
waitlist, or a note's page with a part per member, that was a third of the page's time. A
``table`` shows the same rows, with the same links, drawn in one pass."""

from collections.abc import Callable, Iterable, Sequence

from django.contrib.admin.utils import quote
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from iop.links import urls_of

EMPTY = "—"


def change_urls(url_name: str, *, current_app: str | None = None) -> Callable[[object], str]:
    """The admin change page of any row, by its primary key, from one ``reverse()``
    (``iop.links``): a table or a list links each of its rows."""
    return urls_of(url_name, current_app=current_app, quote=quote)


def table(*, headers: Sequence[str], rows: Iterable[Sequence], empty: str) -> SafeString:
    """A table of ``rows`` (each a sequence of cells, escaped unless already safe) under
    ``headers``; ``empty`` says what a table with no rows means."""
    cells = (
        (format_html_join("", "<td>{}</td>", ((EMPTY if cell in (None, "") else cell,) for cell in row)),)
        for row in rows
    )
    body = format_html_join("", "<tr>{}</tr>", cells) or format_html(
        '<tr><td colspan="{}">{}</td></tr>', len(headers), empty
    )
    return format_html(
        '<table class="readonly-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        format_html_join("", '<th scope="col">{}</th>', ((header,) for header in headers)),
        body,
    )
