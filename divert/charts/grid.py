"""Small multiples put together as a Vega-Lite specification directly, not through Altair's
composition: Altair copies every panel, layer and encoding each time charts are layered,
concatenated or given a property, which made a grid of six panels of eight layers take about
half a second to build and as long again to convert. The panels here are the same
specification, written as dicts (`Datasets.unit`, `policy`, `panel`) and returned as a
`Composed` chart, which the rest of the code uses as it uses an Altair chart: `to_dict()`
(validated against the Vega-Lite schema unless `validate=False`), `properties(...)` and
`description`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import date

import altair as alt
import polars as pl

from divert.charts.standard import date_axis

SCHEMA_URL = alt.SCHEMA_URL


def plain(value) -> dict:
    """An Altair object (an axis, a legend) as its Vega-Lite dict."""
    return value.to_dict(validate=False) if hasattr(value, "to_dict") else value


def rows(frame: pl.DataFrame) -> list[dict]:
    """A frame's rows as Altair sends them: dates and times as ISO strings."""
    fixes = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%d") + "T00:00:00")
        elif isinstance(dtype, pl.Datetime):
            fixes.append(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.f"))
    return (frame.with_columns(fixes) if fixes else frame).to_dicts()


class Datasets(dict):
    """The named datasets of one specification (name -> rows), named by their content."""

    def add(self, frame: pl.DataFrame) -> str:
        values = rows(frame)
        name = "data-" + hashlib.md5(json.dumps(values, sort_keys=True, default=str).encode(),
                                     usedforsecurity=False).hexdigest()
        self.setdefault(name, values)
        return name

    def unit(self, frame: pl.DataFrame, mark: dict, encoding: dict) -> dict:
        """One mark drawn from `frame`."""
        return {"data": {"name": self.add(frame)}, "mark": mark, "encoding": encoding}


def day(value: date) -> dict:
    """A date as a Vega-Lite DateTime (local midnight), as in a scale's domain."""
    return {"year": value.year, "month": value.month, "date": value.day}


def tip(field: str, kind: str, title: str, fmt: str | None = None) -> dict:
    types = {"N": "nominal", "T": "temporal", "Q": "quantitative"}
    return {"field": field, "type": types[kind], "title": title, **({"format": fmt} if fmt else {})}


def time_x(x: str, every: str, span) -> dict:
    """The shared date axis of small multiples: every panel over the same dates."""
    return {"field": x, "type": "temporal", "title": "", "axis": plain(date_axis(every, span=span)),
            "scale": {"domain": [day(span[0]), day(span[1])]}}


def note_tip(frame: pl.DataFrame) -> list[dict]:
    """A tooltip for the `note` column (why a period is partial), where the frame has one."""
    return [tip("note", "N", "Note")] if "note" in frame.columns else []


def policy(datasets: Datasets, start: date, label: str, colour: str, every: str | None, span) -> dict:
    """A dashed line at `start` named `label` (build.policy_rule, as a layer of a panel)."""
    name = datasets.add(pl.DataFrame({"day": [start], "label": [label]}))
    x = {"field": "day", "type": "temporal", "axis": plain(date_axis(every, span=span))}
    return {"data": {"name": name}, "layer": [
        {"mark": {"type": "rule", "color": colour, "strokeDash": [4, 3]},
         "encoding": {"x": x, "tooltip": [{"field": "label", "type": "nominal", "title": ""}]}},
        {"mark": {"type": "text", "align": "left", "baseline": "top", "color": colour, "dx": 4, "dy": -4},
         "encoding": {"x": x, "y": {"value": 0}, "text": {"field": "label", "type": "nominal"}}},
    ]}


def panel(layers: list[dict], title: str, width: int, height: int) -> dict:
    return {"layer": layers, "title": {"text": title, "anchor": "start", "fontSize": 14}, "width": width,
            "height": height}


class Composed:
    """A Vega-Lite specification put together as a dict, with its datasets (name -> rows)."""

    def __init__(self, spec: dict, datasets: dict[str, list[dict]]):
        self.spec = spec
        self.datasets = datasets

    @property
    def description(self):
        return self.spec.get("description", alt.Undefined)

    def to_dict(self, validate: bool = True, **_) -> dict:
        out = copy.deepcopy(self.spec)
        out["$schema"] = SCHEMA_URL
        if self.datasets:
            out["datasets"] = copy.deepcopy(self.datasets)
        if validate:
            alt.TopLevelConcatSpec.validate(out) if "concat" in out else alt.TopLevelUnitSpec.validate(out)
        return out

    def to_json(self, validate: bool = True, indent: int | str | None = 2, **kwargs) -> str:
        return json.dumps(self.to_dict(validate=validate), indent=indent, **kwargs)

    def properties(self, **kwargs) -> Composed:
        return Composed({**self.spec, **{key: plain(value) for key, value in kwargs.items()}}, self.datasets)
