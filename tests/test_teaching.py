"""What the app teaches agrees with the papers it cites, wherever it says it (quiz, stage texts, lab)."""

import json
import re
from pathlib import Path

from pages.parts.training_ui import GRADIENT_NOTE, INTRO
from resnet_core.stages import STAGES

QUIZ = json.loads((Path(__file__).resolve().parent.parent / "assets" / "quiz.json").read_text())["questions"]


def _texts(question: dict) -> list[str]:
    return [question["prompt"], *question["options"], *question["solution"], question.get("hint", ""),
            *question.get("mistakes", [])]


ALL = [text for q in QUIZ for text in _texts(q)] + [s.explain for s in STAGES] + [GRADIENT_NOTE, INTRO]


def test_every_mention_of_vanishing_gradients_tells_he_et_als_finding():
    # He et al. 2016, section 4.1: with BatchNorm the plain nets' gradients had healthy norms; degradation
    # is an optimisation difficulty. A sentence that names vanishing gradients must say so.
    for text in ALL:
        if re.search(r"vanish", text, re.I):
            assert "BatchNorm" in text and re.search(r"healthy", text), text


def test_no_mistake_list_calls_a_working_design_a_mistake():
    mistakes = " ".join(m for q in QUIZ for m in q.get("mistakes", []))
    assert not re.search(r"subtraction[^.;]*breaks", mistakes, re.I)  # x - F(x) trains: the branch learns -F
    assert not re.search(r"projection on every block", mistakes, re.I)  # the paper's option C works


def test_a_deeper_resnet_is_said_to_represent_the_shallower_one_not_to_be_always_as_good():
    assert not any(re.search(r"always be at least as good", text) for text in ALL)
    zero = next(q for q in QUIZ if q["id"] == "residual-learns-zero")
    assert any("ResNet-1202" in step and "7.93" in step and "6.43" in step for step in zero["solution"])


def test_f_of_x_zero_is_not_claimed_from_zero_weights_alone():
    for text in ALL:
        if re.search(r"(weights|weight) (of F )?go(es)? to zero|zero weights give", text):
            raise AssertionError(text)  # BatchNorm's shift remains: its scale and shift must go to zero


def test_the_lab_states_the_degradation_problem_as_the_paper_does():
    assert "higher training error" in INTRO and "not overfitting" in INTRO
    assert "plain-56 barely leaves chance" in INTRO  # what the CPU run shows, said plainly
