"""Backups: `divert export` then `divert restore` gives back exactly what was exported, between
SQLite files and PostgreSQL databases in either direction; a non-empty database, a damaged file
or a broken manifest is refused with a clear message and nothing written."""

from __future__ import annotations

import json
import math
import secrets
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from commands import divert
from dbfixtures import DEMO_AS_OF, PG_URL, PostgresDatabase, migrated_sqlite_url, sqlite_url
from sqlalchemy import func, insert, select

from divert.auth.accounts import add_user
from divert.backup import export_backup, restore_backup, table_checksums
from divert.backup.signing import SIGNATURE, sign
from divert.backup.tables import RowChecksum, read_chunks, table_schema
from divert.core.folders import zip_folder
from divert.demo import load_demo
from divert.storage import audit_chain
from divert.storage.db import get_engine, head_revision
from divert.storage.models import AuditEvent, Closure, Offence, Person, Referral, Setting, StopSearch, User
from divert.storage.security_models import SessionGeneration

needs_postgres = pytest.mark.skipif(not PG_URL, reason="DIVERT_TEST_DATABASE_URL is not set")
RESTORE_CHANGES = ("audit_event", "session_generation")  # its event appended; every account's sessions ended
BACKUP_KEY = secrets.token_hex(32)  # the backup key of this module's "server": made afresh each run


