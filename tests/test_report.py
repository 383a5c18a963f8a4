"""The board pack (`divert report`, divert.report) on the demo data: its figures are those of
`divert metrics` for the same role, period and as-of date; a viewer's pack shows no count under
the threshold; the PDF opens, has every page stamped and keeps each table on one page; the HTML
is self-contained and escaped; bad requests are refused with a reason."""

from __future__ import annotations

import json
import re
from datetime import date
from html.parser import HTMLParser

import pypdf
import pytest
from apptesting import AFTER_DEMO, signed_in
from clock import frozen
from commands import divert
from dbfixtures import DEMO_AS_OF, SMALL_DEMO, demo_url
from sqlalchemy import select

from divert import report
from divert.records.census_rows import ensure_population
from divert.storage.db import get_engine
from divert.storage.models import AuditEvent

AS_OF, START, END = DEMO_AS_OF, date(2024, 10, 1), DEMO_AS_OF  # the twelve months to the demo's end
LOGINS: dict[str, str] = {}
PERIOD = ["--as-of", AS_OF.isoformat(), "--from", START.isoformat(), "--to", END.isoformat()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    url, summary = demo_url(tmp_path_factory.mktemp("board-pack"), **SMALL_DEMO)
    ensure_population(get_engine(url), "test")  # the shipped census, as `divert init` and the app load it
    LOGINS.update({login["role"]: login["username"] for login in summary["logins"]})
    return url


@pytest.fixture(scope="module")
def packs(demo):
    engine = get_engine(demo)
    return {role: report.make(engine, start=START, end=END, as_of=AS_OF, role=role) for role in ("viewer", "manager")}


def metrics(url, *args) -> list | dict:
    ran = divert("--db", url, "metrics", *args, "--format", "json")
    assert ran.returncode == 0, ran.stderr
    return json.loads(ran.stdout)


def pdf_pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(_file(data)).pages]


def _file(data: bytes):
    import io

    return io.BytesIO(data)


def squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Cells(HTMLParser):
    """The text of every table cell of the HTML version, with its classes."""

    def __init__(self):
        super().__init__()
        self.cells, self.current, self.sources = [], None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td":
            self.current = [attrs.get("class") or "", ""]
        for name in ("src", "href"):
            if attrs.get(name):
                self.sources.append(attrs[name])

    def handle_data(self, data):
        if self.current is not None:
            self.current[1] += data

    def handle_endtag(self, tag):
        if tag == "td" and self.current is not None:
            self.cells.append(tuple(self.current))
            self.current = None


def cells_of(html: bytes) -> Cells:
    parser = Cells()
    parser.feed(html.decode("utf-8"))
    return parser


