"""Widgets of the Quiz page (and the short Model Quiz at the end of Pipeline Trace).

UI functions draw and keep progress in ``st.session_state``; grading, question choice and the
exercises are engine calls (``resnet_core.quiz``, ``resnet_core.exercises``). Keys start with ``qz_``
on the Quiz page and ``mq_`` in the Model Quiz so they never collide with other pages' widgets.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from resnet_core.exercises import (
    SHORTCUTS,
    BlockSpec,
    LabResult,
    Prediction,
    explain_simple_res_block,
    predict_output,
    run_block,
    simple_res_block_code,
)
from resnet_core.quiz import (
    Question,
    TestScore,
    is_correct,
    letter,
    model_quiz,
    resolve_all,
    score_test,
    select_test,
)

__all__ = ["lab_ui", "model_quiz_ui", "practice_ui", "predict_ui", "questions", "test_ui"]

DIFFICULTY_BADGE = {
    "easy": ":green-badge[easy]",
    "medium": ":orange-badge[medium]",
    "hard": ":red-badge[hard]",
}
SHORTCUT_LABELS = {
    "identity": "Identity: add x as it is",
    "projection": "1×1 projection: 1×1 conv with the block's stride",
    "none": "None: no skip connection (plain block)",
}
CORRECT_MARK = ":green[:material/check_circle:]"
WRONG_MARK = ":red[:material/cancel:]"
CHANNELS = [3, 16, 32, 64, 128, 256, 512]
SIZES = [7, 8, 14, 16, 28, 32, 56]
FILLS = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]  # exact in float32, so printed values stay short
VALUES = [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0]


# --- cached engine calls -------------------------------------------------------------------------------


@st.cache_data(show_spinner="Checking the answers by running the code…")
def questions() -> tuple[Question, ...]:
    """Every question, with code answers settled by running the code (once per server)."""
    return resolve_all()


@st.cache_data(max_entries=64, show_spinner=False)
def lab_run(in_channels: int, size: int, out_channels: int, stride: int, shortcut: str) -> LabResult:
    """The shape-mismatch lab for one set of widget values."""
    return run_block(BlockSpec(in_channels, size, out_channels, stride, shortcut))


@st.cache_data(max_entries=64, show_spinner=False)
def prediction(weight: float, bias: float, input_value: float) -> Prediction:
    """What the seed's SimpleResBlock prints for these fill values."""
    return predict_output(weight, bias, input_value)


# --- one question ----------------------------------------------------------------------------------


def option_label(question: Question, index: int) -> str:
    """'B. text' for a radio option."""
    return f"{letter(index)}. {question.options[index]}"


def question_ui(question: Question, key: str, disabled: bool = False, number: int | None = None) -> int | None:
    """Prompt, code and the options; returns the chosen option index (None until one is picked).

    With ``number`` (the compact Model Quiz) the prompt is numbered and the radio has no label.
    """
    st.markdown(f"**{number}.** {question.prompt}" if number else question.prompt)
    if question.code:
        st.code(question.code, language="python")
    return st.radio(
        "Your answer",
        range(len(question.options)),
        format_func=lambda i: option_label(question, i),
        index=None,
        key=key,
        disabled=disabled,
        label_visibility="collapsed" if number else "visible",
    )


def solution_ui(question: Question, chosen: int | None) -> None:
    """Right or wrong, the step-by-step solution and the common mistakes."""
    answer = option_label(question, question.answer)
    if is_correct(question, chosen):
        st.success(f"Right! **{answer}**", icon=":material/check_circle:")
    else:
        picked = option_label(question, chosen) if chosen is not None else "nothing"
        st.error(f"Not quite: you picked {picked}. The answer is **{answer}**.", icon=":material/cancel:")
    st.markdown("**Solution, step by step**")
    st.markdown("\n".join(f"{n}. {step}" for n, step in enumerate(question.solution, start=1)))
    st.markdown("**Common mistakes**")
    st.markdown("\n".join(f"- {mistake}" for mistake in question.mistakes))


