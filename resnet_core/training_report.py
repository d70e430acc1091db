"""What a finished (or stopped) run says: epoch tables with observations, a summary, CSV and JSON.

The tables follow the seed lesson's "Training Trace - Epoch by Epoch" (Epoch, Loss ↓, Accuracy ↑,
Observation). Every observation is computed from the run's own numbers by the rules below: the
rows are compared with chance, with the previous row, with validation and with the twin net.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict

from resnet_core.training import Record, TrainConfig, twin_of

__all__ = [
    "TABLE_COLUMNS",
    "epoch_records",
    "epoch_table",
    "gradient_observation",
    "gradient_profile",
    "gradient_spread",
    "model_names",
    "observation",
    "records_to_csv",
    "records_to_json",
    "summary",
]

TABLE_COLUMNS = ("Epoch", "Loss ↓", "Accuracy ↑", "Observation")
_SCALARS = ("kind", "model", "step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc")
_CSV_FIELDS = (*_SCALARS, "lr", "samples_per_s", "seconds")
_NAMES = {"resnet": "ResNet", "plain": "plain twin"}  # model key -> words (keys of other nets are their names)


def epoch_records(records: Iterable[Record], model: str) -> list[Record]:
    """The epoch records of ``model`` in order."""
    return [r for r in records if r.kind == "epoch" and r.model == model]


def model_names(records: Iterable[Record]) -> list[str]:
    """The model keys of ``records`` in the order they first appear (the order of ``nets``)."""
    return list(dict.fromkeys(r.model for r in records))


def _points(value: float) -> str:
    return f"{value * 100:+.0f} points"


def observation(row: Record, previous: Record | None, twin: Record | None, num_classes: int) -> str:
    """One sentence about ``row`` from its numbers: progress, stalls, overfitting, the twin's gap."""
    chance = 1 / num_classes
    notes = []
    if row.train_acc < chance + 0.05:
        notes.append(f"still near chance ({chance:.0%}): no useful features found yet")
    elif previous is None:
        notes.append(f"learns first features: {row.train_acc:.0%} against {chance:.0%} by chance")
    if previous is not None:
        change = (row.train_loss - previous.train_loss) / max(previous.train_loss, 1e-9)
        gained = row.train_acc - previous.train_acc
        if change > 0.02:
            notes.append(f"loss rises {change:.0%}: steps too large or unstable")
        elif change > -0.02:
            notes.append(f"loss flat ({change:+.0%}): training has stalled")
        elif row.train_acc >= chance + 0.05:
            notes.append(f"loss falls {-change:.0%}, accuracy {_points(gained)}")
    if row.val_acc is not None and row.train_acc - row.val_acc > 0.15:
        notes.append(f"validation {_points(row.val_acc - row.train_acc)} below training: overfitting")
    if twin is not None:
        gap = row.train_acc - twin.train_acc
        if abs(gap) >= 0.1:
            notes.append(f"{_points(gap)} {'ahead of' if gap > 0 else 'behind'} its twin")
    text = "; ".join(notes) or "steady"
    return text[0].upper() + text[1:]


def _show_rows(count: int, limit: int) -> list[int]:
    """Indices of at most ``limit`` rows spread evenly from first to last (all when fewer)."""
    if count <= limit:
        return list(range(count))
    return sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})


def epoch_table(records: list[Record], model: str, num_classes: int, limit: int = 8) -> list[dict]:
    """Rows in the seed's format (Epoch, Loss ↓, Accuracy ↑, Observation) for ``model``."""
    rows = epoch_records(records, model)
    twins = {r.epoch: r for r in epoch_records(records, twin_of(model))}
    shown = _show_rows(len(rows), limit)
    table = []
    for position, index in enumerate(shown):
        row = rows[index]
        previous = rows[shown[position - 1]] if position > 0 else None
        text = observation(row, previous, twins.get(row.epoch), num_classes)
        values = (row.epoch, round(row.train_loss, 3), round(row.train_acc, 3), text)
        table.append(dict(zip(TABLE_COLUMNS, values, strict=True)))
    return table


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


def gradient_observation(records: list[Record]) -> str:
    """One sentence comparing how each net's gradient changes from the output back to the input."""
    parts = []
    for model in model_names(records):
        spread = gradient_spread(records, model)
        if spread is None:
            continue
        trend = "grows" if spread > 1 else "shrinks"
        factor = spread if spread >= 1 else 1 / spread
        parts.append(f"the {_NAMES.get(model, model.replace('resnet', 'ResNet'))}'s {trend} {factor:,.1f}×")
    if not parts:
        return ""
    return "From the last residual block's input back to the first's, " + ", ".join(parts) + "."


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
        values = [getattr(record, name) for name in _CSV_FIELDS]
        writer.writerow(
            [
                *("" if v is None else v for v in values),
                *(norms.get(layer, "") for layer in layers),
                *(inputs.get(block, "") for block in blocks),
            ]
        )
    return out.getvalue()


def records_to_json(records: Iterable[Record], config: TrainConfig | None = None) -> str:
    """The run as one JSON document: the config (when given) and every record."""
    document: dict = {"config": asdict(config)} if config is not None else {}
    document["records"] = [record.to_dict() for record in records]
    return json.dumps(document, indent=1)
