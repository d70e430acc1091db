"""Training Lab: He et al.'s degradation experiment, live: plain and residual nets at two depths."""

import streamlit as st

from pages.parts import training_ui as tw
from resnet_core.errors import UserError
from resnet_core.training_report import degradation_verdict, gradient_observation

st.title("Training Lab")
st.markdown(tw.INTRO)

config = tw.config_ui()
manager = tw.run_manager()
run = manager.get(st.session_state.get("lab_run"))

train_col, stop_col, budget_col = st.columns([1, 1, 6], vertical_alignment="center")
with budget_col:
    allowed = tw.budget_ui(config)
if train_col.button("Train", type="primary", disabled=not allowed or bool(run and run.active)):
    try:
        run = manager.start(config, tw.owner(), tw.LABELS)
    except UserError as error:
        st.error(str(error), icon=":material/block:")
    else:
        st.session_state["lab_run"] = run.id
if stop_col.button("Stop", disabled=not (run and run.active)) and run:
    run.stop()

tw.model_sizes_ui(run.config if run else config)


@st.fragment(run_every=1.0 if run and run.active else None)
def live_view() -> None:
    """Progress, the paper's two panels and the gradient at every block, redrawn every second while it trains."""
    if not run:
        st.info("Pick a preset and press **Train**.")
        return
    manager.seen(tw.owner())
    tw.progress_ui(run, manager.queue(run), manager.max_running)
    left, right = st.columns(2)
    left.plotly_chart(tw.error_chart(run, "plain"), key="lab_plain")
    right.plotly_chart(tw.error_chart(run, "resnet"), key="lab_resnet")
    st.plotly_chart(tw.gradient_chart(run), key="lab_grads")
    st.caption(f"{tw.GRADIENT_NOTE} {gradient_observation(run.records, run.config.depth)}")
    if not run.active and st.session_state.get("lab_shown") != (run.id, run.status):
        st.session_state["lab_shown"] = (run.id, run.status)
        st.rerun()  # the run just ended: redraw the whole page once, without polling


live_view()
if run and not run.active and run.records:
    st.subheader("What this run shows")
    for sentence in degradation_verdict(run.records, run.config.num_classes):
        st.markdown(f"- {sentence}")
    st.subheader("Epoch by epoch")
    tw.results_ui(run)

with st.expander("The shapes dataset: samples of each class"):
    tw.samples_ui()
