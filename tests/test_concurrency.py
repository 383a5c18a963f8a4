"""Several processes writing referrals into one SQLite file at once: nothing lost, no
"database is locked" (writers queue on the busy timeout behind BEGIN IMMEDIATE)."""

from __future__ import annotations

from dbfixtures import migrated_url
from sqlalchemy import func, select

from divert.records.referrals import add_referral
from divert.storage.db import data_version, get_engine, session_scope
from divert.storage.models import AuditEvent, Referral

WRITERS, EACH = 4, 40


def writer(url: str, data_dir: str, worker: int, results):
    import os

    os.environ["DIVERT_DATA_DIR"] = data_dir

    engine = get_engine(url)
    failures = []
    for n in range(EACH):
        values = {
            "reference": f"DIV-{worker}-{n}", "referred_at": "2021-03-01 10:00", "crime_ref": f"C{worker}/{n}",
            "offence_date": "2021-03-01", "area": "E08000025", "drug": "CAN", "source": "stop_search",
            "person_ref": f"P{worker}-{n % 7}",
        }
        try:
            saved = add_referral(values, f"worker{worker}", engine=engine)
            if not saved.ok:
                failures.append(str(saved.problems))
        except Exception as error:  # a locked database would surface here
            failures.append(repr(error))
    results.put((worker, failures))


def test_parallel_writers_lose_nothing(tmp_path, isolated_settings, spawn_context):
    url = migrated_url(tmp_path, "shared.db")
    context = spawn_context
    results = context.Queue()
    processes = [context.Process(target=writer, args=(url, str(isolated_settings), w, results)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    outcomes = [results.get(timeout=300) for _ in processes]
    for p in processes:
        p.join(timeout=60)
    failures = [f for _, fs in outcomes for f in fs]
    assert failures == []
    engine = get_engine(url)
    with session_scope(engine) as s:
        assert s.execute(select(func.count()).select_from(Referral)).scalar_one() == WRITERS * EACH
        audited = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.table_name == "referral")
        ).scalar_one()
    assert audited == WRITERS * EACH
    assert data_version(engine) == WRITERS * EACH
    engine.dispose()
