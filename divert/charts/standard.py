"""The chart standard (docs/charts.md) in code: the axis and legend pieces every builder in
divert.charts.build uses, and `problems(spec)`, the rules a program can check on a Vega-Lite
specification: temporal axes show the year, share axes are percentages, no label is cut short,
no category label is turned on its side, and every legend has a declared order."""

from __future__ import annotations

import json
import re
import textwrap

import altair as alt

# d3 time formats: every date label carries its year
DATE_FORMATS = {"1y": "%Y", "6mo": "%b %Y", "3mo": "%b %Y", "1mo": "%b %Y", "1w": "%-d %b %Y", "1d": "%-d %b %Y"}
SHARE_FORMAT = ".0%"
SHARE_TOOLTIP = ".1%"
CHAR_PX = 7.0  # a generous average width of a character in the 11-12 px labels Vega draws
LABEL_PAD = 12
# figures that are shares (0 to 1) by their column name; rate_per_1000 and the like are not
SHARE_FIELD = re.compile(r"(^|_)(share|shares|seat_use|seats_filled|coverage|attendance|find_rate|agreement|"
                         r"still_without_offence)(_|$)|^rate(_low|_high)?$")


def date_axis(every: str | None = "1mo", title: str | None = None) -> alt.Axis:
    """A time axis whose every label has the year ("Oct 2025", "6 Oct 2025")."""
    return alt.Axis(format=DATE_FORMATS.get(every or "1mo", "%b %Y"), labelOverlap="greedy", labelSeparation=10,
                    labelAngle=0, labelFlush=True, title=title if title is not None else alt.Undefined)


def share_axis(title: str | None = None, **kwargs) -> alt.Axis:
    return alt.Axis(format=SHARE_FORMAT, title=title if title is not None else alt.Undefined, **kwargs)


WRAP = 26  # characters a line: a longer label is broken into lines, never cut


def lines(value) -> list[str]:
    return textwrap.wrap(str(value), WRAP) or [""]


def label_width(values) -> int:
    """Pixels the longest line of `values` needs as a label (never below 40)."""
    longest = max((len(line) for v in values if v is not None for line in lines(v)), default=0)
    return int(max(40, longest * CHAR_PX + LABEL_PAD))


def _wrapped(values) -> dict:
    """labelExpr and labelLimit that break long labels into lines (Vega draws a list as lines)."""
    long = {str(v): lines(v) for v in dict.fromkeys(values) if v is not None and len(str(v)) > WRAP}
    out = {"labelLimit": label_width(values)}
    if long:
        out["labelExpr"] = f"{json.dumps(long)}[datum.label] || datum.label"
    return out


def category_axis(values, title: str | None = None, **kwargs) -> alt.Axis:
    """An axis of categories: labels level and never cut short (long ones on two lines)."""
    return alt.Axis(labelAngle=0, title=title if title is not None else alt.Undefined, **_wrapped(values), **kwargs)


def legend_columns(values) -> int:
    values = [v for v in values if v is not None]
    total = sum(min(len(str(v)), WRAP) + 4 for v in values)
    long = any(len(str(v)) > 18 for v in values)
    return max(1, len(values) if total <= 48 else 1 if long else 2)


