"""The audit log in words: actions and records by name, and each change summarised."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from clock import frozen

from divert.records import audit_log
from divert.records.core import Saved, audit, write


def test_actions_and_records_have_plain_names():
    assert audit_log.action_label("sign_in_failed") == "Wrong password"
    assert audit_log.action_label("export_release") == "Made a public release"
    assert audit_log.action_label("something_new") == "Something new"
    assert audit_log.table_label("course_session") == "Course session"


def test_a_change_lists_only_the_fields_that_changed():
    before = json.dumps({"status": "open", "seats": 12, "note": None})
    after = json.dumps({"status": "closed", "seats": 12, "note": "moved"})
    assert audit_log.change_summary("update", before, after) == "status: open -> closed; note: blank -> moved"
    assert audit_log.change_summary("create", None, json.dumps({"value": True})) == "value: yes"
    assert audit_log.change_summary("sign_out", None, None) == ""
    long = audit_log.change_summary("create", None, json.dumps({"text": "x" * 500}))
    assert len(long) == audit_log.SUMMARY_CHARS and long.endswith("...")


def test_the_page_frame_and_the_download_from_real_events(sqlite_engine):
    def work(s):
        audit(s, "ana", "update", "setting", "small_number_threshold", {"value": 8}, {"value": 10}, "new rule")
        return Saved(True)

    assert write(work, session=None, engine=sqlite_engine).ok
    frame, _ = audit_log.events(sqlite_engine, username="ana")
    shown = audit_log.readable(frame).row(0, named=True)
    assert shown["Action"] == "Changed" and shown["Record"] == "Setting #small_number_threshold"
    assert shown["What changed"] == "value: 8 -> 10" and shown["Reason"] == "new rule"
    csv = audit_log.to_csv(frame).decode()
    assert "Action (in words),What changed" in csv.splitlines()[0] and "value: 8 -> 10" in csv


def test_a_day_in_the_filter_is_a_uk_day(sqlite_engine):
    """Half past midnight on 1 July in summer time is 23:30 UTC on 30 June: it is on 1 July's
    page, not 30 June's."""
    def work(s):
        audit(s, "ana", "update", "setting", "small_number_threshold", {"value": 8}, {"value": 10}, "new rule")
        return Saved(True)

    with frozen(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)):
        assert write(work, session=None, engine=sqlite_engine).ok
    on = {day: audit_log.events(sqlite_engine, username="ana", start=date(2026, *day), end=date(2026, *day))[0].height
          for day in ((6, 30), (7, 1))}
    assert on == {(6, 30): 0, (7, 1): 1}
