"""The app's pages: what every browser session runs (``app.py`` serves it, after the server's start-up)."""

import streamlit as st

from pages.parts.training_ui import keep_alive

st.set_page_config(page_title="ResNet Pipeline Trace", page_icon=":material/account_tree:", layout="wide")
keep_alive()  # on every page: an open tab keeps its training alive

st.navigation(
    [
        st.Page("pages/pipeline_trace.py", title="Pipeline Trace", icon=":material/account_tree:", default=True),
        st.Page("pages/training_lab.py", title="Training Lab", icon=":material/monitoring:"),
        st.Page("pages/quiz.py", title="Quiz", icon=":material/quiz:"),
    ]
).run()
