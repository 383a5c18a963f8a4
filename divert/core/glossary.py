"""The Glossary: every technical term the pages, tables and board pack use, with its plain name
and a few sentences of what it means. The Glossary page lists these; chart captions link to it."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str  # the technical name, as a caption or the Methods page says it
    plain: str  # what the pages call it
    meaning: str  # 1-3 sentences: what this means
    also: tuple[str, ...] = ()  # other ways the pages write it (matched without case)

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")

    def words(self) -> tuple[str, ...]:
        return (self.name, self.plain, *self.also)


TERMS: tuple[Term, ...] = (
    Term("95% confidence interval", "95% range",
         "The range the true figure is likely to lie in, given how few people a figure is made from: with 95% "
         "ranges, about 19 times in 20 the truth is inside. A wide range means the figure is uncertain; two groups "
         "whose ranges barely overlap are likely to really differ.",
         ("confidence interval", "95% interval", "95% intervals", "interval", "intervals", "lower end of the 95% range",
          "upper end of the 95% range")),
    Term("Prediction interval", "80% and 95% range of a forecast",
         "The range a future week's figure is expected to fall in: 8 weeks in 10 inside the 80% range, 19 in 20 "
         "inside the 95% range. It is wider than a confidence interval because single weeks vary by chance.",
         ("prediction intervals", "80% range", "80% interval")),
    Term("Relative rate index", "Times as likely (relative rate)",
         "A group's rate divided by the White group's rate at the same step. 1 means no difference; 2 means twice as "
         "likely; 0.5 half as likely.", ("relative rate", "rri", "rate ratio", "rate ratios", "times as likely")),
    Term("Ratio of rate ratios", "Gap after / gap before",
         "How the gap between a group and White changed at the launch: the ratio after divided by the ratio before. "
         "Below 1 the gap narrowed; above 1 it widened.", ("ratio of rate ratios",)),
    Term("Disproportionality", "Unequal treatment between groups",
         "When one group is stopped, charged or diverted more or less often than its share of the population (or of "
         "the step before) would suggest. Measured here by relative rates with their 95% ranges.",
         ("disproportionate", "disparity")),
    Term("Person-years", "Residents times years",
         "The population a rate is measured against: the number of residents times the share of a year the period "
         "covers. A year of 1,000 residents is 1,000 person-years; three months of them is 250.",
         ("person-year", "per 1,000 residents a year")),
    Term("Denominator", "Out of",
         "The number a share or rate is divided by: the residents, or the people who reached the step before.",
         ("denominators",)),
    Term("Percentage points", "Points",
         "The difference between two percentages: from 20% to 25% is a rise of 5 points (not 25%).",
         ("percentage point",)),
    Term("Median", "The middle value", "Half the people waited less than this and half longer.", ("medians",)),
    Term("90th percentile", "9 in 10 are at most",
         "9 people in 10 waited at most this long; the last 1 in 10 waited longer.", ("percentile", "percentiles", "p90")),
    Term("p-value", "Chance of a change this big by luck alone",
         "How often a change at least this big would appear by chance if nothing had really changed. "
         "'Less than 0.001' means under 1 time in 1,000: very unlikely to be chance.", ("p value", "p-values")),
    Term("Wilson interval", "95% range of a share",
         "The way the 95% range of a share is worked out; it behaves well for small groups and for shares near 0% or "
         "100%.", ("wilson",)),
    Term("Newcombe interval", "95% range of a change in share",
         "The way the 95% range of the difference between two shares is worked out.", ("newcombe",)),
    Term("Katz interval", "95% range of a ratio", "The way the 95% range of a ratio of two shares is worked out.",
         ("katz",)),
    Term("Interrupted time series", "Trend before and after the launch",
         "Fits the monthly trend before the launch, carries it forward as what would have happened had nothing "
         "changed, and measures the step and the change in trend at and after the launch against it.",
         ("interrupted time-series", "time-series model", "time series model")),
    Term("Counterfactual", "Had nothing changed",
         "What the figures would have been had the programme not started: the trend before the launch carried on.",
         ("had nothing changed",)),
    Term("Poisson regression", "Model for counts",
         "A standard model for counts of events, such as offences a month. 'Quasi-Poisson' or 'overdispersion' "
         "means the ranges are widened because monthly counts vary more than chance alone.",
         ("poisson", "quasi-poisson", "overdispersion", "overdispersed")),
    Term("Seasonally adjusted", "Allowing for the time of year",
         "Compared month with month of the year, so that a usual summer rise is not read as a change.",
         ("seasonal", "month-of-year")),
    Term("Kaplan-Meier estimate", "Share still without a further offence",
         "Follows everyone from their referral to the as-of date and shows, at each point in time, the share not yet "
         "recorded for another possession offence, counting people followed for only part of the time fairly.",
         ("kaplan-meier", "survival", "survival curve", "survival estimate")),
    Term("EWMA", "Smoothed relative rate",
         "Exponentially weighted moving average: each month's figure blended with the months before, most weight on "
         "the latest, so that a lasting change shows and a one-off month does not.",
         ("exponentially weighted moving average", "smoothed")),
    Term("Control chart", "Warning lines",
         "A chart of a figure over time with lines showing how far it usually varies. A point outside the lines is "
         "more than ordinary month-to-month variation and raises an alert.",
         ("control charts", "control limits", "warning line", "warning lines")),
    Term("MASE", "Error against 'same week last year'",
         "Mean absolute scaled error: how far the forecasts were out, compared with simply predicting the same week "
         "last year. Below 1 the forecast did better than that simple guess.",
         ("mean absolute scaled error", "error against 'same week last year'")),
    Term("Rolling-origin backtest", "Checking the forecast against the past",
         "The forecast is made again from several past weeks, using only what was known then, and compared with what "
         "actually happened, to show how accurate it usually is.",
         ("backtest", "backtested", "rolling origin")),
    Term("AutoETS", "Recent level and trend",
         "The forecasting method that follows the recent level, trend and time of year of the weekly referrals.",
         ("recent level and trend", "exponential smoothing")),
    Term("Provisional", "Not over yet",
         "A month or week not over at the as-of date (or whose follow-up is not over): its figure will still change. "
         "Shown as a hollow point, a dashed line or a pale bar.", ("hollow", "pale bar")),
    Term("Suppression", "Hidden small numbers",
         "In published figures, counts below the threshold are hidden (shown as *) and other counts are rounded, so "
         "that no one can be identified.", ("suppressed", "hidden (*)", "small numbers", "small-number")),
    Term("Log scale", "Scale where equal steps are equal ratios",
         "On a log scale, the distance from 1 to 2 is the same as from 0.5 to 1, so 'twice as likely' and 'half as "
         "likely' look equally far from 'no difference'.", ("log scale", "logarithmic")),
)


def lookup(word: str) -> Term | None:
    """The entry for a term as the pages write it (without case), or None."""
    wanted = word.strip().lower()
    return next((t for t in TERMS if wanted in (w.lower() for w in t.words())), None)


# The technical words a caption may use: each must have an entry (tests/test_plain_english.py).
JARGON = ("interval", "relative rate", "rate ratio", "ratio of rate ratios", "EWMA", "control chart", "MASE",
          "backtest", "interrupted time series", "time-series model", "Kaplan-Meier", "person-years", "provisional",
          "Wilson", "Newcombe", "Katz", "Poisson", "overdispersion", "percentile", "median", "p-value",
          "counterfactual", "log scale", "percentage points", "AutoETS", "seasonally adjusted", "denominator",
          "disproportionality", "suppressed", "prediction interval", "confidence interval", "survival")


def mentioned(text: str) -> list[str]:
    """The technical words in `text` (from JARGON), as written there."""
    return [word for word in JARGON if re.search(rf"\b{re.escape(word)}", text, re.IGNORECASE)]
