"""The files of the public release: one CSV per table, the same tables in one Excel workbook,
a README.md and a data dictionary (CSV and a workbook sheet)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import polars as pl
import xlsxwriter

from divert.core import codes
from divert.core.disclosure import SUPPRESSED
from divert.core.safe_csv import neutralise, to_csv_bytes
from divert.release.protection import Protected
from divert.release.tables import Table

NOTE = "suppressed"
WORKBOOK = "divert-public-release.xlsx"

COMMON = {
    "month": "Calendar month (YYYY-MM) of the offence or referral date; 'All months' is the total of the months shown",
    "area_code": "ONS code of the local authority the local policing area follows; 'All' for every area",
    "area": "Local authority name; 'All areas' is the total of the areas shown",
    "stage": "Pathway stage code",
    "stage_label": "Pathway stage, in words",
    "period": "Half-year compared (the programme reports Jul-Dec 2019, before the policy, with Jul-Dec 2021)",
    "period_start": "First day of the period",
    "period_end": "Last day of the period",
    "ethnic_group": "Self-defined ethnicity, broad group; 'Not stated' = stated as not stated; 'Missing' = not "
                    "recorded; 'All groups' is the total",
    "outcome": "Home Office outcome group of the offence; 'Other outcome or none yet' includes outcomes not listed "
               "and offences without an outcome at the as-of date",
    "window_start": "First day counted (the programme's launch)",
    "window_end": "Last day counted (the end of the last complete month)",
    "measure": "Decision point code",
    "measure_label": "Decision point, in words",
}
COUNTS = {
    "offences": "Recorded possession offences",
    "referrals": "Referrals to the diversion provider",
    "people": "Referrals that reached this stage by the as-of date",
    "count": "People (events) at this decision point",
}
EXTRA = {
    "share_of_referred_pct": "Percentage of the area's referrals that reached this stage, from the published "
                             "(rounded) counts; blank where either is suppressed",
    "share_of_group_pct": "Percentage of the group's offences in the period with this outcome, from the published "
                          "(rounded) counts; blank where either is suppressed",
    "denominator": "What the rate is out of",
    "population": "Census population of the group in the force area (ONS, Open Government Licence v3.0)",
    "rate": "Rate from the published (rounded) counts, in rate_unit",
    "rate_unit": "per 1,000 people per year (offences), or a percentage of the previous decision point",
    "ratio_vs_white": "The group's rate divided by the White group's rate (1 = the same; 2 = twice as likely)",
    "ratio_ci_low": "Lower end of the ratio's 95% confidence interval",
    "ratio_ci_high": "Upper end of the ratio's 95% confidence interval",
    "rate_note": "Why a rate or ratio is not shown, where it is not",
}


def published_frame(table: Table, protected: Protected) -> pl.DataFrame:
    """The table as published: '*' for a suppressed count with a note, other counts rounded."""
    columns: dict[str, list] = {}
    for row in table.rows:
        for name, value in row.items():
            if name in table.counts:
                shown = protected.published[value]
                columns.setdefault(name, []).append(SUPPRESSED if shown is None else str(shown))
                columns.setdefault(f"{name}_note", []).append(NOTE if shown is None else None)
            else:
                columns.setdefault(name, []).append(value.isoformat() if isinstance(value, date) else value)
    if table.extra is not None:
        columns.update(table.extra(protected.published))
    return pl.DataFrame(columns, strict=False)


def dictionary(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    rows = []
    for name, frame in frames.items():
        for column in frame.columns:
            base = column.removesuffix("_note")
            if column.endswith("_note") and base in COUNTS:
                text = f"'{NOTE}' where {base} is shown as {SUPPRESSED}; blank otherwise"
            else:
                text = COMMON.get(column) or EXTRA.get(column) or (
                    f"{COUNTS[column]}: rounded to the nearest 5, or {SUPPRESSED} where suppressed (see README)")
            kind = "count" if column in COUNTS else "number" if frame.schema[column].is_numeric() else "text"
            rows.append({"file": f"{name}.csv", "column": column, "kind": kind, "description": text})
    return pl.DataFrame(rows)


def write_files(folder: Path, tables: dict[str, pl.DataFrame], titles: dict[str, str], readme: str) -> list[str]:
    names = []
    for name, frame in tables.items():
        (folder / f"{name}.csv").write_bytes(to_csv_bytes(frame))
        names.append(f"{name}.csv")
    words = dictionary(tables)
    (folder / "data_dictionary.csv").write_bytes(to_csv_bytes(words))
    (folder / "README.md").write_text(readme, encoding="utf-8")
    _workbook(folder / WORKBOOK, tables, titles, words, readme)
    names += ["data_dictionary.csv", "README.md", WORKBOOK]
    checksums = {n: hashlib.sha256((folder / n).read_bytes()).hexdigest() for n in names}
    (folder / "checksums.json").write_text(json.dumps(checksums, indent=1) + "\n")
    return [*names, "checksums.json"]


def _workbook(path: Path, tables: dict[str, pl.DataFrame], titles: dict[str, str], words: pl.DataFrame,
              readme: str) -> None:
    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    sheet = book.add_worksheet("README")
    sheet.set_column(0, 0, 120)
    for number, line in enumerate(readme.splitlines()):
        sheet.write_string(number, 0, line.lstrip("#").strip(), bold if line.startswith("#") else None)
    short = {"volume_by_month_and_area": "Volume", "pathway_funnel_by_area": "Pathway funnel",
             "outcomes_by_ethnic_group": "Outcomes by ethnic group", "disparity_by_ethnic_group": "Disparity"}
    for name, frame in tables.items():
        _sheet(book, short.get(name, name[:31]), titles.get(name, name), frame, bold)
    _sheet(book, "Data dictionary", "Data dictionary", words, bold)
    book.close()


def _sheet(book, name: str, title: str, frame: pl.DataFrame, bold) -> None:
    sheet = book.add_worksheet(name)
    sheet.write_string(0, 0, title, bold)
    for col, column in enumerate(frame.columns):
        sheet.write_string(1, col, column, bold)
        sheet.set_column(col, col, max(10, min(60, len(column) + 2)))
    for r, row in enumerate(frame.iter_rows(), start=2):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(r, col, value)
            elif isinstance(value, str) and value.isdigit():
                sheet.write_number(r, col, int(value))  # a published count
            else:
                sheet.write_string(r, col, str(neutralise(value)))
    sheet.freeze_panes(2, 0)
    sheet.autofilter(1, 0, max(1, frame.height + 1), max(0, frame.width - 1))


def force_name(force: str) -> str:
    return codes.FORCES.get(force, force)
