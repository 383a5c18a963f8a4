"""The dashboard filters: one set for every page, carried in the URL query string."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date

import polars as pl

from divert.analytics.data.memo import per_snapshot

POLICY_START = date(2020, 10, 1)  # the reference programme's launch; use frames.programme.launch


@dataclass(frozen=True)
class Filters:
    start: date | None = None
    end: date | None = None
    area: str | None = None
    source: str | None = None
    age_band: str | None = None
    sex: str | None = None
    ethnic_group: str | None = None
    as_of: date | None = None  # the date every figure is measured from; None: today (Europe/London)

    @property
    def as_of_date(self) -> date:
        from divert.core.clock import today

        return self.as_of or today()

    def apply(self, frame: pl.DataFrame, date_column: str | None = None) -> pl.DataFrame:
        """Keep the rows that match; a filter whose column the frame lacks is ignored. The same
        filters on the same frame give the same object (kept on the frame), so the figures kept
        on it (divert.analytics.data.memo) are found again on the next rerun."""
        return _kept_rows(frame, self, date_column)

    def rows(self, frame: pl.DataFrame, date_column: str | None = None) -> pl.DataFrame:
        conditions = []
        if date_column and date_column in frame.columns:
            day = pl.col(date_column)
            if frame.schema[date_column] != pl.Date:
                day = day.dt.date()
            if self.start:
                conditions.append(day >= self.start)
            if self.end:
                conditions.append(day <= self.end)
        for name in ("area", "source", "age_band", "sex", "ethnic_group"):
            value = getattr(self, name)
            if value and name in frame.columns:
                conditions.append(pl.col(name) == value)
        return frame.filter(*conditions) if conditions else frame

    def without_period(self) -> Filters:
        return replace(self, start=None, end=None)

    def to_query(self) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}

    @classmethod
    def from_query(cls, query) -> Filters:
        """Build from a query-string mapping; unknown keys and bad dates are ignored."""
        values = {}
        for f in fields(cls):
            raw = query.get(f.name)
            if not raw:
                continue
            if f.name in ("start", "end", "as_of"):
                try:
                    values[f.name] = date.fromisoformat(str(raw))
                except ValueError:
                    continue
            else:
                values[f.name] = str(raw)
        return cls(**values)

    def describe(self, period: bool = True, areas: dict[str, str] | None = None) -> str:
        """The filters in words ("1 Dec 2025 to 30 Nov 2026; area Coventry"); `period=False`
        leaves the dates out (for a page that states its periods itself). `areas` names the
        programme's areas (Frames.programme.area_labels); a code it lacks is looked up in the
        reference lists."""
        from divert.core.codes import REFERRAL_SOURCES, SEXES
        from divert.reference.census import area_label

        parts = []
        if period and (self.start or self.end):
            first = f"{self.start:%-d %b %Y}" if self.start else "the first record"
            last = f"{self.end:%-d %b %Y}" if self.end else "the as-of date"
            parts.append(f"{first} to {last}")
        for name, value in asdict(self).items():
            if value and name not in ("start", "end", "as_of"):
                shown = {"area": lambda v: (areas or {}).get(v) or area_label(v), "source": REFERRAL_SOURCES.get,
                         "sex": SEXES.get}.get(name, lambda v: v)(value) or value
                label = {"area": "area", "age_band": "age", "ethnic_group": "ethnic group"}.get(name, name)
                parts.append(f"{label} {shown}")
        return "; ".join(parts) or ("no other filters" if not period else "all records")


@per_snapshot(most=8)
def _kept_rows(frame: pl.DataFrame, filters: Filters, date_column: str | None) -> pl.DataFrame:
    return filters.rows(frame, date_column)
