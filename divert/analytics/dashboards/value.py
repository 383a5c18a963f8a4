"""Value for money, in the commissioner's terms: what the programme cost in a period for each
referral, each completed assessment and each course attended, beside the officer hours it
released and what those hours are worth.

The inputs come from the programme profile (divert.reference.programme): the price (a contract
price a year, prorated over the period's days as days / 365, or a price per referral), the
officer hours saved per referral and the cost of an officer hour, each with an optional low and
high figure. Every result carries a low and a high worked out from the lows and the highs of its
inputs (all inputs are positive, so the low inputs give the low result); the counts are taken
as recorded, with no range of their own.

Counts follow the pathway's definitions (divert.analytics.dashboards.pathway.stage_flags), each
dated by the day the step happened: referrals made in the period, assessments completed in the
period ('engaged') and group courses attended in the period ('attended the course'). So the
period's cost is set against the work done in it; the Pathway page follows a cohort of
referrals instead, and its counts can differ.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.dashboards.pathway import stage_flags
from divert.core.disclosure import NOTE, SUPPRESSED, Gate
from divert.reference.programme import Programme

DAYS_A_YEAR = 365
NO_COST = "no cost entered yet"
NO_HOURLY_COST = "no hourly cost entered yet"
MEANING = ("What the programme cost in the period for each person referred, each assessment completed and each "
           "course attended, beside the officer hours it released (the time a charge or caution would have taken "
           "instead of a Community Resolution) and what those hours are worth. Released hours are time freed for "
           "other policing, not cash saved. Each figure has a low to high range from the ranges entered on the "
           "Programme page.")
METHODS = ("### Value for money\n"
           "The programme's cost in a period is its contract price a year x the period's days / 365, or its price "
           "per referral x the referrals made in the period. It is divided by the referrals made, the assessments "
           "completed and the group courses attended in the period, each counted by the day it happened (the "
           "Pathway page's definitions; the Pathway page follows a cohort of referrals instead). Officer hours "
           "released are the referrals x the officer hours a charge or caution takes that a Community Resolution "
           "does not (the programme profile's figure and its source), valued at the cost of an officer hour the "
           "administrator sets. Every input may have a low and a high figure: the low inputs together give each "
           "result's low end and the high inputs its high end; a missing low or high is the central figure. The "
           "counts are taken as recorded; in published figures they are rounded first and every figure is worked "
           "out from the rounded counts. Released hours are time freed for other policing, not cash saved.\n")
UNITS = (("referral", "referrals", "Cost per referral"), ("assessment", "assessments", "Cost per completed assessment"),
         ("course", "courses", "Cost per course attended"))
RANGED = ("cost", "cost_per_referral", "cost_per_assessment", "cost_per_course", "hours_per_referral",
          "officer_hours", "hourly_cost", "officer_hours_value")


def counts(referrals: pl.DataFrame, period: tuple[date, date]) -> dict[str, int]:
    """Referrals made, assessments completed and courses attended in the period (inclusive),
    by the pathway's definitions, each dated by the day it happened. `referrals` is the
    snapshot at the as-of date with the other filters already applied."""
    start, end = period
    if referrals.is_empty():
        return {"referrals": 0, "assessments": 0, "courses": 0}
    flags = stage_flags(referrals)

    def within(column: str) -> pl.Expr:
        day = pl.col(column).dt.date() if flags.schema[column] != pl.Date else pl.col(column)
        return day.is_between(start, end).fill_null(False)

    return flags.select(
        within("referred_on").sum().alias("referrals"),
        (pl.col("engaged") & within("assessed_at")).sum().alias("assessments"),
        (pl.col("course_attended") & within("attended_at")).sum().alias("courses"),
    ).row(0, named=True)


def figures(profile: Programme, days: int, referrals: int | None, assessments: int | None,
            courses: int | None) -> dict:
    """Each figure with its _low and _high (None where an input is not entered, or a count is
    zero or hidden): the programme's cost in the period, its cost per unit, the officer hours
    released and their value."""
    out: dict = {"days": days, "cost_basis": profile.cost_basis, "referrals": referrals,
                 "assessments": assessments, "courses": courses}
    price = profile.span("cost")
    factor = days / DAYS_A_YEAR if profile.cost_basis == "contract_year" else referrals
    cost = None if price is None or factor is None else tuple(p * factor for p in price)
    _put(out, "cost", cost)
    for unit, column, _ in UNITS:
        n = out[column]
        _put(out, f"cost_per_{unit}", None if cost is None or not n else tuple(c / n for c in cost))
    hours = profile.span("officer_hours")
    _put(out, "hours_per_referral", hours)
    released = None if hours is None or referrals is None else tuple(h * referrals for h in hours)
    _put(out, "officer_hours", released)
    rate = profile.span("hourly_cost")
    _put(out, "hourly_cost", rate)
    _put(out, "officer_hours_value",
         None if rate is None or released is None else tuple(h * r for h, r in zip(released, rate, strict=True)))
    return out


def _put(out: dict, name: str, span: tuple[float, float, float] | None) -> None:
    low, central, high = span if span is not None else (None, None, None)
    out[name], out[f"{name}_low"], out[f"{name}_high"] = central, low, high


SCHEMA = {"start": pl.Date, "end": pl.Date, "days": pl.Int64, "cost_basis": pl.String, "referrals": pl.Int64,
          "assessments": pl.Int64, "courses": pl.Int64,
          **{f"{n}{end}": pl.Float64 for n in RANGED for end in ("", "_low", "_high")}, "hours_source": pl.String}


def value_for_money(referrals: pl.DataFrame, profile: Programme, period: tuple[date, date],
                    gate: Gate | None = None) -> pl.DataFrame:
    """One row: the period, its counts and every figure of `figures` with its range, and where
    the officer hours come from. With a gate that is not exact (a viewer), the counts pass it
    first and every figure is worked out from the counts as shown, as the Overview's officer-hours
    card is: a figure made from a hidden count is hidden (the row's note says which)."""
    start, end = period
    days = max(0, (end - start).days + 1)
    exact = counts(referrals, period)
    shown = exact if gate is None or gate.exact else {k: gate.count(v) for k, v in exact.items()}
    row = {"start": start, "end": end, **figures(profile, days, **shown), "hours_source": profile.officer_hours_source}
    if shown is exact:
        return pl.DataFrame([row], schema=SCHEMA)
    note = "; ".join(f"{name}: {gate.small}" for name, n in shown.items() if n is None)
    return pl.DataFrame([row | {NOTE: note or None}], schema={**SCHEMA, NOTE: pl.String})


def money(value: float) -> str:
    return f"£{value:,.0f}" if abs(value) >= 100 else f"£{value:,.2f}"


def hours(value: float) -> str:
    return f"{value:,.0f} h" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.1f} h"