def legend_height(values) -> int:
    """Pixels a legend above the chart takes, so that the chart can grow by as much and keep
    its plotting area (Streamlit fits the whole chart, legend included, into its height)."""
    values = [v for v in values if v is not None]
    if not values:
        return 0
    columns = legend_columns(values)
    rows = -(-len(values) // columns)
    return rows * max(len(lines(v)) for v in values) * 16 + 24


def legend(values, title: str | None = None, columns: int | None = None) -> alt.Legend:
    """A legend above the chart, its labels never cut short (long ones on two lines), in the
    scale's domain order; one column when the labels are long, so that it fits a phone."""
    values = [v for v in values if v is not None]
    return alt.Legend(orient="top", direction="horizontal", columns=columns or legend_columns(values),
                      title=title if title else None, **_wrapped(values))


# --- checking a specification ---------------------------------------------------------------------------------

POSITION = ("x", "y")
LEGENDED = ("color", "fill", "stroke", "strokeDash", "shape", "opacity", "size")
DEFAULT_AXIS_LIMIT = 180  # Vega-Lite's default labelLimit for axes
DEFAULT_LEGEND_LIMIT = 160


def problems(spec: dict, datasets: dict[str, list[dict]] | None = None) -> list[str]:
    """What in a Vega-Lite specification breaks the chart standard. `datasets` (name -> rows)
    default to the specification's own; labels are measured from the data."""
    data = dict(spec.get("datasets") or {})
    data.update(datasets or {})
    found: list[str] = []
    for view, rows in _views(spec, data, _rows(spec, data)):
        for channel, enc in (view.get("encoding") or {}).items():
            if isinstance(enc, dict):
                found += _check(channel, enc, rows, spec.get("title") or view.get("title"))
    return sorted(set(found))


def _rows(view: dict, data: dict, inherited: list[dict] | None = None) -> list[dict]:
    source = view.get("data")
    if isinstance(source, dict):
        if "name" in source and source["name"] in data:
            return data[source["name"]]
        if "values" in source:
            return source["values"]
    return inherited or []


def _views(view: dict, data: dict, rows: list[dict]):
    """Every unit view with the rows it draws (layers, facets, concatenations, repeats)."""
    rows = _rows(view, data, rows)
    if "encoding" in view and "mark" in view:
        yield view, rows
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in view.get(key) or []:
            yield from _views(child, data, rows)
    if "spec" in view:
        yield from _views(view["spec"], data, rows)
    if view.get("layer") and "encoding" in view:  # an encoding shared by the layers
        yield {"encoding": view["encoding"], "mark": "shared"}, rows


def _check(channel: str, enc: dict, rows: list[dict], title) -> list[str]:
    field, kind = enc.get("field"), enc.get("type")
    if not field or enc.get("aggregate"):
        return []
    name = f"{title!r} {channel}={field}"
    out = []
    base = channel.rstrip("2")
    if base in POSITION and "axis" in enc and enc["axis"] is None:
        return []
    axis = enc.get("axis") or {}
    if base in POSITION and kind == "temporal" and channel == base:
        fmt = str(axis.get("format", "")) + str(axis.get("labelExpr", ""))
        if not re.search(r"%[-_0]?[Yy]|year\(", fmt):
            out.append(f"{name}: temporal axis without the year")
    if base in POSITION and kind == "quantitative" and channel == base and SHARE_FIELD.search(field):
        if "%" not in str(axis.get("format", "")):
            out.append(f"{name}: share axis not formatted as a percentage")
    values = {str(r.get(field)) for r in rows if r.get(field) is not None}
    if base in POSITION and kind in ("nominal", "ordinal") and values:
        need = _need(values, axis)
        if axis.get("labelLimit", DEFAULT_AXIS_LIMIT) < need:
            out.append(f"{name}: labels cut at {axis.get('labelLimit', DEFAULT_AXIS_LIMIT)} px, need {need:.0f}")
        if channel == "x" and axis.get("labelAngle", -90 if need > 40 else 0) != 0:
            out.append(f"{name}: category labels on their side")
    if base in LEGENDED and kind in ("nominal", "ordinal") and enc.get("legend", {}) is not None and values:
        scale = enc.get("scale") or {}
        if not scale.get("domain") and not isinstance(enc.get("sort"), list):
            out.append(f"{name}: legend without a declared order")
        legend_def = enc.get("legend") or {}
        need = _need(values, legend_def)
        if legend_def.get("labelLimit", DEFAULT_LEGEND_LIMIT) < need:
            out.append(f"{name}: legend labels cut at {legend_def.get('labelLimit', DEFAULT_LEGEND_LIMIT)} px")
    return out


def _need(values: set[str], definition: dict) -> float:
    """Pixels the longest label needs, line by line where the labelExpr breaks it into lines."""
    broken = {}
    expr = str(definition.get("labelExpr", ""))
    if expr.startswith("{") and "[datum.label]" in expr:
        try:
            broken = json.loads(expr.split("[datum.label]")[0])
        except ValueError:
            broken = {}
    return max(len(line) for v in values for line in broken.get(v, [v])) * CHAR_PX
