"""The question file, its schema check, the run-checked answers, grading and test selection."""

import copy
import json
from dataclasses import replace

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from resnet_core import quiz
from resnet_core.quiz import (
    CHECKS,
    DEFAULT_PATH,
    DIFFICULTIES,
    TEST_PLAN,
    CheckRun,
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
from resnet_core.quiz_exercises import Prediction, predict_output
from tests.conftest import shared

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


@pytest.fixture(scope=shared)
def questions():
    return load_questions()


@pytest.fixture(scope=shared)
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


def test_messages_name_the_file_and_every_duplicate(raw, tmp_path):
    data = copy.deepcopy(raw)
    data["questions"] += copy.deepcopy(data["questions"][:2])
    with pytest.raises(QuizFormatError) as error:
        parse_questions(data, "mine.json")
    assert str(error.value) == "mine.json: duplicate id(s) skip-purpose, skip-purpose-model-quiz"
    data["questions"][0]["answer"] = "Z"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(QuizFormatError, match=r"^mine\.json: question 1 "):
        load_questions(path)


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
    assert [r.chosen for r in score.wrong] == [choices[test[0].id], choices[test[5].id], None]
    assert score.wrong[-1].chosen is None
    assert review_wrong(test, {q.id: q.answer for q in test}) == ()


# --- the answer shown is the one the run gives, not the one the file wrote ------------------------------


def _torch_references() -> dict[str, str]:
    """What each answer-giving check must select, computed here with torch alone."""
    with torch.no_grad():
        block_out = torch.relu(torch.nn.functional.conv2d(
            torch.ones(1, 3, 5, 5), torch.zeros(3, 3, 3, 3), torch.ones(3), padding=1)) + torch.ones(1, 3, 5, 5)
        conv = nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False)(torch.zeros(1, 64, 56, 56))
    projection = resnet18(weights=None).layer2[0].downsample
    return {
        "predict-simple-res-block": str(block_out[0, 0, 0, 0].item()),
        "gap-shape": str(tuple(nn.AdaptiveAvgPool2d((1, 1))(torch.zeros(1, 512, 7, 7)).shape)),
        "conv1x1-shape": str(tuple(conv.shape)),
        "identity-no-params": "0",
        "projection-param-count": f"{sum(p.numel() for p in projection.parameters()):,}",
    }


def test_a_wrong_answer_in_the_file_is_corrected_by_the_run(questions):
    by_id = {q.id: q for q in questions}
    for qid, expected in _torch_references().items():
        written = by_id[qid]
        wrong = replace(written, answer=(written.answer + 1) % len(written.options))
        assert resolve(wrong).answer_text == expected, qid


@pytest.mark.parametrize(
    ("qid", "target", "patch"),
    [
        ("predict-simple-res-block", "predict_output", lambda *a, **k: Prediction(0.0, 1.0, 1.0, 0.0, "0.0")),
        ("identity-no-params", "block_shortcut_params", lambda *a: 36_864),
        ("projection-param-count", "block_shortcut_params", lambda *a: 73_728),
    ],
)
def test_the_shown_answer_changes_when_the_run_gives_another_result(questions, monkeypatch, qid, target, patch):
    question = next(q for q in questions if q.id == qid)
    monkeypatch.setattr(quiz, target, patch)
    resolved = resolve(question)
    ran = CHECKS[question.check]().answer_text
    assert ran != question.answer_text
    assert resolved.answer_text == ran
    assert any(ran in step for step in resolved.solution)


def test_placeholders_take_whatever_the_run_reports(questions, monkeypatch):
    question = next(q for q in questions if q.id == "gap-shape")
    monkeypatch.setitem(CHECKS, "gap_shape", lambda: CheckRun("(1, 25088)", {"shape": "(1, 25088)"}))
    resolved = resolve(question)
    assert resolved.answer_text == "(1, 25088)"
    assert "Running it gives (1, 25088)." in " ".join(resolved.solution)