def header_ui(number: int, total: int, question: Question) -> None:
    """'Question 3 of 15 · medium · tags'."""
    tags = " · ".join(question.tags)
    st.markdown(f"**Question {number} of {total}** {DIFFICULTY_BADGE[question.difficulty]} :gray[{tags}]")


# --- practice mode ---------------------------------------------------------------------------------


def _practice_move(step: int, count: int) -> None:
    st.session_state.qz_p_index = (st.session_state.qz_p_index + step) % count


def _practice_submit(question: Question) -> None:
    st.session_state.qz_p_answers[question.id] = st.session_state[f"qz_p_{question.id}"]


def _practice_retry(question: Question) -> None:
    st.session_state.qz_p_answers.pop(question.id, None)
    st.session_state.qz_p_hints.discard(question.id)
    st.session_state.pop(f"qz_p_{question.id}", None)


def practice_ui(all_questions: tuple[Question, ...]) -> None:
    """One question at a time: hint on request, then right/wrong, solution and common mistakes."""
    state = st.session_state
    state.setdefault("qz_p_index", 0)
    state.setdefault("qz_p_answers", {})
    state.setdefault("qz_p_hints", set())
    count = len(all_questions)
    right = sum(is_correct(q, state.qz_p_answers.get(q.id)) for q in all_questions if q.id in state.qz_p_answers)
    st.progress(len(state.qz_p_answers) / count, f"{len(state.qz_p_answers)} of {count} answered, {right} right")

    question = all_questions[state.qz_p_index]
    submitted = question.id in state.qz_p_answers
    if submitted:  # widget state is dropped while a question is off screen: show the saved choice again
        state[f"qz_p_{question.id}"] = state.qz_p_answers[question.id]
    header_ui(state.qz_p_index + 1, count, question)
    choice = question_ui(question, f"qz_p_{question.id}", disabled=submitted)

    hint, check, retry, back, forward = st.columns([1, 1, 1, 1, 1])
    if hint.button("Show hint", icon=":material/lightbulb:", key="qz_p_hint", disabled=submitted, width="stretch"):
        state.qz_p_hints.add(question.id)
    check.button(
        "Check answer",
        key="qz_p_check",
        type="primary",
        disabled=submitted or choice is None,
        on_click=_practice_submit,
        args=(question,),
        width="stretch",
    )
    retry.button(
        "Try again",
        key="qz_p_retry",
        disabled=not submitted,
        on_click=_practice_retry,
        args=(question,),
        width="stretch",
    )
    back.button("← Previous", key="qz_p_prev", on_click=_practice_move, args=(-1, count), width="stretch")
    forward.button("Next →", key="qz_p_next", on_click=_practice_move, args=(1, count), width="stretch")

    if question.id in state.qz_p_hints and not submitted:
        st.info(f"**Hint:** {question.hint}", icon=":material/lightbulb:")
    if submitted:
        solution_ui(question, state.qz_p_answers[question.id])


# --- test mode -------------------------------------------------------------------------------------


def _test_start() -> None:
    state = st.session_state
    state.qz_t_attempt = state.get("qz_t_attempt", -1) + 1
    state.qz_t_ids = [q.id for q in select_test(questions(), seed=state.qz_t_attempt)]
    state.qz_t_choices = {}


def _test_answer(question: Question, key: str) -> None:
    st.session_state.qz_t_choices[question.id] = st.session_state[key]


def test_ui(all_questions: tuple[Question, ...]) -> None:
    """Ten questions (easy, medium, hard), then the score by difficulty and a review of wrong answers."""
    state = st.session_state
    if "qz_t_ids" not in state:
        st.write(
            "Ten questions: 3 easy, 4 medium, 3 hard, one at a time. You see your score by difficulty "
            "at the end, with the solutions of the ones you missed."
        )
        st.button("Start the test", key="qz_t_start", type="primary", on_click=_test_start)
        return
    by_id = {q.id: q for q in all_questions}
    test = [by_id[i] for i in state.qz_t_ids]
    position = len(state.qz_t_choices)
    if position < len(test):
        question = test[position]
        st.progress(position / len(test))
        header_ui(position + 1, len(test), question)
        key = f"qz_t_{state.qz_t_attempt}_{question.id}"
        choice = question_ui(question, key)
        last = position == len(test) - 1
        st.button(
            "Finish" if last else "Next →",
            key="qz_t_next",
            type="primary",
            disabled=choice is None,
            on_click=_test_answer,
            args=(question, key),
        )
        return
    score_ui(score_test(test, state.qz_t_choices))
    st.button("Take a new test", key="qz_t_retry", type="primary", on_click=_test_start)