@pytest.fixture(autouse=True)
def backup_key(monkeypatch):
    """Backups are made and restored on one server: the same backup key (DIVERT_BACKUP_KEY)."""
    monkeypatch.setenv("DIVERT_BACKUP_KEY", BACKUP_KEY)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A demo SQLite database (scale 0.1), its checksums, and a backup of it made with export_backup."""
    folder = tmp_path_factory.mktemp("backup-demo")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVERT_DATA_DIR", str(folder))
        patch.setenv("DIVERT_BACKUP_KEY", BACKUP_KEY)
        url = migrated_sqlite_url(folder)
        engine = get_engine(url)
        load_demo(engine, seed=11, scale=0.1, as_of=DEMO_AS_OF)
        checksums = table_checksums(engine)
        manifest = export_backup(engine, folder / "backup")
    yield {"url": url, "checksums": checksums, "backup": folder / "backup", "manifest": manifest}
    engine.dispose()


def _empty_target(kind: str, tmp_path: Path, name: str):
    if kind == "sqlite":
        return sqlite_url(tmp_path / name), None
    database = PostgresDatabase()
    return database.url, database


def _audit_without_last(engine) -> tuple[RowChecksum, dict]:
    """The audit rows before the last event, and the last event."""
    table = AuditEvent.__table__
    with engine.connect() as conn:
        rows = pl.concat(list(read_chunks(conn, table)))
    check = RowChecksum(table_schema(table))
    check.add(rows.head(rows.height - 1))
    return check, rows.row(rows.height - 1, named=True)


def _assert_restored(engine, manifest: dict, expected: dict, user: str) -> None:
    """Every table as backed up, but for the session generations, moved on for every account; the
    audit log as backed up plus one restore event at its end."""
    restored = table_checksums(engine)
    for name, want in expected.items():
        if name in RESTORE_CHANGES:
            continue
        assert restored[name] == want, name
    with engine.connect() as conn:
        generations = conn.execute(select(SessionGeneration.generation)).scalars().all()
        users = conn.execute(select(func.count()).select_from(User)).scalar_one()
    assert len(generations) == users and min(generations, default=1) > 0
    entry = next(t for t in manifest["tables"] if t["name"] == "audit_event")
    assert restored["audit_event"]["rows"] == entry["rows"] + 1
    before, last = _audit_without_last(engine)
    assert (before.rows, before.hexdigest()) == (entry["rows"], entry["sha256"])
    assert last["action"] == "restore" and last["username"] == user and last["table_name"] == "*"
    assert json.loads(last["after"])["rows"] == {t["name"]: t["rows"] for t in manifest["tables"]}
    assert audit_chain.verify(engine).broken is None  # the sealed audit trail came back whole


def test_manifest_records_every_table(demo):
    manifest = demo["manifest"]
    assert manifest["schema_revision"] == head_revision()
    assert manifest["data_version"] > 0
    names = {t["name"] for t in manifest["tables"]}
    assert names == set(demo["checksums"])
    assert {"alembic_version", "data_version", "audit_event", "referral"} <= names
    for entry in manifest["tables"]:
        assert entry["rows"] == demo["checksums"][entry["name"]]["rows"]
        assert entry["sha256"] == demo["checksums"][entry["name"]]["sha256"]
        assert pl.read_parquet(demo["backup"] / entry["file"]).height == entry["rows"]
    assert sum(t["rows"] for t in manifest["tables"] if t["name"] == "referral") > 500


def test_round_trip_sqlite_to_sqlite_through_the_command(demo, tmp_path):
    target = sqlite_url(tmp_path / "restored")
    done = divert("--db", target, "restore", str(demo["backup"]))
    assert done.returncode == 0 and "match the manifest" in done.stdout, done.stderr
    engine = get_engine(target)
    _assert_restored(engine, demo["manifest"], demo["checksums"], user="cli:" + __import__("getpass").getuser())
    # the restored database can be backed up again, giving the same checksums
    again = export_backup(engine, tmp_path / "again")
    for entry in again["tables"]:
        if entry["name"] not in RESTORE_CHANGES:
            assert entry["sha256"] == demo["checksums"][entry["name"]]["sha256"]


def test_restore_from_the_zip_the_admin_page_offers(demo, tmp_path):
    archive = tmp_path / "backup.zip"
    archive.write_bytes(zip_folder(demo["backup"]))
    engine = get_engine(sqlite_url(tmp_path / "from-zip"))
    restore_backup(engine, archive, "admin")
    _assert_restored(engine, demo["manifest"], demo["checksums"], user="admin")


@pytest.mark.postgres
@needs_postgres
def test_round_trip_sqlite_to_postgres_and_back(demo, tmp_path):
    database = PostgresDatabase()
    try:
        pg = get_engine(database.url)
        restore_backup(pg, demo["backup"], "ops")
        _assert_restored(pg, demo["manifest"], demo["checksums"], user="ops")
        # sequences moved past the restored ids: new rows get new ids
        with pg.connect() as conn:
            top_user = conn.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc())).scalars().first()
        saved = add_user({"username": "after.restore", "role": "viewer", "password": "a long password 123",
                          "display_name": "After"}, "ops", engine=pg)
        assert saved.ok and saved.row_id == demo["checksums"]["app_user"]["rows"] + 1
        with pg.connect() as conn:
            assert conn.execute(select(AuditEvent.id).order_by(AuditEvent.id.desc())).scalars().first() == top_user + 1
        # and back: PostgreSQL -> a new SQLite file
        from_pg = export_backup(pg, tmp_path / "from-postgres")
        assert from_pg["source_dialect"] == "postgresql"
        back = get_engine(sqlite_url(tmp_path / "back"))
        restore_backup(back, tmp_path / "from-postgres", "ops")
        restored = table_checksums(back)
        for name, want in table_checksums(pg).items():
            if name not in RESTORE_CHANGES:
                assert restored[name] == want, name
        for name in ("person", "offence", "referral", "assessment", "booking", "closure", "stop_search", "setting"):
            assert restored[name] == demo["checksums"][name], name
    finally:
        database.drop()


# --- values that must come back exactly -----------------------------------------------------------
AWKWARD_TEXT = ["", "a|b~c:d", "line one\nline two", 'quote " and \\ backslash', "Zoë – naïve 東京 🚓", "=SUM(A1)"]
SHORT_TEXT = ["", "a|b~c:d", "x\ny", 'q"\\', "Zoë東🚓", "=1"]  # fits varchar(12)
JSON_VALUES = [{"a": [1, 2.5, None, True], "b": "x\ny"}, {"nested": {"k": "ü"}}, [], "text", 0]


def _awkward_rows(engine) -> dict:
    """Rows that exercise every type: returns what was written, by table."""
    from divert.storage.models import User

    moments = [
        datetime(2021, 3, 28, 0, 59, 59, 999999, tzinfo=UTC),  # the hour before BST starts
        datetime(2021, 10, 31, 1, 30, 0, 1, tzinfo=timezone(timedelta(hours=1))),  # given in BST
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2099, 12, 31, 23, 59, 59, 123456, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ]
    days = [date(2020, 2, 29), date(1900, 1, 1), date(2100, 12, 31), date(2024, 12, 31)]
    floats = [0.1 + 0.2, 1e-300, -2.5e-7, 52.454714, -1.8595050000000001, 1.7976931348623157e308]
    with engine.begin() as conn:
        conn.execute(insert(User), [{"id": 1, "username": "u|1", "display_name": AWKWARD_TEXT[4], "password_hash": "x",
                                     "role": "admin", "active": False, "must_change_password": True, "failed_logins": 0,
                                     "locked_until": None, "created_at": moments[1], "demo": False}])
        conn.execute(insert(Person), [
            {"id": i + 1, "person_key": f"{i:064d}", "birth_year": None if i % 2 else 1990 + i, "sex": "U",
             "ethnicity_self": None if i == 0 else "B1", "ethnicity_officer": None, "home_area": text or None,
             "demo": bool(i % 2)} for i, text in enumerate(SHORT_TEXT)])
        conn.execute(insert(Offence), [
            {"id": i + 1, "force": "west-midlands", "crime_ref": AWKWARD_TEXT[i] or "empty", "person_id": i + 1,
             "offence_date": day, "age": None, "area": "E08000025", "drug": "CAN", "source": "custody",
             "outcome": 8 if i % 2 else None, "outcome_date": day if i % 2 else None, "demo": False}
            for i, day in enumerate(days)])
        conn.execute(insert(Referral), [
            {"id": i + 1, "force": "west-midlands", "reference": f"R{i}", "offence_id": i + 1, "person_id": i + 1,
             "referred_at": moment, "referring_team": AWKWARD_TEXT[i + 1], "eligibility": "override",
             "override_reason": AWKWARD_TEXT[i + 2], "repeat": i % 2 == 0, "status": "closed", "version": 1,
             "demo": False} for i, moment in enumerate(moments)])
        conn.execute(insert(Closure), [
            {"id": 1, "referral_id": 1, "closed_on": days[0], "result": "not_engaged",
             "intelligence_log_date": days[3], "onward_treatment": True, "version": 1}])
        conn.execute(insert(StopSearch), [
            {"id": i + 1, "force": "west-midlands", "search_type": "Person search", "searched_at": moments[i % 4],
             "part_of_operation": [True, False, None][i % 3], "latitude": value, "longitude": None if i % 2 else -value,
             "outcome_linked": [None, True, False][i % 3], "removal_of_clothing": None, "source_file": "f.csv",
             "source_row": i, "demo": False} for i, value in enumerate(floats)])
        conn.execute(insert(AuditEvent), audit_chain_sealed([
            {"id": i + 1, "at": moments[i % 4], "username": "u", "action": "update", "table_name": "t",
             "row_id": None, "before": json.dumps(value), "after": json.dumps(value, ensure_ascii=False, indent=2),
             "reason": AWKWARD_TEXT[i]} for i, value in enumerate(JSON_VALUES)]))
        conn.execute(insert(Setting), [{"key": key, "value": json.dumps(value)}
                                       for key, value in zip(["a", "B", "_", "é", "z z"], JSON_VALUES, strict=True)])
    return {"moments": moments, "days": days, "floats": floats}


def audit_chain_sealed(events: list[dict]) -> list[dict]:
    """Audit events as the write path seals them (divert.storage.audit_chain), in order."""
    prev = audit_chain.GENESIS
    for event in events:
        event["prev_hash"], event["hash"] = prev, audit_chain.link(prev, event)
        prev = event["hash"]
    return events


def _same_float(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b
                                         and math.copysign(1, a) == math.copysign(1, b))


def _check_awkward(engine, written: dict) -> None:
    with engine.connect() as conn:
        referrals = conn.execute(select(Referral.referred_at, Referral.repeat, Referral.override_reason)
                                 .order_by(Referral.id)).all()
        offences = conn.execute(select(Offence.offence_date, Offence.outcome_date, Offence.crime_ref)
                                .order_by(Offence.id)).all()
        searches = conn.execute(select(StopSearch.latitude, StopSearch.longitude, StopSearch.part_of_operation,
                                       StopSearch.outcome_linked, StopSearch.searched_at).order_by(StopSearch.id)).all()
        events = conn.execute(select(AuditEvent.before, AuditEvent.after, AuditEvent.reason).order_by(AuditEvent.id)
                              .limit(len(JSON_VALUES))).all()
        settings = dict(conn.execute(select(Setting.key, Setting.value)).all())
        people = conn.execute(select(Person.home_area, Person.birth_year, Person.demo).order_by(Person.id)).all()
        closure = conn.execute(select(Closure.intelligence_log_date, Closure.onward_treatment)).one()
    for row, moment in zip(referrals, written["moments"], strict=True):
        got = row.referred_at
        assert got.utcoffset() == timedelta(0) and got == moment and got.microsecond == moment.astimezone(UTC).microsecond
    assert [r.repeat for r in referrals] == [True, False, True, False]
    assert [r.override_reason for r in referrals] == AWKWARD_TEXT[2:6]
    assert [o.offence_date for o in offences] == written["days"]
    assert [o.outcome_date for o in offences] == [None, written["days"][1], None, written["days"][3]]
    assert offences[0].crime_ref == "empty" and offences[1].crime_ref == AWKWARD_TEXT[1]
    for got, value in zip(searches, written["floats"], strict=True):
        assert _same_float(got.latitude, value)
    assert [s.longitude for s in searches][1::2] == [None, None, None]
    assert [s.part_of_operation for s in searches] == [True, False, None, True, False, None]
    assert [s.outcome_linked for s in searches] == [None, True, False, None, True, False]
    for (before, after, reason), value, text in zip(events, JSON_VALUES, AWKWARD_TEXT, strict=False):
        assert json.loads(before) == value and after == json.dumps(value, ensure_ascii=False, indent=2)
        assert reason == text
    assert {k: json.loads(v) for k, v in settings.items()} == dict(zip(["a", "B", "_", "é", "z z"], JSON_VALUES,
                                                                         strict=True))
    assert [p.home_area for p in people] == [None, *SHORT_TEXT[1:]]
    assert [p.birth_year for p in people] == [1990, None, 1992, None, 1994, None]
    assert [p.demo for p in people] == [False, True, False, True, False, True]
    assert closure == (written["days"][3], True)


@pytest.mark.parametrize("route", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, needs_postgres])])
def test_dates_times_booleans_json_nulls_and_floats_round_trip_exactly(tmp_path, route):
    source = get_engine(migrated_sqlite_url(tmp_path / "source"))
    written = _awkward_rows(source)
    _check_awkward(source, written)
    expected = table_checksums(source)
    export_backup(source, tmp_path / "one")
    middle_url, database = _empty_target(route, tmp_path, "middle")
    try:
        middle = get_engine(middle_url)
        restore_backup(middle, tmp_path / "one", "ops")
        _check_awkward(middle, written)
        export_backup(middle, tmp_path / "two")
        final = get_engine(sqlite_url(tmp_path / "final"))
        restore_backup(final, tmp_path / "two", "ops")
        _check_awkward(final, written)
        checksums = table_checksums(final)
        for engine in (middle, final):  # the seals hold for awkward text and moments, in both databases
            assert audit_chain.verify(engine).broken is None
        for name in ("person", "offence", "referral", "closure", "stop_search", "setting", "app_user"):
            assert checksums[name] == expected[name], name
    finally:
        if database:
            database.drop()


# --- refusals -------------------------------------------------------------------------------------
def _run(*args) -> tuple[int, str]:
    done = divert(*args)
    return done.returncode, done.stdout + done.stderr


def test_restore_into_a_database_holding_data_is_refused_and_writes_nothing(demo, tmp_path):
    target = migrated_sqlite_url(tmp_path, "busy.db")
    saved = add_user({"username": "someone", "role": "viewer", "password": "a long password 123",
                      "display_name": "Someone"}, "ops", engine=get_engine(target))
    assert saved.ok
    before = table_checksums(get_engine(target))
    code, output = _run("--db", target, "restore", str(demo["backup"]))
    assert code == 1
    assert "not empty" in output and "app_user (1 row)" in output and "Traceback" not in output
    assert table_checksums(get_engine(target)) == before


@pytest.mark.postgres
@needs_postgres
def test_restore_into_a_postgres_database_holding_data_is_refused(demo):
    database = PostgresDatabase()
    try:
        restore_backup(get_engine(database.url), demo["backup"], "ops")
        before = table_checksums(get_engine(database.url))
        code, output = _run("--db", database.url, "restore", str(demo["backup"]))
        assert code == 1 and "not empty" in output
        assert table_checksums(get_engine(database.url)) == before
    finally:
        database.drop()


def _copy_backup(demo, tmp_path) -> Path:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(demo["backup"], copy)
    return copy


def _nothing_written(url: str) -> bool:
    """No database file (nor its -wal, -shm or -journal) is left where the restore was refused."""
    path = Path(url.removeprefix("sqlite:///"))
    return not any(path.with_name(path.name + suffix).exists() for suffix in ("", "-wal", "-shm", "-journal"))


def _write_manifest(folder: Path, text: str) -> None:
    """A changed manifest, signed again with the backup key: the checks after the signature's."""
    (folder / "manifest.json").write_text(text)
    (folder / SIGNATURE).write_text(json.dumps(sign(text.encode(), BACKUP_KEY)))


