"""Accessible pages: every page of the app is opened in a real browser at 1400x900, by the
administrator (whose menu holds every page the manager's and the caseworker's do, drawn with the
same figures: checked below) and by the viewer (whose dashboards are the gated ones), and
axe-core (the copy axe-playwright-python bundles) finds no serious or critical violation of the
WCAG 2.0 and 2.1 level A and AA rules, text contrast of at least 4.5:1 among them; the charts'
axis and legend labels (SVG text, which axe does not measure) are checked for 4.5:1 as well; every
chart drawn has a text description and no label cut short, clipped or repeated on its axis; and
the page's text holds no None, null or column name with underscores.

One browser tab per role, each page opened once from the menu (within one app session: the
frontend is not loaded again), axe injected once per tab. No screenshots, no sleeps."""

from __future__ import annotations

import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser import SLOW_MS, TIMEOUT_MS, ran_since, runs, sign_in
from playwright.sync_api import expect

from divert.core import disclosure
from divert.web import access

pytestmark = [pytest.mark.e2e]

WINDOW = {"width": 1400, "height": 900}
SEVERE = ("serious", "critical")
# The rules of WCAG 2.0 and 2.1, levels A and AA. Frames are left out: the only ones are the
# cookie manager's (streamlit-authenticator's component: no content, no size), and axe would
# wait for an answer from a frame it is not injected into.
OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
           "resultTypes": ["violations"], "iframes": False}
# Violations inside Streamlit's own widgets, which the app cannot change: rule -> the widget (a
# CSS selector the element lies within). Each is one rule in one widget, never a whole page.
STREAMLIT_OWN = {
    # the sidebar menu: Streamlit puts its section headers (div) straight inside the menu's <ul>,
    # so the list has children other than <li> and its items seem to be outside a list
    "list": '[data-testid="stSidebarNav"]',
    "listitem": '[data-testid="stSidebarNav"]',
    # st.metric's own sparkline: an empty layer of hover points (no items, so Vega gives the layer
    # the role of one graphic, with no label); the card's label and value are its text
    "svg-img-alt": '[data-testid="stMetric"]',
}
WALL = "Wall view"  # it collapses the sidebar (the whole width for its figures): opened last
PLANNING = {"Capacity", "Forecast", "Scenario planner", "Launch planner"}  # the first draw makes the forecast
CONTRAST = 4.5
SLACK_PX = 3  # a label's box may pass the chart's edge by its line spacing, its letters not

# axe's serious and critical violations less Streamlit's own, as [rule, impact, target, summary]
_AXE = """
async ([options, own, severe]) => {
  const found = await axe.run(document, options);
  const out = [];
  for (const violation of found.violations) {
    if (!severe.includes(violation.impact)) continue;
    for (const node of violation.nodes) {
      const element = document.querySelector(node.target[0]);
      if (own[violation.id] && element && element.closest(own[violation.id])) continue;
      const summary = (node.failureSummary || '').split('\\n').pop().trim();
      const html = element ? element.outerHTML.slice(0, 240) : '';
      out.push([violation.id, violation.impact, node.target.join(' '), `${summary} (${html})`]);
    }
  }
  return out;
}
"""
# chart labels (SVG text) whose fill is below `least` contrast with white: [text, colour, ratio]
_CHART_LABELS = """
(least) => {
  const luminance = (rgb) => rgb.map((c) => c / 255).map((c) => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)
    .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
  const selector = ['axis-label', 'axis-title', 'legend-label', 'legend-title']
    .map((role) => `[data-testid="stVegaLiteChart"] .role-${role} text`).join(', ');
  const out = [];
  for (const text of document.querySelectorAll(selector)) {
    const fill = getComputedStyle(text).fill;
    const rgb = (fill.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
    if (rgb.length < 3) continue;
    const ratio = 1.05 / (luminance(rgb) + 0.05);
    if (ratio < least) out.push([text.textContent, fill, Math.round(ratio * 100) / 100]);
  }
  return out;
}
"""

