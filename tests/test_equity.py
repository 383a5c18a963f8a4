"""The equity watch and impact evaluation as users reach them: `divert metrics impact|alerts`
(a viewer's through the gate) and acknowledgements, on a demo in a real SQLite file."""

from __future__ import annotations

import json

import pytest
from commands import divert
from dbfixtures import FULL_DEMO, demo_url
from sqlalchemy import text

from divert.readmodels import equity
from divert.storage.db import get_engine

AS_OF = FULL_DEMO["as_of"].isoformat()


@pytest.fixture
def demo(tmp_path):
    url, _ = demo_url(tmp_path, **FULL_DEMO)
    return url


def metrics(url, *args):
    done = divert("--db", url, "metrics", *args, "--as-of", AS_OF, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_metrics_impact_gives_the_level_change_with_an_interval(demo):
    rows = metrics(demo, "impact", "--group", "All")
    level = next(r for r in rows if r["term"] == "level_change")
    assert level["group"] == "All" and level["ci_low"] < level["estimate"] < level["ci_high"] < 1  # a fall, not noise


def test_a_viewer_gets_alerts_without_the_exact_counts(demo):
    exact = metrics(demo, "alerts")
    gated = metrics(demo, "alerts", "--role", "viewer")
    assert exact and [a["alert_id"] for a in exact] == [a["alert_id"] for a in gated]
    assert all("counts_text" in a for a in exact) and not any("counts_text" in a for a in gated)
    for alert in gated:
        for column in ("events", "denominator", "white_events", "white_denominator"):
            value = alert[column]
            assert value is None or value == 0 or (value >= 8 and value % 5 == 0), (column, value)


def test_acknowledging_an_alert_needs_a_manager_and_a_note_and_is_audited(demo):
    engine = get_engine(demo)
    refused = equity.acknowledge("engaged/Black/2024-01", "looked at it", "demo.viewer", "viewer", engine=engine)
    assert not refused.ok and "service manager" in refused.problems[0].reason
    assert not equity.acknowledge("engaged/Black/2024-01", "", "demo.manager", "manager", engine=engine).ok
    assert equity.acknowledge("engaged/Black/2024-01", "Raised with the provider's lead", "demo.manager", "manager",
                              engine=engine).ok
    assert equity.acknowledgements(engine)["engaged/Black/2024-01"]["note"] == "Raised with the provider's lead"
    with engine.connect() as conn:
        audited = conn.execute(text("SELECT username FROM audit_event WHERE row_id = 'alert_ack:engaged/Black/2024-01'"))
        assert [r[0] for r in audited] == ["demo.manager"]
