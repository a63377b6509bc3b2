"""The clinic's dashboard, the admin's index page: what needs someone today, each line linking to
where it is fixed.

The admin site lives here, in a low layer, and the data in the apps above it; so each app
registers its own sections (``register``, from its ``AppConfig.ready``) and the site only lays
them out. A section is a function of the request: it answers None for a user whose permissions
do not reach its data (the section is then not shown at all), and otherwise a ``Section`` with at
most ``limit`` lines, the total they were taken from, and the clients it names (the page records
one read of them). Each section costs a fixed number of queries, whatever the clinic's size."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet, Window
from django.http import HttpRequest

# Lines a section shows on the dashboard; the rest are a link away ("and 12 more").
SHOWN = 8
# Lines of a section's own page, when no filtered admin list shows the same rows.
SHOWN_ON_SECTION_PAGE = 200


@dataclass(frozen=True)
class Line:
    """One row: ``text`` links to ``url`` (where it is fixed); ``cells`` are the row's other
    columns, ``links`` further (label, url) pairs, ``tone`` "warning" for what is late."""

    text: str
    url: str
    cells: tuple[str, ...] = ()
    links: tuple[tuple[str, str], ...] = ()
    tone: str = ""


@dataclass
class Section:
    name: str
    title: str
    headers: tuple[str, ...]
    lines: list[Line]
    total: int
    empty: str
    # The full, filtered list (an admin changelist); the section's own page when empty.
    more_url: str = ""
    # The clients the lines name, for the page's audit row.
    clients: list[int] = field(default_factory=list)
    # A sentence under the title: what the section counts.
    note: str = ""

    @property
    def more(self) -> int:
        return max(self.total - len(self.lines), 0)


@dataclass(frozen=True)
class Moment:
    now: datetime.datetime
    today: datetime.date


Provider = Callable[..., Section | None]

_providers: dict[str, tuple[int, Provider]] = {}


def register(name: str, order: int, provider: Provider) -> None:
    """``provider(request, *, moment, limit)`` gives the section ``name``; sections are shown by
    ``order``. Registering the same name again replaces it (``ready`` may run twice in tests)."""
    _providers[name] = (order, provider)


def section_names() -> list[str]:
    return [name for name, _ in sorted(_providers.items(), key=lambda item: item[1][0])]


def build(request: HttpRequest, *, moment: Moment, limit: int = SHOWN, only: str | None = None) -> list[Section]:
    """The sections the user may see, in order (only ``only``, when given)."""
    sections = []
    for name in section_names():
        if only is not None and name != only:
            continue
        section = _providers[name][1](request, moment=moment, limit=limit)
        if section is not None:
            sections.append(section)
    return sections


def bounded(queryset: QuerySet, limit: int) -> tuple[list, int]:
    """The first ``limit`` rows and how many there are in all, in one query: each row carries the
    count of the whole (a window over the rows the filters match, before the limit)."""
    rows = list(queryset.annotate(dashboard_total=Window(Count("pk")))[:limit])
    return rows, (rows[0].dashboard_total if rows else 0)