def test_a_damaged_parquet_file_is_refused_with_a_clear_message(demo, tmp_path):
    copy = _copy_backup(demo, tmp_path)
    data = bytearray((copy / "referral.parquet").read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(16)
    (copy / "referral.parquet").write_bytes(bytes(data))
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy))
    assert code == 1
    assert "referral.parquet does not match its checksum" in output and "Traceback" not in output
    assert _nothing_written(target)


def test_a_file_that_is_not_parquet_is_refused(demo, tmp_path):
    import hashlib

    copy = _copy_backup(demo, tmp_path)
    garbage = b"PAR1 this is not a parquet file PAR1"
    (copy / "booking.parquet").write_bytes(garbage)
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["tables"]:
        if entry["name"] == "booking":
            entry["file_sha256"], entry["bytes"] = hashlib.sha256(garbage).hexdigest(), len(garbage)
    _write_manifest(copy, json.dumps(manifest))
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy))
    assert code == 1 and "booking.parquet cannot be read" in output and "Traceback" not in output
    assert _nothing_written(target)


def test_changed_rows_are_caught_by_the_row_checksum(demo, tmp_path):
    """A well-formed file whose rows differ from the manifest's (its file checksum updated)."""
    import hashlib

    copy = _copy_backup(demo, tmp_path)
    frame = pl.read_parquet(copy / "closure.parquet")
    frame = frame.with_columns(pl.when(pl.col("id") == 3).then(~pl.col("onward_treatment"))
                               .otherwise(pl.col("onward_treatment")).alias("onward_treatment"))
    frame.write_parquet(copy / "closure.parquet")
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["tables"]:
        if entry["name"] == "closure":
            entry["file_sha256"] = hashlib.sha256((copy / "closure.parquet").read_bytes()).hexdigest()
            entry["bytes"] = (copy / "closure.parquet").stat().st_size
    _write_manifest(copy, json.dumps(manifest))
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy))
    assert code == 1 and "closure: the rows in the backup file do not match the manifest's checksum" in output
    assert _nothing_written(target)


