"""The hostile-file corpus through the CLI and through the page: each file gets its own message."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from resnet_core.cli import main
from tests import hostile_files as hf
from tests.hostile_files import CORPUS

IDS = [name for name, *_ in CORPUS]


@pytest.mark.parametrize(("name", "make", "refused", "message"), CORPUS, ids=IDS)
def test_cli_refuses_with_one_line_or_notes_the_conversion(tmp_path, capsys, name, make, refused, message):
    path = tmp_path / name
    path.write_bytes(make())
    status = main(["trace", str(path), "--model", "seed", "--weights", "none"])
    out, err = capsys.readouterr()
    if refused:
        assert status == 2
        assert out == ""
        assert err.count("\n") == 1 and err.startswith(f"error: {name}") and message in err
    else:
        assert status == 0 and err == ""
        assert f"image: {message}" in out


@pytest.fixture(scope="module")
def page():
    st.cache_resource.clear()
    return AppTest.from_file("../pages/pipeline_trace.py", default_timeout=120).run().run()  # 2nd: after paint


@pytest.mark.parametrize(("name", "make", "refused", "message"), CORPUS, ids=IDS)
def test_page_shows_the_specific_message_and_keeps_working(page, name, make, refused, message):
    page.sidebar.file_uploader[0].set_value((name, make(), "application/octet-stream")).run()
    assert not page.exception
    shown = [hf.shown(e.value) for e in page.error] if refused else [hf.shown(i.value) for i in page.info]
    assert any(message in text and name in text for text in shown), shown
    if refused:
        assert "Showing the sample picture instead." in [c.value for c in page.caption]
    assert page.subheader[0].value.startswith("Stage 3")  # the trace still renders (sample or converted upload)