def test_a_run_that_matches_no_option_or_misses_a_placeholder_is_refused(questions, monkeypatch):
    question = next(q for q in questions if q.id == "gap-shape")
    monkeypatch.setitem(CHECKS, "gap_shape", lambda: CheckRun("(2, 512)", {"shape": "(2, 512)"}))
    with pytest.raises(QuizFormatError) as error:
        resolve(question)
    assert str(error.value) == "question 'gap-shape': the run gave '(2, 512)', which is none of the options"
    monkeypatch.setitem(CHECKS, "gap_shape", lambda: CheckRun("(1, 512, 1, 1)", {}))
    with pytest.raises(QuizFormatError) as error:
        resolve(question)
    assert str(error.value) == "question 'gap-shape': placeholder(s) shape not supplied by its check"
    q4 = next(q for q in questions if q.id == "channel-mismatch-error")  # placeholders in the prompt and solution
    monkeypatch.setitem(CHECKS, "channel_mismatch_error", lambda: CheckRun())
    with pytest.raises(QuizFormatError) as error:
        resolve(q4)
    assert str(error.value) == "question 'channel-mismatch-error': placeholder(s) error not supplied by its check"
    two_missing = replace(question, prompt="Is it {size} or {kind}?")
    with pytest.raises(QuizFormatError) as error:
        resolve(two_missing)
    assert str(error.value) == "question 'gap-shape': placeholder(s) kind, size not supplied by its check"


def test_a_question_without_a_check_keeps_its_written_answer_and_text(questions):
    plain = next(q for q in questions if q.check is None)
    assert resolve(plain) == plain


def test_error_facts_are_the_messages_pytorch_raises(resolved):
    def message(a, b):
        with pytest.raises(RuntimeError) as error:
            torch.ones(a) + torch.ones(b)
        return str(error.value)

    q4 = next(q for q in resolved if q.id == "channel-mismatch-error")
    assert f'"{message((1, 128, 8, 8), (1, 64, 8, 8))}"' in " ".join(q4.solution)  # the reversed block
    q5 = next(q for q in resolved if q.id == "projection-for-stride-2")
    assert f'"{message((1, 128, 16, 16), (1, 64, 32, 32))}"' in " ".join(q5.solution)


def test_the_seed_block_check_refuses_a_block_that_does_not_break():
    with pytest.raises(AssertionError) as error:
        quiz._add_error_of_seed_block(64, 64)
    assert str(error.value) == "a channel-changing block added without error"


# --- the schema and the grading, case by case -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.update(model_quiz="yes"), "'model_quiz' must be bool, got str"),
        (lambda e: e.update(tags=["ok", " "]), "every item of 'tags' must be a non-empty string"),
        (lambda e: e.update(solution=["step", 3]), "every item of 'solution' must be a non-empty string"),
        (lambda e: e.update(prompt="  "), "'prompt' is empty"),
        (lambda e: e.update(hint=""), "'hint' is empty"),
        (lambda e: e.update(options=["only one"], answer="A"), "needs 2 to 6 different options, got 1"),
        (lambda e: e.update(options=list("abcdefg"), answer="A"), "needs 2 to 6 different options, got 7"),
        (lambda e: e.update(solution=[]), "'solution' and 'mistakes' need at least one item each"),
        (lambda e: e.update(answer="a"), "'answer' must be one of A, B, C, D, got 'a'"),
        (lambda e: e.update(colour="red", size=3), "unknown field(s) colour, size"),
        (lambda e: e.update(check="nope"), "unknown check 'nope'; known: simple_res_block, channel_mismatch_error, "
                                           "projection_shapes, gap_shape, conv1x1_shape, identity_shortcut_params, "
                                           "projection_params"),
    ],
)
def test_each_broken_field_has_its_own_message(raw, change, message):
    data = copy.deepcopy(raw)
    change(data["questions"][1])
    with pytest.raises(QuizFormatError) as error:
        parse_questions(data, "quiz.json")
    assert str(error.value) == f"quiz.json: question 2 ('skip-purpose'): {message}"


