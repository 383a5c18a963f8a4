"""The public transparency release: 1-7 suppressed, other counts rounded to 5, secondary
suppression, and a PROOF that no suppressed count can be recovered from what is published.

The proof is this file's own: it reads the published CSV files, writes down every relation an
intruder can see between the published figures (totals along rows and columns, the months of a
half-year, the funnel's first stage being the volume table's referrals, pathway stages that
never grow), and for every suppressed cell finds integer solutions of that system - checked
here with exact integer arithmetic - whose values for the cell lie at least 4 apart."""

from __future__ import annotations

import csv
import json
import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from commands import divert
from dbfixtures import SMALL_DEMO, demo_url, migrated_url
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_array
from scipy.sparse.csgraph import connected_components
from sqlalchemy import select

from divert.analytics.dashboards import pathway
from divert.analytics.data.loading import load_frames
from divert.release import build_release, write_release
from divert.release.protection import Cells, intruder_bounds, protect, rounded
from divert.release.tables import known_at, window
from divert.storage.db import get_engine
from divert.storage.models import AuditEvent

AS_OF = date(2025, 10, 15)  # two weeks after the demo's end (SMALL_DEMO: 30 September 2025)
MIN_WIDTH = 4


# --- the intruder (independent of divert.release) ---------------------------------------------------
class Intruder:
    """Integer unknowns with bounds, sums (total = parts) and orderings (small <= large)."""

    def __init__(self):
        self.bounds: dict = {}
        self.sums: list = []
        self.orders: list = []

    def cell(self, key, shown: str, exact: bool = False):
        """What a published figure says about the count behind it (rounded to 5 unless exact)."""
        if shown == "*":
            self.bounds[key] = (1, math.inf)  # zeros are always shown, so '*' is at least 1
        elif exact:
            self.bounds[key] = (int(shown), int(shown))
        else:
            value = int(shown)
            assert value == 0 or (value % 5 == 0 and value >= 10), (key, shown)
            self.bounds[key] = (0, 0) if value == 0 else (max(8, value - 2), value + 2)

    def ranges(self, targets, min_width=MIN_WIDTH) -> dict:
        """For each target, the lowest and highest values seen in integer solutions (each one
        checked by `check`). Solutions pushing every target down, up and in random directions
        come first; a target still narrower than min_width then gets its exact minimum and
        maximum (min_width=inf: exact for every target)."""
        keys = list(self.bounds)
        index = {k: i for i, k in enumerate(keys)}
        rows = lil_array((len(self.sums) + len(self.orders), len(keys)))
        for r, (total, parts) in enumerate(self.sums):
            rows[r, index[total]] += 1
            for p in parts:
                rows[r, index[p]] -= 1
        for r, (small, large) in enumerate(self.orders, start=len(self.sums)):
            rows[r, index[small]] += 1
            rows[r, index[large]] -= 1
        lower = np.array([0.0] * len(self.sums) + [-np.inf] * len(self.orders))
        matrix = rows.tocsr()
        _, label = connected_components(abs(matrix).T @ abs(matrix), directed=False)
        seen = {t: (math.inf, -math.inf) for t in targets}
        for part in set(label[index[t]] for t in targets):
            columns = np.flatnonzero(label == part)
            used = np.flatnonzero(abs(matrix[:, columns]).sum(axis=1))
            sub = matrix[used][:, columns]
            local = [keys[i] for i in columns]
            box = Bounds([self.bounds[k][0] for k in local], [self.bounds[k][1] for k in local])
            program = (sub, lower[used], box, local)
            mine = [t for t in targets if label[index[t]] == part]
            self._search(program, mine, seen, min_width)
        return seen

    def _search(self, program, mine, seen, min_width) -> None:
        sub, lower, box, local = program
        where = {k: i for i, k in enumerate(local)}
        constraint = LinearConstraint(sub, lower, np.zeros(len(lower))) if len(lower) else []

        def solve(weights: np.ndarray) -> bool:
            relaxed = milp(weights, bounds=box, constraints=constraint)
            if relaxed.status == 0 and np.allclose(relaxed.x, np.round(relaxed.x), atol=1e-7):
                x = relaxed.x
            else:
                result = milp(weights, integrality=np.ones(len(local)), bounds=box, constraints=constraint)
                if result.status != 0:
                    assert "unbounded" in result.message.lower(), result.message
                    return False
                x = result.x
            solution = {k: int(round(v)) for k, v in zip(local, x, strict=True)}
            self.check(solution)
            for t in mine:
                seen[t] = (min(seen[t][0], solution[t]), max(seen[t][1], solution[t]))
            return True

        rng = np.random.default_rng(7)
        pushes = [1.0, -1.0, *[rng.choice([-1.0, 1.0], len(mine)) for _ in range(10)]]
        if math.isfinite(min_width):
            for push in pushes:
                weights = np.zeros(len(local))
                weights[[where[t] for t in mine]] = push
                solve(weights)
        for t in mine:
            for sign in (1.0, -1.0):
                if seen[t][1] - seen[t][0] >= min_width:
                    break
                weights = np.zeros(len(local))
                weights[where[t]] = sign
                if not solve(weights):
                    seen[t] = (seen[t][0], math.inf)

    def check(self, x: dict) -> None:
        """An integer solution consistent with everything published (exact arithmetic)."""
        for k, (lo, hi) in self.bounds.items():
            if k in x:
                assert lo <= x[k] <= hi, (k, x[k], lo, hi)
        for total, parts in self.sums:
            if total in x:
                assert x[total] == sum(x[p] for p in parts), total
        for small, large in self.orders:
            if small in x:
                assert x[small] <= x[large], (small, large)


