"""ResNet Pipeline Trace: the server. ``streamlit run app.py`` serves the pages of ``navigation.py``.

Start-up is one explicit step: Streamlit's ``st.App`` runs the lifespan below once, before the
server accepts its first connection, so imports, the default model, the first trace and the
quiz's answers are ready when the first learner arrives; at shutdown it ends every training.
"""

import asyncio
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(app: st.App):
    """Warm everything up before serving (in a thread: the event loop stays free); stop trainings at exit."""
    from pages.parts.common import shutdown, startup

    await asyncio.to_thread(startup)
    yield
    shutdown()


app = st.App("navigation.py", lifespan=lifespan)