@pytest.mark.parametrize(("options", "answer", "index"), [("ab", "B", 1), ("abcdef", "F", 5)])
def test_two_to_six_options_and_the_last_letter_are_accepted(raw, options, answer, index):
    data = copy.deepcopy(raw)
    data["questions"][1].update(options=list(options), answer=answer)
    (question,) = [q for q in parse_questions(data) if q.id == "skip-purpose"]
    assert question.answer == index and question.answer_text == options[-1] and letter(index) == answer


def test_every_field_of_the_file_reaches_the_question(raw, questions):
    for entry, question in zip(raw["questions"], questions, strict=True):
        assert (question.id, question.prompt, question.hint, question.difficulty) == (
            entry["id"], entry["prompt"], entry["hint"], entry["difficulty"])
        assert (question.options, question.solution, question.mistakes, question.tags) == (
            tuple(entry["options"]), tuple(entry["solution"]), tuple(entry["mistakes"]), tuple(entry["tags"]))
        assert question.code == entry.get("code") and question.check == entry.get("check")
        assert question.model_quiz == entry.get("model_quiz", False)
        assert question.practice == entry.get("practice", True)
        assert question.source == entry.get("source", "new")
    assert any(q.code for q in questions) and any(q.source != "new" for q in questions)  # both kinds are there


def test_optional_fields_default_when_absent(raw):
    entry = {k: v for k, v in raw["questions"][1].items() if k in ("id", "prompt", "options", "answer", "solution",
                                                                   "hint", "mistakes", "difficulty", "tags")}
    (question,) = parse_questions({"questions": [entry]})
    assert (question.code, question.check, question.model_quiz, question.practice, question.source) == (
        None, None, False, True, "new")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "quiz: expected an object with a 'questions' list"),
        ({"questions": {}}, "quiz: expected an object with a 'questions' list"),
        ({"questions": ["text"]}, "quiz: question 1 ('?'): must be an object, got str"),
        ({"questions": [{"prompt": "no id"}]}, "quiz: question 1 ('?'): missing field 'id'"),
    ],
)
def test_a_file_of_the_wrong_shape_is_refused(data, message):
    with pytest.raises(QuizFormatError) as error:
        parse_questions(data)
    assert str(error.value) == message


def test_practice_and_model_quiz_pick_by_the_flags_in_the_file(raw, questions):
    entries = raw["questions"]
    assert [q.id for q in practice_set(questions)] == [e["id"] for e in entries if e.get("practice", True)]
    assert [q.id for q in model_quiz(questions)] == [e["id"] for e in entries if e.get("model_quiz", False)]
    assert 0 < len(model_quiz(questions)) < len(practice_set(questions)) < len(questions)


def test_score_of_an_empty_or_one_difficulty_test(questions):
    empty = score_test((), {})
    assert (empty.correct, empty.total, empty.percent, empty.by_difficulty, empty.wrong) == (0, 0, 0.0, (), ())
    easy = [q for q in practice_set(questions) if q.difficulty == "easy"][:2]
    score = score_test(easy, {easy[0].id: easy[0].answer})
    assert [(s.difficulty, s.correct, s.total) for s in score.by_difficulty] == [("easy", 1, 2)]
    assert score.percent == 50.0


def test_a_test_can_take_every_question_of_a_difficulty(raw, questions):
    hard = sum(e["difficulty"] == "hard" and e.get("practice", True) for e in raw["questions"])
    assert len(select_test(questions, seed=0, plan={"hard": hard})) == hard
    with pytest.raises(ValueError) as error:
        select_test(questions, seed=0, plan={"hard": hard + 1})
    assert str(error.value) == f"need {hard + 1} hard questions for a test, the file has {hard}"


def test_a_test_plan_can_leave_a_difficulty_out(questions):
    test = select_test(questions, seed=3, plan={"hard": 2})
    assert [q.difficulty for q in test] == ["hard", "hard"]
