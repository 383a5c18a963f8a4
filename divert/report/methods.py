"""The method notes of the board pack: the Methods page's own texts (the follow-up rules, the
population denominators, disparity, the impact model, value for money), reused, not copied."""

from __future__ import annotations

from divert.analytics.calendar.maturity import FOLLOW_UP_TEXT
from divert.analytics.dashboards import value
from divert.analytics.equity import denominators, disparity
from divert.analytics.impact import model
from divert.report.blocks import BoardPack, Markdown, Section, Text


def section(pack: BoardPack) -> Section:
    follow_up = "\n".join(f"- {line}" for line in FOLLOW_UP_TEXT.values())
    return Section("methods", "Method notes", [
        Text(f"Every figure is measured as things stood at the end of {pack.as_of:%-d %B %Y} (the as-of date): "
             "records dated later are left out and steps taken later count as not yet taken. A month or week not over "
             "at the as-of date is provisional. The full notes are on the Methods page."),
        Text(pack.audience),
        Markdown("### Follow-up time\nA rate that needs time to happen counts only referrals (or offences) old "
                 f"enough for it:\n\n{follow_up}\n"),
        Markdown(denominators.METHODS),
        Markdown(disparity.METHODS),
        Markdown(model.methods_markdown()),
        Markdown(value.METHODS),
    ])
