"""Speech emotion recogniser (SER): utterance features -> standardise -> multinomial logistic
regression, trained on RAVDESS actors 01-18 by ``scripts/train_speech_emotion.py``.

Two label sets (order = :data:`~emoshift.emotion.ALL_EMOTIONS` restricted to the classes):

- 4 classes, like the paper's SpeechBrain model: anger, happiness, neutral, sadness;
- 7 classes: anger, disgust, fear, happiness, neutral, sadness, surprise.

RAVDESS "calm" is merged into neutral in both (calm is a low-arousal, neutral-valence delivery
of the same sentence; emoshift has no calm category, and our syntheses' "neutral" is closest to
it). Two feature variants:

- ``prosody`` (default): the gain- and word-insensitive prosodic / spectral statistics of
  :mod:`emoshift.recognize.features_audio` (58 values). Loads in milliseconds.
- ``whisper``: the same plus the time-averaged Whisper-base encoder states (packaged model).
  More accurate on RAVDESS, slower to load (the Whisper model), and it reacts less to
  prosody changes on synthesised speech (see docs/recognizers.md, "Speech").

The weights are plain arrays in ``emoshift/data/ser_<variant>_<k>.npz`` (no pickles); the
forward pass is numpy. Licence: the weights derive from RAVDESS (CC BY-NC-SA 4.0).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoshift.emotion import Emotion
from emoshift.errors import BackendError, ConfigError, NoSpeechError
from emoshift.recognize.base import EmotionProbs
from emoshift.recognize.features_audio import (
    FEATURE_NAMES,
    SpeechCheck,
    extract_features,
    whisper_embedding,
    whisper_encoder,
)

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
VARIANTS = ("prosody", "whisper")

LABELS_4: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.HAPPINESS,
    Emotion.NEUTRAL,
    Emotion.SADNESS,
)
LABELS_7: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPINESS,
    Emotion.NEUTRAL,
    Emotion.SADNESS,
    Emotion.SURPRISE,
)

RAVDESS_TO_EMOTION: dict[str, Emotion] = {
    "neutral": Emotion.NEUTRAL,
    "calm": Emotion.NEUTRAL,
    "happiness": Emotion.HAPPINESS,
    "sadness": Emotion.SADNESS,
    "anger": Emotion.ANGER,
    "fear": Emotion.FEAR,
    "disgust": Emotion.DISGUST,
    "surprise": Emotion.SURPRISE,
}
"""RAVDESS label (manifest.csv) -> emoshift emotion; calm is merged into neutral."""


def model_path(variant: str, n_classes: int) -> Path:
    """Where the committed weights of a variant / label set live."""
    return DATA_DIR / f"ser_{variant}_{n_classes}.npz"


@dataclass(frozen=True)
class LinearSoftmax:
    """p = softmax(((x - mean) / scale) @ coef + intercept).

    mean, scale: (D,) float64; coef: (D, K) float64; intercept: (K,) float64.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def proba(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) features -> (N, K) float32 probabilities, rows sum to 1."""
        z = ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


class SpeechEmotionRecognizer:
    """Utterance-level speech emotion probabilities.

    ``labels``: the class order of every probability row. ``licence_keys``: for manifests.
    One call judges one utterance as a whole (no segmentation): give it a phrase or a few
    sentences (0.4-30 s works; a long recording is summarised as one utterance).
    """

    def __init__(
        self,
        labels: tuple[Emotion, ...],
        model: LinearSoftmax,
        variant: str,
        check: SpeechCheck | None = None,
        info: dict[str, float] | None = None,
    ) -> None:
        self.labels = labels
        self.model = model
        self.variant = variant
        self.check = check or SpeechCheck()
        self.info = info or {}
        self.licence_keys: tuple[str, ...] = ("emoshift-ser", "ravdess") + (
            ("whisper-base",) if variant == "whisper" else ()
        )

    def features(self, audio: np.ndarray, sr: int) -> np.ndarray:
        """Feature vector of one utterance, (D,) float32 (D = 58, or 570 for ``whisper``).

        Raises :class:`~emoshift.errors.NoSpeechError` for silence or too little speech.
        """
        f = extract_features(audio, sr, self.check)
        if self.variant == "whisper":
            f = np.concatenate([f, whisper_embedding(audio, sr, self.check)])
        return f

    def predict(self, audio: np.ndarray, sr: int) -> EmotionProbs:
        """audio: (N,) float32 mono in [-1, 1] (any level), sr: its rate in Hz (any; resampled
        to 16 kHz). Returns probabilities of shape (len(labels),), float32, summing to 1."""
        p = self.model.proba(self.features(audio, sr)[None])[0]
        return EmotionProbs(self.labels, p)

    def predict_batch(self, audios: Sequence[np.ndarray], sr: int) -> EmotionProbs:
        """Several utterances at one rate -> probabilities (N, len(labels)), float32.
        Raises NoSpeechError (naming the clip index) if any clip holds no speech."""
        if len(audios) == 0:
            return EmotionProbs(self.labels, np.zeros((0, len(self.labels)), np.float32))
        feats = []
        for i, a in enumerate(audios):
            try:
                feats.append(self.features(a, sr))
            except NoSpeechError as e:
                raise NoSpeechError(f"clip {i}: {e}") from e
        return EmotionProbs(self.labels, self.model.proba(np.stack(feats)))

    def predict_features(self, features: np.ndarray) -> EmotionProbs:
        """Probabilities from precomputed :meth:`features` rows, (N, D) -> (N, K)."""
        return EmotionProbs(self.labels, self.model.proba(np.atleast_2d(features)))


def load_model_file(path: Path) -> tuple[tuple[Emotion, ...], LinearSoftmax, str, dict[str, float]]:
    """Read a weights file written by ``scripts/train_speech_emotion.py``."""
    if not path.exists():
        raise BackendError(
            f"speech emotion weights {path.name} are missing; run "
            "`.venv/bin/python scripts/train_speech_emotion.py` (needs ../shared/data)"
        )
    with np.load(path, allow_pickle=False) as z:
        labels = tuple(Emotion(str(s)) for s in z["labels"])
        variant = str(z["variant"])
        names = tuple(str(s) for s in z["feature_names"])
        if names != FEATURE_NAMES:
            raise BackendError(
                f"{path.name} was trained on other features than this code computes; "
                "retrain with scripts/train_speech_emotion.py"
            )
        model = LinearSoftmax(z["mean"], z["scale"], z["coef"], z["intercept"])
        info = {k[5:]: float(z[k]) for k in z.files if k.startswith("info_")}
    return labels, model, variant, info


@functools.cache
def load_speech_recognizer(n_classes: int = 4, variant: str = "whisper") -> SpeechEmotionRecognizer:
    """The trained recogniser (cached: one instance per process and setting).

    n_classes: 4 (anger, happiness, neutral, sadness) or 7 (+ disgust, fear, surprise).
    variant: "whisper" (default: prosody statistics + Whisper-base encoder features; the one
        that meets the RAVDESS targets; shares the transcriber's loaded Whisper model) or
        "prosody" (prosody statistics only: lighter, loads instantly, less accurate).
    """
    if n_classes not in (4, 7):
        raise ConfigError(f"n_classes must be 4 or 7 (got {n_classes})")
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS} (got {variant!r})")
    labels, model, stored_variant, info = load_model_file(model_path(variant, n_classes))
    if stored_variant != variant or len(labels) != n_classes:
        raise BackendError(f"{model_path(variant, n_classes).name} does not hold a {variant} model")
    if variant == "whisper":
        whisper_encoder()  # load now, so the first prediction is not the slow one
    return SpeechEmotionRecognizer(labels, model, variant, info=info)
