"""The README.md of the public release: what it covers, what each file holds, how small numbers
are protected, and the caveats a reader needs."""

from __future__ import annotations

from datetime import datetime

import polars as pl

FILES = {
    "volume_by_month_and_area": "Recorded possession offences and referrals to the diversion provider, by "
                                "month and local authority area, with area and month totals.",
    "pathway_funnel_by_area": "For the referrals made in the months covered, how many had reached each stage of "
                              "the pathway by the as-of date (contacted, engaged, the group course or one-to-one work, "
                              "completed), by area.",
    "outcomes_by_ethnic_group": "Possession offences by Home Office outcome and broad self-defined ethnic group, "
                                "in July-December 2019 (before the policy) and July-December 2021 (after), as the "
                                "programme reports them.",
    "disparity_by_ethnic_group": "From the launch to the end of the last complete month: counts at each decision "
                                 "point by broad ethnic group, the rate (per 1,000 population per year, or the "
                                 "share of the previous stage) and its ratio to the White group's rate with a 95% "
                                 "confidence interval.",
}


def text(release, published: dict[str, pl.DataFrame], force: str, min_width: float, now: datetime) -> str:
    win = release.window
    lines = [
        "# Drug diversion programme: public transparency release",
        "",
        f"{force}. Figures as known at the end of {_day(win.as_of)} (Europe/London), for the complete months "
        f"{release.first_month} to {release.last_month}; the latest record is dated {_day(win.data_end)}. "
        f"Produced by Divert on {_day(now)} at {now:%H:%M} UTC.",
        "",
        "## Files",
        "",
    ]
    for name, about in FILES.items():
        if name in published:
            lines.append(f"- `{name}.csv`: {about}")
        elif name == "outcomes_by_ethnic_group":
            lines.append(f"- `{name}.csv` is not included: the half-years compared are not both complete and "
                         "covered by the records at the as-of date.")
    lines += [
        "- `data_dictionary.csv`: every column of every file, with its meaning.",
        "- `divert-public-release.xlsx`: the same tables, one sheet each, with this README and the data dictionary.",
        "- `checksums.json`: the SHA-256 checksum of each file, to check a copy is complete and unchanged.",
        "",
        "## Small numbers",
        "",
        "- A count from 1 to 7 is shown as `*`, with `suppressed` in the column's note. Zero is shown as 0.",
        "- Every other count is rounded to the nearest 5 (8 becomes 10, 12 becomes 10, 13 becomes 15). Totals are "
        "rounded on their own, so rounded parts need not add up to the rounded total.",
        "- Secondary suppression: wherever a total and all but one of its parts would be shown, another count is "
        "suppressed too, so that no suppressed count can be worked out by subtraction - along a row, down a column, "
        "from the 'All' totals, or across tables (a half-year is six months of the volume table; the first stage "
        "of the funnel is the volume table's referrals). The note does not say which suppressed counts are small "
        "and which protect another: telling them apart would narrow them down.",
        f"- Checked before publication: for each of the {release.suppressed:,} suppressed counts, given every "
        "figure published here, the rounding rule and every sum and ordering that ties the figures together, "
        f"integer programming finds two sets of counts consistent with all of it in which that count differs by "
        f"at least {min_width:g}: no suppressed count can be pinned down more closely than a rounded one.",
        "- Rates, percentages and ratios are calculated from the published (rounded) counts, so they reveal "
        "nothing more than the counts; one that would rest on a suppressed count is left blank, with the reason.",
        "",
        "## Reading the figures",
        "",
        "- Counts are events (offences, referrals), not distinct people: someone diverted twice counts twice.",
        "- Only complete months are shown, and no month after the latest record (a month without records is not "
        "published as zero).",
        "- The pathway takes weeks: referrals from the last months may still be in progress at the as-of date.",
        "- Ethnicity is as the person defined it (18+1 categories, grouped into five broad groups). Missing "
        "ethnicity is kept as its own group, never dropped or filled in; officer-defined ethnicity is not used.",
        f"- Rates per 1,000 people use Census {release.census_year} populations of the force area (ONS, Open "
        "Government Licence v3.0). Populations change between censuses, so rates for recent years against an older "
        "census overstate the rate for growing groups. A rate per year divides the window's count by its length.",
        "- A ratio above 1 means the group's rate is higher than the White group's. The 95% intervals use the "
        "log method for large counts and score or exact methods for small ones; an interval that includes 1 means "
        "no clear difference.",
        "- Outcomes are Home Office outcome groups; 'Other outcome or none yet' covers every other outcome and "
        "offences still without an outcome at the as-of date.",
    ]
    return "\n".join(lines) + "\n"


def _day(day) -> str:
    return f"{day.day} {day:%B %Y}"
