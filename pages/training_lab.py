"""Training Lab: a ResNet and its plain twin train side by side, live; see why skips matter."""

import streamlit as st

from pages.parts import training_ui as tw
from resnet_core.errors import UserError
from resnet_core.training_report import gradient_observation

st.title("Training Lab")
st.markdown(
    "Two networks identical except for their skip connections train on the same batches. "
    "Watch the plain twin stall while the ResNet learns (He et al. 2016), and compare how the "
    "gradient changes from the output back to the input in each net."
)

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
    """Progress, curves and gradient flow, redrawn every second while the run is active."""
    if not run:
        st.info("Pick a preset and press **Train**.")
        return
    manager.seen(tw.owner())
    tw.progress_ui(run, manager.queue(run), manager.max_running)
    left, right = st.columns(2)
    left.plotly_chart(tw.curves(run, "train_loss", "Training loss"), key="lab_loss")
    right.plotly_chart(tw.curves(run, "train_acc", "Training accuracy"), key="lab_acc")
    st.plotly_chart(tw.gradient_chart(run), key="lab_grads")
    st.caption(
        f"{gradient_observation(run.records)} A steady gradient reaches the first layers in a usable size; "
        "in a deep plain net it swings by orders of magnitude (it explodes with BatchNorm, vanishes without)."
    )
    if not run.active and st.session_state.get("lab_shown") != (run.id, run.status):
        st.session_state["lab_shown"] = (run.id, run.status)
        st.rerun()  # the run just ended: redraw the whole page once, without polling


live_view()
if run and not run.active and run.records:
    st.subheader("Epoch by epoch")
    tw.results_ui(run)

with st.expander("The shapes dataset: samples of each class"):
    tw.samples_ui()
