"""The sealed audit trail (divert.storage.audit_chain): no audit event can be replaced, changed,
deleted or written without its seal; `divert audit verify` names the first event that was
tampered with; `divert status` says loudly when a guard is missing; on PostgreSQL the app runs
as a role that owns nothing (`divert init --create-app-role`), and two writers at once cannot
fork the chain."""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from dbfixtures import PG_URL, SMALL_DEMO, PostgresDatabase, demo_url, migrated_sqlite_url, sqlite_url
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, delete, insert, select, text, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from divert.backup import export_backup, restore_backup
from divert.core import codes
from divert.ingest import replay
from divert.ingest.run import import_files
from divert.records.core import Saved, audit, set_setting, write
from divert.storage import audit_chain
from divert.storage.db import alembic_config, get_engine, normalise_url, session_scope
from divert.storage.models import AuditEvent

needs_postgres = pytest.mark.skipif(not PG_URL, reason="DIVERT_TEST_DATABASE_URL is not set")


def events(engine) -> list[AuditEvent]:
    with session_scope(engine) as s:
        return s.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()


def written(engine, n: int = 3) -> list[AuditEvent]:
    """`n` audited writes through the one write path; their events."""
    for i in range(n):
        assert set_setting(f"scenario:{i}", {"i": i}, "cli:tester", engine=engine).ok
    return events(engine)


def sqlite_file(engine) -> str:
    return engine.url.database


def outside(engine) -> sqlite3.Connection:
    """A connection to the SQLite file that is not the app's: none of its pragmas or its guard."""
    conn = sqlite3.connect(sqlite_file(engine), isolation_level=None)
    return conn


# --- SQLite: replacing, changing, deleting -------------------------------------------------------
REPLACE = ("INSERT OR REPLACE INTO audit_event (id, at, username, action, table_name, prev_hash, hash) "
           "VALUES (?, '2020-01-01 00:00:00.000000', 'mallory', 'nothing', 'x', ?, ?)")


def replace(engine, event_id: int) -> None:
    """INSERT OR REPLACE of event `event_id` through the app's own connection."""
    with session_scope(engine) as s:
        s.connection().exec_driver_sql(REPLACE, (event_id, audit_chain.GENESIS, audit_chain.GENESIS))


def test_insert_or_replace_of_an_existing_event_is_refused_on_sqlite(sqlite_file_engine, clock):
    first = written(sqlite_file_engine)[0]
    with pytest.raises(DBAPIError, match="cannot be replaced"):
        replace(sqlite_file_engine, first.id)
    with pytest.raises(sqlite3.DatabaseError, match="cannot be replaced"):  # from outside the app too
        outside(sqlite_file_engine).execute(REPLACE, (first.id, audit_chain.GENESIS, audit_chain.GENESIS))
    assert events(sqlite_file_engine)[0].username == "cli:tester"
    assert audit_chain.verify(sqlite_file_engine).checked == 3


def test_app_connections_fire_the_delete_trigger_on_replace_and_cannot_drop_the_guards(sqlite_file_engine, clock):
    first = written(sqlite_file_engine)[0]
    outside(sqlite_file_engine).execute("DROP TRIGGER audit_event_no_replace")
    # with the replace trigger gone, recursive_triggers still fires the delete trigger on REPLACE
    with pytest.raises(DBAPIError, match="cannot be deleted"):
        replace(sqlite_file_engine, first.id)
    with sqlite_file_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA recursive_triggers").scalar() == 1
        for statement in ("DROP TRIGGER audit_event_no_delete", "DROP TRIGGER audit_event_no_update",
                          "DROP TABLE audit_event", "PRAGMA recursive_triggers=OFF", "PRAGMA writable_schema=ON"):
            with pytest.raises(DBAPIError, match="not authorized"):
                conn.exec_driver_sql(statement)
    assert events(sqlite_file_engine)[0].username == "cli:tester"


