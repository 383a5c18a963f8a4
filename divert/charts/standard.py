"""The chart standard (docs/charts.md) in code: the axis and legend pieces every builder in
divert.charts.build uses, and `problems(spec)`, the rules a program can check on a Vega-Lite
specification: temporal axes show the year and never repeat a tick label, share axes are
percentages, no label is cut short or dropped, no category label is turned on its side, every
legend has a declared order, every chart has a text description, partial periods are marked and
the future is never drawn as zero, labelled bars are all labelled, and small multiples are big
enough to read (the edge rules are in divert.charts.edges)."""

from __future__ import annotations

import json
import math
import re
import textwrap
from datetime import date

import altair as alt
import polars as pl

# d3 time formats: every date label carries its year
DATE_FORMATS = {"1y": "%Y", "6mo": "%b %Y", "3mo": "%b %Y", "1mo": "%b %Y", "1w": "%-d %b %Y", "1d": "%-d %b %Y"}
SHARE_FORMAT = ".0%"
SHARE_TOOLTIP = ".1%"
CHAR_PX = 7.0  # a generous average width of a character in the 11-12 px labels Vega draws
LABEL_PAD = 12
# figures that are shares (0 to 1) by their column name; rate_per_1000 and the like are not
SHARE_FIELD = re.compile(r"(^|_)(share|shares|seat_use|seats_filled|coverage|attendance|find_rate|agreement|"
                         r"still_without_offence)(_|$)|^rate(_low|_high)?$")


# the calendar unit of a period's ticks, and the least number of them between two ticks
TICK_UNIT = {"1y": ("year", 1), "6mo": ("month", 6), "3mo": ("month", 3), "1mo": ("month", 1), "1w": ("week", 1),
             "1d": ("day", 1)}
NICE_STEPS = {"month": (1, 2, 3, 6, 12), "week": (1, 2, 4, 8, 13, 26), "day": (1, 2, 7, 14), "year": (1, 2, 5, 10)}
MAX_TICKS = 7  # date labels a full-width chart has room for