def score_chart(score: TestScore) -> go.Figure:
    """Bars: percent right per difficulty, labelled 'right / asked'."""
    colors = {"easy": "#2a9d8f", "medium": "#e9a23b", "hard": "#d1495b"}
    figure = go.Figure(
        go.Bar(
            x=[s.difficulty for s in score.by_difficulty],
            y=[100 * s.correct / s.total for s in score.by_difficulty],
            text=[f"{s.correct} / {s.total}" for s in score.by_difficulty],
            marker_color=[colors[s.difficulty] for s in score.by_difficulty],
            textposition="outside",
        )
    )
    figure.update_layout(
        yaxis={"title": "% right", "range": [0, 115]}, height=280, margin={"t": 10, "b": 10, "l": 10, "r": 10}
    )
    return figure


def score_ui(score: TestScore) -> None:
    """The score, by difficulty, and every wrong answer with its solution."""
    total, chart = st.columns([1, 2])
    total.metric("Your score", f"{score.correct} / {score.total}")
    total.caption(f"{score.percent:.0f} % right")
    for s in score.by_difficulty:
        total.markdown(f"{DIFFICULTY_BADGE[s.difficulty]} {s.correct} of {s.total} right")
    chart.plotly_chart(score_chart(score), key="qz_t_chart", config={"displayModeBar": False})
    if not score.wrong:
        st.success("Everything right. Well done!", icon=":material/celebration:")
        return
    st.markdown(f"**Review: the {len(score.wrong)} you missed**")
    for review in score.wrong:
        with st.expander(f"{DIFFICULTY_BADGE[review.question.difficulty]} {review.question.prompt}"):
            if review.question.code:
                st.code(review.question.code, language="python")
            solution_ui(review.question, review.chosen)


# --- exercise 1: the shape-mismatch lab ------------------------------------------------------------


def _lab_apply_fix() -> None:
    st.session_state.qz_lab_shortcut = "projection"


def lab_spec_ui() -> BlockSpec:
    """Widgets for one residual block; returns the spec they describe."""
    left, right = st.columns(2)
    in_channels = left.selectbox("Input channels", CHANNELS, index=3, key="qz_lab_in")
    size = left.selectbox("Input height = width", SIZES, index=5, key="qz_lab_size")
    out_channels = right.selectbox("Output channels (conv1, conv2)", CHANNELS, index=4, key="qz_lab_out")
    stride = right.radio("Stride of conv1", [1, 2], index=1, horizontal=True, key="qz_lab_stride")
    shortcut = st.radio("Shortcut", list(SHORTCUTS), format_func=SHORTCUT_LABELS.get, key="qz_lab_shortcut")
    return BlockSpec(in_channels, size, out_channels, stride, shortcut)


