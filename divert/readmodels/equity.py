"""The equity watch's alerts with their acknowledgements, and the impact evaluation, for the
pages and `divert metrics impact|alerts`: the analytics (divert.analytics.impact.model, .watch)
given the programme profile and the as-of date, and the acknowledgements a manager or admin
records (kept as audited settings, one per alert)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
from sqlalchemy import select

from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.data.memo import per_snapshot
from divert.analytics.equity import watch
from divert.analytics.impact import control, model, verdict
from divert.core.disclosure import Gate
from divert.core.field_rules import Problem
from divert.core.lookup import each_value
from divert.records.core import Saved, set_setting
from divert.storage.db import session_scope
from divert.storage.models import Setting

ACK_PREFIX = "alert_ack:"
ACK_ROLES = ("manager", "admin")


def _snapshot(frames: Frames, filters: Filters) -> Frames:
    as_of = filters.as_of_date
    return frames if frames.as_of == as_of else frames.at(as_of)


@per_snapshot
def impact_table(frames: Frames, filters: Filters, group: str | None = None) -> pl.DataFrame:
    """The interrupted time series estimates, overall and for each broad group (or one)."""
    frames = _snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    table = model.impact_by_group(offences, launch=frames.programme.launch, as_of=filters.as_of_date)
    return table.filter(pl.col("group") == group) if group else table


@per_snapshot
def evaluation(frames: Frames, filters: Filters) -> dict:
    """Everything the Impact page shows: the main fit, the pandemic sensitivity run, the
    recording check, the gap against White, comparators where imported, and the verdict."""
    frames = _snapshot(frames, filters)
    offences = filters.without_period().apply(frames.offences, "offence_date")
    launch, as_of = frames.programme.launch, filters.as_of_date
    main = model.interrupted_time_series(offences, launch=launch, as_of=as_of)
    if main.estimates.is_empty() or main.estimate("level_change").get("estimate") is None:
        return {"main": main}  # too few months to fit: the page says so
    sensitivity = model.interrupted_time_series(offences, launch=launch, as_of=as_of, exclude=model.PANDEMIC)
    recording = model.recording_check(offences, launch=launch, as_of=as_of)
    gap = model.gap_against_white(offences, launch=launch, as_of=as_of)
    controlled = None
    forces = sorted(set(frames.stop_search["force"].drop_nulls().to_list())) if frames.stop_search.height else []
    comparators = [f for f in forces if f != frames.programme.force]
    if comparators and frames.programme.force in forces:
        controlled = control.controlled_impact(frames.stop_search, force=frames.programme.force,
                                                      comparators=comparators, launch=launch, as_of=as_of)
    return {"main": main, "sensitivity": sensitivity, "recording": recording, "gap": gap, "controlled": controlled,
            "comparators": comparators,
            "verdict": verdict.verdict(main, sensitivity=sensitivity, recording=recording, controlled=controlled)}


@per_snapshot
def equity_watch(frames: Frames, filters: Filters) -> watch.EquityWatch:
    frames = _snapshot(frames, filters)
    return watch.equity_watch(frames.offences, frames.referrals, launch=frames.programme.launch,
                              as_of=filters.as_of_date, diversion_outcome=frames.programme.diversion_outcome)


def alerts_table(frames: Frames, filters: Filters, engine=None) -> pl.DataFrame:
    """The watch's alerts, newest first, with their acknowledgement (if any)."""
    alerts = equity_watch(frames, filters).alerts
    acks = acknowledgements(engine) if engine is not None else {}
    return alerts.with_columns(
        each_value(alerts, "alert_id", lambda a, field=field: (acks.get(a) or {}).get(field), pl.String).alias(f"acknowledged_{field}")
        for field in ("note", "by", "at")
    ).sort("since", descending=True)


def acknowledgements(engine) -> dict[str, dict]:
    import json

    with session_scope(engine) as s:
        rows = s.execute(select(Setting).where(Setting.key.startswith(ACK_PREFIX))).scalars().all()
        return {row.key[len(ACK_PREFIX):]: json.loads(row.value) for row in rows}


def acknowledge(alert_id: str, note: str, user: str, role: str, *, engine=None) -> Saved:
    """A manager or admin acknowledges an alert with a note (audited; a later note replaces it)."""
    text = " ".join(str(note or "").split())
    problems = []
    if role not in ACK_ROLES:
        problems.append(Problem("role", role, "only a service manager or an administrator can acknowledge an alert"))
    if not 3 <= len(text) <= 1000:
        problems.append(Problem("note", text, "say in 3 to 1,000 characters what was looked at or done"))
    if not alert_id or len(alert_id) > 60:
        problems.append(Problem("alert", alert_id, "is not an alert"))
    if problems:
        return Saved(False, problems=problems)
    return set_setting(f"{ACK_PREFIX}{alert_id}", {"note": text, "by": user,
                                                   "at": datetime.now(UTC).isoformat(timespec="seconds")},
                       user, engine=engine)


# what a viewer may see of the alerts: the counts behind an alert pass the gate; the sentence
# with exact counts (counts_text) and who acknowledged are for managers
ALERT_GATE = {"counts": ["events", "denominator", "white_events", "white_denominator"],
              "derived": {name: ["denominator", "events"] for name in ("rr", "rr_low", "rr_high", "baseline_rr", "change",
                                                                        "statistic")}}
VIEWER_HIDDEN = ("counts_text", "acknowledged_by")


def alerts_for(frames: Frames, filters: Filters, gate: Gate, engine=None) -> pl.DataFrame:
    """The alerts as a role may see them: every column for a manager; for a viewer the counts
    behind each alert gated, and the exact-count sentence and who acknowledged left out."""
    table = alerts_table(frames, filters, engine)
    return table if gate.exact else gate.table(table.drop(VIEWER_HIDDEN), **ALERT_GATE)
