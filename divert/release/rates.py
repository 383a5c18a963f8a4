"""The disparity table of the public release: counts at each decision point by broad ethnic
group, and rates and ratios against White computed from the PUBLISHED (rounded) counts with the
analytics' interval functions, so that a rate never gives back a count more precisely than the
count itself is published, and a rate resting on a suppressed count is not shown."""

from __future__ import annotations

import polars as pl

from divert.analytics.equity import disparity
from divert.analytics.stats import ratios
from divert.release.tables import ALL, GROUPS, MEASURES, Table, Window

REFERENCE = disparity.REFERENCE


def disparity_table(win: Window, population: pl.DataFrame, census_year: int) -> Table:
    table = Table("disparity_by_ethnic_group", "Disparity at each decision point of the pathway, by ethnic group",
                  ["count"])
    for measure, (label, _, _) in MEASURES.items():
        for group in (*GROUPS, ALL):
            table.rows.append({"window_start": win.launch, "window_end": win.end, "measure": measure,
                               "measure_label": label, "ethnic_group": "All groups" if group == ALL else group,
                               "count": ("disparity", measure, group)})
    people = dict(population.select("group", "population").iter_rows())
    people[ALL] = sum(people.values()) if people else None
    years = ((win.end - win.launch).days + 1) / 365.25
    table.extra = lambda published: _rates(table.rows, published, people, years, census_year)
    return table


def _rates(rows, published, people: dict, years: float, census_year: int) -> dict[str, list]:
    out = {name: [] for name in ("denominator", "population", "rate", "rate_unit", "ratio_vs_white",
                                 "ratio_ci_low", "ratio_ci_high", "rate_note")}
    for row in rows:
        _, measure, group = row["count"]
        _, over, unit = MEASURES[measure]
        values = dict.fromkeys(out)
        values["rate_unit"] = unit
        if over == "population":
            values["denominator"] = f"population (Census {census_year})"
            values["population"] = people.get(group)
        elif over:
            values["denominator"] = MEASURES[over][0]
        values.update(_rate(measure, group, published, people, years))
        for name in out:
            out[name].append(values[name])
    return out


def _counts(measure: str, group: str, published: dict, people: dict, years: float):
    """(events, exposure) for a group, from the published counts; None where unknown."""
    _, over, _ = MEASURES[measure]
    events = published[("disparity", measure, group)]
    if over == "population":
        exposure = people.get(group)
        return events, (exposure * years if exposure else None)
    return events, published[("disparity", over, group)]


def _rate(measure: str, group: str, published: dict, people: dict, years: float) -> dict:
    _, over, _ = MEASURES[measure]
    if over is None:
        return {}
    events, exposure = _counts(measure, group, published, people, years)
    if events is None or (over != "population" and exposure is None):
        return {"rate_note": "not shown: it rests on a suppressed count"}
    if not exposure:
        return {"rate_note": "no census population for this group" if over == "population"
                else "not shown: nobody at the previous stage"}
    rate = events / exposure * (1000 if over == "population" else 100)
    values = {"rate": round(rate, 3 if over == "population" else 1)}
    if group in (REFERENCE, ALL) or group in disparity.UNCOUNTED:
        values["rate_note"] = "the reference group" if group == REFERENCE else None
        return values
    white_events, white_exposure = _counts(measure, REFERENCE, published, people, years)
    if white_events is None or not white_exposure:
        values["rate_note"] = "no ratio: the White count it is compared with is suppressed or zero"
        return values
    if over == "population":
        ratio, low, high = ratios.poisson_ratio(events, exposure, white_events, white_exposure)
    else:
        ratio, low, high = ratios.proportion_ratio(events, int(exposure), white_events, int(white_exposure))
    values.update({"ratio_vs_white": _round(ratio), "ratio_ci_low": _round(low), "ratio_ci_high": _round(high)})
    return values


def _round(value):
    return None if value is None else round(float(value), 2)
