"""The impact evaluation in plain English: what the estimates say, and the threats to them
(a trend already under way, the pandemic overlapping the launch, changes in recording, a
national trend), each named with the check that speaks to it. The Methods-page text is
`impact.methods_markdown()`."""

from __future__ import annotations

from datetime import date

import polars as pl

from divert.analytics.impact.control import ControlledImpact
from divert.analytics.impact.model import PANDEMIC, Impact


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _change(ratio: float) -> str:
    """0.8 -> 'a fall of 20%'; 1.25 -> 'a rise of 25%'."""
    return f"a fall of {_pct(1 - ratio)}" if ratio < 1 else f"a rise of {_pct(ratio - 1)}"


def _interval(row: dict) -> str:
    return f"95% interval {row['ci_low']:.2f} to {row['ci_high']:.2f}"


def _clear(row: dict) -> bool:
    return row.get("ci_low") is not None and (row["ci_low"] > 1 or row["ci_high"] < 1)


def _overlaps(window: tuple[date, date], launch: date) -> bool:
    return window[0] <= launch <= window[1]


def verdict(main: Impact, *, sensitivity: Impact | None = None, recording: pl.DataFrame | None = None,
            controlled: ControlledImpact | None = None, pandemic: tuple[date, date] = PANDEMIC,
            measure: str = "formal outcomes (charge or caution) as a share of possession offences") -> str:
    """A Markdown reading of `main` (an `interrupted_time_series` result). `sensitivity` is the
    same model leaving out the pandemic window, `recording` the `recording_check` frame and
    `controlled` the `controlled_impact` result; each threat without its check says so."""
    level = main.estimate("level_change")
    if not level or level.get("estimate") is None:
        note = level.get("note") if level else "no estimates"
        return f"**No estimate.** The model could not be fitted: {note}."
    lines = [_headline(main, level, measure), "", "**What could make this wrong**", ""]
    lines.append("- " + _trend_threat(main.estimate("pre_trend_per_year")))
    lines.append("- " + _pandemic_threat(main, sensitivity, pandemic))
    lines.append("- " + _recording_threat(recording))
    lines.append("- " + _national_threat(controlled))
    return "\n".join(lines)


def _headline(main: Impact, level: dict, measure: str) -> str:
    est = level["estimate"]
    text = (f"**At the launch ({main.launch:%B %Y}), {measure} moved to {est:.2f} times the level the months "
            f"before predicted** ({_interval(level)}): {_change(est)}.")
    if level["ci_high"] < 1:
        text += " The whole interval is below 1, so a fall this size is very unlikely to be chance."
    elif level["ci_low"] > 1:
        text += " The whole interval is above 1, so a rise this size is very unlikely to be chance."
    else:
        text += " The interval includes 1 (no change), so chance cannot be ruled out."
    slope = main.estimate("slope_change_per_year")
    if slope.get("estimate") is not None:
        reading = "a clear change" if _clear(slope) else "no clear change"
        text += (f" After the launch the trend changed by {slope['estimate']:.2f} times a year ({_interval(slope)}): "
                 f"{reading}.")
    end = main.estimate("effect_at_end")
    fitted = main.series.filter(pl.col("in_fit")) if main.series.height else main.series
    if end.get("estimate") is not None and fitted.height:
        text += (f" By {fitted['month'].max():%B %Y} the share stood at {end['estimate']:.2f} times what the trend "
                 f"before the launch would have given ({_interval(end)}).")
    return text


def _trend_threat(trend: dict) -> str:
    if not trend or trend.get("estimate") is None:
        return "**A trend already under way**: not estimated."
    est = trend["estimate"]
    if _clear(trend):
        direction = "falling" if est < 1 else "rising"
        return (f"**A trend already under way**: the share was already {direction} before the launch "
                f"({est:.2f} times a year, {_interval(trend)}). The 'had nothing changed' line carries that trend "
                "on; had it levelled off or steepened anyway, the estimate would move with it.")
    return (f"**A trend already under way**: no clear trend before the launch ({est:.2f} times a year, "
            f"{_interval(trend)}), so the estimate does not rest on projecting one.")


def _pandemic_threat(main: Impact, sensitivity: Impact | None, pandemic: tuple[date, date]) -> str:
    window = f"{pandemic[0]:%B %Y} to {pandemic[1]:%B %Y}"
    if main.exclude:
        return f"**The pandemic**: the months from {main.exclude[0]:%B %Y} to {main.exclude[1]:%B %Y} are already left out."
    overlap = _overlaps(pandemic, main.launch)
    text = (f"**The pandemic** ({window}) changed policing and recording for reasons of its own"
            + (", and the launch fell inside it." if overlap else "; the launch fell outside it."))
    if sensitivity is None:
        return text + " No run leaving those months out was supplied."
    alt = sensitivity.estimate("level_change")
    if not alt or alt.get("estimate") is None:
        return text + f" Leaving those months out, the model could not be fitted ({alt.get('note') if alt else 'no estimate'})."
    main_level = main.estimate("level_change")
    same = _clear(alt) and _clear(main_level) and (alt["estimate"] < 1) == (main_level["estimate"] < 1)
    return text + (f" Leaving those months out, the level change is {alt['estimate']:.2f} ({_interval(alt)}), "
                   + ("which tells the same story." if same else "which does not tell the same story: read the main estimate with caution."))


def _recording_threat(recording: pl.DataFrame | None) -> str:
    head = "**Changes in recording**"
    if recording is None or recording.is_empty():
        return (f"{head}: if offences that used to go unrecorded were recorded from the launch, the share with a "
                "formal outcome falls even when no fewer people are charged or cautioned. Not checked here.")
    rows = {r["measure"]: r for r in recording.iter_rows(named=True)}
    offences, formal = rows.get("recorded_offences"), rows.get("formal_outcomes")
    if not offences or offences["change_pct"] is None or not formal or formal["change_pct"] is None:
        return f"{head}: the counts could not be modelled."
    from divert.analytics.dashboards.volume import launch_jump_text

    text = (f"{head}: recorded possession offences changed at the launch by {launch_jump_text(offences)}, as on "
            f"the Volume page. A bigger denominator lowers the share even when no fewer people are charged or "
            f"cautioned. Counted on their own, formal outcomes changed by {launch_jump_text(formal)}")
    if formal["ci_high_pct"] is not None and formal["ci_high_pct"] < 0:
        return text + ", so the fall is not only a larger denominator."
    return text + ", so much of the fall in the share may come from the larger denominator."


def _national_threat(controlled: ControlledImpact | None) -> str:
    head = "**A national trend**"
    if controlled is None:
        return f"{head}: no comparator forces' stop-search data were used, so a change everywhere cannot be ruled out."
    diff = controlled.difference("level_change")
    if not diff or diff.get("estimate") is None:
        return f"{head}: the comparison with other forces could not be fitted."
    forces = controlled.estimates.filter(pl.col("series") == "comparators")["forces"]
    names = forces[0] if forces.len() else "the comparator forces"
    text = (f"{head}: in drug searches, the programme force's level change at the launch was {diff['estimate']:.2f} "
            f"times that of {names} ({_interval(diff)}); ")
    if diff["ci_high"] < 1:
        return text + "the fall is larger than elsewhere, so it is not just a national trend."
    if diff["ci_low"] > 1:
        return text + "the programme force moved less than (or against) the comparators."
    return text + "the difference could be chance, so a national trend could explain the change."
