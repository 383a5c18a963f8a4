"""Every dashboard page renders for every role allowed to see it, on the demo data, without an
exception (AppTest); viewers see small counts suppressed."""

from __future__ import annotations

import pytest
from dbfixtures import main_url
from streamlit.testing.v1 import AppTest

from divert import auth
from divert.db import get_engine, upgrade
from divert.demo import load_demo
from divert.settings import PROJECT_DIR

pytestmark = pytest.mark.usefixtures("navigation_only")
APP = str(PROJECT_DIR / "app.py")
DASHBOARDS = [spec for spec in auth.PAGES if spec.section == "Dashboards" and (PROJECT_DIR / spec.file).exists()]




@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    url = main_url(folder, "divert.db")
    upgrade(url)
    engine = get_engine(url)
    summary = load_demo(engine, seed=3, scale=0.3)
    yield url, {login["role"]: login for login in summary["logins"]}
    engine.dispose()


def signed_in(demo, monkeypatch, role) -> AppTest:
    url, logins = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    next(t for t in at.text_input if t.label == "Username").input(logins[role]["username"])
    next(t for t in at.text_input if t.label == "Password").input(logins[role]["password"])
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role", ["viewer", "manager", "caseworker", "admin"])
def test_every_dashboard_renders_for_every_role(demo, monkeypatch, role):
    at = signed_in(demo, monkeypatch, role)
    for spec in DASHBOARDS:
        if role not in spec.roles:
            continue
        at.switch_page(spec.file).run()
        assert not at.exception, (spec.file, at.exception)
        assert [t.value for t in at.title] == [spec.title], spec.file
        assert not at.error, (spec.file, [e.value for e in at.error])


def test_viewer_sees_small_counts_suppressed(demo, monkeypatch):
    at = signed_in(demo, monkeypatch, "viewer")
    at.switch_page("pages/volume.py").run()
    # one small group over all time: some monthly counts are below the threshold
    next(s for s in at.selectbox if s.label == "Period").set_value("All time").run()
    next(s for s in at.selectbox if s.label == "Ethnic group (self-defined)").set_value("Other").run()
    assert not at.exception
    tables = [df.value for df in at.dataframe]
    assert any((table.astype(str) == "*").any().any() for table in tables)
    assert any(table["note"].astype(str).str.contains("fewer than 8 people").any() for table in tables if "note" in table)


def test_viewer_filters_that_single_out_too_few_people_say_so_instead_of_drawing(demo, monkeypatch):
    at = signed_in(demo, monkeypatch, "viewer")
    at.switch_page("pages/volume.py").run()
    next(s for s in at.selectbox if s.label == "Local policing area").set_value("E08000029").run()
    next(s for s in at.selectbox if s.label == "Sex").set_value("X").run()
    assert not at.exception
    assert any("fewer than 8 people" in i.value for i in at.info)
    assert not at.dataframe


def test_manager_sees_exact_counts(demo, monkeypatch):
    at = signed_in(demo, monkeypatch, "manager")
    at.switch_page("pages/volume.py").run()
    next(s for s in at.selectbox if s.label == "Local policing area").set_value("E08000029").run()
    next(s for s in at.selectbox if s.label == "Ethnic group (self-defined)").set_value("Other").run()
    tables = [df.value for df in at.dataframe]
    assert not any((table.astype(str) == "*").any().any() for table in tables)


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_the_narrowest_filters_give_empty_states_not_exceptions(demo, monkeypatch, role):
    at = signed_in(demo, monkeypatch, role)
    next(s for s in at.selectbox if s.label == "Period").set_value("Last 3 months").run()
    next(s for s in at.selectbox if s.label == "Local policing area").set_value("E08000029").run()
    next(s for s in at.selectbox if s.label == "Sex").set_value("X").run()
    next(s for s in at.selectbox if s.label == "Ethnic group (self-defined)").set_value("Mixed").run()
    assert not at.exception, at.exception
    for spec in DASHBOARDS:
        if role in spec.roles:
            at.switch_page(spec.file).run()
            assert not at.exception, (spec.file, at.exception)
            assert not at.error, (spec.file, [e.value for e in at.error])
