"""Every table the app shows, and every CSV file it offers, goes through here.

Streamlit's own table toolbar has a "Download as CSV" button (and copies cells to the clipboard)
that quotes only commas, quotes and line breaks: a stop-search field imported as
`=HYPERLINK(...)` would leave the app as a live formula. So the frame is neutralised
(`divert.core.safe_csv`: a text cell, categorical or enum value or column name that starts with
= + - @, a tab or a carriage return gets a leading apostrophe) before Streamlit sees it, and a
CSV download button writes it the same way. `tests/test_tables.py` checks that no page or web
helper calls st.dataframe, st.data_editor or a CSV download button itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import streamlit as st

from divert.core.safe_csv import neutralised, to_csv_bytes


def safe(data) -> pl.DataFrame:
    """`data` (a polars frame, or rows or columns polars reads) as a frame that a spreadsheet
    cannot run a formula from."""
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data)
    return neutralised(frame)


@dataclass(frozen=True)
class Prepared:
    """A table made safe and turned into Arrow once (prepare), for a table shown on every run."""

    arrow: pa.Table


def prepare(data) -> Prepared:
    return Prepared(safe(data).to_arrow())


def show(data, **options):
    """st.dataframe of `data` made safe (or of what prepare made of it); the options are
    st.dataframe's (a selection comes back as st.dataframe returns it). Sent as Arrow: Streamlit
    turns any other frame into a pandas one first (a third of a page's run for a few small
    tables, paid by every session)."""
    return st.dataframe(data.arrow if isinstance(data, Prepared) else safe(data).to_arrow(), **options)


def editor(data, **options):
    """st.data_editor of `data` made safe (what a person types in comes back as typed)."""
    return st.data_editor(safe(data), **options)


def csv_download(label: str, frame: pl.DataFrame | bytes, file_name: str, *, where=None, **options):
    """A button that downloads `frame` as CSV, neutralised as the table on screen is (or the bytes
    divert.core.safe_csv.to_csv_bytes made of it, kept by the caller); `where`: the container to
    put it in (default: the page)."""
    data = frame if isinstance(frame, bytes) else to_csv_bytes(frame)
    return (where or st).download_button(label, data, file_name=file_name, mime="text/csv", **options)
