"""The Quiz page's second exercise: predict what the lesson's SimpleResBlock prints, then run it."""

from __future__ import annotations

import streamlit as st

from resnet_core.quiz_exercises import Prediction, explain_simple_res_block, predict_output, simple_res_block_code

__all__ = ["predict_ui"]

FILLS = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]  # exact in float32, so printed values stay short
VALUES = [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]


@st.cache_data(max_entries=64, show_spinner=False)
def prediction(weight: float, bias: float, input_value: float) -> Prediction:
    """What the seed's SimpleResBlock prints for these fill values."""
    return predict_output(weight, bias, input_value)


def predict_ui() -> None:
    """Exercise 2: the seed's SimpleResBlock with chosen fill values; predict, then run it."""
    st.write(
        "The lesson's `SimpleResBlock`: one 3×3 convolution whose weights and bias are all set to one "
        "value, a ReLU, then the skip connection `out + x`. The last line prints `output[0,0,0,0]`, the "
        "top-left pixel of the first channel. Pick the values, predict what it prints, then run it."
    )
    left, middle, right = st.columns(3)
    weight = left.select_slider("Weight fill", FILLS, value=0.0, key="qz_pr_weight")
    bias = middle.select_slider("Bias fill", VALUES, value=1.0, key="qz_pr_bias")
    value = right.select_slider("Input value (every pixel)", VALUES, value=1.0, key="qz_pr_input")
    st.code(simple_res_block_code(weight, bias, value), language="python")
    guess = st.number_input(
        "Your prediction: what will it print?",
        value=None,
        step=0.25,
        key="qz_pr_guess",
        placeholder="type a number, e.g. 1.5",
    )
    if st.button("Run", key="qz_pr_run", type="primary"):
        st.session_state.qz_pr_ran = (weight, bias, value, guess)
    if st.session_state.get("qz_pr_ran") != (weight, bias, value, guess):
        return
    result = prediction(weight, bias, value)
    st.markdown("**It prints**")
    st.code(result.printed, language=None)
    if guess is None:
        st.info("Type a prediction first next time: it sticks better.", icon=":material/edit:")
    elif result.matches(guess):
        st.success(f"Your prediction {guess:g} is right.", icon=":material/check_circle:")
    else:
        st.error(f"You predicted {guess:g}; it prints {result.printed}.", icon=":material/cancel:")
    st.markdown("**Why**")
    st.markdown("\n".join(f"{n}. {step}" for n, step in enumerate(explain_simple_res_block(weight, bias, value), 1)))
