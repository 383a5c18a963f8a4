"""Charts for the board pack: the Altair charts the pages draw (divert.charts.build builders, given the
gated tables), with their title and caption, rendered to PNG with vl-convert."""

from __future__ import annotations

import struct
import textwrap

import altair as alt

from divert.report.blocks import Figure

WIDTH = 620  # pixels of plot area: about the text width of an A4 page at 96 dpi
CHARACTER_PIXELS = 5.6  # the caption's average character width, to wrap it near the chart's width


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def render(chart: alt.TopLevelMixin, key: str, title: str, caption: str, *, width: int | None = WIDTH) -> Figure:
    """The chart as a PNG (twice the pixels, for print) carrying its title and caption."""
    import vl_convert

    titled = chart.properties(title=alt.TitleParams(
        title, subtitle=textwrap.wrap(caption, max(80, int((width or WIDTH) / CHARACTER_PIXELS))), anchor="start", fontSize=15, subtitleFontSize=11,
        subtitleColor="#444444", subtitlePadding=6, offset=12))
    if width:
        titled = titled.properties(width=width)
    titled = titled.configure(background="white", padding=12)
    png = vl_convert.vegalite_to_png(titled.to_json(), scale=2)
    return Figure(key, title, caption, png, png_size(png))