@pytest.mark.parametrize("damage, message", [
    (lambda m: "{not json", "not valid JSON"),
    (lambda m: json.dumps({**m, "format": "something"}), "not a Divert backup manifest"),
    (lambda m: json.dumps({**m, "schema_revision": "9999"}), "schema revision 9999"),
    (lambda m: json.dumps({**m, "tables": m["tables"][1:]}), "are not this schema's"),
    (lambda m: json.dumps({**m, "tables": [{**t, "file": "../x.parquet"} for t in m["tables"]]}), "malformed"),
    (lambda m: json.dumps({**m, "tables": [{**t, "rows": t["rows"] + 1} for t in m["tables"]]}), "the manifest says"),
])
def test_a_broken_manifest_is_refused_with_a_clear_message(demo, tmp_path, damage, message):
    copy = _copy_backup(demo, tmp_path)
    manifest = json.loads((copy / "manifest.json").read_text())
    _write_manifest(copy, damage(manifest))
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy))
    assert code == 1 and message in output and "Traceback" not in output
    assert _nothing_written(target)


def test_a_missing_manifest_or_folder_is_refused(tmp_path):
    target = sqlite_url(tmp_path / "target")
    (tmp_path / "empty").mkdir()
    code, output = _run("--db", target, "restore", str(tmp_path / "empty"))
    assert code == 1 and "no manifest.json" in output
    code, output = _run("--db", target, "restore", str(tmp_path / "nowhere"))
    assert code == 1 and "not a backup folder or zip file" in output