# --- hand-built tables with known answers -------------------------------------------------------------
def grid(rows: dict[str, dict[str, int]]) -> Cells:
    """A table with its row totals, column totals and grand total ('T')."""
    cells = Cells()
    columns = list(next(iter(rows.values())))
    for r, values in rows.items():
        for c, v in values.items():
            cells.add((r, c), v)
        cells.add((r, "T"), sum(values.values()))
        cells.add_sum((r, "T"), [(r, c) for c in columns])
    for c in [*columns, "T"]:
        cells.add(("T", c), sum(cells.values[(r, c)] for r in rows))
        cells.add_sum(("T", c), [(r, c) for r in rows])
    cells.add_sum(("T", "T"), [("T", c) for c in columns])
    return cells


def intruder_of(cells: Cells, published: dict, exact: bool = False) -> Intruder:
    intruder = Intruder()
    for key, shown in published.items():
        intruder.cell(key, "*" if shown is None else str(shown), exact)
    intruder.sums = list(cells.sums)
    intruder.orders = list(cells.orders)
    return intruder


def test_rounding_to_the_nearest_5():
    assert [rounded(v) for v in (0, 8, 9, 10, 12, 13, 17, 18, 1002, 1003)] == [0, 10, 10, 10, 10, 15, 15, 20, 1000, 1005]
    assert intruder_bounds(10) == (8, 12) and intruder_bounds(15) == (13, 17) and intruder_bounds(0) == (0, 0)
    assert intruder_bounds(None) == (1, math.inf)


def test_a_small_table_known_answer():
    """3 is suppressed; its row and column each need a second suppressed cell, and so does the
    row that complement sits in: the smallest counts are chosen. Totals stay shown."""
    cells = grid({"A": {"X": 3, "Y": 20}, "B": {"X": 15, "Y": 30}})
    result = protect(cells)
    assert {k for k, s in result.status.items() if s == "primary"} == {("A", "X")}
    assert {k for k, s in result.status.items() if s == "secondary"} == {("A", "Y"), ("B", "X"), ("B", "Y")}
    assert result.published[("A", "T")] == 25 and result.published[("T", "X")] == 20
    assert result.published[("T", "T")] == 70
    # the intruder: A total in 23..27 and X total in 18..22 leave the 3 anywhere in 1..21
    ranges = intruder_of(cells, result.published).ranges([("A", "X")], min_width=math.inf)
    assert ranges[("A", "X")] == (1, 21)


