"""ResNet Pipeline Trace: the entry point only declares navigation."""

import streamlit as st

import pages.parts  # noqa: F401  (imports torch and the engine once, one session at a time: see its docstring)

st.set_page_config(
    page_title="ResNet Pipeline Trace", page_icon=":material/account_tree:", layout="wide"
)

st.navigation(
    [
        st.Page("pages/pipeline_trace.py", title="Pipeline Trace", icon=":material/account_tree:", default=True),
        st.Page("pages/training_lab.py", title="Training Lab", icon=":material/monitoring:"),
        st.Page("pages/quiz.py", title="Quiz", icon=":material/quiz:"),
    ]
).run()
