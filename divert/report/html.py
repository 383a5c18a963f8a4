"""The board pack as one self-contained HTML file: charts inlined as PNG data URIs, a print
stylesheet (A4, no table or chart split across pages), every value escaped."""

from __future__ import annotations

import base64
from html import escape

from markdown_it import MarkdownIt

from divert.core import wording
from divert.report.blocks import BoardPack, Figure, Markdown, Table, Text

STYLE = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1a1a1a; max-width: 60rem;
       margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; font-size: 15px; }
header.stamp { color: #555; font-size: 0.8rem; border-bottom: 1px solid #ccc; padding-bottom: 0.4rem; }
h1 { font-size: 1.9rem; margin: 1.2rem 0 0.3rem; }
h2 { font-size: 1.4rem; margin-top: 2.2rem; border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; }
h3 { font-size: 1.1rem; margin: 1.2rem 0 0.3rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; }
.audience { background: #f3f6fa; border-left: 4px solid #0072B2; padding: 0.5rem 0.8rem; }
.warning { background: #fff6e5; border-left: 4px solid #E69F00; padding: 0.5rem 0.8rem; }
.block { margin: 1rem 0 1.5rem; }
.caption { color: #444; font-size: 0.88rem; margin: 0.2rem 0 0.5rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.85rem; }
th { text-align: left; background: #e8eef5; border-bottom: 1px solid #888; padding: 0.3rem 0.4rem; }
td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.4rem; vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; }
figcaption { position: absolute; left: -9999px; }
footer { color: #555; font-size: 0.8rem; border-top: 1px solid #ccc; margin-top: 2rem; padding-top: 0.4rem; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { max-width: none; margin: 0; padding: 0; font-size: 10.5pt; }
  h2 { break-before: page; break-after: avoid; }
  h3, .caption { break-after: avoid; }
  .block, table, figure, tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  footer { break-before: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(pack: BoardPack) -> str:
    """The whole pack as one HTML document."""
    markdown = MarkdownIt("commonmark", {"html": False})
    (was_start, was_end) = pack.previous
    facts = [("Period", pack.period_text), ("Compared with", f"{wording.day(was_start)} to {wording.day(was_end)}"),
             ("As of", wording.day(pack.as_of)), ("Records", pack.coverage),
             ("Data version", str(pack.data_version)), ("Generated", pack.generated_text),
             ("Figures for", f"the {pack.role} role")]
    out = ["<!DOCTYPE html>", '<html lang="en-GB">', "<head>", '<meta charset="utf-8">',
           f"<title>{escape(pack.title)}, {escape(pack.period_text)}</title>", f"<style>{STYLE}</style>", "</head>",
           "<body>", f'<header class="stamp">{escape(pack.stamp)}</header>', f"<h1>{escape(pack.title)}</h1>",
           '<dl class="facts">', *(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts), "</dl>",
           f'<p class="audience">{escape(pack.audience)}</p>', "<nav><h3>Contents</h3><ol>",
           *(f'<li><a href="#{escape(s.key)}">{escape(s.title)}</a></li>' for s in pack.sections), "</ol></nav>"]
    for number, section in enumerate(pack.sections, 1):
        out.append(f'<section id="{escape(section.key)}"><h2>{number}. {escape(section.title)}</h2>')
        for block in section.blocks:
            out.append(_block(block, markdown))
        out.append("</section>")
    out += [f"<footer>{escape(pack.stamp)}. {escape(pack.audience)}</footer>", "</body>", "</html>"]
    return "\n".join(out)


def _block(block, markdown: MarkdownIt) -> str:
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        data = base64.b64encode(block.png).decode("ascii")
        return (f'<div class="block"><figure id="{escape(block.key)}"><img src="data:image/png;base64,{data}" '
                f'style="width: {block.size[0] // 2}px" '
                f'alt="{escape(block.title)}: {escape(block.caption)}"><figcaption>{escape(block.title)}. '
                f"{escape(block.caption)}</figcaption></figure></div>")
    if isinstance(block, Text):
        return f'<p class="{"warning" if block.kind == "warning" else "note"}">{escape(block.text)}</p>'
    if isinstance(block, Markdown):
        return f'<div class="methods">{markdown.render(block.text)}</div>'
    raise TypeError(f"unknown block {type(block).__name__}")


def _table(table: Table) -> str:
    def cls(column: int, row: int | None = None) -> str:
        names = (["num"] if column in table.numeric else []) + (
            ["count"] if row is not None and table.is_count(row, column) else [])
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{cls(c)}>{escape(name)}</th>" for c, name in enumerate(table.columns))
    body = "".join("<tr>" + "".join(f"<td{cls(c, r)}>{escape(value)}</td>" for c, value in enumerate(row)) + "</tr>"
                   for r, row in enumerate(table.rows))
    return (f'<div class="block" id="{escape(table.key)}"><h3>{escape(table.title)}</h3>'
            f'<p class="caption">{escape(table.caption)}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
