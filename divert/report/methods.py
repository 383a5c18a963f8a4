"""The method notes of the board pack: the Methods page's own texts (the follow-up rules, the
population denominators, disparity, the impact model, value for money), reused, not copied, and
read without code: no command names, flags or column names (`without_code`)."""

from __future__ import annotations

import re

from divert.analytics.calendar.maturity import FOLLOW_UP_TEXT
from divert.analytics.dashboards import value
from divert.analytics.equity import denominators, disparity
from divert.analytics.impact import model
from divert.core import headers, wording
from divert.report.blocks import BoardPack, Markdown, Section, Text

# the shared method texts say where an analyst finds a figure; a commissioner reads the page instead
_CODE_PHRASES = (
    (r"\s+and in `divert status`", ""),
    (r"\s+or with `divert metrics[^`]*`", ""),
    (r"`divert metrics[^`]*`", "the figures"),
    (r"`divert [^`]*`", "the Divert command"),
    (r"\s*\(`--[^`]*`[^)]*\)", ""),
    (r"`--[^`]*`", ""),
    (r"\(`as_of=`\)", ""),
)


def without_code(text: str) -> str:
    """A method note with no code: commands and flags left out, column names as the tables head
    them ("Out of", not `denominator`)."""
    for pattern, replacement in _CODE_PHRASES:
        text = re.sub(pattern, replacement, text)
    return re.sub(r"`([a-z0-9_]+)`", lambda m: f'"{headers.header(m.group(1))}"', text).replace("`", "")


def section(pack: BoardPack) -> Section:
    follow_up = "\n".join(f"- {line}" for line in FOLLOW_UP_TEXT.values())
    return Section("methods", "Method notes", [
        Text(f"Every figure is measured as things stood at the end of {wording.day(pack.as_of)} (the as-of date): "
             "records dated later are left out and steps taken later count as not yet taken. A month or week not over "
             "at the as-of date is provisional. The full notes are on the Methods page, and the Glossary page says "
             "what each term means."),
        Text(pack.audience),
        Markdown("### Follow-up time\nA rate that needs time to happen counts only referrals (or offences) old "
                 f"enough for it:\n\n{follow_up}\n"),
        *(Markdown(without_code(text)) for text in (denominators.METHODS, disparity.METHODS, model.methods_markdown(),
                                                    value.METHODS)),
    ])