def test_without_secondary_suppression_the_count_is_recovered():
    """Published exactly (no rounding), a row 3 + 10 = 13 gives the 3 back; the complement
    hides it."""
    cells = Cells()
    for key, value in {"a": 3, "b": 10, "total": 13}.items():
        cells.add(key, value)
    cells.add_sum("total", ["a", "b"])
    exposed = intruder_of(cells, {"a": None, "b": 10, "total": 13}, exact=True)
    assert exposed.ranges(["a"], min_width=math.inf)["a"] == (3, 3)
    result = protect(cells, base=1)
    assert result.status == {"a": "primary", "b": "secondary", "total": "shown"}
    hidden = intruder_of(cells, result.published, exact=True)
    assert hidden.ranges(["a", "b"], min_width=math.inf) == {"a": (1, 12), "b": (1, 12)}


def test_two_suppressed_cells_per_total_are_not_always_enough():
    """Two small counts side by side in a row pass the 'two per total' rule, yet published
    exactly the other figures pin each to 1..3; the integer check finds it and suppresses more."""
    cells = grid({"A": {"X": 2, "Y": 2, "Z": 50}, "B": {"X": 8, "Y": 9, "Z": 50}})
    rule_only = {k: None if k in {("A", "X"), ("A", "Y"), ("B", "X"), ("B", "Y")} else v
                 for k, v in cells.values.items()}
    exact = intruder_of(cells, rule_only, exact=True)
    assert exact.ranges([("A", "X")], min_width=math.inf)[("A", "X")] == (1, 3)
    result = protect(cells, base=1)
    assert result.status[("A", "Z")] == "secondary"
    check = intruder_of(cells, result.published, exact=True)
    suppressed = [k for k, s in result.status.items() if s != "shown"]
    for key, (lo, hi) in check.ranges(suppressed).items():
        assert hi - lo >= MIN_WIDTH, key


def test_zero_is_shown_and_never_used_as_a_complement():
    cells = grid({"A": {"X": 0, "Y": 4, "Z": 40}, "B": {"X": 0, "Y": 30, "Z": 12}})
    result = protect(cells)
    assert result.published[("A", "X")] == 0 and result.published[("B", "X")] == 0
    assert result.status[("A", "Y")] == "primary"
    assert all(cells.values[k] > 0 for k, s in result.status.items() if s != "shown")


