"""divert.core.lookup: a Python function over a column's values, never run inside polars."""

import re
from pathlib import Path

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from divert.core.lookup import each_value

ROOT = Path(__file__).resolve().parents[1]
PYTHON_IN_POLARS = re.compile(r"\.(map_elements|map_batches|map_rows|map_groups)\(")


def test_no_module_hands_polars_a_python_function():
    """A Python callback inside polars' thread pool waits for the GIL while another session's
    thread may hold it waiting for that pool: the app hung with ten sessions at once."""
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in [*ROOT.joinpath("divert").rglob("*.py"), *ROOT.joinpath("pages").glob("*.py"), ROOT / "app.py"]
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if PYTHON_IN_POLARS.search(line)]
    assert found == []


def _label(value):
    return None if value is None or value % 3 == 0 else f"#{value}"


@given(st.lists(st.one_of(st.none(), st.integers(-5, 20)), max_size=40), st.booleans())
def test_each_value_is_the_function_of_each_value(values, nulls_too):
    frame = pl.DataFrame({"code": values}, schema={"code": pl.Int64})
    label = (lambda v: "not recorded" if v is None else _label(v)) if nulls_too else _label
    got = frame.select(each_value(frame, "code", label, pl.String, nulls_too=nulls_too))
    expected = [label(v) if (v is not None or nulls_too) else None for v in values]
    assert got.columns == ["code"] and got.get_column("code").to_list() == expected


def test_each_value_of_an_empty_or_all_missing_column_is_missing():
    for values in ([], [None, None]):
        frame = pl.DataFrame({"code": values}, schema={"code": pl.String})
        assert frame.select(each_value(frame, "code", str.upper, pl.String)).get_column("code").to_list() == values