# --- the figures are those of `divert metrics` ---------------------------------------------------
@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_headlines_are_those_of_metrics_overview(packs, demo, role):
    files = packs[role]
    expected = {m["measure"]: m for m in metrics(demo, "overview", "--role", role, *PERIOD)["measures"]}
    assert [h.key for h in files.pack.headlines] == list(expected)
    for h in files.pack.headlines:
        assert h.value == pytest.approx(expected[h.key]["value"]), h.key
        assert h.previous == pytest.approx(expected[h.key]["previous"]), h.key
    # and those are the figures printed: each row of the headline table is on the first page
    first_page = squeezed(pdf_pages(files.pdf)[0])
    table = files.pack.table("overview")
    assert len(table.rows) == len(expected)
    for row in table.rows:
        assert squeezed("".join(row)) in first_page, row
    referrals = next(r for r in table.rows if r[0] == "Referrals")
    assert referrals[1] == f"{expected['referrals']['value']:,.0f}"


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_disparity_tables_are_those_of_metrics_disparity(packs, demo, role):
    files = packs[role]
    expected = metrics(demo, "disparity", "--role", role, *PERIOD)
    shown = [t for t in files.pack.tables() if t.key.startswith("disparity_") and t.key != "disparity_stop_search"]
    got = [row for t in shown for row in t.frame.to_dicts()]
    columns = ("stage", "group", "events", "denominator", "rate", "rri", "ci_low", "ci_high", "note")
    assert [tuple(r[c] for c in columns[:2]) for r in got] == [tuple(r[c] for c in columns[:2]) for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        for column in columns[2:]:
            assert mine.get(column) == pytest.approx(theirs.get(column)), (mine["stage"], mine["group"], column)
    # each stage's table is printed whole on one page of the PDF
    pages = [squeezed(p) for p in pdf_pages(files.pdf)]
    for table in shown:
        holding = [p for p in pages if squeezed(table.title) in p]
        assert len(holding) == 1, table.title
        for row in table.rows:
            assert all(squeezed(value) in holding[0] for value in row), (table.title, row)


def test_stop_search_volume_and_pathway_are_those_of_metrics(packs, demo):
    pack = packs["viewer"].pack
    searches = metrics(demo, "disparity", "--source", "stop-search", "--role", "viewer", *PERIOD)
    assert pack.table("disparity_stop_search").frame.select("group", "searches", "ratio_vs_white", "ci_low",
                                                             "ci_high").to_dicts() == [
        {k: r[k] for k in ("group", "searches", "ratio_vs_white", "ci_low", "ci_high")} for r in searches]
    volume = metrics(demo, "volume", "--role", "viewer", *PERIOD)
    months = [r for t in pack.tables() if t.key.startswith("volume") for r in t.frame.to_dicts()]
    assert [(str(r["period"]), r["offences"], r["referrals"]) for r in months] == [
        (r["period"], r["offences"], r["referrals"]) for r in volume]
    funnel = metrics(demo, "pathway", "--role", "viewer", *PERIOD)
    assert pack.table("pathway").frame.select("stage", "people").to_dicts() == [
        {"stage": r["stage"], "people": r["people"]} for r in funnel]


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_value_for_money_agrees_with_the_headlines_and_metrics_value(packs, demo, role):
    files = packs[role]
    table = files.pack.table("value")
    got = table.frame.to_dicts()[0]
    assert (str(got["start"]), str(got["end"])) == (START.isoformat(), END.isoformat())
    headline = {h.key: h.value for h in files.pack.headlines}
    # one measure, one number: the Overview's referrals and officer hours, as the role sees them
    assert (got["referrals"], got["officer_hours"]) == (headline["referrals"], headline["officer_hours"])
    if role == "manager":
        (expected,) = metrics(demo, "value", "--as-of", AS_OF.isoformat())  # the same 12 months
        for column in ("referrals", "assessments", "courses", "officer_hours", "cost"):
            assert got.get(column) == pytest.approx(expected.get(column)), column
    assert [row[1] for row in table.rows[:4]] == ["no cost entered yet"] * 4  # the demo enters no price
    page = next(p for p in pdf_pages(files.pdf) if squeezed(table.title) in squeezed(p))
    assert all(squeezed(v) in squeezed(page) for row in table.rows for v in row[:3]), "the table is on one page"


# --- the disclosure gate -------------------------------------------------------------------------
def test_viewer_pack_shows_no_count_under_the_threshold(packs):
    viewer, manager = packs["viewer"], packs["manager"]
    counts = [text for kind, text in cells_of(viewer.html).cells if "count" in kind.split()]
    assert len(counts) > 100
    for text in counts:
        assert text in ("*", "-", "0") or (int(text.replace(",", "")) >= 8 and int(text.replace(",", "")) % 5 == 0), text
    for value in [v for h in viewer.pack.headlines if h.unit == "count" for v in (h.value, h.previous) if v is not None]:
        assert value >= 8 and value % 5 == 0
    # the demo has small groups: the viewer's pack hides them where the manager's shows 1 to 7
    assert "*" in counts
    exact = [text for kind, text in cells_of(manager.html).cells if "count" in kind.split()]
    assert any(text.isdigit() and 1 <= int(text) < 8 for text in exact)
    assert not any(t.key in ("capacity", "forecast") for t in viewer.pack.tables())
    assert any(t.key == "forecast" for t in manager.pack.tables())
    assert squeezed("are published to service managers") in squeezed(" ".join(pdf_pages(viewer.pdf)))


# --- the files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_pdf_opens_every_page_is_stamped_and_every_chart_is_there(packs, role):
    files = packs[role]
    pack = files.pack
    reader = pypdf.PdfReader(_file(files.pdf))
    pages = [p.extract_text() for p in reader.pages]
    assert reader.metadata.title == pack.title
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {len(pages)}" in text
        assert squeezed(pack.stamp) in squeezed(text), number
    assert sum(len(p.images) for p in reader.pages) == len(pack.figures())
    expected_figures = {"viewer": 4, "manager": 6}[role]  # offences, funnel, decision points, searches (+ 2 planning)
    assert len(pack.figures()) == expected_figures
    # the cover, then each section with a chart on pages of its own, the notes last
    assert len(pages) >= 1 + len(pack.figures())
    assert f"Data version {pack.data_version}" in pages[0]
    # the method notes are the Methods page's own texts
    from divert.analytics.impact import model

    assert squeezed("Impact: an interrupted time series") in squeezed(" ".join(pages[-3:]))
    furniture = re.compile(rf"^(.*Page \d+ of \d+|{re.escape(pack.title)}|Period .* \| Generated .*)$", re.MULTILINE)
    body = squeezed(" ".join(furniture.sub("", page) for page in pages))  # a paragraph may run over a page
    assert squeezed(model.methods_markdown().splitlines()[3].replace("**", "")) in body


def test_html_is_self_contained_and_escaped(packs):
    files = packs["viewer"]
    parsed = cells_of(files.html)
    assert parsed.sources and all(s.startswith(("data:image/png;base64,", "#")) for s in parsed.sources)
    assert sum(s.startswith("data:image/png") for s in parsed.sources) == len(files.pack.figures())
    assert b"<script" not in files.html and b"@media print" in files.html
    pack = files.pack
    pack.sections[0].blocks.append(report.blocks.Text('<img src=x onerror="alert(1)">'))
    html = report.render_html(pack)
    assert '<img src=x' not in html and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    pack.sections[0].blocks.pop()


def test_the_pack_reads_in_words(packs):
    """Sources as sentences, a cover without "Data Data", dates as "5 Dec 2026", the time in UK
    time, and method notes without commands, flags or column names."""
    pack = packs["manager"].pack
    html = packs["manager"].html.decode()
    captions = [t.caption for t in pack.tables()]
    assert not any("Source:" in c or "divert metrics" in c for c in captions)
    assert all("recorded in Divert" in c for c in captions if c and "Counted from" in c or "Forecast from" in c)
    assert sum("recorded in Divert up to" in c for c in captions) >= len(captions) - 2
    assert "Data Data" not in html and pack.coverage.startswith("Records of offences up to ")
    assert f"{AS_OF.day} {AS_OF:%b %Y}" in pack.stamp and pack.stamp.endswith("UK time")
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{2}/\d{2}/\d{4}", pack.stamp + pack.coverage + " ".join(captions))
    notes = " ".join(b.text for s in pack.sections if s.key == "methods" for b in s.blocks)
    assert "`" not in notes and "divert metrics" not in notes and "--" not in notes and "as_of" not in notes


# --- the command ---------------------------------------------------------------------------------
def test_divert_report_writes_both_files_and_audits_once(demo, tmp_path):
    out = tmp_path / "pack.pdf"
    ran = divert("--db", demo, "report", *PERIOD, "--out", out)
    assert ran.returncode == 0, ran.stderr
    assert out.read_bytes().startswith(b"%PDF") and (tmp_path / "pack.html").read_text().startswith("<!DOCTYPE html>")
    assert "viewer role" in ran.stdout
    with get_engine(demo).connect() as conn:
        events = conn.execute(select(AuditEvent.after).where(AuditEvent.action == "export_board_pack")).scalars().all()
    details = [json.loads(after) for after in events]
    mine = [d for d in details if d["files"]["pdf"] == "pack.pdf"]
    assert len(mine) == 1
    assert mine[0]["role"] == "viewer" and mine[0]["as_of"] == "2025-09-30"
    assert mine[0]["period"] == {"start": "2024-10-01", "end": "2025-09-30"}


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--from", "2025-09-01", "--to", "2025-06-30", "--as-of", "2025-09-30"], 1, "after it ends"),
    (["--from", "2024-10-01", "--to", "2025-09-30", "--as-of", "2025-09-30", "--role", "caseworker"], 1,
     "viewer, manager or admin"),
    (["--from", "2024-10-01", "--to", "2025-09-15", "--as-of", "2025-09-15"], 1, "must be a month end"),
    (["--from", "2024-10-02", "--to", "2025-09-30", "--as-of", "2025-09-30"], 1, "whole months"),
    (["--from", "2024-10-01", "--to", "2025-09-30", "--as-of", "2025-08-31", "--role", "manager"], 1,
     "after the as-of date"),
    (["--from", "2010-01-01", "--to", "2010-12-31", "--as-of", "2025-09-30"], 1, "No offences or referrals"),
    (["--from", "2024-13-01", "--to", "2025-09-30"], 2, "YYYY-MM-DD"),
])
def test_divert_report_refuses_bad_requests_with_a_reason(demo, tmp_path, args, code, says):
    out = tmp_path / "pack.pdf"
    ran = divert("--db", demo, "report", *args, "--out", out)
    assert ran.returncode == code and says in ran.stderr, ran
    assert not out.exists() and not out.with_suffix(".html").exists()


