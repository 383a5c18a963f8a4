"""Two replicas of the app on one PostgreSQL database: a referral recorded through replica A's
form shows in replica B's Overview on B's next rerun (the data_version in the database tells
B's cached dashboards that something changed). Both replicas share the person and cookie keys,
as docs/deploy.md says they must. Screenshots under the test's tmp dir (screenshots/, with DIVERT_TEST_SHOTS=1)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from browser import TALL, Served, ran_since, runs, sign_in
from dbfixtures import PG_URL, PostgresDatabase
from playwright.sync_api import expect
from sqlalchemy import func, select
from wire import listen

from divert.storage.db import data_version, get_engine, session_scope, upgrade
from divert.storage.models import AuditEvent, Referral

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

IDENTIFIER = "Police or provider identifier (stored only as a pseudonymous key) *"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, demo_day):
    """Two app processes, each with its own data folder, on one PostgreSQL database holding the
    demo (to yesterday), with the same person and cookie keys."""
    if not PG_URL:
        pytest.skip("DIVERT_TEST_DATABASE_URL is not set: replicas share a PostgreSQL database")
    from divert.demo import load_demo

    database = PostgresDatabase()
    keys = {"DIVERT_PERSON_KEY": secrets.token_hex(32), "DIVERT_COOKIE_KEY": secrets.token_hex(32)}
    a = Served(tmp_path_factory.mktemp("replica-a"), database.url, env=keys)
    b = Served(tmp_path_factory.mktemp("replica-b"), database.url, env=keys)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("DIVERT_PERSON_KEY", keys["DIVERT_PERSON_KEY"])
            upgrade(database.url)
            summary = load_demo(get_engine(database.url), seed=2020, scale=0.05, as_of=demo_day)
        a.logins = b.logins = {login["role"]: login for login in summary["logins"]}
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()
        database.drop()


def referrals_card(page):
    """The value of the Overview's "Referrals" card, as shown."""
    label = page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"^\s*Referrals\s*$"))
    card = page.get_by_test_id("stMetric").filter(has=label)
    expect(card).to_have_count(1)
    return card.get_by_test_id("stMetricValue")


def shown_count(value) -> int:
    text = value.inner_text().strip()
    assert re.fullmatch(r"[\d,]+", text), f"the Referrals card shows {text!r}, not a count"
    return int(text.replace(",", ""))


def test_a_referral_saved_on_one_replica_shows_on_the_others_next_rerun(replicas, open_page, demo_day):
    a, b = replicas
    assert a.db_url == b.db_url and a.port != b.port

    # replica B: a manager on the Overview
    viewer = open_page(TALL)
    wire = listen(viewer)  # what B's server sends: below, proof that B really ran its page again
    # the Overview opens at the last month end: as of today it counts today's new referral too
    sign_in(viewer, b, "manager", path=f"/?as_of={demo_day + timedelta(days=1):%Y-%m-%d}")
    before = shown_count(referrals_card(viewer))
    assert before > 0  # the demo data is there
    viewer.shots("replica B overview before")

    # replica A: a caseworker records a referral through the form
    writer = open_page(TALL)
    sign_in(writer, a, "caseworker", path="/new_referral", lands_on="New referral")
    version = data_version(a.engine())
    writer.get_by_role("textbox", name="Referral reference *").fill("REPLICA-0001")
    writer.get_by_role("textbox", name="Crime reference *").fill("REPLICA/0001/26")
    writer.get_by_role("textbox", name=IDENTIFIER).fill("PNC REPLICA/0001")
    for label, option in (("Local policing area *", "Sandwell"), ("Main drug *", "Cannabis")):
        writer.get_by_role("combobox", name=label).click()
        writer.get_by_role("option", name=option, exact=True).click()
    writer.get_by_role("button", name="Save referral").click()
    expect(writer.get_by_text("Referral REPLICA-0001 saved")).to_be_visible()
    writer.shots("replica A referral saved")
    with session_scope(a.engine()) as s:
        assert s.execute(select(func.count()).select_from(Referral)
                         .where(Referral.reference == "REPLICA-0001")).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.table_name == "referral", AuditEvent.after.contains('"REPLICA-0001"'))).scalar_one() == 1
    assert data_version(a.engine()) > version

    # replica B, untouched so far, still shows the old figure; its next rerun shows the new one
    assert shown_count(referrals_card(viewer)) == before
    wire.clear()
    viewer.get_by_role("heading", name="Overview", exact=True).first.click()  # focus on the page, not a field
    ran = runs(viewer)
    viewer.keyboard.press("r")  # Streamlit's "Rerun" shortcut: the same session runs the page again
    ran_since(viewer, ran)
    rerun = [m for m in wire.metrics if m.label == "Referrals"]
    assert [int(m.body.replace(",", "")) for m in rerun][-1] == before + 1, "replica B's rerun sent the old figure"
    expect(referrals_card(viewer)).to_have_text(f"{before + 1:,}")
    viewer.shots("replica B overview after its rerun")
