"""Reference data a database holds: the shipped census population denominators.

The census rows are the published tables (checked by tests/test_census.py and
tests/test_census2021.py): Census 2011 by force area and local authority, and Census 2021
(table TS021) by local authority and force area for every force (divert.reference.census2021).
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from divert.records.core import audit
from divert.reference import census, census2021
from divert.storage.db import bump_data_version, get_engine
from divert.storage.models import Population

SOURCE = "ONS Census 2011 QS201EW and Census 2021 TS021 (OGL v3.0)"
# rows an earlier release shipped and Census 2021 TS021 now replaces (West Midlands totals as
# reported, with Mixed inside "Other incl. Mixed")
SUPERSEDED_SOURCES = (census.SOURCE_2021,)
KEY = ("census_year", "geography_code", "ethnicity", "sex", "age_band")


def ensure_population(engine=None, user: str = "system") -> int:
    """Load the shipped census rows that the population table lacks, in one transaction,
    audited as one event. An empty table gets them all; a table loaded by an earlier release
    gets Census 2021 TS021 in place of the superseded West Midlands totals. Rows imported by an
    administrator are never changed. Returns the rows added (0 when nothing was missing)."""
    engine = engine or get_engine()
    with Session(engine.execution_options(write_lock=True)) as s:
        superseded = s.execute(
            select(func.count()).select_from(Population).where(Population.source.in_(SUPERSEDED_SOURCES))
        ).scalar_one()
        if superseded:
            s.execute(delete(Population).where(Population.source.in_(SUPERSEDED_SOURCES)))
        present = {tuple(r) for r in s.execute(select(*(getattr(Population, k) for k in KEY)))}
        rows = [row for row in census2021.reference_frame().to_dicts() if tuple(row[k] for k in KEY) not in present]
        if not rows and not superseded:
            s.rollback()
            return 0
        if rows:
            s.execute(insert(Population), rows)
        audit(s, user, "load_reference", "population", None, None,
                      {"rows": len(rows), "replaced": superseded, "source": SOURCE})
        bump_data_version(s)
        s.commit()
    return len(rows)
