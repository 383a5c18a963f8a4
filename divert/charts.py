"""Altair chart builders: one colour-blind-safe palette (Okabe-Ito), plain titles, tooltips.

Each builder takes a polars frame and returns an Altair chart; the page puts the title, the
"what this shows" caption, the table view and the download around it (divert.dashboard).
"""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
GREY = "#7f7f7f"
POLICY_LABEL = "Diversion starts"


def _frame(frame: pl.DataFrame):
    return frame  # Altair reads polars frames directly


def _color(field: str | None, title: str | None = None, domain=None):
    if not field:
        return alt.value(PALETTE[0])
    colours = PALETTE if not domain or len(domain) <= len(PALETTE) else PALETTE[:len(domain) - 1] + [GREY]
    scale = alt.Scale(range=colours, domain=list(domain) if domain else alt.Undefined)
    return alt.Color(f"{field}:N", title=title or field.replace("_", " ").capitalize(), scale=scale)


def policy_rule(day: date, y_top: float | None = None) -> alt.Chart:
    data = pl.DataFrame({"day": [day], "label": [POLICY_LABEL]})
    rule = alt.Chart(data).mark_rule(color=GREY, strokeDash=[4, 3]).encode(x="day:T", tooltip=[alt.Tooltip("label:N", title="")])
    text = alt.Chart(data).mark_text(align="left", dx=4, dy=-4, color=GREY, baseline="top").encode(
        x="day:T", y=alt.value(0), text="label:N"
    )
    return rule + text


def line(frame: pl.DataFrame, x: str, y: str, *, y_title: str, color: str | None = None, color_title=None,
         band: tuple[str, str] | None = None, x_title: str = "", tooltip_format: str = ",.0f", policy: date | None = None,
         height: int = 300, x_type: str = "T", every: str | None = None) -> alt.Chart:
    """A time series (x_type "T") or a curve ("Q"), optionally one line per `color` group,
    with an interval band. Where the frame has a `provisional` column, those points are hollow
    and joined by a dashed line. `every` ("1mo", "1w") fills missing periods with gaps, so a
    line never joins across them."""
    if every and x_type == "T" and not frame.is_empty():
        frame = _with_gaps(frame, x, every, color)
    provisional = "provisional" in frame.columns and bool(frame["provisional"].fill_null(False).any())
    tooltips = [alt.Tooltip(f"{x}:{x_type}", title=x_title or "Period", format=",.1f" if x_type == "Q" else alt.Undefined),
                alt.Tooltip(f"{y}:Q", title=y_title, format=tooltip_format)]
    if color:
        tooltips.insert(0, alt.Tooltip(f"{color}:N", title=color_title or color))
    if band:
        tooltips += [alt.Tooltip(f"{band[0]}:Q", title="95% low", format=tooltip_format),
                     alt.Tooltip(f"{band[1]}:Q", title="95% high", format=tooltip_format)]
    if "provisional" in frame.columns:
        tooltips.append(alt.Tooltip("provisional:N", title="Provisional (period not over)"))
    encoding = {"x": alt.X(f"{x}:{x_type}", title=x_title), "y": alt.Y(f"{y}:Q", title=y_title),
                "color": _color(color, color_title)}
    solid = frame.with_columns(pl.when(pl.col("provisional")).then(None).otherwise(pl.col(y)).alias(y)) if provisional else frame
    chart = alt.Chart(solid).mark_line().encode(**encoding)
    if provisional:
        chart = chart + alt.Chart(_dashed_part(frame, x, color)).mark_line(strokeDash=[4, 3]).encode(**encoding)
    fill = _color(color, color_title)
    if provisional:
        fill = alt.condition("datum.provisional", alt.value("white"), fill)
    chart = chart + alt.Chart(frame).mark_point(filled=False, size=28, strokeWidth=1.5).encode(
        **encoding, fill=fill, tooltip=tooltips)
    if band:
        area = alt.Chart(frame).mark_area(opacity=0.2).encode(
            x=f"{x}:{x_type}", y=f"{band[0]}:Q", y2=f"{band[1]}:Q", color=_color(color, color_title)
        )
        chart = area + chart
    if policy:
        chart = chart + policy_rule(policy)
    return chart.properties(height=height)


def _with_gaps(frame: pl.DataFrame, x: str, every: str, color: str | None) -> pl.DataFrame:
    """Every period between the first and last, per group; a missing one has null values."""
    if frame.schema[x] != pl.Date:
        return frame
    spine = pl.DataFrame({x: pl.date_range(frame[x].min(), frame[x].max(), every, eager=True)})
    if color:
        spine = spine.join(frame.select(color).unique(), how="cross")
    keys = [x, color] if color else [x]
    return spine.join(frame, on=keys, how="left").sort(keys[::-1])


def _dashed_part(frame: pl.DataFrame, x: str, color: str | None) -> pl.DataFrame:
    """The provisional points with the last complete point before them, per group."""
    keys = [color] if color else []
    complete = frame.filter(~pl.col("provisional").fill_null(False)).sort(x)
    last = complete.group_by(keys, maintain_order=True).tail(1) if keys else complete.tail(1)
    return pl.concat([last.select(frame.columns), frame.filter(pl.col("provisional").fill_null(False))]).sort(x)


