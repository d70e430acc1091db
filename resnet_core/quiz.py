"""Quiz: load and check the question file, settle code answers by running them, grade, pick a test.

The questions live in ``assets/quiz.json`` (data, not branches). A question whose answer depends on
what code does names a *check*: a function here that runs real PyTorch and returns the option the
run selects plus facts that fill ``{placeholders}`` in the prompt and solution. ``resolve`` applies
it, so the answer a learner is shown always comes from the run. Grading functions are pure.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from resnet_core.quiz_exercises import BlockSpec, SimpleResBlock, block_shortcut_params, predict_output, run_block

__all__ = [
    "CHECKS",
    "DEFAULT_PATH",
    "DIFFICULTIES",
    "TEST_PLAN",
    "CheckRun",
    "DifficultyScore",
    "Question",
    "QuizFormatError",
    "Review",
    "TestScore",
    "is_correct",
    "letter",
    "load_questions",
    "model_quiz",
    "parse_questions",
    "practice_set",
    "resolve",
    "resolve_all",
    "review_wrong",
    "score_test",
    "select_test",
]

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "assets" / "quiz.json"
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
# Questions per difficulty in one Test run (10 in all).
TEST_PLAN: dict[str, int] = {"easy": 3, "medium": 4, "hard": 3}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class QuizFormatError(ValueError):
    """The question file has an entry that does not fit the schema."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question."""

    id: str
    prompt: str
    options: tuple[str, ...]
    answer: int  # index into options (the file writes a letter: A = 0)
    solution: tuple[str, ...]  # step by step
    hint: str
    mistakes: tuple[str, ...]  # common mistakes
    difficulty: str  # one of DIFFICULTIES
    tags: tuple[str, ...] = ()
    code: str | None = None  # code shown with the prompt
    check: str | None = None  # name in CHECKS: the answer depends on running code
    model_quiz: bool = False  # part of the short quiz at the end of the Pipeline Trace page
    practice: bool = True  # in Practice and Test modes (False: only in the Model Quiz)
    source: str = "new"  # where it comes from ("seed: Practice 3", "new")

    @property
    def answer_text(self) -> str:
        """The correct option's text."""
        return self.options[self.answer]


def letter(index: int) -> str:
    """Option letter of an index: 0 -> A."""
    return chr(ord("A") + index)


# --- schema ----------------------------------------------------------------------------------------

_REQUIRED: dict[str, type] = {
    "id": str,
    "prompt": str,
    "options": list,
    "answer": str,
    "solution": list,
    "hint": str,
    "mistakes": list,
    "difficulty": str,
    "tags": list,
}
_OPTIONAL: dict[str, type] = {"code": str, "check": str, "model_quiz": bool, "practice": bool, "source": str}


def _parse_entry(entry: object, where: str) -> Question:
    """One file entry -> Question, or QuizFormatError naming the entry and the field."""
    if not isinstance(entry, dict):
        raise QuizFormatError(f"{where}: must be an object, got {type(entry).__name__}")
    unknown = set(entry) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        raise QuizFormatError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for name, kind in {**_REQUIRED, **_OPTIONAL}.items():
        if name not in entry:
            if name in _REQUIRED:
                raise QuizFormatError(f"{where}: missing field {name!r}")
            continue
        if not isinstance(entry[name], kind):
            raise QuizFormatError(f"{where}: {name!r} must be {kind.__name__}, got {type(entry[name]).__name__}")
    for name in ("options", "solution", "mistakes", "tags"):
        if not all(isinstance(item, str) and item.strip() for item in entry[name]):
            raise QuizFormatError(f"{where}: every item of {name!r} must be a non-empty string")
    for name in ("id", "prompt", "hint"):
        if not entry[name].strip():
            raise QuizFormatError(f"{where}: {name!r} is empty")
    options = tuple(entry["options"])
    if not 2 <= len(options) <= 6 or len(set(options)) != len(options):
        raise QuizFormatError(f"{where}: needs 2 to 6 different options, got {len(options)}")
    letters = [letter(i) for i in range(len(options))]
    if entry["answer"] not in letters:
        raise QuizFormatError(f"{where}: 'answer' must be one of {', '.join(letters)}, got {entry['answer']!r}")
    if entry["difficulty"] not in DIFFICULTIES:
        raise QuizFormatError(
            f"{where}: 'difficulty' must be one of {', '.join(DIFFICULTIES)}, got {entry['difficulty']!r}"
        )
    if not entry["solution"] or not entry["mistakes"]:
        raise QuizFormatError(f"{where}: 'solution' and 'mistakes' need at least one item each")
    check = entry.get("check")
    if check is not None and check not in CHECKS:
        raise QuizFormatError(f"{where}: unknown check {check!r}; known: {', '.join(CHECKS)}")
    return Question(
        id=entry["id"],
        prompt=entry["prompt"],
        options=options,
        answer=letters.index(entry["answer"]),
        solution=tuple(entry["solution"]),
        hint=entry["hint"],
        mistakes=tuple(entry["mistakes"]),
        difficulty=entry["difficulty"],
        tags=tuple(entry["tags"]),
        code=entry.get("code"),
        check=check,
        model_quiz=entry.get("model_quiz", False),
        practice=entry.get("practice", True),
        source=entry.get("source", "new"),
    )


