"""Restores that cannot be fooled: a hand-made backup (rows edited, checksums recomputed) is refused
unless the operator accepts it with a reason, which the audit log keeps; the restore's event
names the backup; a sign-in cookie from before the restore is refused; a zip is checked before it
is unpacked; a refused restore is a one-line message and leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bcrypt
import polars as pl
import pytest
from commands import divert
from dbfixtures import PG_URL, PostgresDatabase, migrated_sqlite_url, sqlite_url
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from divert.auth import accounts, session_token, sign_in
from divert.backup import export_backup, restore_backup
from divert.backup.tables import RowChecksum, backup_tables, table_schema
from divert.core.folders import zip_folder
from divert.records import stored_settings
from divert.storage.db import get_engine
from divert.storage.models import AuditEvent

PASSWORD = "willow-harbour-77"
BACKUP_KEY = secrets.token_hex(32)  # the backup key of this module's "server": made afresh each run
COOKIE_KEY = secrets.token_hex(32)
TABLES = {t.name: t for t in backup_tables()}


@pytest.fixture(autouse=True)
def backup_key(monkeypatch):
    monkeypatch.setenv("DIVERT_BACKUP_KEY", BACKUP_KEY)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small database (an administrator, a viewer, their audit events) and its backup."""
    folder = tmp_path_factory.mktemp("restore-security")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVERT_DATA_DIR", str(folder))
        patch.setenv("DIVERT_BACKUP_KEY", BACKUP_KEY)
        engine = get_engine(migrated_sqlite_url(folder))
        for name, role in (("the.admin", "admin"), ("the.viewer", "viewer")):
            saved = accounts.add_user({"username": name, "display_name": name, "role": role, "password": PASSWORD},
                                      "test", engine=engine)
            assert saved.ok, saved.problems
        manifest = export_backup(engine, folder / "backup")
    return {"backup": folder / "backup", "manifest": manifest}


def _run(*args) -> tuple[int, str]:
    done = divert(*args)
    return done.returncode, done.stdout + done.stderr


def _left_behind(url: str) -> list[str]:
    path = Path(url.removeprefix("sqlite:///"))
    return [p.name for p in path.parent.glob(path.name + "*")]


def _rewrite(folder: Path, name: str, frame: pl.DataFrame) -> None:
    """Write a table's file and put its recomputed checksums, count and size in the manifest (as
    anyone can: plain SHA-256)."""
    path = folder / f"{name}.parquet"
    frame.write_parquet(path)
    check = RowChecksum(table_schema(TABLES[name]))
    check.add(frame)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["tables"]:
        if entry["name"] == name:
            entry.update(rows=check.rows, sha256=check.hexdigest(), file_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
            if "bytes" in entry:
                entry["bytes"] = path.stat().st_size
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


def forged(backup: Path, out: Path) -> Path:
    """The finding: an administrator of one's own appended to app_user (with a bcrypt hash of
    one's own password), the audit log emptied, every checksum recomputed."""
    shutil.copytree(backup, out)
    users = pl.read_parquet(out / "app_user.parquet")
    mallory = users.head(1).with_columns(
        pl.lit(int(users["id"].max()) + 1, dtype=pl.Int64).alias("id"), pl.lit("mallory").alias("username"),
        pl.lit("Mallory").alias("display_name"), pl.lit("admin").alias("role"), pl.lit(True).alias("active"),
        pl.lit(bcrypt.hashpw(b"mallory-was-here-99", bcrypt.gensalt(4)).decode()).alias("password_hash"))
    _rewrite(out, "app_user", pl.concat([users, mallory]))
    _rewrite(out, "audit_event", pl.read_parquet(out / "audit_event.parquet").clear())
    return out


def _last_event(engine) -> AuditEvent:
    with engine.connect() as conn:
        return conn.execute(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)).one()


# --- a hand-made backup ---------------------------------------------------------------------------
@pytest.mark.parametrize("signature, message", [
    ("kept", "manifest.json does not match its signature"),
    ("removed", "the backup is not signed"),
    ("the forger's own key", "signed with another backup key"),
])
def test_a_forged_backup_with_recomputed_checksums_is_refused(source, tmp_path, signature, message):
    copy = forged(source["backup"], tmp_path / "forged")
    if signature == "removed":
        (copy / "signature.json").unlink(missing_ok=True)
    elif signature == "the forger's own key":
        from divert.backup.signing import sign

        (copy / "signature.json").write_text(json.dumps(sign((copy / "manifest.json").read_bytes(), "f" * 64)))
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy))
    assert code == 1, output
    assert message in output and "--accept-unsigned" in output and "Traceback" not in output
    assert _left_behind(target) == []