def bars(frame: pl.DataFrame, x: str, y: str, *, y_title: str, x_title: str = "", color: str | None = None,
         color_title=None, stacked: bool = True, temporal: bool = False, sort=None, horizontal: bool = False,
         tooltip_extra: list | None = None, domain=None, policy: date | None = None, height: int = 300,
         interval: tuple[str, str] | None = None) -> alt.Chart:
    """Bars; `interval` (low, high columns) draws a 95% interval on each bar."""
    data = _frame(frame)
    x_type = "T" if temporal else "N"
    tooltips = [alt.Tooltip(f"{x}:{x_type}", title=x_title or x), alt.Tooltip(f"{y}:Q", title=y_title, format=",")]
    if color:
        tooltips.insert(0, alt.Tooltip(f"{color}:N", title=color_title or color))
    tooltips += tooltip_extra or []
    cat = alt.X(f"{x}:{x_type}", title=x_title, sort=sort) if not horizontal else alt.Y(f"{x}:N", title=x_title, sort=sort)
    val = alt.Y(f"{y}:Q", title=y_title, stack=stacked or None) if not horizontal else alt.X(f"{y}:Q", title=y_title)
    encoding = {"x": cat, "y": val} if not horizontal else {"y": cat, "x": val}
    if "provisional" in frame.columns:
        tooltips.append(alt.Tooltip("provisional:N", title="Provisional"))
        encoding["opacity"] = alt.condition("datum.provisional", alt.value(0.4), alt.value(1.0))
    chart = alt.Chart(data).mark_bar().encode(**encoding, color=_color(color, color_title, domain), tooltip=tooltips)
    if interval:
        low, high = interval
        ends = ({"y": cat, "x": alt.X(f"{low}:Q"), "x2": f"{high}:Q"} if horizontal
                else {"x": cat, "y": alt.Y(f"{low}:Q"), "y2": f"{high}:Q"})
        chart = chart + alt.Chart(data).mark_rule(color="#000000", strokeWidth=1.5).encode(**ends)
    if policy:
        chart = chart + policy_rule(policy)
    return chart.properties(height=height)


def small_multiples(frame: pl.DataFrame, x: str, y: str, facet: str, *, y_title: str, columns: int = 4,
                    policy: date | None = None, lines: str | None = None) -> alt.Chart:
    """One small chart per `facet` value; `lines` names a column with several lines per panel
    (e.g. a value between its limits), drawn in the palette's order."""
    data = _frame(frame)
    mark = alt.Chart().mark_line(color=PALETTE[0]) if not lines else alt.Chart().mark_line()
    extra = {"color": alt.Color(f"{lines}:N", title=None, scale=alt.Scale(range=[PALETTE[0], GREY, GREY]),
                                sort=None),
             "strokeDash": alt.StrokeDash(f"{lines}:N", legend=None, sort=None)} if lines else {}
    base = mark.encode(
        x=alt.X(f"{x}:T", title=""), y=alt.Y(f"{y}:Q", title=y_title), **extra,
        tooltip=[alt.Tooltip(f"{facet}:N"), alt.Tooltip(f"{x}:T", title="Period"), alt.Tooltip(f"{y}:Q", title=y_title)],
    ).properties(width=150, height=110)
    layers = base + policy_rule(policy) if policy else base
    return layers.facet(facet=alt.Facet(f"{facet}:N", title=None), columns=columns, data=data).resolve_scale(y="independent")


def forest(frame: pl.DataFrame, label: str, estimate: str, low: str, high: str, *, x_title: str,
           color: str | None = None, height_per_row: int = 22) -> alt.Chart:
    """Ratios with intervals on a log scale, with 1 (no difference) marked."""
    data = _frame(frame)
    scale = alt.Scale(type="log")
    tooltips = [alt.Tooltip(f"{label}:N", title=""), alt.Tooltip(f"{estimate}:Q", format=".2f", title="Ratio"),
                alt.Tooltip(f"{low}:Q", format=".2f", title="95% low"), alt.Tooltip(f"{high}:Q", format=".2f", title="95% high")]
    base = alt.Chart(data).encode(y=alt.Y(f"{label}:N", title="", sort=None))
    whiskers = base.mark_rule().encode(x=alt.X(f"{low}:Q", scale=scale, title=x_title), x2=f"{high}:Q", color=_color(color), tooltip=tooltips)
    points = base.mark_point(filled=True, size=60).encode(x=alt.X(f"{estimate}:Q", scale=scale), color=_color(color), tooltip=tooltips)
    one = alt.Chart(pl.DataFrame({"one": [1.0]})).mark_rule(color=GREY, strokeDash=[4, 3]).encode(x="one:Q")
    return (one + whiskers + points).properties(height=alt.Step(max(height_per_row, 28)))


def matrix(frame: pl.DataFrame, row: str, column: str, value: str, *, label: str, row_title: str = "",
           column_title: str = "", row_sort=None, column_sort=None) -> alt.Chart:
    """A table with colour: one cell per row x column, coloured on a log scale around 1
    (blue below, orange above), the value written in the cell."""
    data = _frame(frame)
    scale = alt.Scale(type="log", domainMid=1, scheme="blueorange", domain=[0.2, 5], clamp=True)
    base = alt.Chart(data).encode(
        x=alt.X(f"{column}:N", title=column_title, sort=column_sort, axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y(f"{row}:N", title=row_title, sort=row_sort),
    )
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(f"{value}:Q", scale=scale, title=label),
        tooltip=[alt.Tooltip(f"{row}:N"), alt.Tooltip(f"{column}:N"), alt.Tooltip(f"{value}:Q", format=".2f", title=label)],
    )
    text = base.mark_text(fontSize=12).encode(text=alt.Text(f"{value}:Q", format=".2f"))
    return (cells + text).properties(height=alt.Step(34))
