"""What a finished (or stopped) run says: epoch tables with observations, verdicts, a summary, CSV and JSON.

The tables follow the seed lesson's "Training Trace - Epoch by Epoch", with each column saying
what it measures (training or validation). Every sentence that interprets a number is computed
from that number by a rule below, and the tests hold each rule both ways: an observation compares
a row with chance, with the previous epoch, with validation, with the net's twin and with the
shallower net of its kind; a verdict compares the nets' final accuracies the way He et al.
(2016, Fig. 6) compare plain-20 with plain-56 and ResNet-20 with ResNet-56.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict

from resnet_core.training import Record, TrainConfig, twin_of

__all__ = [
    "LESSON_COLUMNS",
    "LESSON_EXAMPLE",
    "TABLE_COLUMNS",
    "degradation_verdict",
    "epoch_records",
    "epoch_table",
    "gradient_observation",
    "gradient_profile",
    "gradient_spread",
    "model_names",
    "net_label",
    "observation",
    "records_to_csv",
    "records_to_json",
    "summary",
]

TABLE_COLUMNS = ("Epoch", "Training loss ↓", "Training accuracy ↑", "Validation accuracy ↑", "Observation")
LESSON_COLUMNS = ("Epoch", "Loss ↓", "Accuracy ↑", "Observation")
# The seed lesson's own example ("Training Trace - Epoch by Epoch"), shown beside a run's table, as the lesson's.
LESSON_EXAMPLE: tuple[tuple[int, float, float, str], ...] = (
    (1, 1.8, 0.35, "Model starts learning basic features"),
    (5, 1.2, 0.55, "Skip connections help gradients flow better"),
    (10, 0.8, 0.70, "Model learns deeper features without forgetting"),
    (15, 0.5, 0.82, "Training loss decreases steadily, accuracy improves"),
    (20, 0.35, 0.88, "Model converges with good accuracy"),
)
_SCALARS = ("kind", "model", "step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc")
_CSV_FIELDS = (*_SCALARS, "lr", "samples_per_s", "seconds")
NEAR_CHANCE = 0.05  # training accuracy within this of chance: nothing learned yet
CONVERGED = 0.95  # training accuracy from which a flat loss means done, not stuck
FLAT = 0.02  # a relative change of the training loss smaller than this is flat
OVERFIT = 0.15  # training accuracy this far above validation accuracy: memorising
GAP = 0.10  # accuracy differences (in fractions) from which two nets are said to differ
SAME_DEPTH_BUDGET = 0.05  # a deeper ResNet this close to the shallower one has not degraded
EXPLODES, VANISHES = 100.0, 0.01  # |dL/dx| first block / last block beyond these: explodes, vanishes


def epoch_records(records: Iterable[Record], model: str) -> list[Record]:
    """The epoch records of ``model`` in order."""
    return [r for r in records if r.kind == "epoch" and r.model == model]


def model_names(records: Iterable[Record]) -> list[str]:
    """The model keys of ``records`` in the order they first appear (the order of ``nets``)."""
    return list(dict.fromkeys(r.model for r in records))


def net_label(key: str, depth: int | None = None) -> str:
    """How a net is named in sentences: ``plain-56`` and ``resnet-56`` -> ResNet-56; twins by ``depth``."""
    if key in ("resnet", "plain") and depth is not None:
        key = f"{key}-{depth}"
    return key.replace("resnet", "ResNet")


def _depth(key: str) -> int | None:
    """The depth in a degradation key (56 for ``plain-56``); None for the twins' ``resnet`` and ``plain``."""
    depth = key.partition("-")[2]
    return int(depth) if depth.isdigit() else None


def _shallower(key: str, keys: Iterable[str]) -> str | None:
    """The key of the next shallower net of the same kind (``plain-20`` for ``plain-56``), if the run has one."""
    depth = _depth(key)
    if depth is None:
        return None
    kind = key.partition("-")[0]
    shallower = [d for k in keys if k.startswith(kind + "-") and (d := _depth(k)) is not None and d < depth]
    return f"{kind}-{max(shallower)}" if shallower else None


def _points(fraction: float) -> str:
    points = round(abs(fraction) * 100)
    return f"{points} point{'' if points == 1 else 's'}"


def _relative(gap: float, more: str, less: str) -> str:
    """``gap`` in words: "3 points above", "3 points below", or "level with" when it rounds to 0 points."""
    if round(abs(gap) * 100) == 0:
        return "level with"
    return f"{_points(gap)} {more if gap > 0 else less}"


