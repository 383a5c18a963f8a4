"""Reference data a new database starts with: the shipped census population denominators."""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlmodel import Session

from divert import census, records
from divert.db import bump_data_version, get_engine
from divert.models import Population


def ensure_population(engine=None, user: str = "system") -> int:
    """Load the shipped census rows (2011 by force and local authority, 2021 West Midlands)
    into an empty population table in one transaction, audited as one event (the rows are the
    published tables, checked by tests/test_census.py). Returns the rows added (0 when the
    table already has rows)."""
    engine = engine or get_engine()
    with Session(engine.execution_options(write_lock=True)) as s:
        if s.execute(select(func.count()).select_from(Population)).scalar_one():
            return 0
        rows = census.population_rows(force=None)
        s.execute(insert(Population), rows)
        records.audit(s, user, "load_reference", "population", None, None,
                      {"rows": len(rows), "source": "ONS Census 2011 QS201EW and Census 2021 (OGL v3.0)"})
        bump_data_version(s)
        s.commit()
    return len(rows)
