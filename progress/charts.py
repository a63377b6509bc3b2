"""The progress pages' charts: SVG drawn on the server by pygal, inserted inline in the page.

Each function takes plain data (lists of (date, value)) and returns the SVG markup. No script:
pygal's tooltips are left out, and so is its inline <style> (the site's Content-Security-Policy
allows styles from the app's own files only): static/css/charts.css colours the charts by the
classes pygal writes. Each SVG has role="img" with a <title> and <desc> it is labelled by, and
the page puts a data table beside it, which is what a screen reader and a printout read.
"""

import datetime
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import pygal
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from iop.i18n import local_date
from progress import measures

SVG_NS = "http://www.w3.org/2000/svg"
NO_DATA = gettext_lazy("No data yet")


@dataclass(frozen=True)
class Size:
    """The drawing's own units (the SVG scales to the page's width, its text with it), and the
    number of weeks up to which every week is labelled (beyond, one every four weeks)."""

    width: int
    height: int
    all_labels_up_to: int


# The therapist's page, on a desk; the client's, on a phone (fewer units: larger text once scaled).
WIDE = Size(width=720, height=300, all_labels_up_to=12)
NARROW = Size(width=400, height=300, all_labels_up_to=6)
# A dot on every point up to this many weeks (half a year); beyond, the lines alone: pygal's
# dots cost two thirds of a long chart's drawing, and the table beside it gives every value.
DOTS_UP_TO = 26

Point = tuple[datetime.date, float | int | None]

_ids = itertools.count(1)


def week_label(day: datetime.date) -> str:
    return local_date(day, "chart_day")


class _WithoutTooltips:
    """pygal writes, for each bar and dot, the <desc> elements its script reads to show a tooltip;
    with no script they are only weight (a third of a year's bar chart). pygal 3.1 (pinned) names
    the two steps that write them; the table beside each chart gives every value."""

    def _tooltip_data(self, *args, **kwargs) -> None:
        pass

    def _tooltip_and_print_values(self, *args, **kwargs) -> None:
        pass


class _Bar(_WithoutTooltips, pygal.Bar):
    pass


class _Line(_WithoutTooltips, pygal.Line):
    pass


class _StackedBar(_WithoutTooltips, pygal.StackedBar):
    pass


def _config(size: Size, **options) -> dict:
    return {
        "js": [],
        "css": [],
        "disable_xml_declaration": True,
        "width": size.width,
        "height": size.height,
        "explicit_size": False,
        "no_data_text": str(NO_DATA),
        "tooltip_border_radius": 0,
        "show_legend": False,
        "print_values": False,
        "dots_size": 3,
        "x_label_rotation": 0,
        "truncate_label": -1,
        "margin": 12,
        **options,
    }


def _svg(chart: pygal.graph.graph.Graph, *, title: str, description: str, css_class: str) -> SafeString:
    """pygal's drawing without its script, inline style and tooltips, with an accessible name."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = chart.render_tree()
    for child in list(tree):
        # pygal's own comments (they carry the day it drew) and title (ours replaces it).
        if child.tag is ET.Comment or str(child.tag).endswith("title"):
            tree.remove(child)
    for parent in list(tree.iter()):
        for child in list(parent):
            tag = str(child.tag).rsplit("}", 1)[-1]
            if tag in ("script", "style") or "tooltip" in child.get("class", "").split():
                parent.remove(child)
            elif tag == "desc":
                # pygal's per-point <desc> are its tooltips' data; the table says the same.
                parent.remove(child)
        parent.attrib.pop("style", None)
    number = next(_ids)
    tree.set("id", f"chart-{number}")
    tree.set("class", f"pygal-chart progress-chart {css_class}")
    tree.set("role", "img")
    tree.set("aria-labelledby", f"chart-{number}-title chart-{number}-desc")
    title_el = ET.Element("title", {"id": f"chart-{number}-title"})
    title_el.text = str(title)
    desc_el = ET.Element("desc", {"id": f"chart-{number}-desc"})
    desc_el.text = str(description)
    tree.insert(0, desc_el)
    tree.insert(0, title_el)
    # pygal's output, and the escaped text of the two elements above: nothing else is marked safe.
    return mark_safe(ET.tostring(tree, encoding="unicode"))


def _labels(days: Sequence[datetime.date], size: Size) -> tuple[list[str], list[str]]:
    """The x labels, and those drawn (all for a short stay; every fourth week for a long one)."""
    labels = [week_label(day) for day in days]
    if len(labels) <= size.all_labels_up_to:
        return labels, labels
    return labels, labels[::4]


def weekly_hours(weeks: Sequence[Point], *, minimum: float, size: Size = WIDE) -> SafeString:
    """Hours attended each week (bars) against the level of care's minimum (a solid guide line)."""
    top = max([minimum, *(hours or 0 for _, hours in weeks)])
    top = int(top) + 2
    labels, major = _labels([day for day, _ in weeks], size)
    chart = _Bar(
        **_config(
            size,
            title=gettext("Hours attended per week"),
            range=(0, top),
            # pygal cannot place labels on an empty chart.
            y_labels=sorted({0, minimum, *range(0, top + 1, 3)}) if weeks else None,
            y_labels_major=[minimum] if weeks else None,
            show_minor_x_labels=len(labels) <= size.all_labels_up_to,
            x_labels_major=major,
            y_title=gettext("hours"),
        )
    )
    chart.x_labels = labels
    if weeks:
        chart.add(gettext("Hours attended"), [hours for _, hours in weeks])
    below = sum(1 for _, hours in weeks if (hours or 0) < minimum)
    description = (
        gettext("%(weeks)s weeks; the minimum is %(minimum)s hours a week; %(below)s weeks below it.")
        % {"weeks": len(weeks), "minimum": f"{minimum:g}", "below": below}
        if weeks
        else str(NO_DATA)
    )
    return _svg(chart, title=gettext("Hours attended per week"), description=description, css_class="chart-hours")