def observation(
    row: Record,
    previous: Record | None,
    twin: Record | None,
    num_classes: int,
    shallower: Record | None = None,
    names: tuple[str, str] = ("its twin", "the shallower net"),
) -> str:
    """One sentence about ``row`` from its numbers; ``names`` says how to call ``twin`` and ``shallower``."""
    chance = 1 / num_classes
    notes = []
    near_chance = row.train_acc < chance + NEAR_CHANCE
    if near_chance:
        notes.append(f"training accuracy {row.train_acc:.0%}, near chance ({chance:.0%}): nothing learned yet")
    elif previous is None:
        notes.append(f"learns first features: {row.train_acc:.0%} training accuracy against {chance:.0%} by chance")
    if previous is not None:
        change = (row.train_loss - previous.train_loss) / max(previous.train_loss, 1e-9)
        gained = row.train_acc - previous.train_acc
        if change > FLAT:
            notes.append(f"training loss rose {change:.0%} since epoch {previous.epoch}")
        elif change > -FLAT:
            if row.train_acc >= CONVERGED:
                notes.append(f"converged: {row.train_acc:.0%} training accuracy, loss flat")
            elif not near_chance:
                notes.append(f"training loss flat (within {FLAT:.0%}) at {row.train_acc:.0%} training accuracy: "
                             "progress has slowed")
        elif not near_chance:
            direction = "up" if gained >= 0 else "down"
            notes.append(f"training loss falls {-change:.0%}, training accuracy {direction} {_points(gained)}")
    if row.val_acc is not None and row.train_acc - row.val_acc > OVERFIT:
        notes.append(f"validation accuracy {_points(row.train_acc - row.val_acc)} below training: memorising")
    for other, name, words in ((twin, names[0], ("ahead of", "behind")), (shallower, names[1], ("above", "below"))):
        if other is not None and abs(row.train_acc - other.train_acc) >= GAP:
            notes.append(f"{_relative(row.train_acc - other.train_acc, *words)} {name}")
    text = "; ".join(notes)  # never empty: every branch above the gaps adds a note
    return text[0].upper() + text[1:]


def epoch_table(records: list[Record], model: str, num_classes: int, depth: int | None = None) -> list[dict]:
    """Every epoch of ``model``: Epoch, Training loss, Training accuracy, Validation accuracy, Observation."""
    rows = epoch_records(records, model)
    twin_key = twin_of(model)  # every model key has a twin name; the run may not have trained it
    twins = {r.epoch: r for r in epoch_records(records, twin_key)}
    shallower_key = _shallower(model, model_names(records)) or ""  # "": no records, no comparison
    shallower = {r.epoch: r for r in epoch_records(records, shallower_key)}
    names = (net_label(twin_key, depth), net_label(shallower_key))
    epoch, loss, accuracy, validation, note = TABLE_COLUMNS
    table = []
    for index, row in enumerate(rows):
        previous = rows[index - 1] if index else None
        table.append({
            epoch: row.epoch,
            loss: round(row.train_loss, 3),
            accuracy: round(row.train_acc, 3),
            validation: None if row.val_acc is None else round(row.val_acc, 3),
            note: observation(row, previous, twins.get(row.epoch), num_classes, shallower.get(row.epoch), names),
        })
    return table


def degradation_verdict(records: list[Record], num_classes: int) -> list[str]:
    """What the run's final training accuracies say about degradation, one sentence per comparison.

    Plain: is the deeper plain net behind the shallower one (the degradation problem)? ResNet: is
    the deeper ResNet at least about as good as the shallower one? And the deep pair: how far is the
    ResNet ahead of its plain twin? Only the comparisons the run has nets for.
    """
    final = {key: rows[-1] for key in model_names(records) if (rows := epoch_records(records, key))}
    depths = sorted({d for key in final if (d := _depth(key)) is not None})
    if not depths:  # the twins experiment: one depth, keys without one
        return []
    low, high = depths[0], depths[-1]
    sentences = []
    for kind in ("plain", "resnet"):
        shallow, deep = f"{kind}-{low}", f"{kind}-{high}"
        if low == high or shallow not in final or deep not in final:
            continue
        gap = final[deep].train_acc - final[shallow].train_acc
        a, b = net_label(deep), net_label(shallow)
        if max(final[deep].train_acc, final[shallow].train_acc) < 1 / num_classes + NEAR_CHANCE:
            sentences.append(f"Neither {b} nor {a} has left chance yet: too early to compare.")
            continue
        if kind == "plain":
            if gap <= -GAP:
                text = (f"{a} ended {_points(gap)} below {b} in training accuracy: the deeper plain net is the "
                        "harder one to optimise, the degradation problem")
                if final[deep].train_acc < 1 / num_classes + NEAR_CHANCE:
                    text += (f" (in this short run {a} barely left chance; in the paper's 64,000 iterations it "
                             f"trains, to a higher error than {b})")
            elif gap >= GAP:
                text = f"{a} ended {_points(gap)} above {b} in training accuracy: no degradation in this run"
            else:
                text = f"{a} and {b} ended within {_points(GAP)} of each other in training accuracy"
        elif gap >= -SAME_DEPTH_BUDGET:
            where = _relative(gap, "above", "below")
            text = f"{a} ended {where} {b} in training accuracy: with skip connections the deeper net did not degrade"
        else:
            text = f"{a} ended {_points(gap)} below {b} in training accuracy: the deeper ResNet is behind in this run"
        sentences.append(text + ".")
    resnet, plain = f"resnet-{high}", f"plain-{high}"
    if resnet in final and plain in final:
        gap = final[resnet].train_acc - final[plain].train_acc
        if max(final[resnet].train_acc, final[plain].train_acc) >= 1 / num_classes + NEAR_CHANCE:
            side = _relative(gap, "ahead of", "behind")
            sentences.append(f"At the same depth, {net_label(resnet)} ended {side} {net_label(plain)}.")
    return sentences