def test_a_forged_backup_restores_only_with_the_operators_reason_and_the_audit_log_says_so(source, tmp_path):
    copy = forged(source["backup"], tmp_path / "forged")
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(copy), "--accept-unsigned", "  ")
    assert code == 2 and "needs a reason" in output
    code, output = _run("--db", target, "restore", str(copy), "--accept-unsigned", "ticket 4711: rebuilt by hand")
    assert code == 0, output
    assert "NOT verified" in output
    event = _last_event(get_engine(target))
    assert event.action == "restore" and event.reason == "--accept-unsigned: ticket 4711: rebuilt by hand"
    backup = json.loads(event.after)["backup"]
    assert backup["signature"].startswith("NOT verified (manifest.json does not match its signature")
    assert backup["manifest_sha256"] == hashlib.sha256((copy / "manifest.json").read_bytes()).hexdigest()


def test_the_restore_event_names_the_backup(source, tmp_path):
    engine = get_engine(sqlite_url(tmp_path / "target"))
    report = restore_backup(engine, source["backup"], "ops")
    event = _last_event(engine)
    assert event.id == report.audit_event_id and event.reason is None
    signature = json.loads((source["backup"] / "signature.json").read_text())
    assert json.loads(event.after)["backup"] == {
        "exported_at": source["manifest"]["exported_at"],
        "manifest_sha256": hashlib.sha256((source["backup"] / "manifest.json").read_bytes()).hexdigest(),
        "signature_hmac": signature["hmac"],
        "signed_with_key": signature["key_fingerprint"],
        "signature": "verified with this server's backup key",
    }


def test_the_backup_key_is_made_private_and_moves_to_a_new_server_with_the_backups(tmp_path, monkeypatch):
    """docs/keys.md: the first export makes data/.backup_key.key (0600); a server without that key
    refuses the backup; with the key copied over, it restores."""
    monkeypatch.delenv("DIVERT_BACKUP_KEY")
    old_server, new_server = tmp_path / "old", tmp_path / "new"
    monkeypatch.setenv("DIVERT_DATA_DIR", str(old_server))
    export_backup(get_engine(migrated_sqlite_url(tmp_path, "old.db")), tmp_path / "backup")
    key = old_server / ".backup_key.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text().strip()) == 64
    assert key.read_text().strip() not in "".join(p.read_text() for p in (tmp_path / "backup").glob("*.json"))

    monkeypatch.setenv("DIVERT_DATA_DIR", str(new_server))
    target = sqlite_url(tmp_path, "new.db")
    code, output = _run("--db", target, "restore", str(tmp_path / "backup"))
    assert code == 1 and "this server has no backup key" in output and "docs/keys.md" in output
    assert _left_behind(target) == []
    shutil.copy2(key, new_server / ".backup_key.key")
    code, output = _run("--db", target, "restore", str(tmp_path / "backup"))
    assert code == 0 and "signature was verified" in output, output


# --- sign-in cookies ------------------------------------------------------------------------------
def _cookie(username: str, generation: int, sid: str) -> str:
    from divert.core.clock import now

    issued = now()
    return session_token.issue(session_token.Session(username, generation, issued, issued + timedelta(hours=8), sid),
                               COOKIE_KEY)


def _honoured(token: str, engine) -> bool:
    return session_token.resume(token, key=COOKIE_KEY, hours=8, engine=engine) is not None


def _sign_in(engine, username: str, password: str) -> sign_in.Outcome:
    outcome = sign_in.attempt(username, password, "203.0.113.9", prefs=stored_settings.load(engine), engine=engine)
    assert outcome.status == "ok", outcome
    return outcome


def test_a_restore_ends_every_sign_in_cookie_even_one_a_password_reset_had_revoked(tmp_path, clock):
    engine = get_engine(migrated_sqlite_url(tmp_path, "live.db"))
    for name, role in (("uma", "caseworker"), ("boss", "admin")):
        assert accounts.add_user({"username": name, "role": role, "password": PASSWORD}, "test", engine=engine).ok
    before_backup = _cookie("uma", _sign_in(engine, "uma", PASSWORD).generation, "sid-1")
    export_backup(engine, tmp_path / "backup")
    saved, one_time = accounts.reset_password("uma", "boss", engine=engine)  # e.g. the laptop was stolen
    assert saved.ok and not _honoured(before_backup, engine)
    after_reset = _cookie("uma", accounts.get_account("uma", engine).generation, "sid-2")
    assert accounts.reset_password("uma", "boss", engine=engine)[0].ok  # and once more
    assert not _honoured(after_reset, engine)

    restored = get_engine(sqlite_url(tmp_path / "restored"))
    restore_backup(restored, tmp_path / "backup", "ops")
    assert not _honoured(before_backup, restored)
    assert not _honoured(after_reset, restored)
    boss = _cookie("boss", 0, "sid-boss")  # an account whose generation had never moved
    assert not _honoured(boss, restored)
    summary = json.loads(_last_event(restored).after)["sessions"]
    assert summary["accounts"] == 2
    # signing in again gives a cookie of the new generation, which is honoured
    fresh = _sign_in(restored, "uma", PASSWORD)
    assert fresh.generation >= summary["generation_at_least"]
    assert _honoured(_cookie("uma", fresh.generation, "sid-3"), restored)


