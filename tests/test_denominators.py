"""Population denominators on hand-built census rows with known answers: each year's residents,
person-years of a window, rates per 1,000 a year, and what happens when a census is missing."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from divert.analytics.equity import denominators as dn
from divert.analytics.equity.disparity import rates_against_white

BROAD = ("White", "Mixed", "Asian", "Black", "Other")
Y2011 = {"White": 1000, "Mixed": 50, "Asian": 200, "Black": 100, "Other": 20}
Y2021 = {"White": 900, "Mixed": 80, "Asian": 300, "Black": 200, "Other": 40}


def census_rows(force: str, year: int, counts: dict[str, int], level: str = "force", code: str | None = None) -> list[dict]:
    return [{"census_year": year, "geography_level": level, "geography_code": code or f"{force}-{year}",
             "geography_name": force, "force": force, "ethnicity": group, "sex": "all", "age_band": "all",
             "count": count, "source": "hand-built"} for group, count in counts.items()]


@pytest.fixture
def population() -> pl.DataFrame:
    rows = census_rows("both", 2011, Y2011) + census_rows("both", 2021, Y2021) + census_rows("old", 2011, Y2011)
    rows += census_rows("both", 2011, {"White": 10, "Black": 1, "Mixed": 1, "Asian": 1, "Other": 1}, "local_authority", "E1")
    rows += census_rows("both", 2021, {"White": 20, "Black": 11, "Mixed": 1, "Asian": 1, "Other": 1}, "local_authority", "E1")
    return pl.DataFrame(rows)


def value(frame: pl.DataFrame, year: int, group: str, column: str = "population"):
    return frame.filter((pl.col("year") == year) & (pl.col("group") == group))[column][0]


def test_each_year_is_interpolated_between_the_censuses_and_held_after(population):
    table = dn.population_by_year(population, "both", range(2009, 2025))
    assert value(table, 2009, "White") == 1000 and value(table, 2011, "White") == 1000  # held before 2011
    assert value(table, 2016, "White") == pytest.approx(950)  # half way: 1000 + 5/10 x (900 - 1000)
    assert value(table, 2016, "Black") == pytest.approx(150)
    assert value(table, 2019, "Black") == pytest.approx(180)  # 100 + 8/10 x 100
    assert value(table, 2021, "Black") == 200 and value(table, 2024, "Black") == 200  # held at 2021
    assert value(table, 2016, "Black", "basis") == "interpolated between the 2011 and 2021 censuses"
    assert value(table, 2024, "Black", "basis").startswith("2021 census")
    assert table.height == 16 * 5


def test_a_fixed_census_is_the_same_every_year(population):
    for method, expected in ((2011, 100), ("2011", 100), (2021, 200)):
        table = dn.population_by_year(population, "both", [2015, 2024], method=method)
        assert table.filter(pl.col("group") == "Black")["population"].to_list() == [expected, expected]
        assert set(table["basis"]) == {f"{method} census"}
    with pytest.raises(ValueError, match="census must be one of"):
        dn.population_by_year(population, "both", [2015], method=2001)


def test_year_shares_count_days_and_leap_years():
    assert dn.year_shares(date(2022, 1, 1), date(2023, 12, 31)) == {2022: 1.0, 2023: 1.0}
    assert dn.year_shares(date(2024, 1, 1), date(2024, 3, 31)) == {2024: 91 / 366}
    shares = dn.year_shares(date(2018, 1, 1), date(2025, 9, 30))
    assert sum(shares.values()) == pytest.approx(7 + 273 / 365)  # the 7.75-year window of the issue


def test_a_two_year_window_gives_yearly_rates(population):
    """2019 and 2020: Black residents 180 and 190 (interpolated), 370 person-years; 37 searches
    is 100 per 1,000 residents a year, not 100 per 1,000 over two years."""
    window = dn.window_denominator(population, force="both", start=date(2019, 1, 1), end=date(2020, 12, 31))
    person_years = dict(window.person_years.select("group", "person_years").iter_rows())
    assert person_years["Black"] == pytest.approx(180 + 190)
    assert person_years["White"] == pytest.approx(920 + 910)
    assert window.years == pytest.approx(2.0)
    events = pl.DataFrame({"group": ["Black", "White"], "searches": [37, 183]})
    rates = dict(dn.per_year_rates(events, window, "searches").select("group", "rate_per_1000_a_year").iter_rows())
    assert rates["Black"] == pytest.approx(100.0) and rates["White"] == pytest.approx(100.0)
    assert window.note == ("per 1,000 residents a year over 2.00 years (1 Jan 2019 to 31 Dec 2020); "
                           "populations 2019-2020: interpolated between the 2011 and 2021 censuses")


def test_a_2023_window_is_measured_against_2021_not_2011(population):
    window = dn.window_denominator(population, force="both", start=date(2023, 1, 1), end=date(2023, 12, 31))
    assert dict(window.person_years.select("group", "person_years").iter_rows())["Black"] == 200
    assert "2021 census" in window.note and "2011" not in window.note
    fixed = dn.window_denominator(population, force="both", start=date(2023, 1, 1), end=date(2023, 12, 31), method=2011)
    assert dict(fixed.person_years.select("group", "person_years").iter_rows())["Black"] == 100


def test_a_part_year_is_weighted_by_its_share(population):
    window = dn.window_denominator(population, force="both", start=date(2020, 7, 1), end=date(2021, 6, 30))
    black = dict(window.person_years.select("group", "person_years").iter_rows())["Black"]
    assert black == pytest.approx(190 * 184 / 366 + 200 * 181 / 365)
    assert dict(window.person_years.select("group", "residents").iter_rows())["Black"] == pytest.approx(
        round(black / (184 / 366 + 181 / 365), 1))


def test_a_missing_2021_census_is_said_never_silently_replaced(population):
    window = dn.window_denominator(population, force="old", start=date(2023, 1, 1), end=date(2023, 12, 31))
    assert dict(window.person_years.select("group", "person_years").iter_rows())["Black"] == 100
    assert window.warning == "2011 census used for every year: no 2021 census figures for old"
    assert "no 2021 census figures for old" in window.note
    assert dn.forces_without(population, ["both", "old", "nowhere"]) == ["nowhere", "old"]
    fixed = dn.window_denominator(population, force="old", start=date(2023, 1, 1), end=date(2023, 12, 31), method=2021)
    assert not fixed.available and fixed.warning == "no 2021 census figures for old"
    nothing = dn.window_denominator(population, force="nowhere", start=date(2023, 1, 1), end=date(2023, 12, 31))
    assert not nothing.available and "no 2011 or 2021 census figures" in nothing.note


def test_a_local_authority_is_interpolated_on_its_own_rows(population):
    table = dn.population_by_year(population, "both", [2016], area="E1")
    assert value(table, 2016, "Black") == pytest.approx(6.0)  # 1 + 5/10 x (11 - 1)


def test_rates_against_white_give_the_reference_row_1_without_an_interval(population):
    window = dn.window_denominator(population, force="both", start=date(2019, 1, 1), end=date(2020, 12, 31))
    events = pl.DataFrame({"group": ["Black", "White", "Not stated"], "searches": [74, 183, 9]})
    table = {r["group"]: r for r in rates_against_white(events, window, "searches").iter_rows(named=True)}
    assert table["White"]["ratio_vs_white"] == 1.0
    assert table["White"]["ci_low"] is None and table["White"]["ci_high"] is None and table["White"]["significant"] is None
    assert table["Black"]["ratio_vs_white"] == pytest.approx((74 / 370) / (183 / 1830))
    assert table["Black"]["ci_low"] < 2.0 < table["Black"]["ci_high"]
    assert table["Not stated"]["rate_per_1000_a_year"] is None and table["Not stated"]["ratio_vs_white"] is None
    assert table["Mixed"]["searches"] == 0 and table["Mixed"]["rate_per_1000_a_year"] == 0
    assert {r["denominator"] for r in table.values()} == {window.note}


def test_methods_text_defines_the_denominator():
    assert "per 1,000 residents a year" in dn.METHODS and "P2011 + (Y - 2011)/10" in dn.METHODS
    assert "held" in dn.METHODS and "TS021" in dn.METHODS
