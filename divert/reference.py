"""Reference data a new database starts with: the shipped census population denominators."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from divert import census, records
from divert.db import bump_data_version, get_engine
from divert.models import Population


def ensure_population(engine=None, user: str = "system") -> int:
    """Load the shipped census rows (2011 by force and local authority, 2021 West Midlands)
    into an empty population table, through the records rules, in one audited transaction.
    Returns the number of rows added (0 when the table already has rows)."""
    engine = engine or get_engine()
    with Session(engine.execution_options(write_lock=True)) as s:
        if s.execute(select(func.count()).select_from(Population)).scalar_one():
            return 0
        added = 0
        for row in census.population_rows(force=None):
            saved = records.add_population(row, user, session=s, upsert=True)
            if not saved.ok:
                s.rollback()
                raise ValueError(f"shipped census row refused: {saved.problems}")
            added += saved.change == "new"
        records.audit(s, user, "load_reference", "population", None, None, {"rows": added})
        bump_data_version(s)
        s.commit()
    return added
