"""The Backups and release page (administrators only), through Streamlit's AppTest: the backup
zip restores into an empty database; the public release zip holds the published files; other
roles are refused and shown nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from apptesting import REFUSED, messages, press, signed_in
from dbfixtures import SMALL_DEMO, demo_url, sqlite_url
from sqlalchemy import select

from divert.analytics.calendar.months import default_as_of
from divert.auth import accounts
from divert.backup import restore_backup, table_checksums
from divert.core import clock
from divert.records import disclosure_audits
from divert.storage.db import data_version, get_engine
from divert.storage.models import AuditEvent

pytestmark = pytest.mark.usefixtures("navigation_only", "clock")
PASSWORD = "willow-harbour-77"
PAGE = "pages/admin_backup.py"


def on_the_page(engine, role: str):
    """The page, opened by a new account of `role` on the database DIVERT_DATABASE_URL names."""
    saved = accounts.add_user({"username": f"the.{role}", "display_name": role.title(), "role": role,
                               "password": PASSWORD}, "test", engine=engine)
    assert saved.ok, saved.problems
    return signed_in(f"the.{role}", PAGE)


def downloads(at) -> list[str]:
    return [e.proto.label for e in at.get("download_button")]


def test_admin_downloads_a_backup_that_restores(db, tmp_path):
    at = press(on_the_page(db, "admin"), "Prepare a backup")
    data, name = at.session_state["divert_backup_download"]
    assert downloads(at) == [f"Download {name}"] and name.endswith(".zip")
    archive = tmp_path / name
    archive.write_bytes(data)
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    with db.connect() as conn:
        actions = conn.execute(select(AuditEvent.action, AuditEvent.username)).all()
    assert ("export_backup", "the.admin") in actions
    target = get_engine(sqlite_url(tmp_path / "restored"))
    restore_backup(target, archive, "ops")
    assert table_checksums(target)["app_user"] == table_checksums(db)["app_user"]


def test_admin_downloads_the_public_release(tmp_path, monkeypatch):
    url, _ = demo_url(tmp_path, **SMALL_DEMO)
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    at = on_the_page(get_engine(url), "admin")
    at.date_input[0].set_value(date(2025, 10, 15)).run()
    assert "No disclosure audit has been run" in messages(at, "warning")
    press(at, "Prepare the public release")  # refused until an audit clears it
    assert "no disclosure audit has been run" in messages(at) and "divert_release_download" not in at.session_state
    passed_audit(get_engine(url), date(2025, 10, 15))
    at = signed_in("the.admin", PAGE)
    at.date_input[0].set_value(date(2025, 10, 15)).run()
    assert "The last disclosure audit" in messages(at, "success") and "passed" in messages(at, "success")
    press(at, "Prepare the public release")
    data, name = at.session_state["divert_release_download"]
    assert name == "divert-public-release-20251015.zip" and f"Download {name}" in downloads(at)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"README.md", "data_dictionary.csv", "volume_by_month_and_area.csv",
            "divert-public-release.xlsx"} <= names
    readme = zipfile.ZipFile(io.BytesIO(data)).read("README.md").decode()
    assert "15 October 2025" in readme and "2018-01 to 2025-09" in readme


def passed_audit(engine, as_of: date) -> None:
    """A passing disclosure audit of the data as it is, kept as `divert disclosure audit` keeps it."""
    disclosure_audits.save({"passed": True, "role": "viewer", "as_of": [as_of.isoformat()], "leaks": []},
                           data_version(engine), "test", engine=engine)


def test_release_of_an_empty_database_says_why(db):
    at = press(on_the_page(db, "admin"), "Prepare the public release")
    assert "no disclosure audit has been run" in messages(at)
    passed_audit(db, default_as_of(clock.today()))
    at = press(signed_in("the.admin", PAGE), "Prepare the public release")
    assert "nothing to publish" in messages(at)
    assert "divert_release_download" not in at.session_state


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker"])
def test_other_roles_are_refused_and_shown_nothing(db, role):
    at = on_the_page(db, role)
    assert REFUSED in messages(at, "warning")
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.date_input and not at.get("download_button")
