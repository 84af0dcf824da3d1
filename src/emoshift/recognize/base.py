"""What every emotion recogniser returns: probabilities over a known list of labels.

Recognisers (face.py, speech.py, text.py) each expose ``labels`` (a tuple of
:class:`~emoshift.emotion.Emotion`, fixed order) and return probability arrays whose last axis
follows that order. :class:`EmotionProbs` pairs the two so callers never mix orders up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from emoshift.emotion import Emotion, to_emotion


@dataclass(frozen=True)
class EmotionProbs:
    """Probabilities ``p`` of shape (..., len(labels)), float32, each row summing to 1."""

    labels: tuple[Emotion, ...]
    p: np.ndarray

    def column(self, emotion: Emotion | str) -> np.ndarray:
        """Probability of one emotion, shape ``p.shape[:-1]``. Raises KeyError if the
        recogniser has no such class (e.g. contempt for the 7-class FER)."""
        emo = to_emotion(emotion)
        if emo not in self.labels:
            raise KeyError(
                f"{emo.value} is not a class of this recogniser ({[e.value for e in self.labels]})"
            )
        return self.p[..., self.labels.index(emo)]

    def top(self) -> np.ndarray:
        """Index into ``labels`` of the most probable class, shape ``p.shape[:-1]``."""
        return np.argmax(self.p, axis=-1)

    def top_labels(self) -> list[Emotion]:
        return [self.labels[i] for i in np.atleast_1d(self.top()).ravel()]

    def as_dict(self) -> dict[str, float] | list[dict[str, float]]:
        """One row -> {label: prob}; several rows -> a list of those."""
        rows = np.atleast_2d(self.p)
        out = [{e.value: round(float(v), 5) for e, v in zip(self.labels, r)} for r in rows]
        return out[0] if self.p.ndim == 1 else out


@runtime_checkable
class EmotionRecognizer(Protocol):
    """Any recogniser: a fixed label order and a licence key for manifests."""

    labels: tuple[Emotion, ...]
    licence_keys: tuple[str, ...]
