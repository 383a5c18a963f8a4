"""Every table the app shows, and every CSV it offers, is neutralised: Streamlit's own table
toolbar ("Download as CSV", copy) hands out what the table holds, so a cell a spreadsheet would
run as a formula gets its leading apostrophe before Streamlit sees it (divert.web.tables)."""

from __future__ import annotations

import ast
import re
import secrets

import polars as pl
from apptesting import signed_in
from hypothesis import given
from hypothesis import strategies as st

from divert.auth import accounts
from divert.core.environment import PROJECT_DIR
from divert.core.safe_csv import neutralised, to_csv_bytes
from divert.web import tables

HELPER = PROJECT_DIR / "divert" / "web" / "tables.py"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _sources():
    yield PROJECT_DIR / "app.py"
    yield from sorted((PROJECT_DIR / "pages").glob("*.py"))
    yield from sorted((PROJECT_DIR / "divert" / "web").glob("*.py"))


def _mime(call: ast.Call):
    found = [k.value for k in call.keywords if k.arg == "mime"] or call.args[3:4]
    return found[0].value if found and isinstance(found[0], ast.Constant) else None


def test_pages_show_tables_and_offer_csv_only_through_the_helper():
    direct = []
    for path in _sources():
        if path == HELPER:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name in ("dataframe", "data_editor") or (name == "download_button" and _mime(node) in (None, "text/csv")):
                direct.append(f"{path.relative_to(PROJECT_DIR)}:{node.lineno} {name}")
    assert not direct, "show tables with divert.web.tables.show / editor and CSV with csv_download: " + ", ".join(direct)


def test_the_helper_neutralises_text_categorical_and_enum_cells_and_names():
    frame = pl.DataFrame({
        "note": ["=1+1", "plain", "-2+cmd|' /C calc'!A0", None],
        "search": pl.Series(["=HYPERLINK(\"http://x\",\"y\")", "Drugs", "@SUM(A1)", "Drugs"], dtype=pl.Categorical),
        "kind": pl.Series(["+cmd", "a", "a", "b"], dtype=pl.Enum(["+cmd", "a", "b"])),
        "clean": pl.Series(["a", "b", "a", "b"], dtype=pl.Enum(["a", "b"])),
        "=scenario": [1, 2, 3, 4],
        "count": [1, -1, 2, 3],
    })
    safe = tables.safe(frame)
    assert safe["note"].to_list() == ["'=1+1", "plain", "'-2+cmd|' /C calc'!A0", None]
    assert safe["search"].to_list() == ["'=HYPERLINK(\"http://x\",\"y\")", "Drugs", "'@SUM(A1)", "Drugs"]
    assert safe["kind"].to_list() == ["'+cmd", "a", "a", "b"]
    assert safe.schema["clean"] == pl.Enum(["a", "b"])  # nothing to neutralise: the enum is kept
    assert "'=scenario" in safe.columns and safe["count"].to_list() == [1, -1, 2, 3]  # numbers stay numbers
    csv = to_csv_bytes(frame).decode()
    assert ",=" not in csv and "\n=" not in csv and ",@" not in csv and ",+" not in csv
    rows = tables.safe([{"Name": "=1+1", "Age": 3}])  # rows as a page builds them
    assert rows.to_dicts() == [{"Name": "'=1+1", "Age": 3}]
    figures = pl.DataFrame({"Change": ["+31%", "-2", "-1,234.5", "-", "+3 pp", "-1+1"]})  # a figure keeps its sign
    assert tables.safe(figures)["Change"].to_list() == ["+31%", "-2", "-1,234.5", "-", "'+3 pp", "'-1+1"]


text = st.text(alphabet=st.sampled_from("=+-@\t\rab1 ,.%'\""), max_size=6)


def formula(cell: str) -> bool:
    """Whether a spreadsheet could read `cell` as a formula: it starts like one and is not a bare
    signed number."""
    return cell.startswith(TRIGGERS) and re.fullmatch(r"[+-]?[\d,]*\d(\.\d+)?%?|[+-]", cell) is None


@given(values=st.lists(text, min_size=1, max_size=6), categorical=st.booleans())
def test_no_neutralised_cell_or_name_starts_a_formula(values, categorical):
    series = pl.Series("x", values, dtype=pl.Categorical if categorical else pl.String)
    frame = pl.DataFrame([series]).rename({"x": values[0] or "x"}) if values[0] else pl.DataFrame([series])
    safe = neutralised(frame)
    assert not any(formula(name) for name in safe.columns)
    cells = safe.get_column(safe.columns[0]).cast(pl.String).to_list()
    assert not any(formula(cell) for cell in cells)
    assert [c[1:] if c != v else c for c, v in zip(cells, values, strict=True)] == values  # only the apostrophe added


def test_a_page_shows_a_stored_formula_as_text(db):
    """The Users page lists a display name typed as a formula with its apostrophe: what the
    table toolbar's CSV download and copy would hand out."""
    for username, role, name in (("boss", "admin", None), ("eve", "viewer", "=HYPERLINK(\"http://x\",\"click\")")):
        saved = accounts.add_user({"username": username, "role": role, "password": secrets.token_urlsafe(16),
                                   "display_name": name}, "test", engine=db)
        assert saved.ok, saved.problems
    at = signed_in("boss", "pages/admin_users.py")
    (table,) = at.dataframe
    assert list(table.value["Name"]) == ["boss", "'=HYPERLINK(\"http://x\",\"click\")"]
