"""Saved planning scenarios, and the cached planning inputs the planning pages share.

A scenario is a queue-model Plan (divert.analytics.planning.queue) with a name. It is kept as JSON in
the `setting` table under the key "scenario:<name>", written through
divert.records.set_setting (audited, bumps data_version) and read through get_setting.
Deleting writes null (the audit log keeps what it was); a null scenario is not listed.
Problems come back as divert.core.field_rules.Problem values, never as exceptions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

import polars as pl
import streamlit as st
from sqlalchemy import select

from divert.analytics.planning.assumptions import DEMAND_LEVELS, FIELDS, Plan, plan_field_names
from divert.core.field_rules import Problem
from divert.records.core import Saved, get_setting, now, set_setting
from divert.storage.db import session_scope
from divert.storage.models import Setting

PREFIX = "scenario:"
NAME_MAX = 60 - len("scenario:")  # the setting key holds 60 characters
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.,()+%&'-]*$")
NOTE_MAX = 300


@dataclass(frozen=True)
class SavedScenario:
    name: str
    plan: Plan | None  # None when the stored values are no longer valid
    saved_by: str | None = None
    saved_at: str | None = None
    note: str | None = None
    problems: tuple[Problem, ...] = ()


# --- checks -----------------------------------------------------------------------------------------
def check_name(name) -> tuple[str | None, list[Problem]]:
    text = str(name).strip() if name is not None else ""
    text = re.sub(r"\s+", " ", text)
    if not text:
        return None, [Problem("name", name, "is required")]
    if len(text) > NAME_MAX:
        return None, [Problem("name", name, f"is longer than {NAME_MAX} characters")]
    if not _NAME.match(text):
        return None, [Problem("name", name, "may contain letters, digits, spaces and - _ . , ( ) + % & ' only, "
                                            "and must start with a letter or digit")]
    return text, []


def check_plan(values: dict) -> tuple[Plan | None, list[Problem]]:
    """Values as typed or stored -> a Plan, or the problems. A missing field takes the
    default (scenarios saved before a field existed still load); unknown keys are ignored."""
    if not isinstance(values, dict):
        return None, [Problem("plan", values, "is not a set of values")]
    problems: list[Problem] = []
    parsed = {}
    for name in plan_field_names():
        if name not in values or values[name] is None:
            continue
        value = values[name]
        if name == "demand_level":
            if value not in DEMAND_LEVELS:
                problems.append(Problem(name, value, f"must be one of {', '.join(DEMAND_LEVELS)}"))
            else:
                parsed[name] = value
            continue
        spec = FIELDS.get(name)
        number = _number(value)
        label = spec.label if spec else name
        if number is None:
            problems.append(Problem(name, value, f"({label}) must be a number"))
            continue
        if spec is not None:
            if spec.kind is int and number != int(number):
                problems.append(Problem(name, value, f"({label}) must be a whole number"))
                continue
            if not spec.low <= number <= spec.high:
                problems.append(Problem(name, value, f"({label}) must be between {spec.low:g} and {spec.high:g}"))
                continue
            number = int(number) if spec.kind is int else float(number)
        parsed[name] = number
    if problems:
        return None, problems
    return replace(Plan(), **parsed), []


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- storage ------------------------------------------------------------------------------------------
def key(name: str) -> str:
    return PREFIX + name


def save_scenario(name, values: Plan | dict, user: str, *, note: str | None = None, replace_existing: bool = False,
                  engine=None) -> Saved:
    """Check and save a scenario (audited). Refuses an existing name unless replace_existing."""
    clean, problems = check_name(name)
    plan, plan_problems = check_plan(values.as_dict() if isinstance(values, Plan) else values)
    problems += plan_problems
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        problems.append(Problem("note", note, f"is longer than {NOTE_MAX} characters"))
    if problems:
        return Saved(False, problems=problems)
    existing = load_scenario(clean, engine=engine)
    if existing is not None and not replace_existing:
        return Saved(False, problems=[Problem("name", clean, "is already a saved scenario: choose another name "
                                                              "or replace it")])
    stored = {"name": clean, "plan": plan.as_dict(), "saved_by": user, "saved_at": now().isoformat(timespec="seconds"),
              "note": note}
    saved = set_setting(key(clean), stored, user, engine=engine)
    if saved.ok:
        saved.change = "updated" if existing is not None else "new"
    return saved


def _read(name: str, stored) -> SavedScenario | None:
    if stored is None:
        return None  # deleted
    if not isinstance(stored, dict):
        return SavedScenario(name, None, problems=(Problem("scenario", stored, "is not readable"),))
    plan, problems = check_plan(stored.get("plan"))
    return SavedScenario(name, plan, stored.get("saved_by"), stored.get("saved_at"), stored.get("note"),
                         tuple(problems))


def load_scenario(name: str, *, engine=None) -> SavedScenario | None:
    with session_scope(engine) as s:
        try:
            stored = get_setting(s, key(name), None)
        except ValueError:  # not JSON
            stored = {"plan": "unreadable"}
    return _read(name, stored)


def list_scenarios(*, engine=None) -> list[SavedScenario]:
    """Every saved scenario, by name (deleted ones left out; unreadable ones with problems)."""
    with session_scope(engine) as s:
        keys = s.execute(select(Setting.key).where(Setting.key.like(PREFIX + "%")).order_by(Setting.key)).scalars().all()
        out = []
        for stored_key in keys:
            try:
                stored = get_setting(s, stored_key, None)
            except ValueError:
                stored = {"plan": "unreadable"}
            scenario = _read(stored_key[len(PREFIX):], stored)
            if scenario is not None:
                out.append(scenario)
    return sorted(out, key=lambda sc: sc.name.lower())


def delete_scenario(name: str, user: str, *, engine=None) -> Saved:
    """Delete a saved scenario (audited: the log keeps its values)."""
    if load_scenario(name, engine=engine) is None:
        return Saved(False, problems=[Problem("name", name, "is not a saved scenario")])
    saved = set_setting(key(name), None, user, engine=engine)
    if saved.ok:
        saved.change = "deleted"
    return saved


def export_frame(scenarios: list[SavedScenario]) -> pl.DataFrame:
    """One row per scenario: name, who saved it and when, the note, and every input."""
    names = [f.name for f in fields(Plan)]
    rows = [{"name": sc.name, "saved_by": sc.saved_by, "saved_at": sc.saved_at, "note": sc.note,
             **{n: getattr(sc.plan, n) for n in names}} for sc in scenarios if sc.plan is not None]
    schema = {"name": pl.String, "saved_by": pl.String, "saved_at": pl.String, "note": pl.String,
              **{n: (pl.String if n == "demand_level" else pl.Float64) for n in names}}
    return pl.DataFrame(rows, schema=schema, strict=False)


# --- cached planning inputs for the pages ----------------------------------------------------------
@st.cache_data(max_entries=8, show_spinner="Forecasting referrals...")
def _planning(url: str, version: int, filter_items: tuple, with_backtest: bool):
    from divert.analytics.data.filters import Filters
    from divert.analytics.planning.staffing import planning_basis
    from divert.web import dashboard

    filters = Filters.from_query(dict(filter_items))
    return planning_basis(dashboard.live().at(filters.as_of_date)[1], filters, with_backtest)


def planning_inputs(filters=None, with_backtest: bool = False):
    """(ForecastResult, Rates) for the current data version, filters and as-of date: the
    forecast is made once per data version (and filter choice and as-of date) and shared by
    every planning page. The backtest (how well the forecast did in the past: the Forecast
    page's) only `with_backtest`; the fit is the same either way (kept by its history)."""
    from divert.analytics.data.filters import Filters
    from divert.core.environment import database_url
    from divert.storage.db import data_version, get_engine

    url = database_url()
    chosen = (filters or Filters()).without_period()
    chosen = replace(chosen, as_of=chosen.as_of_date)  # "today" is part of the key: a new day, a new forecast
    return _planning(url, data_version(get_engine(url)), tuple(sorted(chosen.to_query().items())), with_backtest)


@st.cache_data(ttl=60, show_spinner=False)
def _saved(url: str, version: int) -> list[SavedScenario]:
    from divert.storage.db import get_engine

    return list_scenarios(engine=get_engine(url))


def saved_scenarios() -> list[SavedScenario]:
    """The saved scenarios, cached until the next write."""
    from divert.core.environment import database_url
    from divert.storage.db import data_version, get_engine

    url = database_url()
    return _saved(url, data_version(get_engine(url)))


# --- the assumptions, shown the same way on every planning page ----------------------------------------
def show_assumptions(plan: Plan, rates, key: str, *, expanded: bool = False, extra: pl.DataFrame | None = None) -> None:
    """An expander listing every assumption of the planning model with its value and where it
    came from (measured from the records as of the as-of date, a default and its source, or
    entered on the page), with a CSV download."""
    from divert.analytics.planning.assumptions import PACE_MEANING, assumptions_table
    from divert.web import tables

    table = assumptions_table(plan, rates)
    if extra is not None:
        table = pl.concat([extra.select(table.columns), table])
    window = getattr(rates, "window", None)
    with st.expander("The planning model's assumptions and where each comes from", expanded=expanded,
                     icon=":material/fact_check:"):
        st.caption("Measured from the records " + (f"over the complete weeks {window[0]:%d %b %Y} to "
                                                     f"{window[1]:%d %b %Y}" if window else "")
                    + "; where the records say too little, a default with its source. Capacity, Forecast, the "
                      "Scenario planner and the Launch planner use these same assumptions. Assessments per "
                      f"worker-day: {PACE_MEANING}")
        tables.show(table, hide_index=True, width="stretch",
                    column_config={"assumption": "Assumption", "value": st.column_config.NumberColumn("Value",
                                                                                                    format="%.4g"),
                                   "source": "Source", "how": st.column_config.TextColumn("How", width="large")})
        tables.csv_download("Download the assumptions (CSV)", table, f"{key}_assumptions.csv",
                            key=f"{key}_assumptions", icon=":material/download:")