def gradient_profile(records: Iterable[Record], model: str, field: str = "input_grad_norms") -> dict[str, float]:
    """``model``'s latest gradient norms, input to output: |dL/dx| at each residual block's input.

    ``field="grad_norms"`` gives each conv layer's relative weight gradient |dL/dW| / |W| instead.
    """
    latest: dict[str, float] = {}
    for record in records:
        if record.model == model and getattr(record, field):
            latest = getattr(record, field)
    return latest


def gradient_spread(records: Iterable[Record], model: str) -> float | None:
    """How many times larger |dL/dx| is at the first residual block's input than at the last's."""
    norms = list(gradient_profile(records, model).values())
    if len(norms) < 2 or norms[-1] <= 0:
        return None
    return norms[0] / norms[-1]


def gradient_observation(records: list[Record], depth: int | None = None) -> str:
    """How each net's |dL/dx| changes from the last residual block's input back to the first's, in words.

    Beyond ``EXPLODES`` times it explodes, below ``VANISHES`` it vanishes; in between it reaches the
    first block at a usable size. Only nets with recorded block-input gradients are named.
    """
    parts = []
    for model in model_names(records):
        spread = gradient_spread(records, model)
        if spread is None:
            continue
        if spread >= EXPLODES:
            verdict = f"grows {spread:,.0f}×: it explodes"
        elif spread <= VANISHES:
            verdict = f"shrinks {1 / spread:,.0f}×: it vanishes"
        elif spread >= 1:
            verdict = f"grows {spread:,.1f}×"
        else:
            verdict = f"shrinks {1 / spread:,.1f}×"
        parts.append(f"in {net_label(model, depth)} it {verdict}")
    if not parts:
        return ""
    return "From the last residual block's input back to the first's, |∂L/∂x| changes: " + "; ".join(parts) + "."


def summary(records: list[Record], seconds: float, params: dict[str, int] | None = None) -> dict:
    """Final training and validation accuracy of each net (and its ``params``), and the run's wall time."""
    result: dict = {}
    for model in model_names(records):
        rows = epoch_records(records, model)
        if rows:
            result[model] = {"final_train_acc": rows[-1].train_acc, "final_val_acc": rows[-1].val_acc}
            if params is not None:
                result[model]["params"] = params[model]
    result["seconds"] = round(seconds, 2)
    return {"summary": result}


def records_to_csv(records: Iterable[Record]) -> str:
    """One CSV row per record; gradient norms in ``grad:<conv layer>`` and ``input_grad:<block>`` columns."""
    records = list(records)
    layers: dict[str, None] = {}
    blocks: dict[str, None] = {}
    for record in records:
        layers.update(dict.fromkeys(record.grad_norms or {}))
        blocks.update(dict.fromkeys(record.input_grad_norms or {}))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*_CSV_FIELDS, *(f"grad:{layer}" for layer in layers), *(f"input_grad:{b}" for b in blocks)])
    for record in records:
        norms, inputs = record.grad_norms or {}, record.input_grad_norms or {}
        # csv writes None as an empty field: no value, no text
        writer.writerow(
            [
                *(getattr(record, name) for name in _CSV_FIELDS),
                *(norms.get(layer) for layer in layers),
                *(inputs.get(block) for block in blocks),
            ]
        )
    return out.getvalue()


def records_to_json(records: Iterable[Record], config: TrainConfig | None = None) -> str:
    """The run as one JSON document: the config (when given) and every record."""
    document: dict = {"config": asdict(config)} if config is not None else {}
    document["records"] = [record.to_dict() for record in records]
    return json.dumps(document, indent=1)
