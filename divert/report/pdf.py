"""The board pack as an A4 PDF (fpdf2): the period, as-of date, data version and generation time
on every page, no table or chart split across pages."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

from fpdf import FPDF, FontFace, TextStyle
from markdown_it import MarkdownIt

from divert.core import wording
from divert.report.blocks import BoardPack, Figure, Markdown, Table, Text

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF"), Path("/Library/Fonts"))
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf",
              "BI": "DejaVuSans-BoldOblique.ttf"}
MM_PER_PIXEL = 180 / 760  # a chart 760 px wide (at scale 1) fills the text width; smaller ones are not blown up
BLUE, GREY, LIGHT = (0, 114, 178), (90, 90, 90), (232, 238, 245)
PLAIN_TEXT = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00d7": "x", "\u2265": ">=", "\u2264": "<=",
                            "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...",
                            "\u00b1": "+/-"})


def unicode_font() -> Path | None:
    """A folder with DejaVu Sans (Debian's fonts-dejavu-core), or None: then the PDF uses the
    core Helvetica font and plain-text substitutes for the few characters outside Latin-1."""
    for folder in FONT_DIRS:
        if all((folder / name).is_file() for name in FONT_FILES.values()):
            return folder
    return None


class PackPDF(FPDF):
    def __init__(self, pack: BoardPack):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.pack = pack
        folder = unicode_font()
        if folder is not None:
            for style, name in FONT_FILES.items():
                self.add_font("DejaVu", style, str(folder / name))
            self.font_name = "DejaVu"
        else:
            self.font_name = "Helvetica"
        self.set_margins(15, 20, 15)
        self.set_auto_page_break(True, margin=16)
        self.set_title(self.plain(pack.title))
        self.set_author("Divert")
        self.set_subject(self.plain(pack.stamp))
        self.set_creation_date(pack.generated_at)

    def plain(self, value: str) -> str:
        if self.font_name == "DejaVu":
            return value
        plain = unicodedata.normalize("NFKC", value.translate(PLAIN_TEXT))
        return plain.encode("latin-1", "replace").decode("latin-1")

    # --- every page ------------------------------------------------------------------------------
    def header(self):
        self.set_font(self.font_name, "", 7.5)
        self.set_text_color(*GREY)
        self.set_xy(15, 8)
        self.cell(0, 4, self.plain(self.pack.title), new_x="LMARGIN", new_y="NEXT", align="L")
        self.cell(0, 4, self.plain(self.pack.stamp), new_x="LMARGIN", new_y="NEXT", align="L")
        self.set_draw_color(200, 200, 200)
        self.line(15, 17, self.w - 15, 17)
        self.set_text_color(0, 0, 0)
        self.set_y(20)

    def footer(self):
        self.set_y(-12)
        self.set_font(self.font_name, "", 7.5)
        self.set_text_color(*GREY)
        label = ("Restricted: exact figures, not for publication" if self.pack.exact
                 else "Published figures: small numbers suppressed")
        self.cell(self.epw / 2, 5, self.plain(label))
        self.cell(self.epw / 2, 5, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    # --- blocks ------------------------------------------------------------------------------------
    def heading(self, text: str, size: float = 16):
        self.set_font(self.font_name, "B", size)
        self.set_text_color(*BLUE)
        self.multi_cell(0, size * 0.5, self.plain(text), new_x="LMARGIN", new_y="NEXT", align="L")
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def paragraph(self, text: str, size: float = 9.5, style: str = "", colour=(0, 0, 0), fill=None):
        self.set_font(self.font_name, style, size)
        self.set_text_color(*colour)
        if fill:
            self.set_fill_color(*fill)
        self.multi_cell(0, size * 0.48, self.plain(text), new_x="LMARGIN", new_y="NEXT", fill=bool(fill), align="L",
                        padding=(1.5, 2) if fill else 0)
        self.set_text_color(0, 0, 0)
        self.ln(1.5)

    def kept_together(self, draw) -> None:
        """Draw on this page if it fits, else on a new page (a block taller than a page flows)."""
        with self.offset_rendering() as trial:
            draw(trial)
        if trial.page_break_triggered and self.y > self.t_margin + 5:
            self.add_page()
        draw(self)

    def table_block(self, table: Table, target: FPDF) -> None:
        target.set_font(self.font_name, "B", 11)
        target.multi_cell(0, 5.5, self.plain(table.title), new_x="LMARGIN", new_y="NEXT", align="L")
        target.set_font(self.font_name, "", 8)
        target.set_text_color(*GREY)
        target.multi_cell(0, 3.8, self.plain(table.caption), new_x="LMARGIN", new_y="NEXT", align="L")
        target.set_text_color(0, 0, 0)
        target.ln(1.5)
        target.set_font(self.font_name, "", 8)
        align = tuple("RIGHT" if c in table.numeric else "LEFT" for c in range(len(table.columns)))
        with target.table(col_widths=table.widths or None, text_align=align, line_height=4.2,
                          borders_layout="HORIZONTAL_LINES", padding=(0.8, 1.2), width=self.epw,
                          headings_style=FontFace(emphasis="BOLD", fill_color=LIGHT)) as grid:
            for values in [table.columns, *table.rows]:
                row = grid.row()
                for value in values:
                    row.cell(self.plain(value))
        target.ln(5)

    def figure_block(self, figure: Figure) -> None:
        width_px, height_px = figure.size
        width = min(self.epw, width_px / 2 * MM_PER_PIXEL)
        height = width * height_px / width_px
        room = self.eph - 4
        if height > room:
            width, height = width * room / height, room
        if self.y + height > self.page_break_trigger:
            self.add_page()
        self.image(io.BytesIO(figure.png), x=self.l_margin + (self.epw - width) / 2, y=self.y, w=width, h=height,
                   alt_text=self.plain(f"{figure.title}. {figure.caption}"))
        self.set_y(self.y + height + 5)

    def markdown_block(self, text: str, markdown: MarkdownIt) -> None:
        self.set_font(self.font_name, "", 9)
        styles = {"h3": TextStyle(font_family=self.font_name, font_style="B", font_size_pt=11.5, color=BLUE, t_margin=4,
                                  b_margin=1.5),
                  "p": TextStyle(font_family=self.font_name, font_size_pt=9, t_margin=1, b_margin=1.5),
                  "li": TextStyle(font_family=self.font_name, font_size_pt=9),
                  "code": TextStyle(font_family=self.font_name, font_size_pt=9, color=(60, 60, 60))}
        html = markdown.render(text)
        for tag in ("p", "ul", "ol", "li"):
            html = html.replace(f"<{tag}>", f'<{tag} line-height="1.3">')
        self.write_html(self.plain(html), font_family=self.font_name, tag_styles=styles,
                        li_prefix_color=BLUE, ul_bullet_char="\u2022" if self.font_name == "DejaVu" else "-")
        self.ln(2)

    # --- the pack ----------------------------------------------------------------------------------
    def cover(self) -> None:
        pack = self.pack
        self.add_page()
        self.ln(6)
        self.set_font(self.font_name, "B", 22)
        self.set_text_color(*BLUE)
        self.multi_cell(0, 10, self.plain(pack.title), new_x="LMARGIN", new_y="NEXT", align="L")
        self.set_text_color(0, 0, 0)
        self.ln(3)
        (was_start, was_end) = pack.previous
        facts = [("Period", pack.period_text), ("Compared with", f"{wording.day(was_start)} to {wording.day(was_end)}"),
                 ("As of", wording.day(pack.as_of)), ("Records", pack.coverage), ("Data version", str(pack.data_version)),
                 ("Generated", pack.generated_text), ("Figures for", f"the {pack.role} role")]
        self.set_font(self.font_name, "", 9.5)
        with self.table(col_widths=(28, 72), text_align=("LEFT", "LEFT"), borders_layout="NONE", line_height=5,
                        first_row_as_headings=False, width=self.epw) as grid:
            for label, value in facts:
                row = grid.row()
                row.cell(self.plain(label), style=FontFace(emphasis="BOLD"))
                row.cell(self.plain(value))
        self.ln(3)
        self.paragraph(pack.audience, size=9, fill=LIGHT)
        self.set_font(self.font_name, "B", 10)
        self.cell(0, 6, "Contents", new_x="LMARGIN", new_y="NEXT", align="L")
        self.set_font(self.font_name, "", 9.5)
        for number, section in enumerate(pack.sections, 1):
            self.cell(0, 5, self.plain(f"{number}. {section.title}"), new_x="LMARGIN", new_y="NEXT", align="L")
        self.ln(4)

    def body(self) -> None:
        markdown = MarkdownIt("commonmark", {"html": False})
        for number, section in enumerate(self.pack.sections, 1):
            if number > 1 and any(isinstance(b, Figure) for b in section.blocks):
                self.add_page()
            elif self.y > self.page_break_trigger - 40:
                self.add_page()
            self.heading(f"{number}. {section.title}")
            for block in section.blocks:
                if isinstance(block, Table):
                    self.kept_together(lambda target, table=block: self.table_block(table, target))
                elif isinstance(block, Figure):
                    self.figure_block(block)
                elif isinstance(block, Text):
                    self.paragraph(block.text, fill=(255, 246, 229) if block.kind == "warning" else None)
                elif isinstance(block, Markdown):
                    self.markdown_block(block.text, markdown)


def render_pdf(pack: BoardPack) -> bytes:
    pdf = PackPDF(pack)
    pdf.cover()
    pdf.body()
    return bytes(pdf.output())
