"""The Quiz page under AppTest: practice, a whole test run, both exercises, and the Model Quiz."""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from pages.parts.quiz_ui import CORRECT_MARK, WRONG_MARK, questions

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "quiz.py")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as markdown, alerts or code, in one string."""
    parts = [m.value for m in at.markdown]
    parts += [e.value for e in (*at.success, *at.error, *at.info)]
    parts += [c.value for c in at.code]
    return "\n".join(parts)


def test_practice_shows_hint_then_solution_and_common_mistakes(app):
    first = next(q for q in questions() if q.practice)
    app.button(key="qz_p_hint").click().run()
    assert f"**Hint:** {first.hint}" in [i.value for i in app.info]

    wrong = (first.answer + 1) % len(first.options)
    app.radio(key=f"qz_p_{first.id}").set_value(wrong).run()
    app.button(key="qz_p_check").click().run()
    shown = texts(app)
    assert "Not quite" in shown
    assert "**Solution, step by step**" in shown
    assert first.solution[0] in shown
    assert "**Common mistakes**" in shown
    assert first.mistakes[0] in shown
    assert app.get("progress")[0].proto.text == "1 of 14 answered, 0 right"


def test_practice_keeps_the_answer_when_navigating_and_try_again_clears_it(app):
    pool = [q for q in questions() if q.practice]
    app.button(key="qz_p_next").click().run()
    second = pool[1]
    app.radio(key=f"qz_p_{second.id}").set_value(second.answer).run()
    app.button(key="qz_p_check").click().run()
    assert any("Right!" in s.value for s in app.success)
    app.button(key="qz_p_next").click().run()
    app.button(key="qz_p_prev").click().run()
    assert app.radio(key=f"qz_p_{second.id}").value == second.answer  # the saved choice comes back
    app.button(key="qz_p_retry").click().run()
    assert not app.success
    assert app.radio(key=f"qz_p_{second.id}").value is None


def test_test_mode_plays_ten_questions_and_shows_score_by_difficulty(app):
    by_id = {q.id: q for q in questions()}
    app.button(key="qz_t_start").click().run()
    ids = app.session_state["qz_t_ids"]
    assert len(ids) == 10
    missed = set(ids[::4])  # 3 wrong answers: questions 1, 5 and 9
    for position, qid in enumerate(ids):
        q = by_id[qid]
        choice = (q.answer + 1) % len(q.options) if qid in missed else q.answer
        app.radio(key=f"qz_t_0_{qid}").set_value(choice).run()
        assert app.button(key="qz_t_next").label == ("Finish" if position == 9 else "Next →")
        app.button(key="qz_t_next").click().run()
    assert not app.exception
    score = next(m for m in app.metric if m.label == "Your score")
    assert score.value == "7 / 10"
    assert len(app.expander) == 3
    assert "**Review: the 3 you missed**" in texts(app)
    app.button(key="qz_t_retry").click().run()
    assert app.session_state["qz_t_attempt"] == 1
    assert app.session_state["qz_t_choices"] == {}


def test_lab_shows_pytorch_error_then_the_fix_runs(app):
    app.selectbox(key="qz_lab_in").set_value(128)
    app.selectbox(key="qz_lab_out").set_value(64)
    app.radio(key="qz_lab_stride").set_value(1)
    app.button(key="qz_lab_run").click().run()
    with pytest.raises(RuntimeError) as reference:
        torch.ones(1, 64, 32, 32) + torch.ones(1, 128, 32, 32)
    assert str(reference.value) in [c.value for c in app.code]
    assert "- **What broke:** channels (64 on the main path, 128 on the shortcut) differ" in texts(app)
    app.button(key="qz_lab_fix").click().run()
    assert app.radio(key="qz_lab_shortcut").value == "projection"
    assert any("1×1 projection turns x" in s.value for s in app.success)
    table = app.dataframe[0].value
    assert list(table["Shape (N, C, H, W)"])[-1] == "(1, 64, 32, 32)"


def test_predict_the_output_runs_the_code_and_grades_the_prediction(app):
    app.number_input(key="qz_pr_guess").set_value(1.0)
    app.button(key="qz_pr_run").click().run()
    assert "2.0" in [c.value for c in app.code]
    assert any("it prints 2.0" in e.value for e in app.error)
    app.select_slider(key="qz_pr_weight").set_value(0.5)
    app.number_input(key="qz_pr_guess").set_value(8.0)
    app.button(key="qz_pr_run").click().run()
    assert "8.0" in [c.value for c in app.code]  # bias 1 + 12 x 0.5 x 1 = 7, then + x = 8
    assert any("is right" in s.value for s in app.success)
    app.number_input(key="qz_pr_guess").set_value(8.25)  # one step of the input away: wrong
    app.button(key="qz_pr_run").click().run()
    assert [e.value for e in app.error] == ["You predicted 8.25; it prints 8.0."]


def model_quiz_script() -> None:
    from pages.parts.quiz_ui import model_quiz_ui

    model_quiz_ui()


def test_model_quiz_ui_checks_the_flagged_questions():
    at = AppTest.from_function(model_quiz_script, default_timeout=60).run()
    flagged = [q for q in questions() if q.model_quiz]
    assert at.subheader[0].value == f"Model Quiz: {len(flagged)} questions"
    assert all(r.key.startswith("mq_") for r in at.radio)
    at.radio(key=f"mq_{flagged[0].id}").set_value(flagged[0].answer)
    at.button[0].click().run()
    marks = [m.value for m in at.markdown if m.value.startswith((CORRECT_MARK, WRONG_MARK))]
    assert len(marks) == len(flagged)
    assert marks[0].startswith(CORRECT_MARK)
    assert all(m.startswith(WRONG_MARK) for m in marks[1:])