def test_divert_report_usage_errors(demo, tmp_path):
    ran = divert("--db", demo, "report", *PERIOD, "--out", tmp_path / "pack.txt")
    assert ran.returncode == 2 and ".pdf" in ran.stderr
    missing = divert("--db", demo, "report", "--from", "2024-10-01", "--out", tmp_path / "pack.pdf")
    assert missing.returncode == 2 and "--to" in missing.stderr
    assert not list(tmp_path.iterdir())


# --- the page ------------------------------------------------------------------------------------
@pytest.mark.usefixtures("navigation_only")
def test_viewer_builds_the_pack_on_the_page_and_gets_both_downloads(demo, monkeypatch, packs):
    monkeypatch.setenv("DIVERT_DATABASE_URL", demo)
    with frozen(AFTER_DEMO):  # the morning after the demo ends
        at = signed_in(LOGINS["viewer"], "pages/board_pack.py", timeout=240)
        as_of = next(s for s in at.selectbox if s.label == "As of (month end)")
        as_of.set_value(AS_OF).run()
        period = next(s for s in at.selectbox if s.label == "Period")
        assert "Custom" not in period.options  # viewers choose fixed periods, as on the dashboards
        period.set_value("Last 12 months").run()
        next(b for b in at.button if b.label == "Build the board pack").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    made = at.session_state["divert_board_pack"]
    assert made["role"] == "viewer" and made["stem"] == "board-pack-2024-10-01-to-2025-09-30-viewer"
    assert [e.proto.label for e in at.get("download_button")] == ["Download the PDF", "Download the HTML version"]
    # the page's pack is the command's pack: the same cells in every table
    page_cells = [text for _, text in cells_of(made["html"]).cells]
    assert page_cells == [text for _, text in cells_of(packs["viewer"].html).cells]
    assert pdf_pages(made["pdf"])[0].startswith(packs["viewer"].pack.title)
    with get_engine(demo).connect() as conn:
        users = conn.execute(select(AuditEvent.username).where(AuditEvent.action == "export_board_pack")).scalars().all()
    assert LOGINS["viewer"] in users