def _line(
    series: dict[str, Sequence[Point]],
    *,
    title: str,
    description: str,
    top: int,
    y_labels: Sequence[int],
    major: Sequence[int] = (),
    css_class: str,
    size: Size,
) -> SafeString:
    days = sorted({day for points in series.values() for day, _ in points})
    labels, major_x = _labels(days, size)
    position = {day: index for index, day in enumerate(days)}
    chart = _Line(
        **_config(
            size,
            title=title,
            range=(0, top),
            y_labels=list(y_labels) if days else None,
            y_labels_major=list(major) if days else None,
            show_minor_x_labels=len(labels) <= size.all_labels_up_to,
            x_labels_major=major_x,
            show_legend=len(series) > 1,
            legend_at_bottom=True,
            show_dots=len(days) <= DOTS_UP_TO,
            # A week without a value (a group not attended) is passed over, not a break in the line.
            allow_interruptions=False,
        )
    )
    chart.x_labels = [str(label) for label in labels]
    for name, points in series.items():
        values: list[float | None] = [None] * len(days)
        for day, value in points:
            values[position[day]] = value
        if points:
            chart.add(str(name), values)
    return _svg(chart, title=title, description=description if days else str(NO_DATA), css_class=css_class)


def measure(code: str, points: Sequence[Point], *, size: Size = WIDE) -> SafeString:
    """A questionnaire's totals over time, with the severity bands' lower bounds as guide lines."""
    form = measures.instrument(code)
    cut_offs = [lowest for lowest, _ in form.bands[1:]]
    bands = ", ".join(
        gettext("%(band)s from %(lowest)s") % {"band": label, "lowest": lowest} for lowest, label in form.bands
    )
    return _line(
        {form.name: points},
        title=gettext("%(name)s total") % {"name": form.name},
        description=gettext("%(count)s responses, 0 to %(top)s; bands: %(bands)s.")
        % {"count": len(points), "top": form.max_total, "bands": bands},
        top=form.max_total,
        y_labels=[0, *cut_offs, form.max_total],
        major=cut_offs,
        css_class=f"chart-{code}",
        size=size,
    )


def check_ins(series: dict[str, Sequence[Point]], *, size: Size = WIDE) -> SafeString:
    """The weekly check-in's answers (mood, coping and cravings, 0-10), one line each."""
    count = max((len(points) for points in series.values()), default=0)
    return _line(
        series,
        title=gettext("Weekly check-ins"),
        description=gettext("%(count)s weeks of %(scales)s, each 0 to 10.")
        % {"count": count, "scales": ", ".join(series).lower()},
        top=10,
        y_labels=range(0, 11, 2),
        css_class="chart-check-ins",
        size=size,
    )


def participation(series: dict[str, Sequence[Point]], *, size: Size = WIDE) -> SafeString:
    """The mean participation level (0-4) per week, one line per group."""
    count = len({day for points in series.values() for day, _ in points})
    return _line(
        series,
        title="Participation per week",
        description=f"{count} weeks in {len(series)} groups; 0 = did not take part, 4 = dominated the discussion.",
        top=4,
        y_labels=range(0, 5),
        css_class="chart-participation",
        size=size,
    )


# --- The clinic's reports (admin) -----------------------------------------------------------


def _axis_top(values: Sequence[float | int | None]) -> int:
    highest = max((value for value in values if value is not None), default=0)
    return max(int(highest) + 1, 1)


def report_bars(
    labels: Sequence[str],
    series: dict[str, Sequence[float | int | None]],
    *,
    title: str,
    description: str,
    y_title: str,
    top: int | None = None,
    stacked: bool = False,
    size: Size = WIDE,
) -> SafeString:
    """Bars for each label (a group, a month, a week, a level of care), one colour per series; the
    report's table beside it gives every value."""
    # Labels may be lazy translations (a level of care, a group kind): pygal wants plain text.
    labels = [str(label) for label in labels]
    if top is None:
        if stacked:
            totals = [sum(values[i] or 0 for values in series.values()) for i in range(len(labels))]
            top = _axis_top(totals)
        else:
            top = _axis_top([value for values in series.values() for value in values])
    step = max(1, -(-top // 5))
    chart = (_StackedBar if stacked else _Bar)(
        **_config(
            size,
            title=title,
            range=(0, top),
            y_labels=list(range(0, top + 1, step)) if labels else None,
            show_legend=len(series) > 1,
            legend_at_bottom=True,
            show_minor_x_labels=len(labels) <= size.all_labels_up_to,
            x_labels_major=labels[::4] if len(labels) > size.all_labels_up_to else labels,
            y_title=str(y_title) if y_title else y_title,
        )
    )
    chart.x_labels = labels
    if labels:
        for name, values in series.items():
            chart.add(str(name), list(values))
    return _svg(chart, title=title, description=description if labels else NO_DATA, css_class="chart-report")


def report_lines(series: dict[str, Sequence[Point]], *, title: str, description: str, size: Size = WIDE) -> SafeString:
    """A count over weeks, one line per series (the census by level of care)."""
    top = _axis_top([value for points in series.values() for _, value in points])
    step = max(1, -(-top // 5))
    return _line(
        series,
        title=title,
        description=description,
        top=top,
        y_labels=range(0, top + 1, step),
        css_class="chart-report",
        size=size,
    )
