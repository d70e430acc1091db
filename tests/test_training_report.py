"""Every sentence the Training Lab writes about a run comes from the run's numbers: each rule, both ways."""

import json
import re

import pytest

from resnet_core.training import Record, TrainConfig
from resnet_core.training_report import (
    LESSON_EXAMPLE,
    NEAR_CHANCE,
    degradation_verdict,
    epoch_records,
    epoch_table,
    gradient_observation,
    gradient_profile,
    gradient_spread,
    model_names,
    net_label,
    observation,
    records_to_csv,
    records_to_json,
    summary,
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


# ------------------------------------------------------------------------------------------------
# Whole sentences, exactly, and each threshold at its own boundary


def test_an_observation_joins_every_rule_that_applies_in_order():
    text = observation(_epoch(acc=0.9, loss=0.5, val=0.5), _epoch(loss=1.0, acc=0.5), _epoch("plain", acc=0.3), 10,
                       _epoch("resnet-20", acc=0.2), ("plain-56", "ResNet-20"))
    assert text == ("Training loss falls 50%, training accuracy up 40 points; validation accuracy 40 points below "
                    "training: memorising; 60 points ahead of plain-56; 70 points above ResNet-20")
    first = "Learns first features: 50% training accuracy against 10% by chance"
    assert observation(_epoch(acc=0.5), None, None, 10) == first
    assert observation(_epoch(acc=0.3), None, _epoch("plain", acc=0.5), 10, _epoch("resnet-20", acc=0.6)) == (
        "Learns first features: 30% training accuracy against 10% by chance; 20 points behind its twin; "
        "30 points below the shallower net")


def test_near_chance_the_loss_is_reported_only_when_it_rises():
    near = "Training accuracy 12%, near chance (10%): nothing learned yet"
    assert _say(0.12) == near[0].lower() + near[1:]
    assert observation(_epoch(acc=0.12), _epoch(acc=0.11), None, 10) == near  # flat
    assert observation(_epoch(acc=0.12, loss=0.5), _epoch(acc=0.11), None, 10) == near  # falling
    rising = observation(_epoch(acc=0.12, loss=1.5), _epoch(acc=0.11), None, 10)
    assert rising == near + "; training loss rose 50% since epoch 1"
    # 0.15 < 0.1 + 0.05 in floating point
    assert observation(_epoch(acc=0.15), None, None, 10).startswith("Training accuracy 15%, near chance")
    assert observation(_epoch(acc=0.29), None, None, 4).startswith("Training accuracy 29%, near chance (25%)")
    assert observation(_epoch(acc=0.3), None, None, 5).startswith("Learns first features: 30% training accuracy "
                                                                  "against 20%")


@pytest.mark.parametrize(
    ("loss", "words"),
    [(51.0, "training loss flat (within 2%) at 50% training accuracy: progress has slowed"),  # +2 % exactly: flat
     (51.5, "training loss rose 3% since epoch 1"),
     (49.0, "training loss falls 2%, training accuracy up 0 points"),  # -2 % exactly: falling
     (49.5, "training loss flat (within 2%) at 50% training accuracy: progress has slowed")],
)
def test_the_loss_is_flat_within_2_percent_either_way(loss, words):
    assert _say(0.5, loss, previous=_epoch(loss=50.0, acc=0.5)) == words


def test_converged_from_95_percent_and_one_point_is_singular():
    assert _say(0.95, 1.0, previous=_epoch(loss=1.0, acc=0.95)) == "converged: 95% training accuracy, loss flat"
    assert _say(0.94, 1.0, previous=_epoch(loss=1.0, acc=0.94)).endswith("progress has slowed")
    falls = "training loss falls 50%, training accuracy"
    assert _say(0.51, 0.5, previous=_epoch(loss=1.0, acc=0.5)) == f"{falls} up 1 point"
    assert _say(0.49, 0.5, previous=_epoch(loss=1.0, acc=0.5)) == f"{falls} down 1 point"


def test_the_gaps_at_their_boundaries():
    assert "memorising" not in _say(0.3, val=0.15)  # 15 points exactly: not more than 15
    assert _say(0.3, val=0.14).endswith("validation accuracy 16 points below training: memorising")
    assert _say(0.2, twin=_epoch("plain", acc=0.1)).endswith("; 10 points ahead of plain-56")  # 10 points exactly
    assert _say(0.2, shallower=_epoch("resnet-20", acc=0.1)).endswith("; 10 points above ResNet-20")
    first = "learns first features: 50% training accuracy against 10% by chance"
    assert _say(0.5, twin=_epoch("plain", acc=0.5)) == first


def test_the_table_names_twins_by_depth_and_the_shallower_net_of_the_same_kind():
    records = [_epoch("plain", 1, 2.0, 0.3, 0.25), _epoch("resnet", 1, 1.5, 0.5, 0.4),
               _epoch("plain", 2, 1.5, 0.45, None), _epoch("resnet", 2, 1.0004, 0.8, 0.5)]
    assert epoch_table(records, "resnet", 10, 56) == [
        {"Epoch": 1, "Training loss ↓": 1.5, "Training accuracy ↑": 0.5, "Validation accuracy ↑": 0.4,
         "Observation": "Learns first features: 50% training accuracy against 10% by chance; "
                        "20 points ahead of plain-56"},
        {"Epoch": 2, "Training loss ↓": 1.0, "Training accuracy ↑": 0.8, "Validation accuracy ↑": 0.5,
         "Observation": "Training loss falls 33%, training accuracy up 30 points; validation accuracy 30 points "
                        "below training: memorising; 35 points ahead of plain-56"},
    ]
    plain = epoch_table(records, "plain", 10)
    assert plain[1]["Validation accuracy ↑"] is None
    assert plain[1]["Observation"].endswith("35 points behind ResNet")
    four = [_epoch(k, 1, 1.0, a) for k, a in (("plain-20", 0.6), ("plain-56", 0.3), ("plain-110", 0.18),
                                                ("resnet-56", 0.7))]
    assert epoch_table(four, "plain-110", 10)[0]["Observation"].endswith("12 points below plain-56")
    assert epoch_table(four, "plain-56", 10)[0]["Observation"].endswith(
        "40 points behind ResNet-56; 30 points below plain-20")
    assert epoch_table(four, "plain-20", 10)[0]["Observation"] == (
        "Learns first features: 60% training accuracy against 10% by chance")  # no ResNet-20 in this run
    assert net_label("resnet-56") == "ResNet-56" and net_label("resnet") == "ResNet"
    assert net_label("plain", 20) == "plain-20"
    assert net_label("plain-20", 56) == "plain-20"


def test_verdicts_exactly():
    assert degradation_verdict(_finals(plain_20=0.40, plain_56=0.16, resnet_20=0.6, resnet_56=0.62), 10) == [
        "plain-56 ended 24 points below plain-20 in training accuracy: the deeper plain net is the harder one to "
        "optimise, the degradation problem.",
        "ResNet-56 ended 2 points above ResNet-20 in training accuracy: with skip connections the deeper net did "
        "not degrade.",
        "At the same depth, ResNet-56 ended 46 points ahead of plain-56.",
    ]
    assert degradation_verdict(_finals(plain_20=0.2, plain_56=0.1, resnet_20=0.16, resnet_56=0.11), 10) == [
        "plain-56 ended 10 points below plain-20 in training accuracy: the deeper plain net is the harder one to "
        "optimise, the degradation problem (in this short run plain-56 barely left chance; in the paper's 64,000 "
        "iterations it trains, to a higher error than plain-20).",  # 10 points exactly
        "ResNet-56 ended 5 points below ResNet-20 in training accuracy: with skip connections the deeper net did "
        "not degrade.",  # 5 points exactly
    ]  # the deep pair (11 % and 10 %) has not left chance: no sentence
    assert degradation_verdict(_finals(plain_20=0.5, plain_56=0.45, resnet_20=0.6, resnet_56=0.3), 10) == [
        "plain-56 and plain-20 ended within 10 points of each other in training accuracy.",
        "ResNet-56 ended 30 points below ResNet-20 in training accuracy: the deeper ResNet is behind in this run.",
        "At the same depth, ResNet-56 ended 15 points behind plain-56.",
    ]


def test_verdicts_need_two_depths_of_a_kind_and_use_the_deepest_pair():
    assert degradation_verdict([_epoch("resnet", 1, 1.0, 0.9), _epoch("plain", 1, 1.0, 0.2)], 10) == []
    said = degradation_verdict(_finals(plain_20=0.5, plain_110=0.3, resnet_110=0.62), 10)
    assert said == ["plain-110 ended 20 points below plain-20 in training accuracy: the deeper plain net is the harder "
                    "one to optimise, the degradation problem.",
                    "At the same depth, ResNet-110 ended 32 points ahead of plain-110."]
    rows = [_epoch("plain-20", 1, 1.0, 0.1), _epoch("plain-20", 2, 1.0, 0.5), _epoch("plain-56", 2, 1.0, 0.2)]
    assert degradation_verdict(rows, 10)[0].startswith("plain-56 ended 30 points below plain-20")  # final epochs


def test_gradient_sentence_exactly_for_every_net_with_block_input_norms():
    records = [_with_input_grads("plain", {"a": 2.0, "b": 1.0}), _with_input_grads("resnet", {"a": 1.0}),
               _with_input_grads("plain", {"a": 6.0, "b": 2.0}), _with_input_grads("resnet", None)]
    assert gradient_observation(records, 56) == (
        "From the last residual block's input back to the first's, |∂L/∂x| changes: in plain-56 it grows 3.0×.")
    assert gradient_observation([_with_input_grads("resnet", {"a": 1.0, "b": 0.0})]) == ""  # no last norm
    assert gradient_observation([_with_input_grads("resnet-20", {"a": 100.0, "b": 1.0}),
                                 _with_input_grads("plain-20", {"a": 0.01, "b": 1.0})]) == (
        "From the last residual block's input back to the first's, |∂L/∂x| changes: in ResNet-20 it grows 100×: "
        "it explodes; in plain-20 it shrinks 100×: it vanishes.")
    assert gradient_spread(records, "plain") == 3.0 and gradient_spread(records, "resnet") is None
    assert gradient_profile(records, "plain") == {"a": 6.0, "b": 2.0}
    weights = [Record("step", "plain", 1, 1, 1.0, 0.5, 0.1, 1.0, 1.0, grad_norms={"conv1": 0.2})]
    assert gradient_profile(weights, "plain", "grad_norms") == {"conv1": 0.2}
    assert gradient_profile(weights, "plain") == {}


def test_summary_csv_and_json_exactly():
    records = [_epoch("plain", 1, 2.0, 0.3, 0.25), _epoch("resnet", 1, 1.5, 0.5, 0.4),
               _with_input_grads("plain", {"layer1.0": 2.0}), _epoch("plain", 2, 1.5, 0.45, 0.3)]
    assert summary(records, 12.345, {"plain": 5, "resnet": 6}) == {"summary": {
        "plain": {"final_train_acc": 0.45, "final_val_acc": 0.3, "params": 5},
        "resnet": {"final_train_acc": 0.5, "final_val_acc": 0.4, "params": 6}, "seconds": 12.35}}
    assert summary([_with_input_grads("plain", None)], 1.0) == {"summary": {"seconds": 1.0}}
    records[2].grad_norms = {"conv1": 0.5}
    assert records_to_csv(records[1:3]).splitlines() == [
        "kind,model,step,epoch,train_loss,train_acc,val_loss,val_acc,lr,samples_per_s,seconds,grad:conv1,"
        "input_grad:layer1.0",
        "epoch,resnet,10,1,1.5,0.5,1.0,0.4,0.1,100.0,1.0,,",
        "step,plain,1,1,1.0,0.5,,,0.1,1.0,1.0,0.5,2.0",
    ]
    document = json.loads(records_to_json(records[:1], TrainConfig(depth=8)))
    assert document["config"]["depth"] == 8 and document["records"] == [records[0].to_dict()]
    assert json.loads(records_to_json(records[:1])) == {"records": [records[0].to_dict()]}
    assert model_names(records) == ["plain", "resnet"]
    assert epoch_records(records, "plain") == [records[0], records[3]]


AT_CHANCE_EDGE = 1 / 10 + NEAR_CHANCE  # the first training accuracy that is no longer "near chance" (10 classes)


def test_exactly_5_points_above_chance_has_left_chance():
    assert _say(AT_CHANCE_EDGE).startswith("learns first features: 15%")
    said = degradation_verdict(_finals(plain_20=0.1, plain_56=AT_CHANCE_EDGE, resnet_20=0.1, resnet_56=0.1), 10)
    assert said == ["plain-56 and plain-20 ended within 10 points of each other in training accuracy.",
                    "Neither ResNet-20 nor ResNet-56 has left chance yet: too early to compare.",
                    "At the same depth, ResNet-56 ended 5 points behind plain-56."]
    said = degradation_verdict(_finals(plain_20=0.3, plain_56=AT_CHANCE_EDGE, resnet_20=0.5, resnet_56=0.5), 10)
    assert "barely left chance" not in said[0] and said[0].startswith("plain-56 ended 15 points below plain-20")


def test_a_loss_below_one_is_compared_relative_to_itself():
    falls = "training loss falls 50%, training accuracy up 10 points"
    assert _say(0.6, 0.1, previous=_epoch(loss=0.2, acc=0.5)) == falls
    assert _say(0.6, 0.1, previous=_epoch(loss=0.0, acc=0.5)).startswith("training loss rose")  # from zero: no crash


def test_a_shallower_net_within_10_points_is_not_mentioned():
    assert "ResNet-20" not in _say(0.5, shallower=_epoch("resnet-20", acc=0.45))
    assert "plain-56" not in _say(0.5, twin=_epoch("plain", acc=0.45))


def test_table_values_are_rounded_to_three_decimals():
    row = epoch_table([_epoch("resnet", 1, 1.23456, 0.80049, 0.40049)], "resnet", 10)[0]
    assert (row["Training loss ↓"], row["Training accuracy ↑"], row["Validation accuracy ↑"]) == (1.235, 0.8, 0.4)


def test_the_shallower_net_is_the_next_shallower_of_the_same_kind_by_depth():
    records = [_epoch(k, 1, 1.0, a) for k, a in (("plain-8", 0.9), ("plain-20", 0.7), ("resnet-32", 0.3),
                                                ("plain-56", 0.5))]
    assert epoch_table(records, "plain-56", 10)[0]["Observation"].endswith("20 points below plain-20")  # not plain-8
    assert epoch_table(records, "plain-8", 10)[0]["Observation"] == (
        "Learns first features: 90% training accuracy against 10% by chance")  # nothing shallower


def test_verdicts_compare_the_shallowest_and_deepest_nets_by_depth():
    said = degradation_verdict(_finals(plain_8=0.6, plain_14=0.3, resnet_8=0.7, resnet_14=0.72), 10)
    assert said == [
        "plain-14 ended 30 points below plain-8 in training accuracy: the deeper plain net is the harder one to "
        "optimise, the degradation problem.",
        "ResNet-14 ended 2 points above ResNet-8 in training accuracy: with skip connections the deeper net did "
        "not degrade.",
        "At the same depth, ResNet-14 ended 42 points ahead of plain-14.",
    ]
    said = degradation_verdict(_finals(plain_20=0.6, plain_56=0.2, plain_110=0.4), 10)
    assert said == ["plain-110 ended 20 points below plain-20 in training accuracy: the deeper plain net is the "
                    "harder one to optimise, the degradation problem."]
    said = degradation_verdict(_finals(plain_56=0.3, resnet_20=0.6, resnet_56=0.6), 10)  # one plain net only
    assert said == ["ResNet-56 ended level with ResNet-20 in training accuracy: with skip connections the deeper "
                    "net did not degrade.",
                    "At the same depth, ResNet-56 ended 30 points ahead of plain-56."]
    said = degradation_verdict(_finals(plain_20=0.1, plain_56=0.2, resnet_56=0.2), 10)  # 10 points exactly
    assert said == ["plain-56 ended 10 points above plain-20 in training accuracy: no degradation in this run.",
                    "At the same depth, ResNet-56 ended level with plain-56."]
    said = degradation_verdict(_finals(plain_56=0.6, resnet_56=0.60497), 10)  # 0.497 points: rounds to 0
    assert said == ["At the same depth, ResNet-56 ended level with plain-56."]
    said = degradation_verdict(_finals(plain_56=0.6, resnet_56=0.6051), 10)
    assert said == ["At the same depth, ResNet-56 ended 1 point ahead of plain-56."]
    said = degradation_verdict(_finals(plain_56=0.12, resnet_56=0.2), 10)
    assert said == ["At the same depth, ResNet-56 ended 8 points ahead of plain-56."]
    assert degradation_verdict(_finals(plain_56=0.1, resnet_56=0.1), 10) == []  # neither has left chance


def test_the_spread_is_first_over_last_and_one_times_grows():
    assert gradient_spread([_with_input_grads("plain", {"a": 1.0, "b": 0.0, "c": 2.0})], "plain") == 0.5
    for first, words in ((1.0, "grows 1.0×"), (1.5, "grows 1.5×")):
        records = [_with_input_grads("resnet", None), _with_input_grads("plain", {"a": first, "b": 1.0})]
        assert gradient_observation(records) == (
            f"From the last residual block's input back to the first's, |∂L/∂x| changes: in plain it {words}.")


def test_the_json_document_is_indented_one_space():
    assert records_to_json([_epoch()]).splitlines()[:3] == ["{", ' "records": [', "  {"]
