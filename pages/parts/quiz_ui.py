"""Widgets of the Quiz page (and the short Model Quiz at the end of Pipeline Trace).

UI functions draw and keep progress in ``st.session_state``; grading, question choice and the
exercises are engine calls (``resnet_core.quiz``, ``resnet_core.quiz_exercises``). Keys start with ``qz_``
on the Quiz page and ``mq_`` in the Model Quiz so they never collide with other pages' widgets.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

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

__all__ = ["model_quiz_ui", "practice_ui", "questions", "test_ui"]

DIFFICULTY_BADGE = {
    "easy": ":green-badge[easy]",
    "medium": ":orange-badge[medium]",
    "hard": ":red-badge[hard]",
}
CORRECT_MARK = ":green[:material/check_circle:]"
WRONG_MARK = ":red[:material/cancel:]"


# --- cached engine calls -------------------------------------------------------------------------------


@st.cache_data(show_spinner="Checking the answers by running the code…")
def questions() -> tuple[Question, ...]:
    """Every question, with code answers settled by running the code (once per server)."""
    return resolve_all()


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
    return go.Figure(  # data and layout in one constructor: plotly validates once
        go.Bar(
            x=[s.difficulty for s in score.by_difficulty],
            y=[100 * s.correct / s.total for s in score.by_difficulty],
            text=[f"{s.correct} / {s.total}" for s in score.by_difficulty],
            marker_color=[colors[s.difficulty] for s in score.by_difficulty],
            textposition="outside",
        ),
        layout={"yaxis": {"title": "% right", "range": [0, 115]}, "height": 280,
                "margin": {"t": 10, "b": 10, "l": 10, "r": 10}},
    )


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
