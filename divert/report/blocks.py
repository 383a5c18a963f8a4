"""What a board pack is made of: sections of tables, figures, text and method notes, with every
figure already formatted, so the PDF and the HTML version print the same cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl

from divert.core import wording
from divert.core.disclosure import NOTE, SUPPRESSED

MISSING = "-"


class ReportError(Exception):
    """A board pack that cannot be made as asked (the reason is for the user)."""


@dataclass
class Table:
    key: str
    title: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    counts: tuple[int, ...] = ()  # the columns that hold counts (what the gate rounds or hides)
    numeric: tuple[int, ...] = ()  # right-aligned
    widths: tuple[float, ...] = ()  # relative column widths
    frame: pl.DataFrame | None = None  # the (gated) table behind the cells
    count_cells: tuple[tuple[int, int], ...] = ()  # single (row, column) cells that hold counts

    def is_count(self, row: int, column: int) -> bool:
        return column in self.counts or (row, column) in self.count_cells


@dataclass
class Figure:
    key: str
    title: str
    caption: str
    png: bytes
    size: tuple[int, int]  # pixels


@dataclass
class Text:
    text: str
    kind: str = "note"  # "note" or "warning"


@dataclass
class Markdown:
    text: str


Block = Table | Figure | Text | Markdown


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class BoardPack:
    force_name: str
    role: str
    start: date
    end: date
    previous: tuple[date, date]
    as_of: date
    data_version: int
    generated_at: datetime
    coverage: str
    threshold: int
    rounding: int
    exact: bool
    sections: list[Section] = field(default_factory=list)
    headlines: list = field(default_factory=list)  # divert.analytics.dashboards.overview.Headline, through the gate

    @property
    def title(self) -> str:
        return f"{self.force_name} drug diversion: board pack"

    @property
    def period_text(self) -> str:
        return f"{wording.day(self.start)} to {wording.day(self.end)}"

    @property
    def stamp(self) -> str:
        """The line printed on every page."""
        return (f"Period {self.period_text} | As of {wording.day(self.as_of)} | "
                f"Data version {self.data_version} | Generated {self.generated_text}")

    @property
    def generated_text(self) -> str:
        """When the pack was made, to the minute in UK time: "5 Dec 2026 14:03 UK time"."""
        return f"{wording.moment(self.generated_at)} UK time"

    @property
    def audience(self) -> str:
        if self.exact:
            return (f"Restricted: exact figures for the {self.role} role. Not for publication; the published pack "
                    "is the viewer's.")
        return (f"Published figures: counts from 1 to {self.threshold - 1} are hidden (*), other counts are rounded "
                f"to the nearest {self.rounding}, and figures made from fewer than {self.threshold} people are hidden.")

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]

    def table(self, key: str) -> Table:
        return next(t for t in self.tables() if t.key == key)


Progress = Callable[[str, float], None]


# --- cells --------------------------------------------------------------------------------------
def hidden(row: dict, column: str) -> bool:
    """True where the gate hid this figure (its row's note names it)."""
    note = row.get(NOTE) or ""
    return f"{column.replace('_', ' ')}:" in note


def cell(row: dict, column: str, shown: Callable[[object], str] = str, *, gate_name: str | None = None) -> str:
    """One figure as printed: '*' where the gate hid it, '-' where there is none."""
    value = row.get(column)
    if value is None:
        return SUPPRESSED if hidden(row, gate_name or column) else MISSING
    return shown(value)


def count(value) -> str:
    return f"{int(value):,}"


def share(value) -> str:
    return f"{value:.1%}"


def ratio(value) -> str:
    return f"{value:.2f}"


def number(value) -> str:
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def interval(row: dict, low: str, high: str, shown: Callable[[object], str], gate_name: str | None = None) -> str:
    """'a to b', '*' where the gate hid the interval, '-' where there is none."""
    if row.get(low) is None or row.get(high) is None:
        return SUPPRESSED if hidden(row, gate_name or low) else MISSING
    return f"{shown(row[low])} to {shown(row[high])}"


# --- where the figures come from ----------------------------------------------------------------
SOURCE_NAMES = {"offences": "possession offences", "referrals": "referrals",
                "stop_search": "police.uk stop-and-search records"}

def source(frames, *kinds: str, verb: str = "Counted from") -> str:
    """Where a table's figures come from, as a sentence: "Counted from the referrals recorded in
    Divert up to 4 Dec 2026." (each source with its own date when they differ)."""
    up_to = frames.data_up_to()
    held = [(SOURCE_NAMES[k], up_to.get(k)) for k in kinds]
    dates = {d for _, d in held}
    if len(dates) == 1:
        names = " and ".join(name for name, _ in held)
        day = dates.pop()
        return f"{verb} the {names} recorded in Divert" + (f" up to {wording.day(day)}." if day else ".")
    return f"{verb} " + " and ".join(f"the {name} recorded in Divert" + (f" up to {wording.day(d)}" if d else "")
                                      for name, d in held) + "."