def test_a_failed_check_after_loading_rolls_everything_back(demo, tmp_path, monkeypatch):
    """If the rows read back from the database differ from the manifest, nothing stays behind
    (not even the schema: the restore is one transaction)."""
    from divert.backup import BackupError
    from divert.backup import restore as restore_module

    original = restore_module._verify

    def verify(conn, table, entry, moved=0):
        if table.name == "closure":
            entry = {**entry, "sha256": "0" * 64}
        original(conn, table, entry, moved)

    monkeypatch.setattr(restore_module, "_verify", verify)
    target = sqlite_url(tmp_path / "target")
    with pytest.raises(BackupError, match="read back from the database"):
        restore_backup(get_engine(target), demo["backup"], "ops")
    assert _nothing_written(target)


def test_export_refuses_a_folder_that_is_not_empty_and_usage_errors_exit_2(demo, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, output = _run("--db", demo["url"], "export", str(out))
    assert code == 1 and "not an empty folder" in output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    code, output = _run("--db", demo["url"], "export", str(tmp_path / "new"), "--as-of", "2025-01-01")
    assert code == 2 and not (tmp_path / "new").exists()
    usage = divert("restore")
    assert usage.returncode == 2 and "usage: divert restore" in usage.stderr


def test_export_through_the_command_is_audited(demo, tmp_path):
    url = migrated_sqlite_url(tmp_path, "source.db")
    code, output = _run("--db", url, "export", str(tmp_path / "b"))
    assert code == 0 and "Keep the key files" in output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    with get_engine(url).connect() as conn:
        actions = conn.execute(select(AuditEvent.action)).scalars().all()
    assert actions == ["export_backup"]
    assert next(t for t in manifest["tables"] if t["name"] == "audit_event")["rows"] == 0


def test_restore_into_an_empty_schema_at_the_same_revision(demo, tmp_path):
    """`divert init` without the census (an upgraded, empty database) is accepted."""
    target = migrated_sqlite_url(tmp_path, "schema-only.db")
    engine = get_engine(target)
    restore_backup(engine, demo["backup"], "ops")
    _assert_restored(engine, demo["manifest"], demo["checksums"], user="ops")