def tick_count(every: str | None = "1mo", span: tuple[date, date] | None = None) -> dict:
    """Ticks on whole periods (`every`), never more than MAX_TICKS over `span` (first, last
    date): each label names a different period, so none is printed twice."""
    unit, least = TICK_UNIT.get(every or "1mo", ("month", 1))
    if span is None or span[0] is None or span[1] is None:
        return {"interval": unit, "step": least}
    first, last = span
    days = (last - first).days
    count = {"year": last.year - first.year, "month": (last.year - first.year) * 12 + last.month - first.month,
             "week": days // 7, "day": days}[unit] + 1
    step = max(least, math.ceil(count / MAX_TICKS))
    if unit == "month" and step > 12:
        return {"interval": "year", "step": _nice(math.ceil(step / 12), "year")}
    return {"interval": unit, "step": _nice(step, unit)}


def _nice(step: int, unit: str) -> int:
    return next((n for n in NICE_STEPS[unit] if n >= step), step)


def date_axis(every: str | None = "1mo", title: str | None = None, span: tuple[date, date] | None = None) -> alt.Axis:
    """A time axis whose every label has the year ("Oct 2025", "6 Oct 2025"), its ticks on whole
    periods spread over `span` so that no label repeats. A label that would pass the end of the
    axis (and be cut off at the chart's edge) is left out."""
    return alt.Axis(format=DATE_FORMATS.get(every or "1mo", "%b %Y"), labelOverlap="greedy", labelSeparation=10,
                    labelAngle=0, labelFlush=True, labelBound=True, tickCount=tick_count(every, span),
                    title=title if title is not None else alt.Undefined)


def describe(kind: str, y_title: str, x_title: str = "", *, by: str | None = None, series=None, span=None,
             every: str | None = None) -> str:
    """A one-sentence text alternative for a chart (Vega-Lite `description`): what it draws,
    of what, over when, and for which series."""
    what = f"{kind} of {y_title or 'values'}"
    what += f" by {x_title.lower()}" if x_title else ""
    if span and span[0] is not None and span[1] is not None:
        fmt = DATE_FORMATS.get(every or "1mo", "%b %Y")
        what += f" from {span[0].strftime(fmt)} to {span[1].strftime(fmt)}"
    names = [str(v) for v in (series or []) if v is not None]
    if names:
        listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        what += f", {'one ' + by.lower() + ' each' if by else 'series'}: {listed}"
    return what + "."


def share_axis(title: str | None = None, **kwargs) -> alt.Axis:
    return alt.Axis(format=SHARE_FORMAT, title=title if title is not None else alt.Undefined, **kwargs)


def span_of(frame: pl.DataFrame, x: str) -> tuple[date, date] | None:
    """The first and last date of column `x` (None when it holds no dates)."""
    if x not in frame.columns or frame.schema[x] not in (pl.Date, pl.Datetime) or frame[x].drop_nulls().is_empty():
        return None
    first, last = frame[x].min(), frame[x].max()
    return (_day(first), _day(last))


def solid_and_dashed(frame: pl.DataFrame, x: str, y: str, keys: list[str]) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A series split for drawing: complete periods (provisional values blanked) for a solid
    line, and the provisional periods with their complete neighbours for a dashed one (None
    when nothing is provisional). A partial first period is dashed as well as a partial last."""
    if "provisional" not in frame.columns or not frame["provisional"].fill_null(False).any():
        return frame, None
    flag = pl.col("provisional").fill_null(False)
    near = flag | flag.shift(1).fill_null(False) | flag.shift(-1).fill_null(False)
    ordered = frame.sort([*keys, x])
    near = near.over(keys) if keys else near
    solid = ordered.with_columns(pl.when(flag).then(None).otherwise(pl.col(y)).alias(y))
    return solid, ordered.with_columns(pl.when(near).then(pl.col(y)).otherwise(None).alias(y))


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
    return alt.Axis(labelAngle=0, labelOverlap=False, title=title if title is not None else alt.Undefined,
                    **_wrapped(values), **kwargs)


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


def problems(spec: dict, datasets: dict[str, list[dict]] | None = None, *, as_of: date | None = None,
             start: date | None = None) -> list[str]:
    """What in a Vega-Lite specification breaks the chart standard. `datasets` (name -> rows)
    default to the specification's own; labels are measured from the data. `as_of` and `start`
    (the figures' as-of date and the period's first day), where given, say which periods are
    partial and which are in the future."""
    data = dict(spec.get("datasets") or {})
    data.update(datasets or {})
    found: list[str] = []
    title = spec.get("title")
    first = (spec.get("layer") or [{}])[0]  # a layer (bars + a target line) keeps its first chart's description
    if not str(spec.get("description") or first.get("description") or "").strip():
        found.append(f"{title!r}: no text description (Vega-Lite `description`)")
    views = list(_views(spec, data, _rows(spec, data)))
    for view, rows in views:
        for channel, enc in (view.get("encoding") or {}).items():
            if isinstance(enc, dict):
                found += _check(channel, enc, rows, title or view.get("title"))
        found += series_problems(view, rows, title or view.get("title"), as_of=as_of, start=start)
    found += layout_problems(spec, data)
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
        if not _ticks_whole(axis):
            out.append(f"{name}: temporal ticks finer than their labels (a label can repeat): set tickCount or values")
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
        if axis.get("labelOverlap", True) is not False:
            out.append(f"{name}: category labels may be dropped where they crowd (labelOverlap not false)")
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


UNIT_ORDER = ["millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year"]


def _ticks_whole(axis: dict) -> bool:
    """Whether a temporal axis's ticks are at least as far apart as its labels' finest unit."""
    if axis.get("values"):
        return True
    fmt = str(axis.get("format", ""))
    finest = ("day" if re.search(r"%[-_0]?[de]", fmt) else "month" if re.search(r"%[-_0]?[bBm]", fmt)
              else "year" if re.search(r"%[-_0]?[Yy]", fmt) else None)
    if finest is None:
        return True  # a labelExpr or a format this check does not read
    ticks = axis.get("tickCount")
    if not isinstance(ticks, dict) or ticks.get("interval") not in UNIT_ORDER:
        return False
    return UNIT_ORDER.index(ticks["interval"]) >= UNIT_ORDER.index(finest)


# --- the edges of a time series, labelled bars and small multiples ---------------------------------------------

MARKED_BY = ("fill", "opacity", "fillOpacity", "strokeOpacity", "strokeDash", "shape", "color", "stroke")
SERIES_MARKS = ("line", "bar", "point", "circle", "square", "trail")
PANEL_WIDTH, PANEL_HEIGHT, PANELS_A_ROW = 380, 220, 3  # at a 1400 px page


def _day(value) -> date | None:
    if isinstance(value, date):
        return value if type(value) is date else value.date()
    if isinstance(value, int | float):  # milliseconds since the epoch, as Arrow sends a timestamp
        from datetime import UTC, datetime

        return datetime.fromtimestamp(value / 1000, UTC).date()
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _mark(view: dict) -> dict:
    mark = view.get("mark")
    return mark if isinstance(mark, dict) else {"type": mark}


def _marks_provisional(view: dict) -> bool:
    """Whether the view draws provisional rows differently: a dashed or pale mark, or a channel
    that reads the `provisional` field (a condition or a field)."""
    mark = _mark(view)
    if mark.get("strokeDash") or (mark.get("type") in ("point", "circle", "square") and mark.get("filled") is False
                                  and "fill" in (view.get("encoding") or {})):
        return True
    encoding = view.get("encoding") or {}
    return any("provisional" in json.dumps(encoding.get(channel)) for channel in MARKED_BY if channel in encoding)


def _period_days(days: list[date]) -> int:
    distinct = sorted(set(days))
    gaps = sorted((b - a).days for a, b in zip(distinct, distinct[1:], strict=False))
    return gaps[len(gaps) // 2] if gaps else 31


def _period_end(first: date, length: int) -> date:
    """The last day of the period starting `first` that is `length` days long (about)."""
    from datetime import timedelta

    if length >= 28:
        months = 12 if length >= 300 else 6 if length >= 150 else 3 if length >= 80 else 1
        total = first.year * 12 + first.month - 1 + months
        return date(total // 12, total % 12 + 1, 1) - timedelta(days=1)
    return first + timedelta(days=length - 1)


def series_problems(view: dict, rows: list[dict], title, *, as_of: date | None = None,
                    start: date | None = None) -> list[str]:
    """A time series's edges: a partial period (provisional, or cut by `start` or `as_of`) drawn
    like the others, and a zero dated after the as-of date."""
    encoding = view.get("encoding") or {}
    mark = _mark(view).get("type")
    x, y = encoding.get("x") or {}, encoding.get("y") or {}
    if mark not in SERIES_MARKS or x.get("type") != "temporal" or y.get("type") != "quantitative" or not rows:
        return []
    xf, yf = x.get("field"), y.get("field")
    if not xf or not yf or y.get("aggregate"):
        return []
    dated = [(d, r) for r in rows if (d := _day(r.get(xf))) is not None]
    if not dated:
        return []
    length = _period_days([d for d, _ in dated])
    first = min(d for d, _ in dated)  # a series cut by the period's start begins in the period holding it
    name, out = f"{title!r} {mark} {xf}/{yf}", []
    marked = _marks_provisional(view)
    for day, row in dated:
        value = row.get(yf)
        partial = bool(row.get("provisional")) or (start is not None and day == first < start <= _period_end(
            day, length)) or (as_of is not None and day <= as_of < _period_end(day, length))
        if as_of is not None and day > as_of and value == 0 and not row.get("provisional"):
            out.append(f"{name}: the future ({day}) drawn as zero")
        if partial and value is not None and not marked:
            if "provisional" not in row:
                out.append(f"{name}: partial period {day} not flagged provisional in the data")
            else:
                out.append(f"{name}: partial period {day} drawn like a complete one")
    return out[:3]


def _units(spec: dict):
    """The unit views and layers of a chart, each with its own `layer` children flattened."""
    if "layer" in spec:
        for child in spec["layer"]:
            yield from _units(child)
    elif "mark" in spec:
        yield spec


def _bar_labels(spec: dict, data: dict) -> list[str]:
    """In a layer of bars with a text layer: every bar has its text."""
    if "layer" not in spec:
        return []
    units = list(_units(spec))
    bars = [u for u in units if _mark(u).get("type") == "bar"]
    texts = [u for u in units if _mark(u).get("type") == "text" and "text" in (u.get("encoding") or {})]
    out = []
    for bar in bars:
        place = bar.get("encoding") or {}
        cat = next((place[c].get("field") for c in POSITION if (place.get(c) or {}).get("type") in ("nominal", "ordinal")),
                   None)
        value = next((place[c].get("field") for c in POSITION if (place.get(c) or {}).get("type") == "quantitative"), None)
        on_bars = [t for t in texts if any((t["encoding"].get(c) or {}).get("field") == cat for c in POSITION)]
        if not cat or not on_bars:
            continue
        drawn = {str(r.get(cat)) for r in _rows(bar, data, _rows(spec, data))
                 if r.get(cat) is not None and r.get(value) is not None}
        labelled = set()
        for text in on_bars:
            field = (text["encoding"].get("text") or {}).get("field")
            labelled |= {str(r.get(cat)) for r in _rows(text, data, _rows(spec, data)) if r.get(field) is not None}
        missing = sorted(drawn - labelled)
        if missing:
            out.append(f"{spec.get('title')!r}: {len(missing)} bars without their label ({', '.join(missing[:3])})")
    return out


def layout_problems(spec: dict, data: dict) -> list[str]:
    """Labelled bars all labelled; small multiples (a concatenation or facet of panels) at least
    PANEL_WIDTH x PANEL_HEIGHT, at most PANELS_A_ROW a row, titles whole, and on their own y
    scales where the builder says the shapes matter (usermeta {"scales": "own"})."""
    out = _bar_labels(spec, data)
    for key in ("hconcat", "vconcat", "concat"):
        for child in spec.get(key) or []:
            out += _bar_labels(child, data)
    panels = spec.get("concat") or spec.get("hconcat") or ([spec["spec"]] if "facet" in spec else [])
    if not panels:
        return out
    name = f"{spec.get('title')!r} small multiples"
    columns = spec.get("columns") or (len(panels) if "hconcat" in spec else 1 if "vconcat" in spec else 3)
    if min(columns, len(panels)) > PANELS_A_ROW:
        out.append(f"{name}: {columns} panels a row (at most {PANELS_A_ROW})")
    for panel in panels:
        width, height = panel.get("width"), panel.get("height")
        if not isinstance(width, int | float) or width < PANEL_WIDTH:
            out.append(f"{name}: a panel {width} px wide (at least {PANEL_WIDTH})")
        if isinstance(height, int | float) and height < PANEL_HEIGHT:
            out.append(f"{name}: a panel {height} px high (at least {PANEL_HEIGHT})")
        title = panel.get("title")
        text = title.get("text") if isinstance(title, dict) else title
        if text and isinstance(width, int | float) and len(str(text)) * CHAR_PX * 1.2 > width:
            out.append(f"{name}: panel title {text!r} longer than its panel")
    if "facet" in spec:
        header = (spec.get("facet") or {}).get("header") or {}
        if header.get("labelLimit", 0) and header["labelLimit"] < PANEL_WIDTH:
            out.append(f"{name}: panel headers cut at {header['labelLimit']} px")
    own = (spec.get("usermeta") or {}).get("scales") == "own"
    if own and ((spec.get("resolve") or {}).get("scale") or {}).get("y") != "independent":
        out.append(f"{name}: panels whose shapes matter share one y scale")
    return out
