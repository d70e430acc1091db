"""Every sentence the Training Lab writes about a run comes from the run's numbers: each rule, both ways."""

import re

import pytest

from resnet_core.training import Record
from resnet_core.training_report import (
    LESSON_EXAMPLE,
    degradation_verdict,
    epoch_table,
    gradient_observation,
    observation,
)


def _epoch(model="resnet", epoch=1, loss=1.0, acc=0.5, val=None):
    return Record("epoch", model, epoch * 10, epoch, loss, acc, 0.1, 100.0, 1.0, val_loss=1.0, val_acc=val)


def _say(acc=0.5, loss=1.0, previous=None, twin=None, shallower=None, val=None):
    text = observation(_epoch(acc=acc, loss=loss, val=val), previous, twin, 10, shallower, ("plain-56", "ResNet-20"))
    assert text[0].isupper()
    return text[0].lower() + text[1:]  # the rules below are checked on the words, whatever the first letter


@pytest.mark.parametrize(("acc", "near"), [(0.12, True), (0.149, True), (0.16, False), (0.4, False)])
def test_near_chance_only_below_chance_plus_5_points(acc, near):
    assert ("near chance (10%)" in _say(acc)) is near
    assert ("learns first features" in _say(acc)) is not near


def test_a_rising_loss_is_reported_as_measured_without_a_cause():
    text = _say(0.5, 1.05, previous=_epoch(loss=1.0, acc=0.5))
    assert "training loss rose 5% since epoch 1" in text and "too large" not in text and "unstable" not in text
    assert "rose" not in _say(0.5, 1.01, previous=_epoch(loss=1.0, acc=0.5))  # 1 %: flat


def test_a_flat_loss_is_converged_at_high_accuracy_and_slowed_otherwise():
    converged = _say(0.99, 0.1005, previous=_epoch(loss=0.1, acc=0.99))
    assert "converged: 99% training accuracy" in converged and "stall" not in converged and "slowed" not in converged
    slowed = _say(0.5, 1.0, previous=_epoch(loss=1.0, acc=0.49))
    assert "progress has slowed" in slowed and "converged" not in slowed


def test_a_falling_loss_reports_the_accuracy_change_in_words_not_signs():
    falls = _say(0.6, 0.8, previous=_epoch(loss=1.0, acc=0.5))
    assert "training loss falls 20%, training accuracy up 10 points" in falls
    assert "training accuracy down 5 points" in _say(0.45, 0.8, previous=_epoch(loss=1.0, acc=0.5))


def test_memorising_is_named_from_the_validation_gap_without_double_negatives():
    text = _say(0.9, val=0.5)
    assert "validation accuracy 40 points below training: memorising" in text and "−" not in text and "-" not in text
    assert "memorising" not in _say(0.9, val=0.8)  # 10 points: within the rule's 15


def test_the_twin_gap_says_ahead_or_behind_with_a_positive_number():
    assert "50 points ahead of plain-56" in _say(0.8, twin=_epoch("plain", acc=0.3))
    assert "50 points behind plain-56" in _say(0.3, twin=_epoch("plain", acc=0.8))
    assert "plain-56" not in _say(0.5, twin=_epoch("plain", acc=0.45))


def test_the_shallower_net_is_compared_above_or_below():
    assert "25 points below ResNet-20" in _say(0.35, shallower=_epoch("resnet-20", acc=0.6))
    assert "25 points above ResNet-20" in _say(0.85, shallower=_epoch("resnet-20", acc=0.6))


def test_the_table_shows_every_epoch_with_training_and_validation_named():
    records = [_epoch("plain-20", e, 2.0 - e / 10, 0.1 + e / 20, 0.1 + e / 25) for e in range(1, 13)]
    records += [_epoch("plain-56", e, 2.3, 0.1, 0.1) for e in range(1, 13)]
    table = epoch_table(records, "plain-56", 10)
    assert [row["Epoch"] for row in table] == list(range(1, 13))
    assert list(table[0]) == ["Epoch", "Training loss ↓", "Training accuracy ↑", "Validation accuracy ↑", "Observation"]
    assert "below plain-20" in table[-1]["Observation"]


def _finals(**accs):
    return [_epoch(key.replace("_", "-"), 12, 1.0, acc) for key, acc in accs.items()]


def test_degradation_is_named_only_when_the_deeper_plain_net_is_behind():
    said = degradation_verdict(_finals(plain_20=0.40, plain_56=0.16, resnet_20=0.6, resnet_56=0.62), 10)
    assert any("plain-56 ended 24 points below plain-20" in s and "degradation problem" in s for s in said)
    assert not any("barely left chance" in s for s in said)
    said = degradation_verdict(_finals(plain_20=0.30, plain_56=0.50, resnet_20=0.6, resnet_56=0.62), 10)
    assert any("20 points above plain-20" in s and "no degradation" in s for s in said)
    said = degradation_verdict(_finals(plain_20=0.40, plain_56=0.12, resnet_20=0.6, resnet_56=0.62), 10)
    assert any("barely left chance" in s and "64,000 iterations" in s for s in said)


def test_the_deeper_resnet_is_said_not_to_degrade_only_within_5_points():
    said = degradation_verdict(_finals(plain_20=0.4, plain_56=0.2, resnet_20=0.62, resnet_56=0.58), 10)
    assert any("ResNet-56 ended 4 points below ResNet-20" in s and "did not degrade" in s for s in said)
    said = degradation_verdict(_finals(plain_20=0.4, plain_56=0.2, resnet_20=0.62, resnet_56=0.50), 10)
    assert any("12 points below ResNet-20" in s and "behind in this run" in s for s in said)
    assert "At the same depth, ResNet-56 ended 30 points ahead of plain-56." in said


def test_nothing_is_concluded_before_the_nets_leave_chance():
    said = degradation_verdict(_finals(plain_20=0.11, plain_56=0.10, resnet_20=0.12, resnet_56=0.13), 10)
    assert said == ["Neither plain-20 nor plain-56 has left chance yet: too early to compare.",
                    "Neither ResNet-20 nor ResNet-56 has left chance yet: too early to compare."]


def _with_input_grads(model, norms):
    return Record("step", model, 1, 1, 1.0, 0.5, 0.1, 1.0, 1.0, input_grad_norms=norms)


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [(118.0, 0.01, "grows 11,800×: it explodes"), (0.001, 1.0, "shrinks 1,000×: it vanishes"),
     (3.0, 1.0, "grows 3.0×"), (0.5, 1.0, "shrinks 2.0×")],
)
def test_the_gradient_sentence_names_explosion_and_vanishing_only_beyond_100_times(first, last, words):
    text = gradient_observation([_with_input_grads("plain-56", {"layer1.0": first, "layer3.8": last})])
    assert f"in plain-56 it {words}" in text
    assert ("explodes" in text) is (first / last >= 100) and ("vanishes" in text) is (first / last <= 0.01)


def test_the_lessons_example_is_the_lessons_table():
    # Training Trace - Epoch by Epoch, as printed in the seed lesson
    assert [row[:3] for row in LESSON_EXAMPLE] == [(1, 1.8, 0.35), (5, 1.2, 0.55), (10, 0.8, 0.70),
                                                   (15, 0.5, 0.82), (20, 0.35, 0.88)]
    assert all(not re.search(r"\d", row[3]) for row in LESSON_EXAMPLE)
