"""The Overview's cards: each headline as a board reads it. The number, its change on the period
before and its small line cover the same period in the same units; the change is coloured by
whether it is good or bad for that measure, and grey when it is within noise
(overview.change_is_real)."""

from __future__ import annotations

from dataclasses import dataclass

from divert.analytics.dashboards.overview import Headline, change_is_real
from divert.core.disclosure import Gate


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    delta: str | None
    delta_color: str  # st.metric: "normal", "inverse" or "off"
    trend: list[float] | None  # the complete months of the period, in the value's units
    note: str  # one line under the number, inside the card
    help: str


def _number(value, unit: str) -> str:
    if value is None:
        return "-"
    return {"count": f"{value:,.0f}", "share": f"{value:.0%}", "days": f"{value:,.1f} days", "hours": f"{value:,.0f} h",
            "ratio": f"{value:.2f} times", "per_month": f"{value:,.0f} a month"}[unit]


def _change(delta, unit: str) -> str | None:
    """The change in the value's units; "no change" where it rounds to nothing (never "-0.0")."""
    if delta is None:
        return None
    shown = delta * 100 if unit == "share" else delta
    if round(shown, 0 if unit in ("count", "hours", "per_month") else 1 if unit != "ratio" else 2) == 0:
        return "no change"
    return {"count": f"{delta:+,.0f}", "share": f"{delta * 100:+.1f} percentage points",
            "days": f"{delta:+.1f} days", "hours": f"{delta:+,.0f} h", "ratio": f"{delta:+.2f}",
            "per_month": f"{delta:+,.0f} a month"}[unit]


def _colour(headline: Headline, real: bool | None) -> str:
    if not real or headline.better == "none":
        return "off"
    return "normal" if headline.better == "up" else "inverse"


def _trend(headline: Headline) -> list[float] | None:
    """The complete months of the period (a month not over, or too recent for its follow-up, is
    left out); None when fewer than two."""
    trend = headline.trend
    if not trend.height:
        return None
    complete = trend.filter(~trend["provisional"].fill_null(False)) if "provisional" in trend.columns else trend
    values = complete["value"].to_list()
    while values and values[-1] is None:  # the latest months whose outcomes are not known yet
        values.pop()
    if any(v is None for v in values):  # a month hidden (too few people): no line rather than a false one
        return None
    return values if len(values) > 1 else None


def card(headline: Headline, gate: Gate) -> Card:
    """The card for a headline that has passed the gate (overview.gated)."""
    hidden = headline.value is None and headline.bases and not gate.safe(*headline.bases)
    real = change_is_real(headline)
    noise = " The change is within what chance alone would give, so it is shown in grey." if real is False else ""
    if headline.unit == "pct":  # charges or cautions: a month, against the period before and the pre-launch year
        per_month = [None if not months or len(b) < 2 or gate.count(b[1]) is None else gate.count(b[1]) / months
                     for b, months in zip((headline.bases, headline.previous_bases), headline.months or (0, 0),
                                          strict=True)]
        now, before = per_month
        delta = None if now is None or before is None else now - before
        against = (f"{headline.value:+.0f}% against the year before the launch" if headline.value is not None
                   else "Not compared with the year before the launch")
        return Card(headline.label.replace(" vs pre-launch", " a month"), "*" if now is None and hidden else
                    _number(now, "per_month"), _change(delta, "per_month"), _colour(headline, real), _trend(headline),
                    against, headline.help + noise)
    note = {"share": "Of referrals old enough for it", "days": "Median; half waited longer",
            "count": "In the period", "hours": "Referrals x officer hours saved each",
            "ratio": headline.help if headline.value is not None else "No group differs significantly"}[headline.unit]
    value = _number(headline.value, headline.unit)
    if headline.unit == "ratio" and headline.value is not None and not gate.exact:  # rounded for publication
        value = f"about {headline.value:g} times"
    return Card(headline.label, "*" if hidden else value,
                _change(headline.delta, headline.unit), _colour(headline, real), _trend(headline), note,
                headline.help + noise)
