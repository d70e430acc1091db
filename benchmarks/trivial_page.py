"""The yardstick of benchmarks/cold_start.py: a Streamlit page with a title and a line of text, nothing else."""

import streamlit as st

st.title("A trivial page")
st.write("A title and a line of text.")
