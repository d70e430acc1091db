"""Quiz in a real browser: a whole Test run to a score."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import settle

pytestmark = pytest.mark.e2e


def open_page(tab, url, title):
    """Open the app at its root, like a learner, then follow the sidebar link."""
    tab.goto(url)
    tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settle(tab, 1.0)


def answer(tab, attempts: int = 5) -> None:
    """Pick option A; on a busy machine a click can land while the page is re-rendering, so retry."""
    next_button = tab.get_by_role("button", name=re.compile("^(Next|Finish)"))
    for _ in range(attempts):
        tab.locator("[data-testid=stRadio]:visible label").filter(has_text=re.compile(r"^A\. ")).first.click()
        settle(tab)
        try:
            expect(next_button).to_be_enabled(timeout=10_000)
            return
        except AssertionError:
            continue
    raise AssertionError("the answer never registered")


def test_a_test_run_reaches_a_score(page, server):
    open_page(page, server["url"], "Quiz")
    page.get_by_role("tab", name=re.compile("Test")).click()
    page.get_by_role("button", name="Start the test").click()
    settle(page)
    for number in range(1, 11):
        page.get_by_text(f"Question {number} of 10").first.wait_for()
        settle(page)
        answer(page)
        page.get_by_role("button", name=re.compile("^(Next|Finish)")).click()
        settle(page)
    page.get_by_text("Your score").wait_for()
    score = page.get_by_test_id("stMetricValue").first.inner_text()
    assert re.fullmatch(r"\d+ / 10", score.strip())
