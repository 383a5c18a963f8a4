"""Tables in words for commissioners: one map from the column names the read models use to the
headers a table view and its CSV show, and the formatter that makes a frame readable (shares as
percentages, p-values as "less than 0.001", yes and no, nothing shown as None or null).

The read models keep their names (`rri`, `ci_low`, `share_of_referred`): the names are mapped
here, at the edge, so every chart's table and CSV reads the same way."""

from __future__ import annotations

import math

import polars as pl

from divert.core import codes
from divert.core.wording import DAY_FORMAT

RANGE = "95% range"  # what the pages call a 95% confidence interval (the Glossary explains it)

HEADERS: dict[str, str] = {
    # who and what
    "area": "Local policing area", "source": "Source", "drug": "Drug", "age_band": "Age band", "sex": "Sex",
    "ethnic_group": "Ethnic group (self-defined)", "group": "Group", "self_defined": "Self-defined ethnic group",
    "reference": "Compared with", "outcome": "Outcome", "outcome_group": "Outcome", "status": "How the referral closed",
    "stage": "Step (code)", "stage_label": "Stage", "label": "Description", "branch": "Branch", "after": "Comes after",
    "term": "Measure (code)", "measure": "Measure", "series": "Series", "wait": "Wait",
    "queue": "Queue", "scenario": "Scenario", "section": "Section", "worker": "Worker", "assumption": "Assumption",
    "value": "Value", "how": "How it is worked out", "explanation": "How it is worked out", "note": "Note",
    "reading": "In words", "denominator_basis": "What the rate is out of", "rate_unit": "Rate given as",
    # when
    "period": "Period", "month": "Month", "week": "Week", "starts": "Period starts", "period_end": "Period ends",
    "covered_from": "Records from", "covered_to": "Records to", "months_missing": "Months with no records",
    "days": "Days", "days_forecast": "Days forecast", "months": "Months followed up", "weeks_ahead": "Weeks ahead",
    "weeks_active": "Weeks active", "months_before": "Months before the launch", "months_after": "Months after the launch",
    # counts
    "count": "Number", "offences": "Possession offences", "referrals": "Referrals", "people": "People",
    "events": "People at this step", "denominator": "Out of", "white_events": "White people at this step",
    "white_denominator": "White people out of", "searches": "People searched", "finds": "Searches that found something",
    "agree": "Officer-recorded group agrees", "residents": "Residents", "person_years": "Person-years",
    "formal": "Charges and cautions", "formal_outcomes": "Charges and cautions", "formal_before": "Charges and cautions before",
    "formal_after": "Charges and cautions after", "offences_before": "Possession offences before",
    "offences_after": "Possession offences after", "count_before": "Number before", "count_after": "Number after",
    "dropped": "Did not reach this step", "repeats": "Repeat referrals", "intelligence_logs": "Intelligence logs",
    "reoffended": "Offended again", "at_risk": "People still followed up", "sessions": "Course sessions",
    "seats": "Seats", "booked": "Seats booked", "attended": "People who attended",
    "course_allocations": "Allocated to the course", "waiting_list": "On the waiting list", "assessments": "Assessments",
    "assessed": "Assessed", "course_seats": "Course seats", "forecasts": "Forecasts checked", "origins": "Start weeks tried",
    "completions": "Courses completed",
    # shares and rates
    "share": "Share", "rate": "Rate", "white_rate": "White rate", "share_of_referred": "Share of those referred",
    "share_of_previous": "Share of the step before", "share_of_events": "Share of all searches",
    "share_before": "Share before", "share_after": "Share after", "repeat_share": "Share who were referred before",
    "formal_share": "Share charged or cautioned", "find_rate": "Share of searches that found something",
    "agreement": "Share where the officer-recorded group agrees", "still_without_offence": "Share without a further offence",
    "seat_use": "Share of seats booked", "seats_filled": "Share of seats filled", "attendance": "Share of booked who attended",
    "coverage_80": "How often inside the 80% range", "coverage_95": "How often inside the 95% range",
    "rate_per_1000_a_year": "Per 1,000 residents a year", "fitted_rate": "Share the model fits",
    "counterfactual_rate": "Share had nothing changed", "fitted": "Model's fitted number",
    "counterfactual": "Number had nothing changed", "change_points": "Change (percentage points)",
    "change_pct": "Change", "ci_low_pct": "Lower end of the 95% range", "ci_high_pct": "Upper end of the 95% range",
    # ratios and statistics
    "rri": "Times as likely (relative rate)", "rr": "Times as likely as White (relative rate)",
    "baseline_rr": "Usual level (relative rate before)", "ewma_rr": "Smoothed relative rate (EWMA)",
    "ratio_vs_white": "Times as likely as White", "ratio_before": "Times as likely as White, before",
    "ratio_after": "Times as likely as White, after", "gap_before": "Gap against White before",
    "gap_after": "Gap against White after", "ratio_of_rate_ratios": "Gap after / gap before",
    "estimate": "Estimate (rate ratio)", "ci_low": "Lower end of the 95% range", "ci_high": "Upper end of the 95% range",
    "rrr_low": "Gap after / gap before: lower end of the 95% range",
    "rrr_high": "Gap after / gap before: upper end of the 95% range",
    "p_value": "Chance of a change this big by luck alone (p-value)", "significant": "Clear difference (95% range excludes 1)",
    "statistic": "Statistic", "lower_limit": "Lower warning line", "upper_limit": "Upper warning line",
    "mase": "Error against 'same week last year' (MASE)",
    "error_against_same_week_last_year": "Error against 'same week last year' (MASE)",
    "median": "Median (middle value)", "p90": "90th percentile (9 in 10 are at most)",
    "median_days": "Median days (middle value)", "p90_days": "90th percentile days (9 in 10 wait at most)",
    "mean": "Average", "per_worker_day": "Per worker a day", "target": "Target",
    # flags
    "provisional": "Provisional (not over yet)", "partial": "Part period", "part_year": "Part year",
    "small_group": "Fewer than 10 people", "excluded": "Left out of the model", "in_fit": "Used in the model",
    "charted": "Shown on the chart", "alert_open": "Alert open", "in_total": "In the total",
    # planning
    "busy_week": "Busy week", "average_week": "Average week", "referrals_busy_week": "Referrals in a busy week",
    "sessions_busy_week": "Sessions in a busy week", "staff_hours": "Staff hours",
    "staff_hours_busy_week": "Staff hours in a busy week", "assessment_worker_days": "Assessment worker days",
    "assessment_arrivals": "Arriving for assessment", "assessment_capacity": "Assessment places",
    "assessment_queue": "Waiting for assessment", "wait_to_assessment": "Wait for assessment (days)",
    "course_arrivals": "Arriving for the course", "course_capacity": "Course places", "course_queue": "Waiting for the course",
    "wait_to_course": "Wait for the course (days)", "sessions_for_demand": "Sessions needed", "assessment_hours":
    "Assessment hours", "facilitator_hours": "Facilitator hours",
}

