"""Coverage: the months each source holds, and the gaps between them.

A source (stop-and-search per force, offences, referrals) covers a month when it holds a record
dated in it: a police.uk file holds one month (its rows must fall in the month its name gives,
divert.ingest checks that), an extract the months its records fall in. The months between the
first and the last held month that hold nothing are *missing* (a force's June file never
imported). A rate per year counts only covered time: the part of a window inside held months,
up to the as-of date (divert.analytics.equity.denominators.spans_years). Populations are covered by
census year instead (2011, 2021).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.analytics.calendar.months import add_months, month_end, month_grid, month_start
from divert.analytics.data.memo import per_snapshot

NAMES = {"stop-search": "stop-search", "offences": "offence", "referrals": "referral",
         "programme records": "offence and referral"}
LISTED = 6  # missing months named in a note before "and N more"


@dataclass(frozen=True)
class Coverage:
    """The months one source holds at an as-of date."""

    source: str
    force: str | None
    months: tuple[date, ...]  # first days of the months held, sorted
    as_of: date

    @property
    def covered_from(self) -> date | None:
        return self.months[0] if self.months else None

    @property
    def covered_to(self) -> date | None:
        """The last day covered: the end of the last month held, or the as-of date within it."""
        return min(month_end(self.months[-1]), self.as_of) if self.months else None

    @property
    def missing(self) -> tuple[date, ...]:
        """Months between the first and the last held that hold nothing."""
        if not self.months:
            return ()
        held = set(self.months)
        return tuple(m for m in month_grid(self.months[0], self.months[-1]) if m not in held)

    def spans(self, start: date, end: date) -> list[tuple[date, date]]:
        """The covered days of [start, end] as runs of consecutive held months, clipped."""
        runs: list[list[date]] = []
        for month in self.months:
            if runs and add_months(runs[-1][1], 1) == month:
                runs[-1][1] = month
            else:
                runs.append([month, month])
        out = []
        for first, last in runs:
            lo, hi = max(first, start), min(month_end(last), self.as_of, end)
            if lo <= hi:
                out.append((lo, hi))
        return out

    def missing_in(self, start: date, end: date) -> list[date]:
        """Months overlapping [start, end] (up to the as-of date) with no data: gaps, and months
        after the last held one."""
        end = min(end, self.as_of)
        if end < start:
            return []
        held = set(self.months)
        return [m for m in month_grid(start, end) if m not in held]

    def note(self, start: date, end: date) -> str | None:
        """In plain words, what of [start, end] has no data; None when all of it is covered."""
        name = NAMES.get(self.source, self.source)
        if not self.months:
            return f"there is no {name} data yet, so there is no rate"
        if not self.spans(start, end):
            return (f"{name} data covers {self.covered_from:%B %Y} to {self.covered_to:%-d %B %Y}: none of "
                    f"{start:%-d %b %Y} to {end:%-d %b %Y} is covered, so there is no rate")
        missing = self.missing_in(start, end)
        if not missing:
            return None
        before = [m for m in missing if m < self.months[0]]
        after = [m for m in missing if m > self.months[-1]]
        gaps = [m for m in missing if self.months[0] < m < self.months[-1]]
        parts = []
        if before:
            parts.append(f"{name} data starts {self.months[0]:%-d %B %Y}: the first {_months(len(before))} of this "
                         f"window {_have(len(before))} no data")
        if gaps:
            parts.append(f"there is no {name} data for {month_list(gaps)}")
        if after:
            parts.append(f"{name} data ends {self.covered_to:%-d %B %Y}: the last {_months(len(after))} of this window "
                         f"{_have(len(after))} no data yet")
        return "; ".join(parts) + (". Months with no data are not counted in the rate" if len(missing) != 1
                                   else ". A month with no data is not counted in the rate")


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _months(count: int) -> str:
    return "month" if count == 1 else f"{count} months"


def month_list(months: list[date] | tuple[date, ...]) -> str:
    """'June 2024, August 2024 and 3 more'."""
    named = [f"{m:%B %Y}" for m in months[:LISTED]]
    more = len(months) - len(named)
    if more:
        return ", ".join(named) + f" and {more} more"
    return named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]


def held_months(days: pl.Series, as_of: date) -> tuple[date, ...]:
    """The months (first days) with a record on or before `as_of`."""
    days = days.drop_nulls()
    days = days.filter(days <= as_of)
    if days.is_empty():
        return ()
    return tuple(days.dt.truncate("1mo").unique().sort().to_list())


def search_days(stop_search: pl.DataFrame, force: str) -> pl.Series:
    """The UK days of a force's searches."""
    from divert.reference.programme import TIME_ZONE

    rows = stop_search.filter((pl.col("force") == force) & pl.col("searched_at").is_not_null())["searched_at"]
    if rows.dtype == pl.Date:
        return rows
    if getattr(rows.dtype, "time_zone", None):
        rows = rows.dt.convert_time_zone(TIME_ZONE.key)
    return rows.dt.date()


