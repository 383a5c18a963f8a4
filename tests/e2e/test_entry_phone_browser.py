"""An officer refers at the scene, on a phone: the New referral form at 390 x 844 (a common phone
screen) fits the width - nothing to scroll sideways to, before or after the problems are shown -
and saves. Screenshots under the test's tmp dir (screenshots/)."""

from __future__ import annotations

import secrets

import pytest
from browser import choose, heading, settle, sign_in
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser-1")]

PHONE = {"width": 390, "height": 844}
# what sticks out to the right of the window, of what is shown (the sidebar is closed on a phone)
STICKING_OUT = """() => { const width = document.documentElement.clientWidth;
  const out = [...document.querySelectorAll('[data-testid=stMain] *')].filter(e => {
    const box = e.getBoundingClientRect(); return box.width > 0 && box.right > width + 1; });
  return {scrolls: document.scrollingElement.scrollWidth > width,
          out: out.slice(0, 5).map(e => e.getAttribute('data-testid') || e.tagName)}; }"""


def fits(page) -> None:
    assert page.evaluate(STICKING_OUT) == {"scrolls": False, "out": []}


def test_a_referral_at_the_scene_on_a_phone(demo_app, page):
    page.set_viewport_size(PHONE)
    sign_in(page, demo_app, "caseworker", path="/new_referral", lands_on="New referral")
    fits(page)
    page.shots("new referral on a phone")

    page.get_by_role("button", name="Save referral").click()  # nothing typed: every problem shown
    expect(page.get_by_text("Nothing was saved").first).to_be_visible()
    settle(page)
    fits(page)
    page.shots("problems on a phone")

    reference = f"PHONE-{secrets.token_hex(3).upper()}"
    page.get_by_role("textbox", name="Referral reference *").fill(reference)
    page.get_by_role("textbox", name="Crime reference *").fill(f"E2E/PH/{reference}")
    settle(page)  # the page may still be redrawing after the fills: a list opened now can be replaced
    choose(page, "Local policing area *", "Birmingham", typed="Birmingham")
    choose(page, "Main drug *", "Cannabis", typed="Cannabis")
    page.get_by_role("textbox", name="Police or provider identifier (stored only as a pseudonymous key) *").fill(
        f"PNC E2E/{reference}")
    page.get_by_role("button", name="Save referral").click()
    expect(page.get_by_text(f"Referral {reference} saved")).to_be_visible()
    settle(page)
    fits(page)
    expect(heading(page, "New referral")).to_be_visible()
    page.shots("saved on a phone")