def parse_questions(data: object, source: str = "quiz") -> tuple[Question, ...]:
    """Check a decoded question file against the schema and return its questions."""
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuizFormatError(f"{source}: expected an object with a 'questions' list")
    questions = []
    for number, entry in enumerate(data["questions"], start=1):
        label = entry.get("id", "?") if isinstance(entry, dict) else "?"
        questions.append(_parse_entry(entry, f"{source}: question {number} ({label!r})"))
    ids = [q.id for q in questions]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise QuizFormatError(f"{source}: duplicate id(s) {', '.join(duplicates)}")
    return tuple(questions)


def load_questions(path: Path | str = DEFAULT_PATH) -> tuple[Question, ...]:
    """Read and schema-check a question file (answers as written; see ``resolve_all``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise QuizFormatError(f"{path.name}: not valid JSON ({exc})") from exc
    return parse_questions(data, path.name)


# --- checks: the answers that depend on code come from running it -----------------------------------


@dataclass(frozen=True)
class CheckRun:
    """What running a question's code gave."""

    answer_text: str | None = None  # the option the run selects (None: the run only supplies facts)
    facts: Mapping[str, str] = field(default_factory=dict)  # fill {placeholders} in prompt and solution


def _check_simple_res_block() -> CheckRun:
    printed = predict_output(weight=0.0, bias=1.0, input_value=1.0).printed
    return CheckRun(printed, {"printed": printed})


def _add_error_of_seed_block(in_channels: int, out_channels: int) -> str:
    """Run the seed's ``out = conv(x); out = relu(out); out = out + x`` with a channel-changing conv."""
    block = SimpleResBlock(in_channels=in_channels, out_channels=out_channels)
    try:
        with torch.no_grad():
            block(torch.ones(1, in_channels, 8, 8))
    except RuntimeError as exc:
        return str(exc)
    raise AssertionError("a channel-changing block added without error")


def _check_channel_mismatch_error() -> CheckRun:
    return CheckRun(
        facts={
            "error": _add_error_of_seed_block(128, 64),
            "error_reversed": _add_error_of_seed_block(64, 128),
        }
    )


def _check_projection_shapes() -> CheckRun:
    projected = run_block(BlockSpec(64, 32, 128, 2, "projection"))
    identity = run_block(BlockSpec(64, 32, 128, 2, "identity"))
    return CheckRun(
        facts={
            "main": str(projected.shape("conv2 + bn2")),
            "projected": str(projected.shape("shortcut")),
            "identity_error": identity.error or "",
        }
    )


def _check_gap_shape() -> CheckRun:
    with torch.no_grad():
        shape = str(tuple(nn.AdaptiveAvgPool2d((1, 1))(torch.zeros(1, 512, 7, 7)).shape))
    return CheckRun(shape, {"shape": shape})


def _check_conv1x1_shape() -> CheckRun:
    with torch.no_grad():
        proj = nn.Conv2d(64, 128, kernel_size=1, stride=2, bias=False)
        shape = str(tuple(proj(torch.zeros(1, 64, 56, 56)).shape))
    return CheckRun(shape, {"shape": shape})


def _check_identity_shortcut_params() -> CheckRun:
    params = f"{block_shortcut_params(64, 64, 1):,}"
    return CheckRun(params, {"params": params})


def _check_projection_params() -> CheckRun:
    params = f"{block_shortcut_params(64, 128, 2):,}"
    return CheckRun(params, {"params": params})


