"""Learner text is shown as text: every character Markdown or Streamlit would interpret is escaped."""

import re

import pytest

from pages.parts.text import plain

HOSTILE = [
    "[clickme](javascript:alert(1))",
    "**bold** __bold__ *it* _it_ `code` ~~strike~~",
    ":red[red] :material/warning: :smile:",
    "<b>tag</b> <script>alert(1)</script> &amp;",
    "$x^2$ # heading + list - item 1. item > quote | table | !image",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_escapes_every_special_character_and_loses_none(text):
    escaped = plain(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text  # unescaping gives the learner's text back
    for char in "[]()*_`~:<>$#+-.!|&":
        assert not re.search(rf"(?<!\\){re.escape(char)}", escaped), char  # none left bare


def test_plain_keeps_ordinary_text_readable_and_on_one_line():
    assert plain("cat photo 2") == "cat photo 2"
    assert plain("two\nlines\tand  spaces") == "two lines and spaces"
