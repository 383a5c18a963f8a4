"""What the administrator's pages show, as tables: the data coverage (divert.analytics.data.coverage)
in words, the areas of the programme's force, and the audit log in words (who changed what, from
what to what, why, to the minute in UK time)."""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl

from divert.core import wording
from divert.records import audit_log
from divert.reference import forces

SOURCES = {"stop-search": "Stop and search", "offences": "Offences", "referrals": "Referrals",
           "population": "Census population"}


def sources_with_gaps(coverage: pl.DataFrame) -> int:
    """How many sources (per force) miss a month inside their range, or a census."""
    return coverage.filter(pl.col("months_missing") > 0).height


def coverage_shown(coverage: pl.DataFrame) -> pl.DataFrame:
    """The coverage table with the sources and forces by name and the days written out."""
    return coverage.select(
        pl.col("source").replace(SOURCES).alias("Source"),
        pl.col("force").replace({f.slug: f.name for f in forces.FORCES}).alias("Force"),
        pl.col("covered_from").dt.strftime(wording.DAY_FORMAT).fill_null("-").alias("From"),
        pl.col("covered_to").dt.strftime(wording.DAY_FORMAT).fill_null("-").alias("To"),
        pl.col("months_held").cast(pl.String).fill_null("-").alias("Months held"),
        pl.col("months_missing").alias("Missing"),
        pl.col("missing").alias("Which"),
    )


def areas_table(areas) -> pl.DataFrame:
    """The force's areas, (code, name) pairs, as a table."""
    return pl.DataFrame([{"Code": code, "Area": name} for code, name in areas])


# --- the audit log in words: who changed what, from what to what, why, when (UK time) -----------
AUDIT_COLUMNS = ("When (UK time)", "Who", "What they did", "What changed", "Why")


def _field(name: str) -> str:
    return name.replace("_", " ").strip()


def _in_words(value) -> str:
    """A recorded value as a person reads it: dates as "5 Dec 2026", times to the minute in UK
    time, yes and no, lists and details in words (never JSON); "blank" for nothing."""
    if value is None or value == "":
        return "blank"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{_field(k)} {_in_words(v)}" for k, v in value.items()) or "blank"
    if isinstance(value, list):
        return ", ".join(_in_words(v) for v in value) or "none"
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return wording.day(moment) if len(value) == 10 else wording.moment(moment)
    if isinstance(value, date | datetime):
        return wording.day(value) if not isinstance(value, datetime) else wording.moment(value)
    if isinstance(value, str) and "_" in value and value.replace("_", "").isalnum():  # a code: board_pack
        return value.replace("_", " ")
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10000 else str(value)


def _details(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {"value": text}
    return value if isinstance(value, dict) else {"value": value}


def change_in_words(action: str | None, before: str | None, after: str | None) -> str:
    """One change as a sentence: "Seats changed from 12 to 14."; a new record or an event with
    its details ("Added: status open, seats 12."); "" when nothing was recorded."""
    old, new = _details(before), _details(after)
    if old and new:
        changed = [k for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)]
        if not changed:
            return "Nothing changed."
        return " ".join(f"{_field(k).capitalize()} changed from {_in_words(old.get(k))} to {_in_words(new.get(k))}."
                        for k in changed)
    details = {k: v for k, v in (new or old).items() if v not in (None, "")}
    if not details:
        return ""
    listed = "; ".join(f"{_field(k)} {_in_words(v)}" for k, v in details.items())
    return ("Removed: " if old and not new else "Details: ") + listed + "."


def audit_entries(frame: pl.DataFrame) -> pl.DataFrame:
    """The audit log as the page shows it (and downloads it): when, to the minute in UK time;
    who; what they did to which record; what changed, from what to what; why (blank when no
    reason was given). No codes and no JSON."""
    rows = [] if frame.is_empty() else frame.to_dicts()
    return pl.DataFrame({
        AUDIT_COLUMNS[0]: [wording.moment(r["at"]) for r in rows],
        AUDIT_COLUMNS[1]: [r["username"] or "" for r in rows],
        AUDIT_COLUMNS[2]: [" ".join(p for p in (audit_log.action_label(r["action"]),
                                                 r["table_name"] and audit_log.table_label(r["table_name"]).lower(),
                                                 r["row_id"] and f"#{r['row_id']}") if p) for r in rows],
        AUDIT_COLUMNS[3]: [change_in_words(r["action"], r["before"], r["after"]) for r in rows],
        AUDIT_COLUMNS[4]: [r["reason"] or "" for r in rows],
    }, schema=dict.fromkeys(AUDIT_COLUMNS, pl.String))


# --- the last disclosure audit (divert disclosure audit) ----------------------------------------
def disclosure_audit(engine=None) -> tuple[str, str]:
    """The last disclosure audit in words, and how to show it: ("success" | "warning" | "error",
    text). A release is cleared only by a passing audit of the current data."""
    from divert.records import disclosure_audits

    result = disclosure_audits.last(engine)
    if result is None:
        return "warning", ("No disclosure audit has been run. Run `divert disclosure audit` on the server before a "
                           "public release: it tries to work out every hidden count a viewer receives.")
    days = ", ".join(wording.day(date.fromisoformat(d)) for d in result.get("as_of") or [])
    when = wording.moment(datetime.fromisoformat(result["audited_at"])) if result.get("audited_at") else "at an unknown time"
    narrowest = result.get("narrowest") or {}
    scope = (f"{result.get('hidden_attacked', 0):,} hidden counts attacked across {result.get('views', 0):,} views "
             f"and {result.get('figures', 0):,} published figures, as of {days}")
    if narrowest:
        high = "any number" if narrowest.get("high") is None else f"{narrowest['high']:g}"
        scope += f"; narrowest range found {narrowest['low']:g} to {high}"
    fresh = disclosure_audits.current(result, engine)
    if not result.get("passed"):
        leaks = result.get("leaks") or []
        first = f" First: {leaks[0]['cells'][0]}." if leaks else ""
        return "error", (f"The last disclosure audit ({when}) found {len(leaks)} hidden count(s) that could be worked "
                         f"out: {scope}.{first} The public release is refused until an audit passes.")
    if not fresh:
        return "warning", (f"The last disclosure audit ({when}) passed ({scope}), but records or settings have changed "
                           "since: run it again before a public release.")
    return "success", f"The last disclosure audit ({when}) passed: {scope}."
