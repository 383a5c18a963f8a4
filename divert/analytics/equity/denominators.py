"""Population denominators: residents of each group in each year, and the person-years of a
window, so that a rate is "per 1,000 residents a year" whatever the window's length.

A year's population is interpolated in a straight line between the 2011 and 2021 censuses and
held at the 2021 census afterwards (and at 2011 before it): for 2011 <= Y <= 2021,
P(Y) = P2011 + (Y - 2011) / 10 x (P2021 - P2011). A fixed census (2011 or 2021) can be chosen
instead. The person-years of a window are the sum over its calendar years of that year's
population times the share of the year inside the window; a rate is events / person-years x 1,000.

Nothing falls back silently: when the force has no 2021 figures the interpolated series is the
2011 census for every year, and the note printed under every rate says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from divert.core import codes

FIRST_CENSUS, LAST_CENSUS = 2011, 2021
METHODS_ALLOWED = ("interpolated", "2011", "2021")
BROAD = ("White", "Mixed", "Asian", "Black", "Other")
DETAILED = tuple(c for c in codes.ETHNICITY_SELF if c != "NS")

METHODS = """
### Population denominators
- **Rates are per 1,000 residents a year**, whatever the period: the events of the period divided by
  its *person-years* (residents x years), times 1,000. A two-year period is divided by two years of
  residents; a period of 7.75 years by 7.75. **Only the months the data covers count**: a month with
  no records (a police.uk file never imported, or months after the last file) is left out of the
  person-years, and the note says which months, so three months of searches are never divided by
  seven years. A period with no covered month has no rate. Which months each source holds is on the
  Data coverage page and in `divert status`. The denominator used is printed under every rate, in the
  tables' `denominator` column, and in `covered_from`, `covered_to` and `months_missing`.
- **Each year has its own population.** By default a year's residents are interpolated in a straight
  line between the 2011 and 2021 censuses, P(Y) = P2011 + (Y - 2011)/10 x (P2021 - P2011), and held
  at the 2021 census from 2021 on (there is no later census). A period's person-years add up each
  calendar year's residents times the share of that year inside the period. So a 2023 period is
  measured against the 2021 census, not 2011, and a 2018-2025 period against populations that grow
  year by year.
- **A fixed census** (2011 or 2021) can be chosen on the page or with `divert metrics disparity
  --census 2011|2021`, for comparison with reports that used one.
- **Census figures.** 2011: ONS table QS201EW; 2021: ONS table TS021 (Nomis), 18 self-defined groups
  and the five broad groups, by local authority, summed to police force areas (2021's "White: Roma"
  is counted with any other White background). Eight authorities formed since 2011 are compared with
  the sum of the 2011 districts they were made from. If a force has no 2021 figures the page and the
  command say so and the rate uses the 2011 census for every year, labelled as such.
- **Caveats.** Between censuses the straight line is an estimate; after 2021 the population is held,
  so rates for groups still growing are somewhat overstated. Census figures are usual residents;
  people searched or arrested in the area need not live there.
