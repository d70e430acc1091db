"""The question file, its schema check, the run-checked answers, grading and test selection."""

import copy
import json
import subprocess
import sys

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from resnet_core.quiz import (
    CHECKS,
    DEFAULT_PATH,
    DIFFICULTIES,
    TEST_PLAN,
    QuizFormatError,
    is_correct,
    letter,
    load_questions,
    model_quiz,
    parse_questions,
    practice_set,
    resolve,
    resolve_all,
    review_wrong,
    score_test,
    select_test,
)
from resnet_core.quiz_exercises import predict_output

SEED_Q4_MESSAGE = "The size of tensor a (64) must match the size of tensor b (128) at non-singleton dimension 1"
# Seed question -> (answer letter, answer text), as the lesson gives them.
SEED_ANSWERS = {
    "skip-purpose-model-quiz": ("B", "To let information flow directly and avoid forgetting"),
    "skip-purpose": ("C", "To allow information to flow directly across layers, helping training"),
    "skip-add-syntax": ("D", "out = x + out"),
    "predict-simple-res-block": ("A", "2.0"),
    "channel-mismatch-error": (
        "A",
        "The convolution changes the number of channels, so shapes don't match for addition",
    ),
    "projection-for-stride-2": (
        "B",
        "Use a 1x1 convolution with stride 2 on the input to match shape before addition",
    ),
}


@pytest.fixture(scope="module")
def raw() -> dict:
    return json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def questions():
    return load_questions()


@pytest.fixture(scope="module")
def resolved():
    return resolve_all()


def test_every_entry_of_the_question_file_validates(questions):
    assert len({q.id for q in questions}) == len(questions)
    for q in questions:
        assert q.difficulty in DIFFICULTIES
        assert q.solution and q.mistakes and q.hint and q.tags
        assert 0 <= q.answer < len(q.options)


def test_at_least_ten_practice_questions_across_easy_medium_hard(questions):
    pool = practice_set(questions)
    assert len(pool) >= 10
    for difficulty, wanted in TEST_PLAN.items():
        assert sum(q.difficulty == difficulty for q in pool) >= wanted


def test_every_seed_question_is_there_with_the_seed_answer(questions):
    by_id = {q.id: q for q in questions}
    for qid, (answer_letter, answer_text) in SEED_ANSWERS.items():
        assert letter(by_id[qid].answer) == answer_letter
        assert by_id[qid].answer_text == answer_text
        assert by_id[qid].source.startswith("seed")


def test_new_questions_cover_the_topics_of_the_issue(questions):
    tags = {tag for q in questions if q.source == "new" for tag in q.tags}
    assert {"projection shortcut", "parameters", "relu", "global average pooling", "degradation"} <= tags
    degradation = next(q for q in questions if "degradation" in q.tags)
    assert "training error" in degradation.answer_text


def test_model_quiz_holds_the_seed_model_quiz_question(questions):
    ids = [q.id for q in model_quiz(questions)]
    assert "skip-purpose-model-quiz" in ids
    assert "skip-purpose-model-quiz" not in [q.id for q in practice_set(questions)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("hint"), "missing field 'hint'"),
        (lambda e: e.update(answer="E"), "'answer' must be one of A, B, C, D, got 'E'"),
        (lambda e: e.update(difficulty="tricky"), "'difficulty' must be one of easy, medium, hard"),
        (lambda e: e.update(check="nope"), "unknown check 'nope'"),
        (lambda e: e.update(options="A or B"), "'options' must be list"),
        (lambda e: e.update(mistakes=[]), "'mistakes' need at least one item"),
        (lambda e: e.update(colour="red"), "unknown field(s) colour"),
        (lambda e: e.update(options=["same", "same"], answer="A"), "2 to 6 different options"),
    ],
)
def test_broken_entry_is_rejected_with_a_clear_message(raw, change, message):
    data = copy.deepcopy(raw)
    change(data["questions"][1])
    with pytest.raises(QuizFormatError, match="question 2 \\('skip-purpose'\\)") as error:
        parse_questions(data, "quiz.json")
    assert message in str(error.value)


def test_duplicate_ids_and_bad_json_are_rejected(raw, tmp_path):
    data = copy.deepcopy(raw)
    data["questions"].append(copy.deepcopy(data["questions"][0]))
    with pytest.raises(QuizFormatError, match="duplicate id"):
        parse_questions(data)
    bad = tmp_path / "quiz.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(QuizFormatError, match="not valid JSON"):
        load_questions(bad)