@pytest.mark.parametrize("change", ["update", "delete", "upsert", "unsealed"])
def test_an_event_cannot_be_changed_deleted_or_written_without_its_seal(engine, clock, change):
    before = [(e.id, e.after, e.hash) for e in written(engine, 2)]
    table = AuditEvent.__table__
    statement = {
        "update": update(AuditEvent).values(after="{}"),
        "delete": delete(AuditEvent),
        "upsert": text("INSERT INTO audit_event (id, at, username, action, table_name, prev_hash, hash) "
                       f"VALUES ({before[0][0]}, :at, 'm', 'x', 'x', :z, :z) ON CONFLICT (id) DO UPDATE SET after = 'x'"),
        "unsealed": insert(table).values(at=datetime.now(UTC), username="m", action="x", table_name="x"),
    }[change]
    with pytest.raises(DBAPIError), session_scope(engine) as s:
        s.execute(statement, {"at": datetime.now(UTC), "z": audit_chain.GENESIS} if change == "upsert" else {})
    assert [(e.id, e.after, e.hash) for e in events(engine)] == before


# --- divert audit verify ---------------------------------------------------------------------------
def _tamper(path: str, how: str, target: AuditEvent) -> None:
    """What someone with the database file could do, the guards dropped first."""
    conn = sqlite3.connect(path, isolation_level=None)
    for name in audit_chain.SQLITE_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    if how == "changed":
        conn.execute("UPDATE audit_event SET after = '{\"value\": 99}' WHERE id = ?", (target.id,))
    elif how == "changed and sealed again":
        values = {name: getattr(target, name) for name in audit_chain.FIELDS} | {"username": "someone.else"}
        conn.execute("UPDATE audit_event SET username = ?, hash = ? WHERE id = ?",
                     ("someone.else", audit_chain.link(target.prev_hash, values), target.id))
    elif how == "deleted":
        conn.execute("DELETE FROM audit_event WHERE id = ?", (target.id,))
    elif how == "inserted before":  # a sealed event slipped in under an unused id before it
        values = {name: getattr(target, name) for name in audit_chain.FIELDS} | {"action": "forged"}
        conn.execute("UPDATE audit_event SET id = id + 100 WHERE id >= ?", (target.id,))
        conn.execute("INSERT INTO audit_event (id, at, username, action, table_name, row_id, after, prev_hash, hash) "
                     "VALUES (?, ?, ?, 'forged', ?, ?, ?, ?, ?)",
                     (target.id, target.at.strftime("%Y-%m-%d %H:%M:%S.%f"), target.username, target.table_name,
                      target.row_id, target.after, target.prev_hash, audit_chain.link(target.prev_hash, values)))
    conn.close()


@pytest.mark.parametrize(("how", "named", "sound"), [
    ("changed", 2, "1 event"), ("changed and sealed again", 3, "2 events"), ("deleted", 3, "1 event"),
    ("inserted before", 102, "2 events")])
def test_verify_names_the_first_event_tampered_with(sqlite_file_engine, clock, cli, how, named, sound):
    trail = written(sqlite_file_engine, 4)
    url = str(sqlite_file_engine.url)
    assert cli("--db", url, "audit", "verify").returncode == 0
    _tamper(sqlite_file(sqlite_file_engine), how, trail[1])
    done = cli("--db", url, "audit", "verify")
    assert done.returncode == 1, done.stdout
    shown = next(e for e in trail if e.id == named % 100)
    assert f"BROKEN at event {named} (written {shown.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)" in done.stderr
    assert f"{sound} before it verified" in done.stderr


