"""Every dashboard page renders for every role allowed to see it, on the demo data, without an
exception (AppTest); viewers see small counts suppressed."""

from __future__ import annotations

from datetime import date

import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from dbfixtures import SMALL_DEMO, demo_url

from divert.core import disclosure
from divert.core.environment import PROJECT_DIR
from divert.web import access

pytestmark = pytest.mark.usefixtures("navigation_only")
DASHBOARDS = [spec for spec in access.PAGES if spec.section == "Dashboards" and (PROJECT_DIR / spec.file).exists()]
WITHOUT_FIGURES = {"pages/methods.py", "pages/glossary.py", "pages/board_pack.py"}  # texts, and the form that builds the pack
FILTERED = {"pages/volume.py", "pages/pathway.py", "pages/outcomes.py", "pages/disparity.py", "pages/reoffending.py",
            "pages/impact.py"}  # pages drawn from the filtered records
EMPTY_STATES = ("Nothing recorded for these filters", "Nobody has reached this step yet", "No referrals at least",
                "No referral has a full", "Too few", "These filters leave fewer than")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo (read only here), and its logins by role."""
    url, summary = demo_url(tmp_path_factory.mktemp("pages"), **SMALL_DEMO)
    return url, {login["role"]: login["username"] for login in summary["logins"]}


@pytest.fixture
def open_as(demo, monkeypatch):
    """A page opened by a signed-in user of a role, the morning after the demo ends."""
    url, usernames = demo
    monkeypatch.setenv("DIVERT_DATABASE_URL", url)
    with frozen(AFTER_DEMO):
        yield lambda role, page=None: signed_in(usernames[role], page)


def figures(at) -> int:
    return len(at.metric) + len(at.get("vega_lite_chart")) + len(at.dataframe)


def choose(at, label, value):
    next(s for s in at.selectbox if s.label == label).set_value(value).run()
    assert not at.exception, (label, value, at.exception)


def test_the_roles_below_open_every_dashboard_every_role_sees():
    """The administrator's dashboards hold the manager's and the caseworker's, with the same exact
    figures (the viewer's are gated): the two roles rendered below open every dashboard as each role sees it."""
    of = {role: {spec.file for spec in DASHBOARDS if role in spec.roles} for role in access.ALL_ROLES}
    assert of["manager"] | of["caseworker"] <= of["admin"]
    assert set(access.ALL_ROLES) - set(disclosure.EXACT_ROLES) == {"viewer"}


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_every_dashboard_renders_for_every_role(open_as, role):
    at = open_as(role)
    for spec in DASHBOARDS:
        if role not in spec.roles:
            continue
        at.switch_page(spec.file).run()
        assert not at.exception, (spec.file, at.exception)
        assert [t.value for t in at.title] == [spec.title], spec.file
        assert not at.error, (spec.file, [e.value for e in at.error])
        assert spec.file in WITHOUT_FIGURES or figures(at), spec.file  # not only a title: its figures


def test_viewer_sees_small_counts_suppressed(open_as):
    at = open_as("viewer", "pages/volume.py")
    # one small group over all time: some monthly counts are below the threshold
    choose(at, "Period", "All time")
    choose(at, "Ethnic group (self-defined)", "Other")
    tables = [df.value for df in at.dataframe]
    assert any((table.astype(str) == "*").any().any() for table in tables)
    assert any(table["Note"].astype(str).str.contains("fewer than 8 people").any() for table in tables if "Note" in table)


def test_a_chart_whose_every_count_is_hidden_says_so_instead_of_drawing_nothing(open_as):
    """Offences per month of people of sex "other": each month 0 to 7, all hidden for a viewer
    (zeros too), so there is no chart to draw but words; a manager's chart is drawn."""
    hidden = "every count here is hidden"
    for role, said in (("viewer", True), ("manager", False)):
        at = open_as(role, "pages/volume.py")
        choose(at, "Period", "All time")
        choose(at, "Sex", "X")
        assert any(hidden in i.value for i in at.info) == said, role


def test_viewer_filters_that_single_out_too_few_people_say_so_instead_of_drawing(open_as):
    at = open_as("viewer", "pages/volume.py")
    choose(at, "Local policing area", "E08000029")
    choose(at, "Sex", "X")
    assert any("fewer than 8 people" in i.value for i in at.info)
    assert not at.dataframe


def test_manager_sees_exact_counts(open_as):
    at = open_as("manager", "pages/volume.py")
    choose(at, "Local policing area", "E08000029")
    choose(at, "Ethnic group (self-defined)", "Other")
    tables = [df.value for df in at.dataframe]
    assert tables and not any((table.astype(str) == "*").any().any() for table in tables)


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_the_narrowest_filters_give_empty_states_not_exceptions(open_as, role):
    at = open_as(role)
    choose(at, "Period", "Last 3 months")
    choose(at, "Local policing area", "E08000029")
    choose(at, "Sex", "X")
    choose(at, "Ethnic group (self-defined)", "Mixed")
    for spec in DASHBOARDS:
        if role in spec.roles:
            at.switch_page(spec.file).run()
            assert not at.exception, (spec.file, at.exception)
            assert not at.error, (spec.file, [e.value for e in at.error])
            if spec.file in FILTERED:  # an empty state said in words, not a blank page
                said = [i.value for i in at.info]
                assert any(empty in text for text in said for empty in EMPTY_STATES), (spec.file, said)


def test_outcomes_opens_on_an_as_of_date_before_its_fixed_comparison_ends(open_as):
    """The fixed after half-year (July-December 2021 for the demo's October 2020 launch) ends after
    an as-of date of 30 June 2021: the page still opens, and says the period is provisional."""
    at = open_as("manager", "pages/outcomes.py")
    next(d for d in at.date_input if d.label == "As of").set_value(date(2021, 6, 30)).run()
    assert not at.exception, at.exception
    assert any("still awaiting an outcome" in w.value for w in at.warning), [w.value for w in at.warning]