CHECKS: dict[str, Callable[[], CheckRun]] = {
    "simple_res_block": _check_simple_res_block,
    "channel_mismatch_error": _check_channel_mismatch_error,
    "projection_shapes": _check_projection_shapes,
    "gap_shape": _check_gap_shape,
    "conv1x1_shape": _check_conv1x1_shape,
    "identity_shortcut_params": _check_identity_shortcut_params,
    "projection_params": _check_projection_params,
}


def _fill(text: str, facts: Mapping[str, str], where: str) -> str:
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(facts))
    if missing:
        raise QuizFormatError(f"{where}: placeholder(s) {', '.join(missing)} not supplied by its check")
    return _PLACEHOLDER.sub(lambda m: facts[m.group(1)], text)


def resolve(question: Question) -> Question:
    """Run the question's check: the answer becomes the option the run selects, placeholders get facts."""
    run = CHECKS[question.check]() if question.check else CheckRun()
    where = f"question {question.id!r}"
    answer = question.answer
    if run.answer_text is not None:
        if run.answer_text not in question.options:
            raise QuizFormatError(f"{where}: the run gave {run.answer_text!r}, which is none of the options")
        answer = question.options.index(run.answer_text)
    return replace(
        question,
        prompt=_fill(question.prompt, run.facts, where),
        solution=tuple(_fill(step, run.facts, where) for step in question.solution),
        answer=answer,
    )


def resolve_all(path: Path | str = DEFAULT_PATH) -> tuple[Question, ...]:
    """Load the question file and resolve every question (what the app shows)."""
    return tuple(resolve(q) for q in load_questions(path))


# --- grading (pure) ----------------------------------------------------------------------------------


def is_correct(question: Question, choice: int | None) -> bool:
    """Practice: is the chosen option index the answer?"""
    return choice == question.answer


def practice_set(questions: Sequence[Question]) -> tuple[Question, ...]:
    """The questions of Practice mode (and the pool of Test mode)."""
    return tuple(q for q in questions if q.practice)


def model_quiz(questions: Sequence[Question]) -> tuple[Question, ...]:
    """The short quiz shown at the end of the Pipeline Trace page."""
    return tuple(q for q in questions if q.model_quiz)


def select_test(questions: Sequence[Question], seed: int, plan: Mapping[str, int] = TEST_PLAN) -> tuple[Question, ...]:
    """Pick a Test run: ``plan[d]`` questions of each difficulty, easy first; the same seed, the same test."""
    rng = random.Random(seed)
    chosen: list[Question] = []
    for difficulty in DIFFICULTIES:
        pool = [q for q in questions if q.practice and q.difficulty == difficulty]
        wanted = plan.get(difficulty, 0)
        if len(pool) < wanted:
            raise ValueError(f"need {wanted} {difficulty} questions for a test, the file has {len(pool)}")
        chosen.extend(rng.sample(pool, wanted))
    return tuple(chosen)


@dataclass(frozen=True)
class DifficultyScore:
    """Correct answers out of the questions of one difficulty."""

    difficulty: str
    correct: int
    total: int


@dataclass(frozen=True)
class Review:
    """A question answered wrongly (or not at all) in a test."""

    question: Question
    chosen: int | None


@dataclass(frozen=True)
class TestScore:
    """The result of a Test run."""

    correct: int
    total: int
    by_difficulty: tuple[DifficultyScore, ...]
    wrong: tuple[Review, ...]

    @property
    def percent(self) -> float:
        """Score in percent (0 for an empty test)."""
        return 100.0 * self.correct / self.total if self.total else 0.0


def review_wrong(questions: Sequence[Question], choices: Mapping[str, int | None]) -> tuple[Review, ...]:
    """The questions whose choice (by question id) is not the answer, in test order."""
    return tuple(Review(q, choices.get(q.id)) for q in questions if not is_correct(q, choices.get(q.id)))


def score_test(questions: Sequence[Question], choices: Mapping[str, int | None]) -> TestScore:
    """Score a Test run: total, per difficulty, and the review of wrong answers."""
    by_difficulty = tuple(
        DifficultyScore(
            d,
            sum(is_correct(q, choices.get(q.id)) for q in questions if q.difficulty == d),
            sum(q.difficulty == d for q in questions),
        )
        for d in DIFFICULTIES
        if any(q.difficulty == d for q in questions)
    )
    correct = sum(s.correct for s in by_difficulty)
    return TestScore(correct, len(questions), by_difficulty, review_wrong(questions, choices))
