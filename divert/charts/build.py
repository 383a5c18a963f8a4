"""Altair chart builders: one colour-blind-safe palette (Okabe-Ito) and one standard
(docs/charts.md, checked by divert.charts.standard): dates with years, shares as percentages,
labels never cut short, direct labels or a legend in a declared order, provisional periods
marked, no line joined across a gap.

Each builder takes a polars frame (the gated one: what the role may see) and returns an Altair
chart; the page puts the title, the "what this shows" caption, the table view and the CSV and
PNG downloads around it (divert.web.dashboard.chart_block).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

from divert.charts import grid
from divert.charts.reuse import layered, reused  # noqa: F401  (layered: a + b, kept)
from divert.charts.standard import (
    DATE_FORMATS,
    SHARE_FORMAT,
    SHARE_TOOLTIP,
    category_axis,
    date_axis,
    describe,
    label_width,
    legend,
    legend_height,
    share_axis,
    solid_and_dashed,
    span_of,
)
from divert.charts.standard import lines as wrapped

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
GREY = "#7f7f7f"
CONTEXT_GREY = "#c9c9c9"
POLICY_LABEL = "Diversion starts"
DIRECT_LABELS_UP_TO = 4  # series; beyond this a legend
BANDS_UP_TO = 2  # series; beyond this intervals overlap into a blur (use compare_groups)
LABEL_PX = 14  # the least gap between two direct labels


def order_of(frame: pl.DataFrame, field: str, order=None) -> list:
    """The series in their declared order: `order` first (those present), then any others in
    the order they first appear in the frame."""
    present = [v for v in frame[field].unique(maintain_order=True).to_list() if v is not None] if field in frame.columns else []
    declared = [v for v in (order or []) if v in present]
    return declared + [v for v in present if v not in declared]


def _colours(n: int) -> list[str]:
    return PALETTE[:n] if n <= len(PALETTE) else PALETTE[:-1] + [GREY] * (n - len(PALETTE) + 1)


def _color(field: str | None, title: str | None = None, domain=None, show_legend: bool = True):
    if not field:
        return alt.value(PALETTE[0])
    domain = list(domain or [])
    scale = alt.Scale(range=_colours(len(domain)), domain=domain) if domain else alt.Scale(range=PALETTE)
    return alt.Color(f"{field}:N", scale=scale, title=title or field.replace("_", " ").capitalize(),
                     legend=legend(domain, title) if show_legend else None)


def _x_time(x: str, title: str, every: str | None, span=None) -> alt.X:
    return alt.X(f"{x}:T", title=title, axis=date_axis(every, span=span))


def _note(frame: pl.DataFrame) -> list:
    """A tooltip for the `note` column (why a period is partial), where the frame has one."""
    return [alt.Tooltip("note:N", title="Note")] if "note" in frame.columns else []


def policy_rule(day: date, every: str | None = "1mo", span=None) -> alt.Chart:
    data = pl.DataFrame({"day": [day], "label": [POLICY_LABEL]})
    x = alt.X("day:T", axis=date_axis(every, span=span))
    rule = alt.Chart(data).mark_rule(color=GREY, strokeDash=[4, 3]).encode(x=x, tooltip=[alt.Tooltip("label:N", title="")])
    text = alt.Chart(data).mark_text(align="left", dx=4, dy=-4, color=GREY, baseline="top").encode(
        x=x, y=alt.value(0), text="label:N")
    return rule + text


@reused
def line(frame: pl.DataFrame, x: str, y: str, *, y_title: str, color: str | None = None, color_title=None,
         band: tuple[str, str] | None = None, x_title: str = "", tooltip_format: str | None = None,
         policy: date | None = None, height: int = 300, x_type: str = "T", every: str | None = None,
         share: bool = False, order=None, labels: bool | None = None, y_domain: tuple[float, float] | None = None,
         rolling: int | None = None, x_format: str | None = None, steps: bool = False,
         description: str | None = None) -> alt.Chart:
    """A time series (x_type "T") or a curve ("Q"), optionally one line per `color` group in
    `order`. With few groups each line is labelled at its end (no legend); with more, a legend
    above in that order. Where the frame has a `provisional` column, those points are hollow and
    joined by a dashed line. `every` ("1mo", "1w") is the period of the points: missing periods
    become gaps, never joined, and the date labels follow it. `share` formats the y axis as
    percentages; `y_domain` fixes it (a survival curve). `rolling` draws the points faint with a
    line of the `rolling`-period average over complete periods. `steps` draws a step curve (a
    survival curve) without points. `description` is the text alternative (made from the
    titles and the series when not given)."""
    if x_type == "T" and not frame.is_empty() and frame.schema[x] == pl.Date and every is None:
        every = _guess_every(frame[x])
    if every and x_type == "T" and not frame.is_empty():
        frame = _with_gaps(frame, x, every, color)
    domain = order_of(frame, color, order) if color else []
    direct = bool(color) and (labels if labels is not None else len(domain) <= DIRECT_LABELS_UP_TO)
    fmt = tooltip_format or (SHARE_TOOLTIP if share else ",.0f")
    span = span_of(frame, x) if x_type == "T" else None
    x_enc = (_x_time(x, x_title, x_format or every, span) if x_type == "T"
             else alt.X(f"{x}:Q", title=x_title, axis=alt.Axis(labelFlush=True)))
    y_scale = alt.Scale(domain=list(y_domain), clamp=True) if y_domain else alt.Undefined
    y_axis = share_axis() if share else alt.Axis()
    y_enc = alt.Y(f"{y}:Q", title=y_title, axis=y_axis, scale=y_scale)
    tooltips = [alt.Tooltip(f"{x}:{x_type}", title=x_title or "Period",
                            format=",.1f" if x_type == "Q" else DATE_FORMATS.get(every or "1mo", "%b %Y")),
                alt.Tooltip(f"{y}:Q", title=y_title, format=fmt)]
    if color:
        tooltips.insert(0, alt.Tooltip(f"{color}:N", title=color_title or color))
    if band:
        tooltips += [alt.Tooltip(f"{band[0]}:Q", title="95% low", format=fmt),
                     alt.Tooltip(f"{band[1]}:Q", title="95% high", format=fmt)]
    provisional = "provisional" in frame.columns and bool(frame["provisional"].fill_null(False).any())
    if "provisional" in frame.columns:
        tooltips.append(alt.Tooltip("provisional:N", title="Provisional (period not over)"))
    tooltips += _note(frame)
    colour = _color(color, color_title, domain, show_legend=not direct)
    encoding = {"x": x_enc, "y": y_enc, "color": colour}
    if rolling:
        chart = _rolling(frame, x, y, rolling, encoding, tooltips, color)
    else:
        solid, dashed = solid_and_dashed(frame, x, y, [color] if color else [])
        chart = alt.Chart(solid).mark_line(interpolate="step-after" if steps else "linear").encode(**encoding)
        if dashed is not None:
            chart = chart + alt.Chart(dashed).mark_line(strokeDash=[4, 3]).encode(**encoding)
        fill = colour if not provisional else alt.condition("datum.provisional", alt.value("white"), colour)
        chart = chart + alt.Chart(frame).mark_point(filled=False, size=28, strokeWidth=1.5,
                                                    opacity=0 if steps else 1).encode(**encoding, fill=fill, tooltip=tooltips)
    if band and (not color or len(domain) <= BANDS_UP_TO):
        area = alt.Chart(frame).mark_area(opacity=0.18, interpolate="step-after" if steps else "linear").encode(
            x=x_enc, y=alt.Y(f"{band[0]}:Q", scale=y_scale, title=y_title, axis=y_axis), y2=f"{band[1]}:Q",
            color=colour)
        chart = area + chart
    if direct:
        chart = chart + end_labels(frame, x, y, color, x_enc, domain, height, y_domain)
    if policy:
        chart = chart + policy_rule(policy, every, span)
    text = description or describe("Line chart", y_title, x_title or ("period" if x_type == "T" else ""),
                                   by=color_title or color, series=domain, span=span, every=every)
    return chart.properties(height=height + (legend_height(domain) if color and not direct else 0), description=text)


def _guess_every(days: pl.Series) -> str:
    gaps = days.drop_nulls().unique().sort().diff().drop_nulls()
    step = gaps.dt.total_days().median() if gaps.len() else 30
    return "1w" if step and step <= 8 else "1y" if step and step >= 300 else "6mo" if step and step >= 150 else "1mo"


def end_labels(frame: pl.DataFrame, x: str, y: str, color: str, x_enc, domain: list, height: int,
               y_domain=None) -> alt.Chart:
    """Each series named at its last point, nudged apart so that no two labels overlap."""
    last = (frame.filter(pl.col(y).is_not_null()).sort(x).group_by(color, maintain_order=True).tail(1)
            .select(x, y, color))
    if last.is_empty():
        return alt.Chart(last).mark_text()
    values = frame[y].drop_nulls()
    low, high = (y_domain if y_domain else (min(0.0, float(values.min())), float(values.max())))
    gap = (high - low or 1) * LABEL_PX / max(height, 60)
    rows = sorted(last.iter_rows(named=True), key=lambda r: r[y])
    placed: list[float] = []
    for row in rows:
        spot = max(row[y], placed[-1] + gap) if placed else row[y]
        placed.append(spot)
    overflow = placed[-1] - high if placed and placed[-1] > high else 0
    labels = pl.DataFrame({x: [r[x] for r in rows], "label_y": [p - overflow for p in placed],
                           color: [r[color] for r in rows]}, schema={x: frame.schema[x], "label_y": pl.Float64,
                                                                      color: frame.schema[color]})
    return alt.Chart(labels).mark_text(align="left", dx=7, fontSize=12, fontWeight="bold").encode(
        x=x_enc, y=alt.Y("label_y:Q"), text=f"{color}:N",
        color=alt.Color(f"{color}:N", scale=alt.Scale(range=_colours(len(domain)), domain=domain), legend=None))


def _rolling(frame, x, y, window, encoding, tooltips, color) -> alt.Chart:
    """Faint points for each period and a line of the average over the last `window` complete
    periods (only where all of them are shown, so nothing hidden is worked back)."""
    complete = ~pl.col("provisional").fill_null(False) if "provisional" in frame.columns else pl.lit(True)
    keys = [color] if color else []
    value = pl.when(complete).then(pl.col(y)).otherwise(None)
    average = value.rolling_mean(window, min_samples=window)
    smooth = frame.sort(x).with_columns((average.over(keys) if keys else average).alias(y))
    fill = encoding["color"]
    if "provisional" in frame.columns:
        fill = alt.condition("datum.provisional", alt.value("white"), fill)
    points = alt.Chart(frame).mark_point(filled=True, size=22, opacity=0.35).encode(
        **encoding, fill=fill, tooltip=tooltips)
    return points + alt.Chart(smooth).mark_line(strokeWidth=2.5).encode(**encoding)


def _with_gaps(frame: pl.DataFrame, x: str, every: str, color: str | None) -> pl.DataFrame:
    """Every period between the first and last, per group; a missing one has null values."""
    if frame.schema[x] != pl.Date or frame[x].null_count() == frame.height:
        return frame
    spine = pl.DataFrame({x: pl.date_range(frame[x].min(), frame[x].max(), every, eager=True)})
    if color:
        spine = spine.join(frame.select(color).unique(maintain_order=True), how="cross")
    keys = [x, color] if color else [x]
    return spine.join(frame, on=keys, how="left").sort(keys[::-1], maintain_order=True)


@reused
def bars(frame: pl.DataFrame, x: str, y: str, *, y_title: str, x_title: str = "", color: str | None = None,
         color_title=None, stacked: bool = True, temporal: bool = False, sort=None, horizontal: bool | None = None,
         tooltip_extra: list | None = None, domain=None, policy: date | None = None, height: int | None = None,
         interval: tuple[str, str] | None = None, share: bool = False, grouped: bool = False,
         every: str = "1mo", values: bool | None = None, description: str | None = None) -> alt.Chart:
    """Bars. Categories with long names lie horizontal (the default unless the labels are short);
    `grouped` puts the `color` groups side by side in their `domain` order; `interval` (low,
    high columns) draws a 95% interval on each bar; `share` formats the values as percentages.
    Horizontal bars, one a category, carry their value at their end (`values`, a funnel's
    counts); `description` is the text alternative (made from the titles when not given)."""
    data = frame
    if horizontal is None:
        horizontal = not temporal and (grouped or frame.is_empty() or label_width(frame[x].to_list()) > 90)
    order = order_of(frame, color, domain) if color else []
    x_type = "T" if temporal else "N"
    fmt = SHARE_TOOLTIP if share else ","
    tooltips = [alt.Tooltip(f"{x}:{x_type}", title=x_title or x, **({"format": DATE_FORMATS[every]} if temporal else {})),
                alt.Tooltip(f"{y}:Q", title=y_title, format=fmt)]
    if color:
        tooltips.insert(0, alt.Tooltip(f"{color}:N", title=color_title or color))
    tooltips += (tooltip_extra or []) + _note(frame)
    categories = [] if temporal else frame[x].to_list()
    span = span_of(frame, x) if temporal else None
    value_axis = share_axis() if share else alt.Axis()
    if temporal:  # a month's bar spans its month
        unit = {"1mo": "yearmonth", "1y": "year", "3mo": "yearquarter"}.get(every)
        cat = alt.X(f"{unit}({x}):T" if unit else f"{x}:T", title=x_title, axis=date_axis(every, span=span))
    elif horizontal:
        cat = alt.Y(f"{x}:N", title=x_title, sort=sort, axis=category_axis(categories))
    else:
        cat = alt.X(f"{x}:N", title=x_title, sort=sort, axis=category_axis(categories))
    one_each = not frame.is_empty() and frame[x].n_unique() == frame.height
    values = horizontal and not grouped and not interval and one_each if values is None else values
    top = frame[y].max() if values and not frame.is_empty() else None
    room = alt.Scale(domainMax=float(top) * 1.15) if isinstance(top, int | float) and top > 0 else alt.Undefined
    val = (alt.X(f"{y}:Q", title=y_title, axis=value_axis, scale=room, stack=None if grouped else (stacked or None))
           if horizontal else alt.Y(f"{y}:Q", title=y_title, axis=value_axis, stack=None if grouped else (stacked or None)))
    encoding = {"y": cat, "x": val} if horizontal else {"x": cat, "y": val}
    if grouped and color:
        offset = alt.YOffset if horizontal else alt.XOffset
        encoding["yOffset" if horizontal else "xOffset"] = offset(f"{color}:N", sort=order, scale=alt.Scale(domain=order))
    if "provisional" in frame.columns:
        tooltips.append(alt.Tooltip("provisional:N", title="Provisional"))
        encoding["opacity"] = alt.condition("datum.provisional", alt.value(0.4), alt.value(1.0))
    chart = alt.Chart(data).mark_bar().encode(**encoding, color=_color(color, color_title, order), tooltip=tooltips)
    if interval:
        low, high = interval
        ends = ({"y": cat, "x": alt.X(f"{low}:Q", title=y_title, axis=value_axis), "x2": f"{high}:Q"} if horizontal
                else {"x": cat, "y": alt.Y(f"{low}:Q", title=y_title, axis=value_axis), "y2": f"{high}:Q"})
        if grouped and color:
            ends["yOffset" if horizontal else "xOffset"] = encoding["yOffset" if horizontal else "xOffset"]
        chart = chart + alt.Chart(data).mark_rule(color="#000000", strokeWidth=1.5).encode(**ends)
    if values:
        chart = chart + alt.Chart(data).mark_text(align="left" if horizontal else "center", dx=4 if horizontal else 0,
                                                  dy=0 if horizontal else -6, fontSize=12).encode(
            **{k: v for k, v in encoding.items() if k in ("x", "y")},
            text=alt.Text(f"{y}:Q", format=SHARE_FORMAT if share else ",.0f"), tooltip=tooltips)
    if policy:
        chart = chart + policy_rule(policy, every, span)
    if height is None:  # horizontal bars: a fixed step per category, so every label (of one or more lines) has room
        tall = max((len(wrapped(v)) for v in categories), default=1) * 14 + 8
        height = (alt.Step(max(len(order) * 16 + 12, tall) if grouped else max(26, tall), **{"for": "position"})
                  if horizontal else 300 + legend_height(order))
    text = description or describe("Horizontal bar chart" if horizontal else "Bar chart", y_title,
                                   "period" if temporal else "", by=color_title or color or x_title or "bar",
                                   series=order or list(dict.fromkeys(categories)), span=span, every=every)
    return chart.properties(height=height, description=text)


PANEL = {"width": 380, "height": 220, "columns": 2}  # small multiples read at a 1400 px page (docs/charts.md)


@reused
def faceted(chart: alt.Chart, facet: str, *, sort=None, columns: int = PANEL["columns"],
            width: int = PANEL["width"]) -> alt.FacetChart:
    """The same chart drawn once per `facet` value (in `sort` order), `columns` panels a row,
    each `width` pixels wide and named by its value alone (the name never cut): one Altair
    figure, for a split whose panels share one scale."""
    text = chart.to_dict().get("description", "")
    return chart.properties(width=width).facet(
        facet=alt.Facet(f"{facet}:N", title=None, sort=sort, header=alt.Header(labelLimit=width, labelFontSize=13,
                                                                               labelAnchor="start")),
        columns=columns).properties(description=f"{text} One panel for each {facet.replace('_', ' ')}.".strip())


def panels(charts: list[dict], datasets: dict, *, own_scales: bool, description: str) -> grid.Composed | None:
    """Small multiples as one figure: PANEL["columns"] panels a row (each panel a grid.panel of
    PANEL["width"] x PANEL["height"]), on their own y scales (`own_scales`, where the shapes
    matter) or on one."""
    if not charts:
        return None
    return grid.Composed({"concat": charts, "columns": min(PANEL["columns"], len(charts)), "spacing": 16,
                          "resolve": {"scale": {"y": "independent" if own_scales else "shared", "color": "shared"}},
                          "description": description, "usermeta": {"scales": "own" if own_scales else "shared"}},
                         datasets)


def _series(datasets: grid.Datasets, data: pl.DataFrame, x: str, y: str, encoding: dict, keys: list[str], tips: list,
            colour: str, points: bool = True) -> list[dict]:
    """A line solid over complete periods and dashed into and out of provisional ones, with hollow
    points on the provisional ones (every point when `points`)."""
    solid, dashed = solid_and_dashed(data, x, y, keys)
    layers = [datasets.unit(solid, {"type": "line", "color": colour, "strokeWidth": 2.5}, encoding)]
    if dashed is not None:
        layers.append(datasets.unit(dashed, {"type": "line", "color": colour, "strokeDash": [4, 3], "strokeWidth": 2},
                                    encoding))
    marked = "provisional" in data.columns
    shown = data if points or not marked else data.filter(pl.col("provisional").fill_null(False))
    if points or (marked and shown.height):
        fill = ({"condition": {"test": "datum.provisional", "value": "white"}, "value": colour} if marked
                else {"value": colour})
        layers.append(datasets.unit(shown, {"type": "point", "color": colour, "filled": False, "size": 26,
                                            "strokeWidth": 1.5}, {**encoding, "fill": fill, "tooltip": tips}))
    return layers


@reused
def small_multiples(frame: pl.DataFrame, x: str, y: str, facet: str, *, y_title: str, policy: date | None = None,
                    every: str = "1mo", share: bool = False, order=None, lines: str | None = None,
                    description: str | None = None) -> grid.Composed | None:
    """One panel per `facet` value (in `order`), each on its own y scale (the shapes matter) from
    zero, all over the same dates, two a row (`panels`); rows without a facet value are left
    out rather than drawn as an empty panel. `lines` names a column with several lines per
    panel (a value between its limits: the first in colour, solid and dashed where
    provisional, the others grey and dotted). Provisional periods are dashed with hollow
    points; the legend, where there is one, sits above."""
    data = frame.filter(pl.col(facet).is_not_null())
    if data.is_empty():
        return None
    fmt = SHARE_TOOLTIP if share else ",.2f" if lines else ","
    span = span_of(data, x)
    datasets = grid.Datasets()
    x_enc = grid.time_x(x, every, span)
    y_enc = {"field": y, "type": "quantitative", "title": y_title,
             "axis": grid.plain(share_axis(tickCount=4) if share else alt.Axis(tickCount=4))}
    tips = [grid.tip(facet, "N", ""), grid.tip(x, "T", "Period", DATE_FORMATS[every]),
            grid.tip(y, "Q", y_title, fmt)] + grid.note_tip(data)
    line_order = list(dict.fromkeys(data[lines].to_list())) if lines else []  # as the caller lists them
    charts = []
    for name in order_of(data, facet, order):
        own = data.filter(pl.col(facet) == name)
        encoding = {"x": x_enc, "y": y_enc}
        if lines:
            main = _with_gaps(own.filter(pl.col(lines) == line_order[0]), x, every, None)  # never joined across a gap
            legend_colour = {"field": lines, "type": "nominal", "title": None, "sort": line_order,
                             "legend": grid.plain(legend(line_order)),
                             "scale": {"domain": line_order, "range": [PALETTE[0]] + [GREY] * (len(line_order) - 1)}}
            layers = [datasets.unit(own.filter(pl.col(lines) != line_order[0]),
                                    {"type": "line", "strokeDash": [2, 3], "strokeWidth": 1.5},
                                    {**encoding, "color": legend_colour, "detail": {"field": lines, "type": "nominal"},
                                     "tooltip": tips})]
            layers += _series(datasets, main, x, y, encoding, [], tips + [grid.tip(lines, "N", "")], PALETTE[0])
        else:
            layers = _series(datasets, _with_gaps(own, x, every, None), x, y, encoding, [], tips, PALETTE[0],
                             points=False)
        if policy:
            layers.append(grid.policy(datasets, policy, POLICY_LABEL, GREY, every, span))
        charts.append(grid.panel(layers, str(name), PANEL["width"], PANEL["height"]))
    names = order_of(data, facet, order)
    return panels(charts, datasets, own_scales=True, description=description or describe(
        "Small multiples", y_title, "period", by=facet.replace("_", " "), series=names, span=span, every=every))


@reused
def compare_groups(frame: pl.DataFrame, x: str, y: str, group: str, *, y_title: str, order=None,
                   band: tuple[str, str] | None = None, share: bool = False, policy: date | None = None,
                   every: str = "6mo", tooltip_format: str | None = None,
                   description: str | None = None) -> grid.Composed | None:
    """Several groups over time, one panel each (in `order`, two a row, `panels`): the group in
    colour with its interval, solid over complete periods and dashed with hollow points where
    provisional, every other group in light grey behind it for context, all on one scale."""
    data = frame.filter(pl.col(group).is_not_null())
    names = order_of(data, group, order)
    if data.is_empty():
        return None
    if every:
        data = _with_gaps(data, x, every, group)
    fmt = tooltip_format or (SHARE_TOOLTIP if share else ",.1f")
    top = max(v for v in (data[band[1]].max() if band else None, data[y].max(), 0.0) if v is not None)
    span = span_of(data, x)
    datasets = grid.Datasets()
    x_enc = grid.time_x(x, every, span)
    y_axis = grid.plain(share_axis(tickCount=4) if share else alt.Axis(tickCount=4))
    y_scale = {"domain": [0, float(top) * 1.05 or 1.0]}
    y_enc = {"field": y, "type": "quantitative", "title": y_title, "axis": y_axis, "scale": y_scale}
    tips = [grid.tip(group, "N", ""), grid.tip(x, "T", "Period from", DATE_FORMATS[every]),
            grid.tip(y, "Q", y_title, fmt)] + grid.note_tip(data)
    if band:
        tips += [grid.tip(band[0], "Q", "95% low", fmt), grid.tip(band[1], "Q", "95% high", fmt)]
    colours = dict(zip(names, _colours(len(names)), strict=True))
    context = {"x": x_enc, "y": y_enc, "detail": {"field": group, "type": "nominal"}}
    charts = []
    for name in names:
        own, others = data.filter(pl.col(group) == name), data.filter(pl.col(group) != name)
        solid, dashed = solid_and_dashed(others, x, y, [group])
        layers = [datasets.unit(solid, {"type": "line", "color": CONTEXT_GREY, "strokeWidth": 1}, context)]
        if dashed is not None:
            layers.append(datasets.unit(dashed, {"type": "line", "color": CONTEXT_GREY, "strokeDash": [4, 3],
                                                 "strokeWidth": 1}, context))
        if band:
            layers.append(datasets.unit(own, {"type": "area", "color": colours[name], "opacity": 0.22}, {
                "x": x_enc, "y": {"field": band[0], "type": "quantitative", "title": y_title, "axis": y_axis,
                                  "scale": y_scale}, "y2": {"field": band[1]}}))
        layers += _series(datasets, own, x, y, {"x": x_enc, "y": y_enc}, [], tips, colours[name])
        if policy:
            layers.append(grid.policy(datasets, policy, POLICY_LABEL, GREY, every, span))
        charts.append(grid.panel(layers, str(name), PANEL["width"], PANEL["height"]))
    return panels(charts, datasets, own_scales=False, description=description or describe(
        "Small multiples", y_title, "period", by=group.replace("_", " "), series=names, span=span, every=every))


@reused
def forest(frame: pl.DataFrame, label: str, estimate: str, low: str, high: str, *, x_title: str,
           color: str | None = None, height_per_row: int = 34) -> alt.Chart:
    """Ratios with intervals on a log scale, with 1 (no difference) marked."""
    scale = alt.Scale(type="log")
    tooltips = [alt.Tooltip(f"{label}:N", title=""), alt.Tooltip(f"{estimate}:Q", format=".2f", title="Ratio"),
                alt.Tooltip(f"{low}:Q", format=".2f", title="95% low"), alt.Tooltip(f"{high}:Q", format=".2f", title="95% high")]
    base = alt.Chart(frame).encode(y=alt.Y(f"{label}:N", title="", sort=None, axis=category_axis(frame[label].to_list())))
    order = order_of(frame, color) if color else []
    whiskers = base.mark_rule(strokeWidth=2).encode(x=alt.X(f"{low}:Q", scale=scale, title=x_title), x2=f"{high}:Q",
                                                    color=_color(color, None, order), tooltip=tooltips)
    points = base.mark_point(filled=True, size=80).encode(x=alt.X(f"{estimate}:Q", scale=scale),
                                                          color=_color(color, None, order), tooltip=tooltips)
    one = alt.Chart(pl.DataFrame({"one": [1.0]})).mark_rule(color=GREY, strokeDash=[4, 3]).encode(x="one:Q")
    rows = frame[label].n_unique() if not frame.is_empty() else 0
    return (one + whiskers + points).properties(height=max(180, rows * max(height_per_row, 34) + 40), description=describe(
        "Ratios with 95% intervals on a log scale, 1 marked", x_title, by="row", series=order_of(frame, label)))


@reused
def matrix(frame: pl.DataFrame, row: str, column: str, value: str, *, label: str, row_title: str = "",
           column_title: str = "", row_sort=None, column_sort=None) -> alt.Chart:
    """A table with colour: one cell per row x column, coloured on a log scale around 1
    (blue below, orange above), the value written in the cell."""
    scale = alt.Scale(type="log", domainMid=1, scheme="blueorange", domain=[0.2, 5], clamp=True)
    base = alt.Chart(frame).encode(
        x=alt.X(f"{column}:N", title=column_title, sort=column_sort,
                axis=category_axis(frame[column].to_list(), orient="top")),
        y=alt.Y(f"{row}:N", title=row_title, sort=row_sort, axis=category_axis(frame[row].to_list())),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=label),
        tooltip=[alt.Tooltip(f"{row}:N"), alt.Tooltip(f"{column}:N"), alt.Tooltip(f"{value}:Q", format=".2f", title=label)],
    )
    text = base.mark_text(fontSize=12).encode(text=alt.Text(f"{value}:Q", format=".2f"))
    return (cells + text).properties(height=alt.Step(34), description=describe(
        "Table of coloured cells", label, f"{row_title or row} and {column_title or column}"))


@reused
def target_rule(value: float, label: str, *, horizontal: bool = True) -> alt.Chart:
    """A dashed grey line at a target (or at 1, no difference), named on the chart."""
    data = pl.DataFrame({"target": [float(value)], "label": [label]})
    position = {"y": alt.Y("target:Q")} if horizontal else {"x": alt.X("target:Q")}
    rule = alt.Chart(data).mark_rule(color=GREY, strokeDash=[4, 3]).encode(
        **position, tooltip=[alt.Tooltip("label:N", title="")])
    text = (alt.Chart(data).mark_text(align="left", dx=4, dy=-6, color=GREY).encode(**position, x=alt.value(0), text="label:N")
            if horizontal else
            alt.Chart(data).mark_text(align="left", dx=4, color=GREY, baseline="top").encode(
                **position, y=alt.value(0), text="label:N"))
    return rule + text


@reused
def forecast_band(shown: pl.DataFrame, *, x_title: str = "") -> alt.LayerChart:
    """Referrals a week, recorded and forecast, with the forecast's 80% (darker) and 95% (lighter)
    bands: the Forecast page's chart and the board pack's. `shown` is
    divert.analytics.planning.forecast.chart_frame's frame."""
    x = alt.X("week:T", title=x_title, axis=date_axis("1w"))
    base = alt.Chart(shown)
    tips = [alt.Tooltip("series:N", title=""), alt.Tooltip("week:T", title="Week of", format="%-d %b %Y"),
            alt.Tooltip("referrals:Q", title="Referrals", format=",.1f"),
            alt.Tooltip("lo_80:Q", title="80% from", format=",.0f"), alt.Tooltip("hi_80:Q", title="80% to", format=",.0f"),
            alt.Tooltip("lo_95:Q", title="95% from", format=",.0f"), alt.Tooltip("hi_95:Q", title="95% to", format=",.0f")]
    return (
        base.mark_area(opacity=0.12, color=PALETTE[0]).encode(
            x=x, y=alt.Y("lo_95:Q", title="Referrals a week"), y2="hi_95:Q", tooltip=tips)
        + base.mark_area(opacity=0.25, color=PALETTE[0]).encode(x=x, y="lo_80:Q", y2="hi_80:Q", tooltip=tips)
        + line(shown.select("week", "series", "referrals", "provisional"), "week", "referrals",
               y_title="Referrals a week", color="series", color_title="", x_title=x_title, every="1w",
               tooltip_format=",.1f")
    ).properties(height=340, description=describe("Line chart with 80% and 95% forecast bands", "referrals a week",
                                                  "week", span=span_of(shown, "week"), every="1w"))