BAND_ENDS = {"low": "lower", "high": "upper", "lo": "lower", "hi": "upper"}
SHARES = {"share", "white_rate", "repeat_share", "formal_share", "find_rate", "agreement", "still_without_offence",
          "seat_use", "seats_filled", "attendance", "coverage_80", "coverage_95", "fitted_rate", "counterfactual_rate"}
PERCENTS = {"change_pct", "ci_low_pct", "ci_high_pct"}  # already in percent
P_VALUES = {"p_value"}
VALUES: dict[str, dict[str, str]] = {
    "measure": {"recorded_offences": "Recorded possession offences", "formal_outcomes": "Charges and cautions"},
    "term": {"level_change": "Change in level at the launch", "slope_change_per_month": "Change in trend after the launch",
             "pre_trend_per_month": "Trend before the launch"},
    "period": {"before": "Before the launch", "after": "After the launch"},
    "sex": codes.SEXES, "rate_unit": {"share": "a percentage"},
}
NOT_KNOWN = ""  # a missing figure is a blank cell
CODES = {"stage": ("stage_label", "label"), "term": ("label",)}  # a code column left out beside its words


def _band(name: str) -> tuple[str, str, str] | None:
    """(base column, 'lower'/'upper', level) for a band column: `ci_low`, `share_low`, `lo_80`,
    `referrals_hi_95`, `low`; None otherwise."""
    parts = name.split("_")
    level = "95"
    if len(parts) >= 2 and parts[-1].isdigit() and parts[-2] in ("lo", "hi"):
        level, parts = parts[-1], parts[:-1]
    if parts[-1] not in BAND_ENDS:
        return None
    return "_".join(parts[:-1]), BAND_ENDS[parts[-1]], level