def lab_dot(result: LabResult) -> str:
    """Graphviz DOT of the block, each box showing its output shape (C×H×W); a failed add is red."""
    spec, red, grey = result.spec, "#d1495b", "#555555"
    shapes = {step.name: step.shape for step in result.steps}

    def box(node: str, text: str, step: str, fill: str = "#f4f1ea") -> str:
        shape = shapes[step]
        size = "×".join(str(d) for d in shape[1:]) if shape else "not reached"
        return f'{node} [label="{text}\\n{size}" fillcolor="{fill}"];'

    lines = [
        "digraph block {",
        "rankdir=TB; bgcolor=transparent; nodesep=0.3; ranksep=0.25;",
        'node [shape=box style="rounded,filled" fontname="Helvetica" fontsize=14 margin="0.12,0.06"];',
        f'edge [color="{grey}" fontname="Helvetica" fontsize=12];',
        box("x", "input x", "input"),
        box("conv1", f"3×3 conv, stride {spec.stride}", "conv1"),
        box("bn1", "BN + ReLU", "bn1 + relu"),
        box("conv2", "3×3 conv + BN", "conv2 + bn2"),
        box("out", "ReLU: output", "output"),
        "x -> conv1 -> bn1 -> conv2;",
    ]
    if spec.shortcut == "none":
        lines.append("conv2 -> out;")
    else:
        color = grey if result.ok else red
        fill = "#f4f1ea" if result.ok else "#f6d5da"
        lines += [
            f'add [label="+" shape=circle fillcolor="{fill}" color="{color}" fontsize=20];',
            f'conv2 -> add [color="{color}"]; add -> out;',
        ]
        if spec.shortcut == "projection":
            lines += [
                box("proj", f"1×1 conv, stride {spec.stride} + BN", "shortcut", "#e3eef7"),
                "x -> proj -> add;",
            ]
        else:
            size = "×".join(str(d) for d in shapes["shortcut"][1:])
            lines.append(f'x -> add [label="identity: {size}" color="{color}" fontcolor="{color}"];')
    lines.append("}")
    return "\n".join(lines)


def lab_result_ui(result: LabResult) -> None:
    """The error (verbatim) with what broke and the fix, or the success; then the diagram and table."""
    notes = "\n".join(f"- **{heading}:** {text}" for heading, text in result.explanation)
    if len(result.explanation) == 1:
        notes = notes.removeprefix("- ")
    if result.ok:
        st.success(notes, icon=":material/check_circle:")
    else:
        st.error("PyTorch raised `RuntimeError` at the add:", icon=":material/error:")
        st.code(result.error, language=None, wrap_lines=True)
        st.markdown(notes)
        if result.fix is not None:
            st.button("Apply the fix: 1×1 projection", key="qz_lab_fix", on_click=_lab_apply_fix)
    diagram, table = st.columns([2, 3])
    diagram.caption("Each box shows the shape it outputs: channels × height × width (batch size 1).")
    diagram.graphviz_chart(lab_dot(result))
    rows = [
        {"Step": s.name, "What it does": s.op, "Shape (N, C, H, W)": str(s.shape) if s.shape else "–"}
        for s in result.steps
    ]
    table.dataframe(rows, hide_index=True, width="stretch")


def lab_ui() -> None:
    """Exercise 1: build a residual block, run a real tensor through it, see each shape or the error."""
    st.write(
        "A residual block adds its input x to the output of two 3×3 convolutions. That only works if "
        "both have the **same shape**. Build a block, press **Run**, and PyTorch runs a real tensor "
        "through it."
    )
    spec = lab_spec_ui()
    if st.button("Run", key="qz_lab_run", type="primary"):
        st.session_state.qz_lab_ran = True
    if st.session_state.get("qz_lab_ran"):
        lab_result_ui(lab_run(spec.in_channels, spec.size, spec.out_channels, spec.stride, spec.shortcut))


# --- exercise 2: predict the output ----------------------------------------------------------------


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


# --- the short Model Quiz at the end of Pipeline Trace ---------------------------------------------


def model_quiz_ui() -> None:
    """The lesson's Model Quiz: a few questions in one form, checked together."""
    quiz = model_quiz(questions())
    st.subheader(f"Model Quiz: {len(quiz)} questions")
    st.caption("Test your understanding. More practice, a 10-question test and two exercises on the Quiz page.")
    with st.form("mq_form"):
        for number, question in enumerate(quiz, start=1):
            question_ui(question, f"mq_{question.id}", number=number)
        submitted = st.form_submit_button("Check my answers", type="primary")
    if submitted:
        st.session_state.mq_checked = True
    if not st.session_state.get("mq_checked"):
        return
    for number, question in enumerate(quiz, start=1):
        chosen = st.session_state.get(f"mq_{question.id}")
        mark = CORRECT_MARK if is_correct(question, chosen) else WRONG_MARK
        st.markdown(
            f"{mark} **{number}.** Answer: {option_label(question, question.answer)}  \n:gray[{question.solution[0]}]"
        )
