"""Hostile files uploaded through the real page, while another learner's session keeps working."""

import re

import pytest

from tests import hostile_files as hf
from tests.e2e.conftest import settle
from tests.e2e.test_trace_e2e import open_trace
from tests.hostile_files import CORPUS

pytestmark = pytest.mark.e2e


def test_each_hostile_upload_gets_its_message_and_other_sessions_keep_working(browser, server, tmp_path):
    attacker = browser.new_page(viewport={"width": 1400, "height": 1800})
    learner = browser.new_page(viewport={"width": 1400, "height": 1800})
    try:
        open_trace(attacker, server["url"])
        open_trace(learner, server["url"])
        upload = attacker.locator("input[type=file]")
        for number, (name, make, _refused, message) in enumerate(CORPUS):
            path = tmp_path / name
            path.write_bytes(make())
            upload.set_input_files(str(path))
            # An error (refused) or an info note (converted): AppTest checks which kind; here, the words.
            alert = attacker.get_by_test_id("stAlert").filter(has_text=message)
            alert.first.wait_for(timeout=60_000)
            assert name in alert.first.inner_text()
            settle(attacker)
            # Meanwhile the other learner's session still answers: switch stage and see it drawn.
            learner.get_by_role("button", name="Inspect", exact=True).nth(number % 5).click()
            learner.get_by_text("Stage ", exact=False).first.wait_for()
            settle(learner)
        assert "Key insight" in learner.get_by_test_id("stMain").inner_text()
        assert "Traceback" not in attacker.get_by_test_id("stMain").inner_text()
    finally:
        attacker.close()
        learner.close()


MARKDOWN_NAME = "[clickme](javascript:alert(1)) **bold** :red[red] <b>tag<b> <img src=x onerror=1> $x^2$ _it_.png"


def test_a_file_name_full_of_markdown_and_html_shows_as_typed(page, server, tmp_path):
    open_trace(page, server["url"])
    path = tmp_path / MARKDOWN_NAME
    path.write_bytes(hf.png_bytes(160, 120))
    page.locator("input[type=file]").set_input_files(str(path))
    main = page.get_by_test_id("stMain")
    main.get_by_text("Your upload:", exact=False).first.wait_for()
    settle(page)
    assert f"Your upload: {MARKDOWN_NAME}" in main.inner_text()  # every character shown as itself
    assert main.locator("a[href^='javascript']").count() == 0
    exactly = lambda text: re.compile(rf"^\s*{text}\s*$")  # noqa: E731  (an element holding just that word)
    assert main.locator("strong", has_text=exactly("bold")).count() == 0
    assert main.locator("em", has_text=exactly("it")).count() == 0
    assert main.locator("b", has_text="tag").count() == main.locator("img[src=x]").count() == 0
    assert main.locator(".katex").count() == 0
    assert main.locator("span", has_text="red").filter(has_not_text="[").count() == 0  # no :red[...] colouring
