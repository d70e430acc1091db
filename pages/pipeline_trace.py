"""Pipeline Trace: one image through a real ResNet, stage by stage, with the skip addition visible."""

import streamlit as st

from pages.parts import trace_ui, trace_views
from pages.parts.common import after_first_paint
from pages.parts.quiz_ui import model_quiz_ui
from resnet_core.render import input_picture
from resnet_core.stages import KEY_INSIGHT

st.title("Pipeline Trace")
st.write(
    "Follow one picture through a real ResNet. Each box below is one stage of the network with the "
    "shape of what comes out of it: height × width × channels, and the same in PyTorch's "
    "[batch, channels, height, width] order. Press **Inspect** to look inside a stage."
)

name, weights = trace_ui.model_picker()
picture = trace_ui.picture_picker()
model = trace_ui.load_or_explain(name, weights)
if model is None:
    st.stop()
loaded, _ = model
trace = trace_ui.traced(name, weights, picture.digest, picture.image)

left, right = st.columns([1, 3])
left.image(input_picture(trace.stages[0].activation), caption="What the network sees: the 224 × 224 crop",
           width="stretch")
with right:
    trace_ui.weights_banner(loaded)
    best = trace.top_k[0]
    st.markdown(
        f"**Picture:** {picture.caption}  \n**The network's best guess:** {best.label} ({best.prob:.1%})"
    )

st.session_state.setdefault("stage", "residual_block")
trace_views.flow(trace, st.session_state["stage"])
st.divider()
if not after_first_paint("trace_details"):  # the flow first; the stage's charts and the quiz a moment later
    st.caption("Drawing the stage's feature maps…")
    st.stop()
stage = st.session_state["stage"]
# the other weights' traces feed only the residual stages' |F(x)| / |x| chart: not traced for the other stages
by_weights = trace_ui.traces_by_weights(name, weights, picture) if trace.stage(stage).blocks else None
trace_views.stage_detail(trace, stage, by_weights)

st.divider()
st.info(f"**Key insight.** {KEY_INSIGHT}", icon=":material/lightbulb:")
model_quiz_ui()
