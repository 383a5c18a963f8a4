"""The Backups and release page (administrators only), through Streamlit's AppTest: the backup
zip restores into an empty database; the public release zip holds the published files; other
roles are refused and shown nothing."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
from dbfixtures import sqlite_url
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from divert import accounts
from divert.backup import restore_backup, table_checksums
from divert.db import get_engine
from divert.demo import load_demo
from divert.models import AuditEvent
from divert.settings import PROJECT_DIR

pytestmark = pytest.mark.usefixtures("navigation_only")
PASSWORD = "willow-harbour-77"
PAGE = "pages/admin_backup.py"


def signed_in(db, role: str) -> AppTest:
    saved = accounts.add_user({"username": f"the.{role}", "display_name": role.title(), "role": role,
                               "password": PASSWORD}, "test", engine=db)
    assert saved.ok, saved.problems
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=120).run()
    next(t for t in at.text_input if t.label == "Username").input(f"the.{role}")
    next(t for t in at.text_input if t.label == "Password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click().run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def downloads(at: AppTest) -> list[str]:
    return [e.proto.label for e in at.get("download_button")]


def test_admin_downloads_a_backup_that_restores(db, tmp_path):
    at = press(signed_in(db, "admin"), "Prepare a backup")
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


def test_admin_downloads_the_public_release(db):
    load_demo(db, seed=3, scale=0.1)
    at = signed_in(db, "admin")
    at.date_input[0].set_value(date(2025, 10, 15)).run()
    press(at, "Prepare the public release")
    data, name = at.session_state["divert_release_download"]
    assert name == "divert-public-release-20251015.zip" and f"Download {name}" in downloads(at)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"README.md", "data_dictionary.csv", "volume_by_month_and_area.csv",
            "divert-public-release.xlsx"} <= names
    readme = zipfile.ZipFile(io.BytesIO(data)).read("README.md").decode()
    assert "15 October 2025" in readme


def test_release_of_an_empty_database_says_why(db):
    at = press(signed_in(db, "admin"), "Prepare the public release")
    assert "nothing to publish" in " ".join(str(e.value) for e in at.error)
    assert "divert_release_download" not in at.session_state


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker"])
def test_other_roles_are_refused_and_shown_nothing(db, role):
    at = signed_in(db, role)
    assert "not available to your role" in " ".join(str(w.value) for w in at.warning)
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.date_input and not at.get("download_button")
