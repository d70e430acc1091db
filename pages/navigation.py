"""The app's pages: what every browser session runs (``app.py`` serves it, after the server's start-up).

It lives inside ``pages/`` on purpose: Streamlit treats a ``pages/`` folder *next to* the main
script as an old-style multipage app until the first ``st.navigation`` call, so a fresh server's
first visitor who opened a page's own address got that page without this navigation.
"""

import streamlit as st

from pages.parts.training_ui import keep_alive

st.set_page_config(page_title="ResNet Pipeline Trace", page_icon=":material/account_tree:", layout="wide")
keep_alive()  # on every page: an open tab keeps its training alive

st.navigation(
    [
        st.Page("pipeline_trace.py", title="Pipeline Trace", icon=":material/account_tree:", default=True),
        st.Page("training_lab.py", title="Training Lab", icon=":material/monitoring:"),
        st.Page("quiz.py", title="Quiz", icon=":material/quiz:"),
    ]
).run()