def test_verify_counts_the_events_of_a_sound_trail(sqlite_file_engine, clock, cli):
    url = str(sqlite_file_engine.url)
    empty = cli("--db", url, "audit", "verify")
    assert empty.returncode == 0 and "nothing to verify" in empty.stdout
    trail = written(sqlite_file_engine, 3)
    done = cli("--db", url, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "verified: 3 events" in done.stdout and f"seal {trail[-1].hash}" in done.stdout
    assert [e.prev_hash for e in trail] == [audit_chain.GENESIS, trail[0].hash, trail[1].hash]


def test_verify_passes_on_a_fresh_demo_database(tmp_path, cli):
    url, _ = demo_url(tmp_path, **SMALL_DEMO)
    with get_engine(url).connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    done = cli("--db", url, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert f"verified: {count:,} events" in done.stdout and count == 1 + len(codes.ROLES)  # the load, its users


def test_verify_needs_the_sealed_schema(tmp_path, cli):
    done = cli("--db", sqlite_url(tmp_path, "none.db"), "audit", "verify")
    assert done.returncode == 1 and "no database file" in done.stderr


# --- divert status --------------------------------------------------------------------------------
def test_status_fails_loudly_when_a_guard_is_missing_and_init_puts_it_back(sqlite_file_engine, cli):
    url = str(sqlite_file_engine.url)
    done = cli("--db", url, "status", "--as-of", "2026-06-17")
    assert done.returncode == 0 and "Audit trail: guarded" in done.stdout, done.stderr
    outside(sqlite_file_engine).execute("DROP TRIGGER audit_event_no_delete")
    done = cli("--db", url, "status", "--as-of", "2026-06-17")
    assert done.returncode == 1
    assert "AUDIT TRAIL NOT PROTECTED: the trigger audit_event_no_delete is missing" in done.stderr
    fixed = cli("--db", url, "init")
    assert fixed.returncode == 0 and "put back the missing trigger audit_event_no_delete" in fixed.stdout
    assert cli("--db", url, "status", "--as-of", "2026-06-17").returncode == 0
    written(sqlite_file_engine, 1)
    with pytest.raises(DBAPIError, match="cannot be deleted"), session_scope(sqlite_file_engine) as s:
        s.execute(delete(AuditEvent))


def test_status_notices_a_trigger_that_is_not_divert_s(sqlite_file_engine):
    conn = outside(sqlite_file_engine)
    conn.execute("DROP TRIGGER audit_event_no_update")
    conn.execute("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT 1; END")
    assert audit_chain.protection_problems(sqlite_file_engine) == ["the trigger audit_event_no_update is not Divert's"]


# --- the migration seals what is there; restores keep the chain -----------------------------------
OLD_EVENTS = [
    {"id": 1, "at": datetime(2024, 3, 31, 0, 59, 59, 999999, tzinfo=UTC), "username": "cli:ops", "action": "create",
     "table_name": "setting", "row_id": "k", "before": None, "after": '{"value": "Zoë 東京 🚓"}', "reason": None},
    {"id": 2, "at": datetime(2024, 10, 27, 1, 30, tzinfo=timezone(timedelta(hours=1))), "username": "a",
     "action": "update", "table_name": "referral", "row_id": "7", "before": '{"a": 1}', "after": '{"a": "x\\ny"}',
     "reason": 'quote " and \\ backslash'},
    {"id": 5, "at": datetime(2025, 1, 1, tzinfo=UTC), "username": "a", "action": "sign_in", "table_name": "app_user",
     "row_id": "1", "before": None, "after": None, "reason": "line one\nline two"},
]


def test_the_upgrade_seals_the_events_already_there(db_url, cli):
    command.upgrade(alembic_config(db_url), "0004")
    engine = create_engine(normalise_url(db_url))
    with engine.begin() as conn:
        for event in OLD_EVENTS:  # the 0004 schema: no seal columns
            columns = ", ".join(f'"{name}"' for name in event)
            conn.execute(text(f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(':' + n for n in event)})"),
                         {**event, "at": event["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                          if db_url.startswith("sqlite") else event["at"]})
        if conn.dialect.name == "postgresql":  # the ids above were given: move the sequence past them
            conn.execute(text("SELECT setval(pg_get_serial_sequence('audit_event', 'id'), 5)"))
    engine.dispose()
    assert cli("--db", db_url, "init").returncode == 0
    engine = get_engine(db_url)
    verdict = audit_chain.verify(engine)
    assert verdict.broken is None and verdict.checked == len(OLD_EVENTS) + 2  # and init's census and key events
    prev = audit_chain.GENESIS
    for stored, old in zip(events(engine), OLD_EVENTS, strict=False):
        assert (stored.prev_hash, stored.hash) == (prev, audit_chain.link(prev, old))
        prev = stored.hash
    assert audit_chain.protection_problems(engine) == []
    with pytest.raises(DBAPIError), session_scope(engine) as s:  # the update trigger is back
        s.execute(update(AuditEvent).values(reason="x"))
    engine.dispose()


def _small_backup(tmp_path):
    source = get_engine(migrated_sqlite_url(tmp_path, "source.db"))
    written(source, 3)
    export_backup(source, tmp_path / "backup")
    return source


@pytest.mark.parametrize("target", ["empty", "initialised", "initialised twice over"])
def test_the_chain_verifies_after_export_and_restore(tmp_path, clock, cli, target):
    source = _small_backup(tmp_path)
    url = sqlite_url(tmp_path, "target.db")
    if target != "empty":
        assert cli("--db", url, "init").returncode == 0  # its census and key events stay first
    engine = get_engine(url)
    restore_backup(engine, tmp_path / "backup", "ops")
    if target == "initialised twice over":  # a backup of a restored database, restored after init again
        export_backup(engine, tmp_path / "again")
        url = sqlite_url(tmp_path, "third.db")
        assert cli("--db", url, "init").returncode == 0
        engine = get_engine(url)
        restore_backup(engine, tmp_path / "again", "ops")
    done = cli("--db", url, "audit", "verify")
    assert done.returncode == 0, done.stderr
    restored = events(engine)
    assert restored[-1].action == "restore" and [e.hash for e in restored if e.hash in
                                                  {s.hash for s in events(source)}] == [s.hash for s in events(source)]
    joins = [json.loads(e.after).get(audit_chain.RESTORE_KEY) for e in restored if e.action == "restore"]
    assert all(joins) if target != "empty" else joins == [None]
    written(engine, 1)  # and the chain goes on after the restore
    assert audit_chain.verify(engine).broken is None


def test_a_join_no_restore_recorded_is_a_break(tmp_path, clock):
    """Two chains put end to end without a restore event naming the join do not verify."""
    source = _small_backup(tmp_path)
    target = get_engine(migrated_sqlite_url(tmp_path, "target.db"))
    written(target, 1)
    conn = outside(target)
    for event in events(source):
        conn.execute("INSERT INTO audit_event (at, username, action, table_name, row_id, after, prev_hash, hash) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (event.at.strftime("%Y-%m-%d %H:%M:%S.%f"), event.username,
                                                          event.action, event.table_name, event.row_id, event.after,
                                                          event.prev_hash, event.hash))
    broken = audit_chain.verify(target).broken
    assert broken is not None and broken.event_id == 2 and "not linked" in broken.reason


# --- imports checked on a copy of the SQLite database ----------------------------------------------
def test_an_import_checked_on_a_copy_links_its_events_to_the_real_head(sqlite_file_engine, clock, monkeypatch):
    original = replay.replay

    def with_a_sign_in_meanwhile(engine, recording, user, kind):
        # written on the real database after the copy was taken: the import's events must follow it
        write(lambda s: (audit(s, "system", "sign_in", "app_user", 1), Saved(True))[1], session=None, engine=engine)
        return original(engine, recording, user, kind)

    monkeypatch.setattr(replay, "replay", with_a_sign_in_meanwhile)
    sessions = b"session_ref,starts_at,seats,mode,facilitator\nS1,2026-07-20 10:00,12,online,F01\n"
    report = import_files("sessions", [("sessions.csv", sessions)], "cli:tester", engine=sqlite_file_engine)
    assert report.ok and report.written, report.problems
    trail = events(sqlite_file_engine)
    assert [e.action for e in trail] == ["sign_in", "create", "import"]
    verdict = audit_chain.verify(sqlite_file_engine)
    assert verdict.broken is None and verdict.checked == 3


# --- the seal itself -------------------------------------------------------------------------------
TEXT = st.text(max_size=30)
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
EVENT = st.fixed_dictionaries({
    "at": MOMENTS, "username": TEXT, "action": TEXT, "table_name": TEXT, "row_id": st.none() | TEXT,
    "before": st.none() | TEXT, "after": st.none() | TEXT, "reason": st.none() | TEXT})


@given(EVENT, st.sampled_from(audit_chain.FIELDS), EVENT, st.integers(-12, 14))
def test_the_seal_covers_every_field_and_not_the_zone_a_moment_is_written_in(event, field, other, hours):
    prev = audit_chain.GENESIS
    seal = audit_chain.link(prev, event)
    if other[field] != event[field]:
        assert audit_chain.link(prev, {**event, field: other[field]}) != seal
    assert audit_chain.link("f" * 64, event) != seal
    moved = event["at"].astimezone(timezone(timedelta(hours=hours)))
    assert audit_chain.link(prev, {**event, "at": moved}) == seal
    assert audit_chain.link(prev, {**event, "at": event["at"].replace(tzinfo=None)}) == seal  # SQLite's reading


# --- PostgreSQL ------------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.threads
@needs_postgres
def test_two_writers_at_once_on_postgres_cannot_fork_the_chain(tmp_path):
    database = PostgresDatabase()
    try:
        engine = get_engine(database.url)
        command.upgrade(alembic_config(database.url), "head")
        first, second = Session(engine), Session(engine)
        one = audit_chain.seal(first, AuditEvent(at=datetime.now(UTC), username="a", action="x", table_name="t"))
        first.flush()  # not committed: the first writer holds the chain
        second.execute(text("SET LOCAL lock_timeout = '100ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            audit_chain.seal(second, AuditEvent(at=datetime.now(UTC), username="b", action="x", table_name="t"))
        second.rollback()
        first.commit()
        two = audit_chain.seal(second, AuditEvent(at=datetime.now(UTC), username="b", action="x", table_name="t"))
        second.commit()
        assert two.prev_hash == one.hash
        first.close()
        second.close()

        def writes(name):
            for i in range(8):
                assert set_setting(f"scenario:{name}{i}", i, "cli:tester", engine=engine).ok

        threads = [threading.Thread(target=writes, args=(name,)) for name in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        verdict = audit_chain.verify(engine)
        assert verdict.broken is None and verdict.checked == 18
        engine.dispose()
    finally:
        database.drop()


@pytest.mark.postgres
@pytest.mark.threads
@needs_postgres
def test_a_write_racing_its_own_account_s_sign_in_does_not_deadlock_on_the_chain(tmp_path):
    """A sign-in locks the account's row, then audits; a write by that account share-locks the
    row before its audit takes the chain's lock, so the two queue instead of deadlocking."""
    from divert.auth.accounts import add_user
    from divert.storage.models import User

    database = PostgresDatabase()
    try:
        engine = get_engine(database.url)
        command.upgrade(alembic_config(database.url), "head")
        assert add_user({"username": "kim", "role": "admin", "password": "a long password 123"}, "test",
                        engine=engine).ok
        errors = []
        sqlalchemy_event.listen(engine, "handle_error", lambda context: errors.append(context.original_exception))
        signing_in = Session(engine)
        signing_in.execute(update(User).where(User.username == "kim").values(failed_logins=0))  # the row, held
        saved = []
        writer = threading.Thread(target=lambda: saved.append(set_setting("scenario:k", 1, "kim", engine=engine)))
        writer.start()
        with get_engine(PG_URL).connect() as watch:  # until the write waits for the account's row (2 min at most)
            for _ in range(4800):
                waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND "
                                             "wait_event_type = 'Lock'"), {"d": database.name}).scalar_one()
                watch.rollback()  # PostgreSQL reads pg_stat_activity once per transaction: read it afresh
                if waiting:
                    break
                threading.Event().wait(0.025)
        assert waiting == 1
        audit_chain.seal(signing_in, AuditEvent(at=datetime.now(UTC), username="kim", action="sign_in",
                                                 table_name="app_user", row_id="1"))
        signing_in.commit()
        signing_in.close()
        writer.join()
        assert saved[0].ok and errors == []  # no deadlock, no retry
        assert audit_chain.verify(engine).broken is None
        engine.dispose()
    finally:
        database.drop()


def _as(url: str, role: str) -> str:
    return make_url(normalise_url(url)).set(username=role, password=None).render_as_string(hide_password=False)


@pytest.mark.postgres
@needs_postgres
def test_the_app_role_owns_nothing_and_cannot_switch_off_or_empty_the_audit_trail(cli):
    database = PostgresDatabase()
    role = f"divert_app_{uuid.uuid4().hex[:10]}"
    try:
        done = cli("--db", database.url, "init", "--create-app-role", role, "--app-role-password-stdin",
                   stdin="a long app password 1\n")
        assert done.returncode == 0, done.stderr
        assert f"Created the login role {role}" in done.stdout and "only SELECT, INSERT on audit_event" in done.stdout
        owner_status = cli("--db", database.url, "status", "--as-of", "2026-06-17")
        assert "could switch off the audit trail's triggers" in owner_status.stderr  # the owner is a superuser here
        app_url = _as(database.url, role)
        app = get_engine(app_url)
        written(app, 2)  # the app's writes and their audit events work as the app role
        for statement in ("ALTER TABLE audit_event DISABLE TRIGGER USER", "DELETE FROM audit_event",
                          "UPDATE audit_event SET reason = 'x'", "TRUNCATE audit_event",
                          "DROP TRIGGER audit_event_no_change ON audit_event", "CREATE TABLE mine (a int)",
                          "ALTER TABLE referral DISABLE TRIGGER ALL"):
            with pytest.raises(DBAPIError, match="must be owner|permission denied"), app.begin() as conn:
                conn.exec_driver_sql(statement)
        status = cli("--db", app_url, "status", "--as-of", "2026-06-17")
        assert status.returncode == 0 and "Audit trail: guarded" in status.stdout, status.stderr
        assert "could switch off" not in status.stderr
        assert cli("--db", app_url, "audit", "verify").returncode == 0
        again = cli("--db", database.url, "init", "--create-app-role", role)  # idempotent
        assert again.returncode == 0 and "exists" in again.stdout
        app.dispose()
        # the owner can switch a trigger off; status says so and init switches it back on
        with get_engine(database.url).begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
        broken = cli("--db", app_url, "status", "--as-of", "2026-06-17")
        assert broken.returncode == 1 and "audit_event_no_change is disabled" in broken.stderr
        fixed = cli("--db", database.url, "init")
        assert "switched the disabled trigger audit_event_no_change back on" in fixed.stdout
        get_engine(app_url).dispose()
    finally:
        database.drop()
        from dbfixtures import drain_drops

        drain_drops()
        admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def test_an_app_role_is_refused_on_sqlite_and_for_a_bad_name(tmp_path, cli):
    done = cli("--db", sqlite_url(tmp_path), "init", "--create-app-role", "divert_app")
    assert done.returncode == 2 and "SQLite has no roles" in done.stderr
    assert not (tmp_path / "divert.db").exists()
    bad = cli("--db", "postgresql://nobody@127.0.0.1:1/none", "init", "--create-app-role", "Robert'); DROP")
    assert bad.returncode == 2 and "not a role name" in bad.stderr
