"""Learner-provided text (file names, and anything else a learner types) shown as text, never as Markdown."""

from __future__ import annotations

import re

__all__ = ["plain"]

# Every character Markdown, Streamlit's directives (:red[...], :material/icon:) or LaTeX ($...$) give
# a meaning to, plus < and & so nothing reads as HTML: each gets a backslash and shows as itself.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$&=^\"'])")


def plain(text: str) -> str:
    """``text`` escaped for ``st.markdown`` and every element that renders Markdown: it shows as typed."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
