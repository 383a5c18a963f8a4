"""The field rules on whole columns (divert.core.column_rules) say exactly what the rules say
value by value: the same value stored, the same problems in the same words."""

from __future__ import annotations

import polars as pl
import pytest
from clock import frozen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from divert.core.column_rules import column_rule
from divert.core.field_rules import Checker
from divert.core.record_fields import FIELD_RULES
from divert.records.published import STOP_SEARCH_FIELDS

# text near the formats the column forms read: dates, times, references, with the awkward cases
DIGITS = st.text("0123456789", min_size=1, max_size=4)
NEAR = st.one_of(
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", DIGITS, DIGITS, DIGITS),
    st.builds(lambda d, m, y: f"{d}/{m}/{y}", DIGITS, DIGITS, DIGITS),
    st.builds(lambda y, m, d, h, mi: f"{y}-{m}-{d} {h}:{mi}", DIGITS, DIGITS, DIGITS, DIGITS, DIGITS),
    st.builds(lambda day, h, mi, sec: f"{day} {h}:{mi}:{sec}",
              st.dates().map(str), DIGITS, DIGITS, DIGITS),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M")),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S") + "+00:00"),
    st.builds(lambda d, z: d.strftime("%Y-%m-%dT%H:%M:%S") + z, st.datetimes(),
              st.sampled_from(["Z", "+01:00", "-00:00", "+0000", ""])),
    st.floats(allow_nan=True).map(str),
    st.builds(lambda a, b: f"{a}.{b}", st.integers(-200, 200), DIGITS),
    st.integers(-10**17, 10**17).map(str),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=45),
    st.text("AZaz09/_.- \t\x00\x1c\u00a0\u0663", max_size=45),
    st.just(""),
    st.none(),
)
# every rule of a referral's or offence's single fields, and of a police.uk row: (column, rule)
RULES = {**{name: (name, rule) for name, rule in FIELD_RULES.items()}, **STOP_SEARCH_FIELDS}


def one_by_one(name: str, values: list, rule=None) -> list[tuple]:
    found = []
    for value in values:
        c = Checker({name: value})
        found.append(((rule or FIELD_RULES[name])(c), tuple(c.problems)))
    return found


def exactly(found) -> list[tuple]:
    """Values as their repr: a time and its zone, a float's sign and digits, must agree too."""
    rows = [found[i] for i in range(len(found.values))] if hasattr(found, "values") else found
    return [(repr(value), problems) for value, problems in rows]


@pytest.mark.parametrize("field", sorted(RULES))
def test_a_column_is_checked_as_its_values_one_by_one(field):
    column, rule = RULES[field]

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(values=st.lists(NEAR, min_size=1, max_size=12))
    def agrees(values):
        with frozen():
            found = column_rule(column, pl.Series(column, values, pl.String), rule)
            assert exactly(found) == exactly(one_by_one(column, values, rule))

    agrees()


def test_the_column_form_takes_the_plain_values_and_leaves_the_rest_to_the_rule():
    values = ["2024-03-01 09:15", " 2024-03-01 09:15", "01/03/2024 09:15", "2024-02-30 10:00", "2099-01-01 10:00",
              "1999-12-31 23:59", None]
    with frozen():
        found = column_rule("referred_at", pl.Series(values, dtype=pl.String), FIELD_RULES["referred_at"])
        assert exactly(found) == exactly(one_by_one("referred_at", values))
    assert sorted(found.problems) == [3, 4, 5, 6]
    assert found.values[0] == found.values[1] == found.values[2]
    assert found.values[0].tzinfo is not None and found.values[0].utcoffset().total_seconds() == 0