def header(name: str) -> str:
    """The column's header in words; a name not in the map loses its underscores."""
    if name in HEADERS:
        return HEADERS[name]
    band = _band(name)
    if band:
        base, end, level = band
        words = f"{end} end of the {level}% range"
        return f"{header(base)}: {words}" if base and base != "ci" else words.capitalize()
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def is_share(name: str, columns: list[str] | tuple[str, ...] = ()) -> bool:
    """Whether the column holds a share (0 to 1), shown as a percentage."""
    band = _band(name)
    if band and band[0]:
        return is_share(band[0], columns)
    if band:  # a bare `low`/`high`: the band around the frame's one share
        return "still_without_offence" in columns
    if name == "rate":
        return "rate_unit" not in columns
    return name in SHARES or name.startswith("share_") or name.endswith("_share")


def p_value(p) -> str:
    """A p-value in words: "less than 0.001", or to 3 places; blank when there is none."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return NOT_KNOWN
    return "less than 0.001" if p < 0.001 else f"{p:.3f}"


def percent(value, places: int = 1) -> str:
    """A share as a percentage ("12.3%"); blank when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_KNOWN
    return f"{value * 100:.{places}f}%"


def number(value) -> str:
    """A figure that is not a count, rounded for reading: "0.85", "12.4", "1,235"; blank when none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NOT_KNOWN
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def _text(column: pl.Series, fn) -> pl.Series:
    return pl.Series(column.name, [fn(v) for v in column.to_list()], dtype=pl.String)


def _rate(frame: pl.DataFrame) -> pl.Series:
    """`rate` beside its unit: a percentage where the unit is a share, a number otherwise."""
    return pl.Series("rate", [percent(r) if u == "share" else number(r)
                              for r, u in zip(frame["rate"].to_list(), frame["rate_unit"].to_list(), strict=True)],
                     dtype=pl.String)


def _column(frame: pl.DataFrame, name: str) -> pl.Series:
    column, columns, dtype = frame[name], frame.columns, frame[name].dtype
    if name in P_VALUES and dtype.is_numeric():
        return _text(column, p_value)
    if name in PERCENTS and dtype.is_numeric():
        return _text(column, lambda v: NOT_KNOWN if v is None or math.isnan(v) else f"{v:+.0f}%")
    if name == "rate" and "rate_unit" in columns and dtype.is_numeric():
        return _rate(frame)
    if dtype.is_float() and is_share(name, columns):
        return _text(column, percent)
    if dtype == pl.Boolean or (dtype == pl.Object):
        return _text(column, lambda v: NOT_KNOWN if v is None else "Yes" if v is True else "No" if v is False else str(v))
    if dtype.is_float():
        if column.is_null().any() or column.is_nan().any():
            return _text(column, number)
        size = column.abs()
        return pl.select(pl.when(size >= 100).then(column.round(0)).when(size >= 10).then(column.round(1))
                         .otherwise(column.round(2)).alias(name)).to_series()
    if dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
        column = column.cast(pl.String)
        if name in VALUES:
            column = column.replace(VALUES[name])
        return column.fill_null(NOT_KNOWN)
    if dtype.is_temporal() and column.is_null().any():
        return _text(column, lambda v: NOT_KNOWN if v is None else format(v, DAY_FORMAT))
    if dtype.is_integer() and column.is_null().any():
        return _text(column, lambda v: NOT_KNOWN if v is None else f"{v:,}")
    if dtype == pl.Null:
        return pl.Series(name, [NOT_KNOWN] * frame.height, dtype=pl.String)
    return column


def plain(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as a commissioner reads it: headers in words, shares as percentages, p-values
    as "less than 0.001" or to 3 places, yes and no, codes by name, missing figures blank. Dates
    stay dates (the table view formats them, `for_csv` writes them as "5 Dec 2026")."""
    frame = frame.drop([code for code, words in CODES.items()
                        if code in frame.columns and any(w in frame.columns for w in words)])
    out = pl.DataFrame([_column(frame, name) for name in frame.columns]) if frame.width else frame
    names, seen = [], set()
    for name in frame.columns:
        shown = header(name)
        while shown in seen:  # two names with one header: keep both, told apart
            shown += " (2)"
        seen.add(shown)
        names.append(shown)
    return out.rename(dict(zip(out.columns, names, strict=True)))


def for_csv(shown: pl.DataFrame) -> pl.DataFrame:
    """A plain frame with its dates written as on screen ("5 Dec 2026")."""
    return shown.with_columns(pl.col(name).dt.strftime(DAY_FORMAT) for name, dtype in shown.schema.items()
                              if dtype.is_temporal() and dtype != pl.Duration and dtype != pl.Time)