def test_every_code_answer_key_agrees_with_the_run(questions):
    checked = [q for q in questions if q.check]
    assert {q.check for q in checked} == set(CHECKS)
    for q in checked:
        assert resolve(q).answer == q.answer, q.id


def test_every_placeholder_is_filled_from_a_run(resolved):
    for q in resolved:
        for text in (q.prompt, *q.solution):
            assert "{" not in text, (q.id, text)


def test_seed_q3_answer_and_solution_come_from_the_run(resolved):
    q3 = next(q for q in resolved if q.id == "predict-simple-res-block")
    assert q3.answer_text == predict_output(0.0, 1.0, 1.0).printed == "2.0"
    solution = " ".join(q3.solution)
    assert "weights are all 0.0" in solution
    assert "exactly its bias: 1.0" in solution
    assert "ReLU keeps 1.0" in solution
    assert "1.0 + 1.0 = 2.0" in solution
    assert "some positive values" not in solution


def test_seed_q4_shows_the_message_pytorch_raises(resolved):
    with pytest.raises(RuntimeError) as reference:
        torch.ones(1, 64, 8, 8) + torch.ones(1, 128, 8, 8)
    q4 = next(q for q in resolved if q.id == "channel-mismatch-error")
    assert str(reference.value) == SEED_Q4_MESSAGE
    assert f'"{SEED_Q4_MESSAGE}"' in q4.prompt


def test_seed_q5_solution_reports_matching_projected_shape(resolved):
    q5 = next(q for q in resolved if q.id == "projection-for-stride-2")
    reference = nn.Conv2d(64, 128, kernel_size=1, stride=2)(torch.zeros(1, 64, 32, 32))
    assert f"turns x into {tuple(reference.shape)}" in " ".join(q5.solution)
    assert f"gives {tuple(reference.shape)} on the main path" in " ".join(q5.solution)


def test_shape_and_parameter_answers_match_torch_references(resolved):
    by_id = {q.id: q for q in resolved}
    gap = nn.AdaptiveAvgPool2d((1, 1))(torch.zeros(1, 512, 7, 7))
    assert by_id["gap-shape"].answer_text == str(tuple(gap.shape))
    downsample = resnet18(weights=None).layer2[0].downsample
    projection_params = sum(p.numel() for p in downsample.parameters())
    assert by_id["projection-param-count"].answer_text == f"{projection_params:,}"
    identity = resnet18(weights=None).layer1[0].downsample
    assert identity is None
    assert by_id["identity-no-params"].answer_text == "0"


def test_is_correct_compares_the_chosen_index_with_the_answer(questions):
    q = questions[0]
    assert is_correct(q, q.answer)
    assert not is_correct(q, (q.answer + 1) % len(q.options))
    assert not is_correct(q, None)


def test_select_test_gives_three_four_three_and_is_deterministic(questions):
    first = select_test(questions, seed=7)
    assert [q.difficulty for q in first] == ["easy"] * 3 + ["medium"] * 4 + ["hard"] * 3
    assert len({q.id for q in first}) == 10
    assert all(q.practice for q in first)
    assert [q.id for q in select_test(questions, seed=7)] == [q.id for q in first]
    assert len({tuple(q.id for q in select_test(questions, seed=s)) for s in range(5)}) > 1


def test_select_test_explains_a_too_small_pool(questions):
    with pytest.raises(ValueError, match="need 30 hard questions"):
        select_test(questions, seed=0, plan={"hard": 30})


def test_score_test_counts_by_difficulty_and_reviews_wrong_answers(questions):
    test = select_test(questions, seed=1)
    wrong = {test[0].id, test[5].id, test[9].id}
    choices = {q.id: (q.answer + 1) % len(q.options) if q.id in wrong else q.answer for q in test}
    choices[test[9].id] = None  # left unanswered: counted wrong
    score = score_test(test, choices)
    assert (score.correct, score.total) == (7, 10)
    assert score.percent == pytest.approx(70.0)
    assert [(s.difficulty, s.correct, s.total) for s in score.by_difficulty] == [
        ("easy", 2, 3),
        ("medium", 3, 4),
        ("hard", 2, 3),
    ]
    assert [r.question.id for r in score.wrong] == [test[0].id, test[5].id, test[9].id]
    assert score.wrong[-1].chosen is None
    assert review_wrong(test, {q.id: q.answer for q in test}) == ()


def test_engine_never_imports_streamlit():
    code = "import sys, resnet_core.quiz, resnet_core.quiz_exercises; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