def lines(row: dict) -> list[dict]:
    """The figures in words, one line each (measure, figure, range, how): what the Overview and
    the board pack print. A figure the disclosure gate hid (its row's note names it) shows '*'
    and why; one with no input says so."""
    note = row.get(NOTE) or ""
    bases = {"cost": "referrals", "officer_hours": "referrals", "officer_hours_value": "referrals",
             **{f"cost_per_{unit}": column for unit, column, _ in UNITS}}

    def one(name, shown, missing, entered=True):
        if row.get(name) is None and not entered:  # no price or hourly cost: nothing hidden, nothing to show
            return missing, ""
        if row.get(name) is None:
            hid = f"{bases.get(name)}:" in note or f"{name.replace('_', ' ')}:" in note
            return (SUPPRESSED if hid else missing), ("hidden: too few people to show" if hid else "")
        low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
        same = low is None or high is None or (shown(low) == shown(row[name]) == shown(high))
        return shown(row[name]), ("no range entered" if same else f"{shown(low)} to {shown(high)}")

    basis = row.get("cost_basis") or "none"
    priced, rate = basis != "none", row.get("hourly_cost")  # a basis always comes with its price (programme.check)
    price = ("a contract price a year, prorated over the period's days (days / 365)" if basis == "contract_year"
             else "a price per referral x referrals made")
    out = [dict(zip(("measure", "figure", "range"), ("Programme cost in the period", *one("cost", money, NO_COST, priced)),
                    strict=True)) | {"how": price if basis != "none" else "enter the price on the Programme page"}]
    for unit, column, label in UNITS:
        figure, span = one(f"cost_per_{unit}", money, NO_COST if basis == "none" else f"no {column} in the period",
                           priced)
        out.append({"measure": label, "figure": figure, "range": span, "how": f"the cost / the {column} in the period"})
    figure, span = one("officer_hours", hours, "-")
    out.append({"measure": "Officer hours released", "figure": figure, "range": span,
                "how": f"referrals x {row.get('hours_per_referral') or 0:g} hours each (low {row.get('hours_per_referral_low') or 0:g}, "
                       f"high {row.get('hours_per_referral_high') or 0:g}; the source is below)"})
    figure, span = one("officer_hours_value", money, NO_HOURLY_COST if rate is None else "-", rate is not None)
    out.append({"measure": "Value of the officer hours", "figure": figure, "range": span,
                "how": f"the hours x {money(rate)} an officer hour (low {money(row['hourly_cost_low'])}, high "
                       f"{money(row['hourly_cost_high'])})" if rate is not None else "enter the cost of an officer "
                       "hour on the Programme page"})
    return out