@given(earlier=st.integers(0, 10**6), first=st.datetimes(datetime(2025, 1, 1), datetime(2080, 1, 1), timezones=st.just(UTC)),
       gap=st.integers(2, 10**9), data=st.data())
def test_no_cookie_issued_before_a_restore_carries_the_generation_it_sets(earlier, first, gap, data):
    """After a restore at `first`, an account's generation moves on by one per change, fewer
    than one a second; whatever backup is restored at `second` (its generation no higher than
    the account ever had), the new generation is above every one a cookie was issued under."""
    from divert.backup.restore import restored_generation

    second = first + timedelta(seconds=gap)
    if second >= datetime(2090, 1, 1, tzinfo=UTC):
        return
    start = restored_generation(earlier, first)
    changes = data.draw(st.integers(0, gap - 2))
    backed_up = data.draw(st.integers(0, start + changes))
    new = restored_generation(backed_up, second)
    assert new > start + changes and new > backed_up
    assert new < 2**31  # PostgreSQL's integer column


# --- a zip checked before it is unpacked ----------------------------------------------------------
def _bomb(backup: Path, out: Path, megabytes: int = 200) -> Path:
    """The backup's own manifest, signature and files, but for referral.parquet: 200 MB of zeros
    (about 200 KB packed)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(backup.iterdir()):
            if path.name != "referral.parquet":
                archive.write(path, path.name)
        with archive.open("referral.parquet", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(megabytes):
                fh.write(block)
    return out


def _opened_entries(monkeypatch) -> list[str]:
    opened: list[str] = []
    original = zipfile.ZipFile.open

    def open_(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            opened.append(getattr(name, "filename", name))
        return original(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_)
    return opened


def test_a_zip_bomb_is_refused_before_anything_is_unpacked(source, tmp_path, monkeypatch):
    archive = _bomb(source["backup"], tmp_path / "bomb.zip")
    assert archive.stat().st_size < 400_000
    opened = _opened_entries(monkeypatch)
    target = sqlite_url(tmp_path / "target")
    code, output = _run("--db", target, "restore", str(archive))
    assert code == 1 and "referral.parquet would unpack to 209,715,200 bytes" in output, output
    assert "more than 100 times" in output and "Traceback" not in output
    assert opened == []  # not even the manifest was read
    assert _left_behind(target) == []


def test_a_zip_larger_than_the_limit_is_refused_from_its_directory(source, tmp_path, monkeypatch):
    from divert.backup import archive

    packed = tmp_path / "backup.zip"
    packed.write_bytes(zip_folder(source["backup"]))
    total = sum(info.file_size for info in zipfile.ZipFile(packed).infolist())
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", total - 1)
    opened = _opened_entries(monkeypatch)
    with pytest.raises(archive.BackupError, match=f"would unpack to {total:,} bytes, more than"):
        restore_backup(get_engine(sqlite_url(tmp_path / "target")), packed, "ops")
    assert opened == []
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", total)
    restore_backup(get_engine(sqlite_url(tmp_path / "target")), packed, "ops")
    assert opened[:2] == ["manifest.json", "signature.json"]  # the manifest first, then the files


def test_a_zip_entry_the_signed_manifest_does_not_list_is_refused(source, tmp_path):
    packed = tmp_path / "backup.zip"
    packed.write_bytes(zip_folder(source["backup"]))
    with zipfile.ZipFile(packed, "a") as archive:
        archive.writestr("extra.parquet", b"PAR1")
    code, output = _run("--db", sqlite_url(tmp_path / "target"), "restore", str(packed))
    assert code == 1 and "extra.parquet is in the zip but not in the manifest" in output


# --- a refusal leaves nothing behind --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=[
    pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason="DIVERT_TEST_DATABASE_URL is not set")])])
def test_rows_the_database_refuses_end_in_a_one_line_message_and_leave_nothing(source, tmp_path, kind):
    """A signed backup whose rows break a constraint (two accounts of one name): the database's
    IntegrityError becomes a refusal; nothing stays, not even the SQLite file."""
    from divert.backup.signing import sign

    copy = tmp_path / "twins"
    shutil.copytree(source["backup"], copy)
    users = pl.read_parquet(copy / "app_user.parquet")
    _rewrite(copy, "app_user", pl.concat([users, users.head(1).with_columns(pl.col("id") + 100)]))
    (copy / "signature.json").write_text(json.dumps(sign((copy / "manifest.json").read_bytes(), BACKUP_KEY)))
    database = PostgresDatabase() if kind == "postgres" else None
    target = database.url if database else sqlite_url(tmp_path / "target")
    try:
        done = divert("--db", target, "restore", str(copy))
        assert done.returncode == 1 and "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Restore refused: the database refused the backup's rows "
                                                       "while loading app_user"), done.stderr
        assert "rolled back" in lines[0]
        if database:
            with get_engine(target).connect() as conn:
                assert inspect(conn).get_table_names() == []
        else:
            assert _left_behind(target) == []
    finally:
        if database:
            database.drop()
