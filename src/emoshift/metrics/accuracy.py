"""Emotion accuracy tables like the paper's Tables 1 (text, ETG) and 2 (speech, ET2S).

Given true and predicted labels: per-class accuracy (recall of each true class), overall
(weighted) accuracy, unweighted accuracy (UA, the mean of the per-class accuracies, the usual
speech-emotion figure), and the confusion matrix; rendered as Markdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emoshift.emotion import Emotion, to_emotion
from emoshift.errors import ConfigError


@dataclass(frozen=True)
class AccuracyTable:
    """Accuracy figures over ``labels``.

    Attributes:
        labels: class order of every array below.
        confusion: (K, K) int64, rows = true class, columns = predicted class.
        per_class: (K,) float64 accuracy of each true class (NaN if the class never occurs).
        overall: correct / total (weighted accuracy), in [0, 1].
        unweighted: mean of ``per_class`` over the classes that occur (UA), in [0, 1].
        support: (K,) int64 number of samples of each true class.
    """

    labels: tuple[str, ...]
    confusion: np.ndarray
    per_class: np.ndarray
    overall: float
    unweighted: float
    support: np.ndarray

    def to_dict(self) -> dict[str, object]:
        return {
            "labels": list(self.labels),
            "per_class": {k: _num(v) for k, v in zip(self.labels, self.per_class)},
            "overall": self.overall,
            "unweighted": self.unweighted,
            "support": {k: int(v) for k, v in zip(self.labels, self.support)},
            "confusion": self.confusion.tolist(),
        }

    def to_markdown(self, name: str = "accuracy", percent: bool = True) -> str:
        """One-row table in the paper's style (one column per class, then overall and UA),
        followed by the confusion matrix (rows true, columns predicted)."""

        def fmt(v: float) -> str:
            if np.isnan(v):
                return "-"
            return f"{100 * v:.1f}%" if percent else f"{v:.4f}"

        present = [i for i in range(len(self.labels)) if self.support[i] > 0]
        head = [self.labels[i] for i in present] + ["overall", "UA"]
        row = [fmt(self.per_class[i]) for i in present] + [fmt(self.overall), fmt(self.unweighted)]
        lines = [
            "| " + " | ".join(["", *head]) + " |",
            "|" + "---|" * (len(head) + 1),
            "| " + " | ".join([name, *row]) + " |",
            "",
            "Confusion matrix (rows: true, columns: predicted):",
            "",
            "| true \\ predicted | " + " | ".join(self.labels) + " |",
            "|" + "---|" * (len(self.labels) + 1),
        ]
        for i, lab in enumerate(self.labels):
            lines.append("| " + " | ".join([lab] + [str(int(c)) for c in self.confusion[i]]) + " |")
        return "\n".join(lines) + "\n"


def accuracy_table(
    true: Sequence[str | Emotion],
    predicted: Sequence[str | Emotion],
    labels: Sequence[str | Emotion] | None = None,
) -> AccuracyTable:
    """Per-class / overall / unweighted accuracy and the confusion matrix.

    Args:
        true, predicted: equally long label sequences. Emotion names and aliases are
            resolved to canonical names ("happy" -> "happiness") when every label is an
            emotion; other strings are used as given.
        labels: class order; default: the sorted union of the labels seen.

    Raises:
        ConfigError: if the sequences differ in length or are empty, or a label is not in
            ``labels``.
    """
    if len(true) != len(predicted):
        raise ConfigError(f"{len(true)} true labels but {len(predicted)} predictions")
    if len(true) == 0:
        raise ConfigError("no labels to score")
    t = [_canon(x) for x in true]
    p = [_canon(x) for x in predicted]
    order = [_canon(x) for x in labels] if labels is not None else sorted(set(t) | set(p))
    index = {lab: i for i, lab in enumerate(order)}
    missing = sorted((set(t) | set(p)) - set(index))
    if missing:
        raise ConfigError(f"labels {missing} are not in the given class list {order}")
    k = len(order)
    ti = np.fromiter((index[x] for x in t), dtype=np.int64, count=len(t))
    pi = np.fromiter((index[x] for x in p), dtype=np.int64, count=len(p))
    conf = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k).astype(np.int64)
    support = conf.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(conf) / np.maximum(support, 1), np.nan)
    overall = float(np.trace(conf) / conf.sum())
    unweighted = float(np.nanmean(per_class))
    return AccuracyTable(
        tuple(order), conf, per_class.astype(np.float64), overall, unweighted, support
    )


def _canon(x: str | Emotion) -> str:
    try:
        return to_emotion(x).value
    except ValueError:
        return str(x)


def _num(v: float) -> float | None:
    return None if np.isnan(v) else float(v)
