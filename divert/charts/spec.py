"""A chart as the Vega-Lite specification the browser receives: built once from the Altair chart,
without Altair's schema validation (the builders' output is checked by tests/test_charts.py
against the chart standard, and by Vega-Lite in the browser), with its data as named datasets
of the aggregated rows, only the columns the chart reads (dates as ISO strings in the
specification, as Arrow dates in the bytes Streamlit sends), never the frame behind a table.
"""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import date

import altair as alt
import pyarrow as pa
import pyarrow.ipc as ipc

MAX_ROWS = 5000  # Altair's own limit on the rows of one chart: a chart is drawn from aggregates
MAX_BYTES = 500_000  # what one chart may send the browser, its data included
_DATUM = re.compile(r"datum(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])")
_MIDNIGHT = re.compile(r"\d{4}-\d{2}-\d{2}T00:00:00")
_DEFAULT_VIEW = {"continuousWidth": 300, "continuousHeight": 300}  # Altair's default theme, as Streamlit drops it


# kept even where no mark reads them: they say what a row is (a period not over, a projection),
# which the chart standard's checker reads (divert.charts.standard.series_problems)
KEPT_FIELDS = {"provisional"}


class TooLarge(ValueError):
    """A chart that would send the browser more than MAX_BYTES."""


def vega_lite(chart: alt.TopLevelMixin) -> dict:
    """`chart` as a Vega-Lite dict whose `datasets` hold rows (lists of dicts), trimmed to the
    fields the specification reads."""
    try:
        spec = chart.to_dict(validate=False)
    except alt.MaxRowsError as error:  # Altair's own check, at the same limit
        raise TooLarge("a dataset of more than 5,000 rows: charts are drawn from aggregated figures") from error
    view = (spec.get("config") or {}).get("view")
    if view == _DEFAULT_VIEW:
        del spec["config"]["view"]
        if not spec["config"]:
            del spec["config"]
    datasets = spec.pop("datasets", {}) or {}
    used = fields(spec) | KEPT_FIELDS
    trimmed = {}
    for name, rows in datasets.items():
        if len(rows) > MAX_ROWS:
            raise TooLarge(f"a dataset of {len(rows):,} rows: charts are drawn from aggregated figures")
        keep = [column for column in (rows[0] if rows else {}) if column in used]
        trimmed[name] = [{c: row.get(c) for c in keep} for row in rows] if keep else rows
    if trimmed:
        spec["datasets"] = trimmed
    return spec


def fields(spec: dict) -> set[str]:
    """Every field name the specification reads: encodings, sorts, tooltips, and `datum.x` in
    expressions (conditions, label expressions)."""
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("field", "detail") and isinstance(value, str):
                    found.add(value)
                elif key in ("fields", "groupby") and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                elif isinstance(value, str) and "datum" in value:
                    found.update(a or b for a, b in _DATUM.findall(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in spec.items() if k != "datasets"})
    return found


def with_arrow(spec: dict) -> dict:
    """A copy of `spec` whose datasets are Arrow IPC bytes, as Streamlit sends them (it passes
    bytes through as they are). Raises TooLarge past MAX_BYTES."""
    out = copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"})  # Streamlit patches it in place
    datasets = {name: arrow(rows) for name, rows in (spec.get("datasets") or {}).items()}
    if datasets:
        out["datasets"] = datasets
    size = len(json.dumps({k: v for k, v in out.items() if k != "datasets"})) + sum(map(len, datasets.values()))
    if size > MAX_BYTES:
        raise TooLarge(f"a chart of {size:,} bytes (at most {MAX_BYTES:,})")
    return out


def arrow(rows: list[dict]) -> bytes:
    """Rows as Arrow IPC bytes; a column of midnight ISO datetimes (Altair's form of a date) as
    Arrow dates, four bytes a value, as Streamlit sends a polars date column."""
    if not rows or not rows[0]:
        table = pa.table({"_": pa.nulls(len(rows))})
    else:
        columns = {}
        for name in rows[0]:
            values = [row.get(name) for row in rows]
            present = [v for v in values if v is not None]
            if present and all(isinstance(v, str) and _MIDNIGHT.fullmatch(v) for v in present):
                values = [None if v is None else date.fromisoformat(v[:10]) for v in values]
            columns[name] = values
        table = pa.Table.from_pydict(columns)
    sink = io.BytesIO()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def rows(data: bytes) -> list[dict]:
    """The rows of an Arrow dataset (the inverse of `arrow`)."""
    return ipc.open_stream(io.BytesIO(data)).read_all().to_pylist()
