"""Quiz in a real browser: a whole Test run, three answers wrong on purpose, to the exact score."""

import re

import pytest
from playwright.sync_api import expect

from resnet_core.quiz import letter, practice_set, resolve_all
from tests.e2e.conftest import settle

pytestmark = pytest.mark.e2e

WRONG_AT = {1, 5, 9}  # question numbers answered wrongly: the score must be 7 / 10


def open_page(tab, url, title):
    """Open the app at its root, like a learner, then follow the sidebar link."""
    tab.goto(url)
    tab.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    settle(tab, 1.0)


def _plain(text: str) -> str:
    """Letters and digits only: the browser's rendering of an option may differ in spaces and marks."""
    return re.sub(r"\W+", "", text)


def shown_question(tab, pool):
    """The question on screen, found by its options (the engine's resolved questions are the reference)."""
    texts = tab.locator("[data-testid=stRadio]:visible label").all_inner_texts()
    labels = tuple(_plain(t) for t in texts if re.match(r"[A-F]\. ", t.strip()))  # not the radio's own label
    found = [q for q in pool if tuple(_plain(f"{letter(i)}. {o}") for i, o in enumerate(q.options)) == labels]
    assert len(found) == 1, labels
    return found[0]


def answer(tab, choice: str, attempts: int = 5) -> None:
    """Pick option ``choice``; on a busy machine a click can land while the page is re-rendering, so retry."""
    next_button = tab.get_by_role("button", name=re.compile("^(Next|Finish)"))
    option = re.compile(rf"^{choice}\. ")
    for _ in range(attempts):
        tab.locator("[data-testid=stRadio]:visible label").filter(has_text=option).first.click()
        settle(tab)
        try:
            expect(next_button).to_be_enabled(timeout=10_000)
            return
        except AssertionError:
            continue
    raise AssertionError("the answer never registered")


def test_a_test_run_reaches_the_exact_score_of_its_answers(page, server):
    pool = practice_set(resolve_all())
    open_page(page, server["url"], "Quiz")
    page.get_by_role("tab", name=re.compile("Test")).click()
    page.get_by_role("button", name="Start the test").click()
    settle(page)
    for number in range(1, 11):
        page.get_by_text(f"Question {number} of 10").first.wait_for()
        settle(page)
        question = shown_question(page, pool)
        choice = (question.answer + 1) % len(question.options) if number in WRONG_AT else question.answer
        answer(page, letter(choice))
        page.get_by_role("button", name=re.compile("^(Next|Finish)")).click()
        settle(page)
    page.get_by_text("Your score").wait_for()
    assert page.get_by_test_id("stMetricValue").first.inner_text().strip() == "7 / 10"
    page.get_by_text("70 % right").wait_for()
    page.get_by_text("Review: the 3 you missed").wait_for()