# --- the release of the demo data ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release-demo")
    url, _ = demo_url(folder, **SMALL_DEMO)
    engine = get_engine(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIVERT_FORCE", "west-midlands")
        release = write_release(engine, folder / "release", AS_OF)
    return {"url": url, "engine": engine, "out": folder / "release", "release": release}


def read(demo, name: str) -> list[dict]:
    with (demo["out"] / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


COUNT_COLUMNS = {"volume_by_month_and_area": ("offences", "referrals"), "pathway_funnel_by_area": ("people",),
                 "outcomes_by_ethnic_group": ("offences",), "disparity_by_ethnic_group": ("count",)}


def test_files_readme_workbook_and_dictionary(demo):
    out = demo["out"]
    names = {p.name for p in out.iterdir()}
    assert {f"{n}.csv" for n in COUNT_COLUMNS} <= names
    assert {"README.md", "data_dictionary.csv", "divert-public-release.xlsx", "checksums.json"} <= names
    readme = (out / "README.md").read_text()
    assert "15 October 2025" in readme and "2018-01 to 2025-09" in readme and "nearest 5" in readme
    dictionary = pl.read_csv(out / "data_dictionary.csv")
    for name in COUNT_COLUMNS:
        columns = pl.read_csv(out / f"{name}.csv", infer_schema_length=0).columns
        described = dictionary.filter(pl.col("file") == f"{name}.csv")["column"].to_list()
        assert described == columns and dictionary["description"].null_count() == 0
    from openpyxl import load_workbook

    book = load_workbook(out / "divert-public-release.xlsx", read_only=True)
    assert book.sheetnames == ["README", "Volume", "Pathway funnel", "Outcomes by ethnic group", "Disparity",
                               "Data dictionary"]
    sheet = book["Volume"]
    header = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]
    first = [c.value for c in next(sheet.iter_rows(min_row=3, max_row=3))]
    csv_first = read(demo, "volume_by_month_and_area")[0]
    assert header == list(csv_first)
    assert [str(v) if v is not None else "" for v in first] == list(csv_first.values())
    sums = json.loads((out / "checksums.json").read_text())
    import hashlib

    assert all(hashlib.sha256((out / n).read_bytes()).hexdigest() == h for n, h in sums.items())


def test_every_count_is_suppressed_zero_or_a_rounded_multiple_of_5(demo):
    shown = suppressed = 0
    for name, columns in COUNT_COLUMNS.items():
        for row in read(demo, name):
            for column in columns:
                value, note = row[column], row[f"{column}_note"]
                if value == "*":
                    assert note == "suppressed"
                    suppressed += 1
                else:
                    assert note == "" and (value == "0" or (int(value) % 5 == 0 and int(value) >= 10)), (name, row)
                    shown += 1
    assert suppressed > 50 and shown > 200
    release = demo["release"]
    for key, status in release.protected.status.items():  # against the true counts
        true = release.cells.values[key]
        if status == "primary":
            assert 1 <= true <= 7
        elif status == "shown":
            assert true == 0 or true >= 8 and release.protected.published[key] == rounded(true)


def test_months_covered_are_the_complete_ones(demo):
    months = {row["month"] for row in read(demo, "volume_by_month_and_area")} - {"All months"}
    assert max(months) == "2025-09" and min(months) == "2018-01" and len(months) == 93
    frames = load_frames(demo["engine"])

    def last_month(as_of):
        return window(known_at(frames, as_of), as_of, date(2020, 10, 1)).months[-1]

    assert last_month(date(2025, 9, 29)) == date(2025, 8, 1)
    assert last_month(date(2025, 9, 30)) == date(2025, 9, 1)
    assert last_month(date(2026, 11, 30)) == date(2025, 9, 1)  # no month after the records is shown as zero
    assert last_month(date(2019, 3, 31)) == date(2019, 3, 1)


def test_the_funnel_is_as_known_at_the_as_of_date(demo):
    """On 30 June 2023, a referral assessed in July 2023 was not yet assessed."""
    frames = load_frames(demo["engine"])
    release = build_release(frames, date(2023, 6, 30), force="west-midlands", launch=date(2020, 10, 1))
    refs = frames.referrals.filter(pl.col("referred_on") <= date(2023, 6, 30))
    assessed_by_then = refs.filter((pl.col("assessment_result") == "completed")
                                   & (pl.col("assessed_at").dt.date() <= date(2023, 6, 29))).height
    assessed_ever = refs.filter(pl.col("assessment_result") == "completed").height
    value = release.cells.values[("funnel", "engaged", "All")]
    assert assessed_by_then <= value < assessed_ever


def _key(name: str, row: dict):
    if name == "volume_by_month_and_area":
        return ("volume", row["month"], row["area_code"])
    if name == "pathway_funnel_by_area":
        return ("funnel", row["stage"], row["area_code"])
    if name == "outcomes_by_ethnic_group":
        return ("outcomes", row["period"], row["ethnic_group"], row["outcome"])
    return ("disparity", row["measure"], row["ethnic_group"])


def intruder_from_files(demo) -> tuple[Intruder, dict]:
    """The system an intruder reads off the published files, and the true value behind each
    published cell (to check that the system describes the real counts)."""
    intruder, truth = Intruder(), {}
    release = demo["release"]
    tables = {t.name: t for t in release.tables}
    for name, columns in COUNT_COLUMNS.items():
        for number, row in enumerate(read(demo, name)):
            for column in columns:
                key = (*_key(name, row), column)
                intruder.cell(key, row[column])
                truth[key] = release.cells.values[tables[name].rows[number][column]]
    volume = read(demo, "volume_by_month_and_area")
    months = sorted({r["month"] for r in volume} - {"All months"})
    areas = sorted({r["area_code"] for r in volume} - {"All"})
    for measure in ("offences", "referrals"):
        for month in [*months, "All months"]:
            intruder.sums.append((("volume", month, "All", measure), [("volume", month, a, measure) for a in areas]))
        for area in [*areas, "All"]:
            intruder.sums.append((("volume", "All months", area, measure), [("volume", m, area, measure) for m in months]))
    funnel = read(demo, "pathway_funnel_by_area")
    stages = list(dict.fromkeys(r["stage"] for r in funnel))
    for stage in stages:
        intruder.sums.append((("funnel", stage, "All", "people"), [("funnel", stage, a, "people") for a in areas]))
    for area in [*areas, "All"]:
        intruder.sums.append((("funnel", "referred", area, "people"), [("volume", "All months", area, "referrals")]))
        for after, _, before, _ in pathway.FUNNEL:  # the published definition: each stage within the one before
            if before is not None and after in stages:
                intruder.orders.append((("funnel", after, area, "people"), ("funnel", before, area, "people")))
    outcome_rows = read(demo, "outcomes_by_ethnic_group")
    groups = [g for g in dict.fromkeys(r["ethnic_group"] for r in outcome_rows) if g != "All groups"]
    kinds = [o for o in dict.fromkeys(r["outcome"] for r in outcome_rows) if o != "All outcomes"]
    for period in dict.fromkeys(r["period"] for r in outcome_rows):
        row = next(r for r in outcome_rows if r["period"] == period)
        for group in [*groups, "All groups"]:
            intruder.sums.append((("outcomes", period, group, "All outcomes", "offences"),
                                  [("outcomes", period, group, o, "offences") for o in kinds]))
        for kind in [*kinds, "All outcomes"]:
            intruder.sums.append((("outcomes", period, "All groups", kind, "offences"),
                                  [("outcomes", period, g, kind, "offences") for g in groups]))
        inside = [m for m in months if row["period_start"][:7] <= m <= row["period_end"][:7]]
        intruder.sums.append((("outcomes", period, "All groups", "All outcomes", "offences"),
                              [("volume", m, "All", "offences") for m in inside]))
    disparity = read(demo, "disparity_by_ethnic_group")
    start = disparity[0]["window_start"][:7]
    for measure in dict.fromkeys(r["measure"] for r in disparity):
        intruder.sums.append((("disparity", measure, "All groups", "count"),
                              [("disparity", measure, g, "count") for g in groups]))
    for measure, volume_measure in (("possession_offence", "offences"), ("referred", "referrals")):
        intruder.sums.append((("disparity", measure, "All groups", "count"),
                              [("volume", m, "All", volume_measure) for m in months if m >= start]))
    intruder.sums.append((("disparity", "engaged", "All groups", "count"), [("funnel", "engaged", "All", "people")]))
    for group in [*groups, "All groups"]:
        for small, large in (("decided", "possession_offence"), ("diverted", "decided"), ("engaged", "referred"),
                             ("completed", "engaged"), ("intelligence_log", "referred")):
            intruder.orders.append((("disparity", small, group, "count"), ("disparity", large, group, "count")))
        intruder.orders.append((("outcomes", "Jul-Dec 2021", group, "All outcomes", "offences"),
                                ("disparity", "possession_offence", group, "count")))
        intruder.orders.append((("outcomes", "Jul-Dec 2021", group, "Community Resolution", "offences"),
                                ("disparity", "diverted", group, "count")))
    return intruder, truth


def test_no_suppressed_count_can_be_recovered_from_the_published_tables(demo):
    intruder, truth = intruder_from_files(demo)
    intruder.check(truth)  # the relations written down are true of the real counts
    suppressed = [k for k, b in intruder.bounds.items() if b == (1, math.inf)]
    assert len(suppressed) > 50
    ranges = intruder.ranges(suppressed)
    narrow = {k: r for k, r in ranges.items() if r[1] - r[0] < MIN_WIDTH}
    assert not narrow, narrow
    small = [k for k in suppressed if truth[k] <= 7]
    assert len(small) > 50 and all(ranges[k][1] - ranges[k][0] >= MIN_WIDTH for k in small)


def test_the_check_catches_a_release_without_secondary_suppression(demo):
    """Publish the same tables with only the 1-7 counts hidden and every other count exact:
    the same intruder recovers some of them exactly."""
    intruder, truth = intruder_from_files(demo)
    for key, value in truth.items():
        intruder.bounds[key] = (1, math.inf) if 1 <= value <= 7 else (value, value)
    single = [k for k in truth if 1 <= truth[k] <= 7 and k[0] in ("funnel", "outcomes")][:30]
    ranges = intruder.ranges(single, min_width=math.inf)
    assert any(lo == hi == truth[k] for k, (lo, hi) in ranges.items())


def test_a_count_in_two_tables_is_published_alike(demo):
    volume = {r["area_code"]: r["referrals"] for r in read(demo, "volume_by_month_and_area")
              if r["month"] == "All months"}
    funnel = {r["area_code"]: r["people"] for r in read(demo, "pathway_funnel_by_area") if r["stage"] == "referred"}
    assert volume == funnel


def test_rates_come_from_the_published_counts(demo):
    funnel = read(demo, "pathway_funnel_by_area")
    referred = {r["area_code"]: r["people"] for r in funnel if r["stage"] == "referred"}
    for row in funnel:
        if row["people"] == "*" or referred[row["area_code"]] in ("*", "0"):
            assert row["share_of_referred_pct"] == ""
        else:
            expected = round(100 * int(row["people"]) / int(referred[row["area_code"]]), 1)
            assert float(row["share_of_referred_pct"]) == pytest.approx(expected)
    disparity = read(demo, "disparity_by_ethnic_group")
    years = ((date.fromisoformat(disparity[0]["window_end"]) - date.fromisoformat(disparity[0]["window_start"])).days
             + 1) / 365.25
    by = {(r["measure"], r["ethnic_group"]): r for r in disparity}
    for group in ("White", "Asian", "Black"):
        row = by[("possession_offence", group)]
        expected = int(row["count"]) / int(row["population"]) / years * 1000
        assert float(row["rate"]) == pytest.approx(expected, abs=0.0006)
    for (measure, group), row in by.items():
        if measure in ("engaged", "completed", "diverted", "intelligence_log"):
            over = {"engaged": "referred", "completed": "engaged", "diverted": "decided",
                    "intelligence_log": "referred"}[measure]
            if "*" in (row["count"], by[(over, group)]["count"]):
                assert row["rate"] == "" and "suppressed" in row["rate_note"]
            elif by[(over, group)]["count"] != "0":
                assert float(row["rate"]) == pytest.approx(100 * int(row["count"]) / int(by[(over, group)]["count"]),
                                                           abs=0.051)
    black = by[("possession_offence", "Black")]
    assert float(black["ratio_ci_low"]) < float(black["ratio_vs_white"]) < float(black["ratio_ci_high"])


# --- the command ----------------------------------------------------------------------------------
WHY = "testing the release itself (the disclosure audit has tests of its own)"


def test_export_public_through_the_command(demo, tmp_path):
    out = tmp_path / "public"
    refused = divert("--db", demo["url"], "export", out, "--public", "--as-of", "2025-10-15")
    assert refused.returncode == 1 and "no disclosure audit has been run" in refused.stderr and not out.exists()
    ran = divert("--db", demo["url"], "export", out, "--public", "--as-of", "2025-10-15", "--without-audit", WHY)
    assert ran.returncode == 0, ran.stderr
    assert "months 2018-01 to 2025-09" in ran.stdout and "counts suppressed" in ran.stdout
    for name in COUNT_COLUMNS:
        assert (out / f"{name}.csv").read_bytes() == (demo["out"] / f"{name}.csv").read_bytes()
    with get_engine(demo["url"]).connect() as conn:
        actions = conn.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first()
    assert actions == "export_release"
    with get_engine(demo["url"]).connect() as conn:
        after = conn.execute(select(AuditEvent.after).order_by(AuditEvent.id.desc())).scalars().first()
    assert WHY in after  # the reason to release without a passing audit is kept with the export


def test_export_public_refusals(demo, tmp_path):
    early = divert("--db", demo["url"], "export", tmp_path / "early", "--public", "--as-of", "2017-12-31",
                   "--without-audit", WHY)
    assert early.returncode == 1 and "no complete month" in early.stderr
    assert not (tmp_path / "early").exists()
    unreadable = divert("--db", demo["url"], "export", tmp_path / "x", "--public", "--as-of", "31/12/2025")
    assert unreadable.returncode == 2 and not (tmp_path / "x").exists()
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "mine.txt").write_text("keep")
    ran = divert("--db", demo["url"], "export", taken, "--public", "--as-of", "2025-10-15", "--without-audit", WHY)
    assert ran.returncode == 1 and [p.name for p in taken.iterdir()] == ["mine.txt"]


@pytest.mark.usefixtures("clock")  # the default as-of date: today
def test_an_empty_database_has_nothing_to_publish(tmp_path):
    ran = divert("--db", migrated_url(tmp_path), "export", tmp_path / "out", "--public", "--without-audit", WHY)
    assert ran.returncode == 1 and "nothing to publish" in ran.stderr
    assert not Path(tmp_path / "out").exists()
