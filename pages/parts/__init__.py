"""Building blocks of the pages (not pages themselves: Streamlit lists only pages/*.py)."""
