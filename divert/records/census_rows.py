"""Reference data a database holds: the shipped census population denominators.

The census rows are the published tables (checked by tests/test_census.py and
tests/test_census2021.py): Census 2011 by force area and local authority, and Census 2021
(table TS021) by local authority and force area for every force (divert.reference.census2021).
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import delete, func, select
from sqlmodel import Session

from divert.records.core import audit
from divert.reference import census, census2021
from divert.storage.bulk import insert_frame
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
        shipped = census2021.reference_frame()
        present = pl.DataFrame(s.execute(select(*(getattr(Population, k) for k in KEY))).all(), orient="row",
                               schema={k: shipped.schema[k] for k in KEY})
        rows = shipped.join(present, on=list(KEY), how="anti", nulls_equal=True)
        if rows.is_empty() and not superseded:
            s.rollback()
            return 0
        insert_frame(s.connection(), Population.__tablename__, rows)  # one bulk write (COPY on PostgreSQL)
        audit(s, user, "load_reference", "population", None, None,
              {"rows": rows.height, "replaced": superseded, "source": SOURCE})
        bump_data_version(s)
        s.commit()
    return rows.height
