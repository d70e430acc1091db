"""ResNet Pipeline Trace: the server. ``streamlit run app.py`` serves the pages of ``pages/navigation.py``.

Start-up is one explicit step: Streamlit's ``st.App`` runs the lifespan below once, before the
server accepts its first connection, so imports, the default model, the first trace and the
quiz's answers are ready when the first learner arrives; at shutdown it ends every training.
"""

import asyncio
import sys
import time
from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def lifespan(app: st.App):
    """Warm everything up before serving (in a thread: the event loop stays free); stop trainings at exit."""
    began = time.perf_counter()
    from pages.parts.common import shutdown, startup  # torch, torchvision, plotly, the engine

    imports = time.perf_counter() - began
    seconds = await asyncio.to_thread(startup)
    parts = ", ".join(f"{part} {value:.2f} s" for part, value in {"imports": imports, **seconds}.items())
    print(f"ResNet Pipeline Trace: ready after {time.perf_counter() - began:.1f} s ({parts})", file=sys.stderr)
    yield
    shutdown()


app = st.App("pages/navigation.py", lifespan=lifespan)