# What a chart shows wrongly once drawn, which only the browser can see (the spec-level rules are
# divert.charts.standard's, checked on every chart of every page in tests/test_charts.py):
# [chart's first words, fault]. Text Vega cut short ends in "…"; a label drawn outside the chart's
# own box is clipped; one axis naming the same tick twice reads as nonsense; no text alternative.
_CHART_FAULTS = """
(SLACK) => {
  const out = [];
  const shown = (text) => text.textContent && getComputedStyle(text).opacity !== '0';  // Vega hides a label by opacity
  for (const element of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    const svg = element.querySelector('svg.marks');
    if (!svg) continue;
    const name = (element.getAttribute('aria-label') || '').slice(0, 60);  // vega-embed's, from the description
    if (!name.trim()) out.push(['(no name)', 'no text description']);
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('.role-title text, .role-axis-title text, .role-axis-label text, .role-legend-label text, .role-legend-title text')) {
      if (!shown(text)) continue;
      const words = text.textContent;
      if (words.includes('\u2026')) out.push([name, `cut short: ${words}`]);
      const r = text.getBoundingClientRect();
      // the text's box (its line height, a little above and below the letters) past the chart's by
      const past = Math.max(box.left - r.left, r.right - box.right, box.top - r.top, r.bottom - box.bottom);
      if (r.width && past > SLACK) out.push([name, `clipped by ${Math.round(past)} px: ${words}`]);
    }
    for (const axis of svg.querySelectorAll('.role-axis')) {
      const labels = [...axis.querySelectorAll('.role-axis-label text')].filter(shown).map((t) => t.textContent);
      const twice = labels.filter((t, i) => labels.indexOf(t) !== i);
      if (twice.length) out.push([name, `a tick named twice: ${twice[0]}`]);
    }
  }
  return out;
}
"""
# Words for engineers in what the page shows (the text of its main area, less what is hidden from
# a screen reader: icons, which are ligatures such as "menu_book"): a blank shown as None, null or NaN, or a column name with underscores.
_SHOWN_TEXT = """
() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (parent.closest('[aria-hidden="true"], svg, style, script') || !parent.checkVisibility()) continue;
    out.push(node.textContent);
  }
  return out.join(' ');
}
"""
RAW_WORDS = re.compile(r"\b(None|null|NaN|nan)\b|\b[a-z]+(?:_[a-z0-9]+)+\b")


def open_from_menu(page, spec: access.PageSpec) -> None:
    """Open the page from the sidebar menu and wait for the run it makes to end (its heading may
    differ from its menu title)."""
    before = runs(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=spec.title, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/{spec.url_path}(\?|$)"))
    ran_since(page, before)
    expect(page.get_by_role("heading", level=1).first).to_be_visible(
        timeout=SLOW_MS if spec.title in PLANNING else TIMEOUT_MS)


def problems_on(page, title: str) -> list[str]:
    """What is wrong on the page as shown, one line per rule: page, rule, how many elements, the
    first three targets and what is wrong with the first."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    by_rule: dict[str, list] = {}
    for rule, impact, target, summary in page.evaluate(_AXE, [OPTIONS, STREAMLIT_OWN, SEVERE]):
        by_rule.setdefault(f"{rule} ({impact})", []).append((target, summary))
    for text, fill, ratio in page.evaluate(_CHART_LABELS, CONTRAST):
        by_rule.setdefault("chart label contrast", []).append((repr(text), f"{fill} is {ratio}:1 on white"))
    for chart, fault in page.evaluate(_CHART_FAULTS, SLACK_PX):
        by_rule.setdefault("chart fault", []).append((repr(chart), fault))
    shown = page.evaluate(_SHOWN_TEXT)
    for found in {m.group(0) for m in RAW_WORDS.finditer(shown)}:
        by_rule.setdefault("words for engineers", []).append((repr(found), "shown on the page"))
    return [f"{title}: {rule} x{len(nodes)} at {' | '.join(t for t, _ in nodes[:3])}: {nodes[0][1]}"
            for rule, nodes in by_rule.items()]


ROLES = ("viewer", "admin")  # the other roles' pages are among the administrator's


def pages_of(role: str) -> set[str]:
    return {spec.file for specs in access.menu(role).values() for spec in specs}


def test_the_roles_opened_cover_every_page_of_every_role():
    every = set().union(*(pages_of(role) for role in access.ALL_ROLES))
    assert every == set().union(*(pages_of(role) for role in ROLES))
    assert pages_of("manager") | pages_of("caseworker") <= pages_of("admin")
    assert set(access.ALL_ROLES) - set(disclosure.EXACT_ROLES) == {"viewer"}  # the others see exact figures


@pytest.mark.parametrize("role", ROLES)
def test_every_page_of_each_role_has_no_serious_accessibility_violation(demo_app, open_page, role):
    started = time.monotonic()
    page = open_page(WINDOW)
    sign_in(page, demo_app, role)  # on the Overview
    problems = problems_on(page, "Overview")
    shown = [spec for specs in access.menu(role).values() for spec in specs if spec.file != access.LANDING]
    for spec in sorted(shown, key=lambda spec: spec.title == WALL):
        open_from_menu(page, spec)
        problems += problems_on(page, spec.title)
    print(f"{role}: {len(shown) + 1} pages in {time.monotonic() - started:.1f} s")
    assert not problems, f"{len(problems)} serious or critical accessibility problems:\n" + "\n".join(problems)
