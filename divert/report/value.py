"""The board pack's value-for-money section: the programme's cost per referral, per completed
assessment and per course attended, beside the officer hours released and their value, each with
its low-high range, as on the Overview."""

from __future__ import annotations

from divert.analytics.dashboards import value
from divert.analytics.data.filters import Filters
from divert.analytics.data.frames import Frames
from divert.analytics.metrics import value_table
from divert.core import wording
from divert.core.disclosure import Gate
from divert.report.blocks import Section, Table, Text, source


def section(frames: Frames, filters: Filters, gate: Gate) -> Section:
    """One table of the value-for-money lines, through the gate for the role."""
    table = value_table(frames, filters, gate)  # worked out from the counts as the role sees them
    row = table.row(0, named=True)
    lines = value.lines(row)
    out = Section("value", "Value for money", [Text(value.MEANING)])
    out.blocks.append(Table(
        "value", "Cost and officer time in the period",
        f"{wording.day(row['start'])} to {wording.day(row['end'])} ({row['days']} days). Referrals are counted by the day "
        "they were made, assessments and courses by the day they happened (so the period's cost is set against the "
        "work done in it; the pathway table follows a cohort instead). The ranges come from the low and high figures "
        "entered on the Programme page. " + source(frames, "referrals"),
        ["Measure", "Figure", "Low to high", "How it is worked out"],
        [[line["measure"], line["figure"], line["range"], line["how"]] for line in lines],
        numeric=(1,), widths=(24, 14, 22, 40), frame=table))
    out.blocks.append(Text(f"Officer hours per referral, source: {row['hours_source']}"))
    if not gate.exact:
        out.blocks.append(Text("In this published pack every figure is worked out from the counts as published "
                               "(rounded), so it agrees with them; one made from a hidden count is hidden (*)."))
    if row["cost_basis"] == "none" or row["hourly_cost"] is None:
        out.blocks.append(Text("Some figures are not shown because no price or no cost of an officer hour is entered "
                               "yet: an administrator enters them on the Programme page."))
    return out
