"""The board pack: for a chosen period and as-of date, the headline figures, the key charts, the
disparity table with intervals, capacity and forecast (service managers) and the method notes,
as a PDF and a self-contained HTML file. Made by the functions the dashboard pages use and
passed through the disclosure gate for the role, so the numbers in the pack are the numbers on
the pages and in `divert metrics`. `divert report` and the Board pack page call `make`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from divert.report.blocks import BoardPack, ReportError
from divert.report.content import ROLES, build_pack, check_request, last_month_end, month_end
from divert.report.html import render_html
from divert.report.pdf import render_pdf

__all__ = ["ROLES", "BoardPack", "Files", "ReportError", "audit_details", "build_pack", "check_request", "file_stem", "last_month_end",
           "make", "month_end", "render_html", "render_pdf"]


@dataclass
class Files:
    pack: BoardPack
    pdf: bytes
    html: bytes


def make(engine, *, start: date, end: date, as_of: date, role: str = "viewer", progress=None) -> Files:
    """Build the pack and render both versions (ReportError when it cannot be made as asked)."""
    step = progress or (lambda text, fraction: None)
    pack = build_pack(engine, start=start, end=end, as_of=as_of, role=role, progress=step)
    step("Writing the PDF", 0.88)
    pdf = render_pdf(pack)
    step("Writing the HTML version", 0.96)
    html = render_html(pack).encode("utf-8")
    step("Done", 1.0)
    return Files(pack, pdf, html)


def file_stem(pack: BoardPack) -> str:
    return f"board-pack-{pack.start:%Y-%m-%d}-to-{pack.end:%Y-%m-%d}-{pack.role}"


def audit_details(pack: BoardPack, files: dict[str, int]) -> dict:
    """What the audit log records about a pack: who it was for, the period, the as-of date."""
    return {"kind": "board_pack", "role": pack.role, "period": {"start": pack.start, "end": pack.end},
            "as_of": pack.as_of, "data_version": pack.data_version,
            "generated_at": pack.generated_at.isoformat(timespec="seconds"), "files": files}
