"""A chart as a PNG image for a report or a slide: the same chart (so the same gated figures)
drawn by vl-convert, with its title and its "what this shows" caption above it."""

from __future__ import annotations

import copy
import textwrap

import altair as alt

WIDTH = 820  # pixels of the plotting area where the chart does not set its own width
CAPTION_CHARS = 110


def spec_for_image(chart: alt.TopLevelMixin | dict, title: str, caption: str) -> dict:
    """The chart's Vega-Lite specification (or the specification itself, as the page drew it:
    divert.charts.spec) with a fixed width, a white background and the title and caption on top."""
    spec = copy.deepcopy(chart if isinstance(chart, dict) else chart.to_dict())
    compound = any(key in spec for key in ("facet", "hconcat", "vconcat", "concat", "repeat"))
    if not compound and not isinstance(spec.get("width"), int | float):
        spec["width"] = WIDTH
    spec["title"] = {"text": title, "subtitle": textwrap.wrap(caption, CAPTION_CHARS) or alt.Undefined,
                     "anchor": "start", "fontSize": 17, "subtitleFontSize": 12, "subtitleColor": "#444444",
                     "offset": 14}
    if spec["title"]["subtitle"] is alt.Undefined:
        del spec["title"]["subtitle"]
    spec["background"] = "white"
    spec["padding"] = 16
    spec.setdefault("config", {}).setdefault("font", "Source Sans Pro, Helvetica, Arial, sans-serif")
    return spec


def png(chart: alt.TopLevelMixin | dict, title: str, caption: str, scale: float = 2.0) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(spec_for_image(chart, title, caption), scale=scale)
