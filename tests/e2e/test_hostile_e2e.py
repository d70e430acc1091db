"""Hostile files uploaded through the real page, while another learner's session keeps working."""

import pytest

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