@per_snapshot  # every run of the Disparity page asks (a pass over every search: a third of a second at 2 million)
def of_stop_search(stop_search: pl.DataFrame, force: str, as_of: date) -> Coverage:
    return Coverage("stop-search", force, held_months(search_days(stop_search, force), as_of), as_of)


def of_programme(offences: pl.DataFrame, referrals: pl.DataFrame, as_of: date) -> Coverage:
    """The programme's own records (offences and referrals together): the months either holds."""
    days = pl.concat([offences["offence_date"].cast(pl.Date), referrals["referred_on"].cast(pl.Date)])
    return Coverage("programme records", None, held_months(days, as_of), as_of)


SCHEMA = {"source": pl.String, "force": pl.String, "covered_from": pl.Date, "covered_to": pl.Date,
          "months_held": pl.Int64, "months_missing": pl.Int64, "missing": pl.String}


def table(frames, as_of: date) -> pl.DataFrame:
    """Coverage of every source at `as_of`: source, force, covered_from (first day of the first
    month held), covered_to (last day covered), months_held, months_missing (gaps inside the
    range) and missing (the gaps named, or the census held for populations)."""
    rows = []
    for source, frame, column in (("offences", frames.offences, "offence_date"),
                                  ("referrals", frames.referrals, "referred_on")):
        for force in sorted(f for f in frame["force"].unique().to_list() if f) if frame.height else []:
            days = frame.filter(pl.col("force") == force)[column].cast(pl.Date)
            rows.append(_row(Coverage(source, force, held_months(days, as_of), as_of)))
    searches = frames.stop_search
    for force in sorted(f for f in searches["force"].unique().to_list() if f) if searches.height else []:
        rows.append(_row(of_stop_search(searches, force, as_of)))
    rows += census_rows(frames.population)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def _row(cover: Coverage) -> tuple:
    missing = cover.missing
    return (cover.source, cover.force, cover.covered_from, cover.covered_to, len(cover.months), len(missing),
            month_list(missing) if missing else "none")


def census_rows(population: pl.DataFrame) -> list[tuple]:
    """Which censuses are held: one row per force lacking one, and one row for the forces that
    hold the same (e.g. "43 forces: 2011 and 2021 censuses")."""
    if population.is_empty():
        return []
    forces = population.filter(pl.col("geography_level") == "force").group_by("force").agg(
        pl.col("census_year").unique().sort().alias("years")).sort("force")
    alike: dict[str, list[str]] = {}
    for force, years in forces.iter_rows():
        absent = [str(y) for y in (2011, 2021) if y not in years]
        text = " and ".join(str(y) for y in years) + " census" + ("es" if len(years) > 1 else "")
        alike.setdefault(text + (f"; no {' or '.join(absent)} census" if absent else ""), []).append(force)
    rows = []
    for text, held in alike.items():
        lacking = 1 if "; no " in text else 0
        if len(held) == 1 or lacking:
            rows += [("population", force, None, None, None, lacking, text) for force in held]
        else:
            rows.append(("population", f"{len(held)} forces", None, None, None, 0, text))
    return rows


def window_fields(cover: Coverage, start: date, end: date) -> dict:
    """covered_from, covered_to (of the window: the first and last covered day inside it) and
    months_missing (months of the window with no data), for a table and `--format json`."""
    spans = cover.spans(start, end)
    return {"covered_from": spans[0][0] if spans else None, "covered_to": spans[-1][1] if spans else None,
            "months_missing": len(cover.missing_in(month_start(start), end))}