"""


def census_population(population: pl.DataFrame, *, force: str, census_year: int, level: str = "broad",
                      area: str | None = None) -> pl.DataFrame:
    """group, population of one census for a force area (or one local authority's code)."""
    rows = population.filter(
        (pl.col("census_year") == census_year) & (pl.col("sex") == "all") & (pl.col("age_band") == "all")
    )
    if area:
        rows = rows.filter((pl.col("geography_level") == "local_authority") & (pl.col("geography_code") == area))
    else:
        rows = rows.filter((pl.col("geography_level") == "force") & (pl.col("force") == force))
    wanted = DETAILED if level == "detailed" else BROAD
    return rows.filter(pl.col("ethnicity").is_in(wanted)).group_by(pl.col("ethnicity").alias("group")).agg(
        pl.col("count").sum().cast(pl.Float64).alias("population")
    ).sort("group")


def has_census(population: pl.DataFrame, *, force: str, census_year: int, level: str = "broad",
               area: str | None = None) -> bool:
    """True when the census has every group of the level for the area."""
    wanted = DETAILED if level == "detailed" else BROAD
    found = census_population(population, force=force, census_year=census_year, level=level, area=area)
    return set(found["group"]) >= set(wanted)


def forces_without(population: pl.DataFrame, forces: Iterable[str], census_year: int = LAST_CENSUS) -> list[str]:
    """The forces (of those given) whose census figures for `census_year` are missing."""
    return sorted(f for f in set(forces) if f and not has_census(population, force=f, census_year=census_year))


def _method(method) -> str:
    method = str(method)
    if method not in METHODS_ALLOWED:
        raise ValueError(f"census must be one of {', '.join(METHODS_ALLOWED)}, not {method!r}")
    return method


def population_by_year(population: pl.DataFrame, force: str, years: Iterable[int], level: str = "broad",
                       method: str | int = "interpolated", area: str | None = None) -> pl.DataFrame:
    """year, group, population, basis: the residents of each group in each year.
    `method` is "interpolated" (the default), 2011 or 2021. With "interpolated" and a census
    missing, the other census is used for every year and `basis` says so; with a fixed census
    that is missing, the frame is empty."""
    method = _method(method)
    years = sorted(set(years))
    schema = {"year": pl.Int32, "group": pl.String, "population": pl.Float64, "basis": pl.String}
    available = {y: has_census(population, force=force, census_year=y, level=level, area=area)
                 for y in (FIRST_CENSUS, LAST_CENSUS)}
    place = area or force
    if method != "interpolated" or not all(available.values()):
        if method == "interpolated":
            year = FIRST_CENSUS if available[FIRST_CENSUS] else LAST_CENSUS
            missing = LAST_CENSUS if year == FIRST_CENSUS else FIRST_CENSUS
            basis = f"{year} census for every year: no {missing} census figures for {place}"
            if not available[year]:
                return pl.DataFrame(schema=schema)
        else:
            year = int(method)
            basis = f"{year} census"
            if not available[year]:
                return pl.DataFrame(schema=schema)
        fixed = census_population(population, force=force, census_year=year, level=level, area=area)
        rows = [(y, g, p, basis) for y in years for g, p in fixed.iter_rows()]
        return pl.DataFrame(rows, schema=schema, orient="row")
    first = dict(census_population(population, force=force, census_year=FIRST_CENSUS, level=level, area=area).iter_rows())
    last = dict(census_population(population, force=force, census_year=LAST_CENSUS, level=level, area=area).iter_rows())
    rows = []
    for year in years:
        t = min(max(year, FIRST_CENSUS), LAST_CENSUS) - FIRST_CENSUS
        basis = ("2011 census" if year <= FIRST_CENSUS else "2021 census (the latest, held)" if year >= LAST_CENSUS
                 else "interpolated between the 2011 and 2021 censuses")
        for group in sorted(first):
            rows.append((year, group, first[group] + t / 10 * (last[group] - first[group]), basis))
    return pl.DataFrame(rows, schema=schema, orient="row")


def year_shares(start: date, end: date) -> dict[int, float]:
    """Share of each calendar year inside [start, end] (both days counted)."""
    shares = {}
    for year in range(start.year, end.year + 1):
        first, last = max(start, date(year, 1, 1)), min(end, date(year, 12, 31))
        shares[year] = ((last - first).days + 1) / ((date(year, 12, 31) - date(year, 1, 1)).days + 1)
    return shares


def spans_shares(spans: Iterable[tuple[date, date]]) -> dict[int, float]:
    """Share of each calendar year inside the spans (disjoint [start, end] day ranges), added up."""
    shares: dict[int, float] = {}
    for start, end in spans:
        for year, share in year_shares(start, end).items():
            shares[year] = shares.get(year, 0.0) + share
    return shares


@dataclass(frozen=True)
class Denominator:
    """The person-years of a window, by group, and how they were worked out."""

    person_years: pl.DataFrame  # group, person_years, residents (the average over the window)
    by_year: pl.DataFrame  # year, group, population, basis, share (of the year inside the window)
    start: date
    end: date
    method: str  # what was asked for
    note: str  # the line printed under every rate
    warning: str | None  # a census was missing and another was used
    spans: tuple[tuple[date, date], ...] = ()  # the covered days counted (default: start to end)

    @property
    def years(self) -> float:
        return sum(spans_shares(self.spans or ((self.start, self.end),)).values())

    @property
    def available(self) -> bool:
        return not self.person_years.is_empty()


def window_denominator(population: pl.DataFrame, *, force: str, start: date, end: date, level: str = "broad",
                       method: str | int = "interpolated", area: str | None = None,
                       spans: list[tuple[date, date]] | None = None, gaps: str | None = None) -> Denominator:
    """Person-years of each group between `start` and `end` (both included), or over only the
    covered `spans` inside them (divert.analytics.data.coverage); `gaps`: what of the window has no
    data, in words, added to the note."""
    method = _method(method)
    if end < start:
        raise ValueError("the period ends before it starts")
    spans = [(max(a, start), min(b, end)) for a, b in (spans if spans is not None else [(start, end)])]
    spans = [(a, b) for a, b in spans if a <= b]
    shares = spans_shares(spans)
    by_year = population_by_year(population, force, shares, level, method, area).with_columns(
        pl.col("year").replace_strict(shares, return_dtype=pl.Float64).alias("share"))
    years = sum(shares.values())
    person_years = by_year.group_by("group").agg((pl.col("population") * pl.col("share")).sum().alias("person_years")
                                                 ).with_columns((pl.col("person_years") / years).round(1).alias("residents")
                                                                ).sort("group")
    warning = None
    if by_year.is_empty():
        wanted = "2011 or 2021" if method == "interpolated" else method
        warning = f"no {wanted} census figures for {area or force}"
    elif by_year["basis"].str.contains("for every year: no").any():
        warning = by_year["basis"][0].replace(" for every year: ", " used for every year: ")
    note = describe(by_year, spans or [(start, end)], warning)
    if gaps:
        note += f"; {gaps}"
    return Denominator(person_years, by_year, start, end, method, note, warning, tuple(spans))


def describe(by_year: pl.DataFrame, spans: list[tuple[date, date]], warning: str | None = None) -> str:
    """"per 1,000 residents a year over 2.00 years (1 Jan 2022 to 31 Dec 2023); 2022-2023: 2021
    census" - the denominator in words (covered spans apart are each named)."""
    shares = spans_shares(spans)
    dates = ", ".join(f"{a:%-d %b %Y} to {b:%-d %b %Y}" for a, b in spans)
    head = f"per 1,000 residents a year over {sum(shares.values()):.2f} years ({dates})"
    if by_year.is_empty():
        return f"{head}; no census figures: {warning or 'none loaded'}"
    spans: list[list] = []
    for year, basis in by_year.select("year", "basis").unique().sort("year").iter_rows():
        if spans and spans[-1][2] == basis and spans[-1][1] == year - 1:
            spans[-1][1] = year
        else:
            spans.append([year, year, basis])
    parts = [f"{a}{'' if a == b else f'-{b}'}: {basis}" for a, b, basis in spans]
    return f"{head}; populations {'; '.join(parts)}"


def per_year_rates(events: pl.DataFrame, denominator: Denominator, event_col: str = "events") -> pl.DataFrame:
    """group, events, residents, person_years, rate_per_1000_a_year (null without a population:
    not stated, missing)."""
    table = events.join(denominator.person_years, on="group", how="full", coalesce=True).with_columns(
        pl.col(event_col).fill_null(0).cast(pl.Int64))
    return table.with_columns(
        pl.when(pl.col("person_years") > 0).then(pl.col(event_col) / pl.col("person_years") * 1000)
        .otherwise(None).alias("rate_per_1000_a_year")
    )
