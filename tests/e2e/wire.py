"""What the Streamlit server sends to the browser, decoded: every ForwardMsg on the websocket,
with the tables (Arrow), chart datasets, metrics and text it carries. The attack tests read
this, not the page, because a figure hidden on screen can still travel in the page data."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import polars as pl
import pyarrow.ipc as ipc
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class Wire:
    tables: list[pl.DataFrame] = field(default_factory=list)  # dataframes and chart datasets
    metrics: list = field(default_factory=list)  # Metric protos (label, body, chart_data ...)
    texts: list[str] = field(default_factory=list)  # markdown, alerts, captions, headings
    downloads: list[str] = field(default_factory=list)  # download URLs

    def clear(self) -> None:
        self.tables.clear(), self.metrics.clear(), self.texts.clear(), self.downloads.clear()

    def receive(self, payload) -> None:
        if isinstance(payload, str):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - not a message we read
            return
        if not msg.HasField("delta") or not msg.delta.HasField("new_element"):
            return
        element = msg.delta.new_element
        kind = element.WhichOneof("type")
        if kind == "dataframe":
            self._arrow(element.dataframe.arrow_data.data)
        elif kind == "table":
            self._arrow(element.table.arrow_data.data)
        elif kind == "vega_lite_chart":
            chart = element.vega_lite_chart
            if chart.data.data:
                self._arrow(chart.data.data)
            for dataset in chart.datasets:
                self._arrow(dataset.data.data)
        elif kind == "metric":
            self.metrics.append(element.metric)
        elif kind == "markdown":
            self.texts.append(element.markdown.body)
        elif kind == "alert":
            self.texts.append(element.alert.body)
        elif kind == "heading":
            self.texts.append(element.heading.body)
        elif kind == "download_button":
            self.downloads.append(element.download_button.url)

    def _arrow(self, data: bytes) -> None:
        if data:
            table = ipc.open_stream(io.BytesIO(data)).read_all()
            self.tables.append(pl.from_arrow(table))


def listen(page) -> Wire:
    """Decode every message the page's websocket receives from now on."""
    wire = Wire()
    page.on("websocket", lambda ws: ws.on("framereceived", wire.receive))
    return wire
