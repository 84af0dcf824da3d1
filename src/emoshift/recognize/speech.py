"""Speech emotion recogniser (SER): utterance features -> standardise -> multinomial logistic
regression, trained on RAVDESS actors 01-18 by ``scripts/train_speech_emotion.py``.

Two label sets (order = :data:`~emoshift.emotion.ALL_EMOTIONS` restricted to the classes):

- 4 classes, like the paper's SpeechBrain model: anger, happiness, neutral, sadness;
- 7 classes: anger, disgust, fear, happiness, neutral, sadness, surprise.

RAVDESS "calm" is merged into neutral in both (calm is a low-arousal, neutral-valence delivery
of the same sentence; emoshift has no calm category, and our syntheses' "neutral" is closest to
it). Two feature variants:

- ``prosody``: the gain- and word-insensitive prosodic / spectral statistics of
  :mod:`emoshift.recognize.features_audio` (58 values). Loads in milliseconds.
- ``whisper`` (default): the same plus the time-averaged Whisper-base encoder states (packaged
  model), the 512 embedding columns trained at a group weight of 0.25 so that the voice's
  timbre, which they also carry, does not outweigh the prosody. More accurate on RAVDESS, and
  follows the emotion of synthesised speech best; slower to load (the Whisper model). See
  docs/recognizers.md, "Speech".

**Speaker-normalised mode** (optional, per call): ``predict(audio, sr, reference=ref)`` where
``ref = rec.reference(other_utterances, sr)`` is the mean feature vector of OTHER utterances of
the same speaker / TTS voice. The utterance's features minus that mean go through a second
model (``ser_<variant>_<k>_spknorm.npz``) trained on RAVDESS with the same per-actor
normalisation (each clip minus the mean of its actor's clips of the *other* RAVDESS sentence,
labels unused) -- per-speaker normalisation as in Busso et al. (2011) / Schuller's speaker
standardisation. It removes what a voice always sounds like (a TTS voice's bright or flat
baseline) and keeps what differs between its utterances. The reference should cover the
speaker's range (RAVDESS: all emotions of the label set), never include the utterance judged,
and uses no labels. Without a reference, nothing changes.

The weights are plain arrays in ``emoshift/data/ser_<variant>_<k>[_spknorm].npz`` (no pickles);
the forward pass is numpy. Licence: the weights derive from RAVDESS (CC BY-NC-SA 4.0).
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


def model_path(variant: str, n_classes: int, speaker_norm: bool = False) -> Path:
    """Where the committed weights of a variant / label set live (``speaker_norm``: the model
    for features normalised by a :class:`SpeakerReference`)."""
    return DATA_DIR / f"ser_{variant}_{n_classes}{'_spknorm' if speaker_norm else ''}.npz"


@dataclass(frozen=True)
class SpeakerReference:
    """What one speaker / voice sounds like on average: the mean feature vector of some of its
    utterances (not the one judged), made by :meth:`SpeechEmotionRecognizer.reference`.

    mean: (D,) float64 in the order of the recogniser's features (D = 58, or 570 for
    ``whisper``); n_utterances: how many utterances it averages.
    """

    mean: np.ndarray
    n_utterances: int


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
        norm_model: LinearSoftmax | None = None,
    ) -> None:
        self.labels = labels
        self.model = model
        self.variant = variant
        self.check = check or SpeechCheck()
        self.info = info or {}
        self.norm_model = norm_model
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

    def _features_batch(self, audios: Sequence[np.ndarray], sr: int) -> np.ndarray:
        feats = []
        for i, a in enumerate(audios):
            try:
                feats.append(self.features(a, sr))
            except NoSpeechError as e:
                raise NoSpeechError(f"clip {i}: {e}") from e
        return np.stack(feats)

    def reference(self, audios: Sequence[np.ndarray], sr: int) -> SpeakerReference:
        """A speaker reference from OTHER utterances of the same speaker / voice (at least 2;
        e.g. a TTS voice speaking a few fixed sentences in each emotion of the label set).
        Never include the utterance to be judged. Raises NoSpeechError for a silent clip and
        ConfigError for fewer than 2 clips."""
        if len(audios) < 2:
            raise ConfigError(
                "a speaker reference needs at least 2 other utterances of the same voice "
                f"(got {len(audios)})"
            )
        return self.reference_from_features(self._features_batch(audios, sr))

    @staticmethod
    def reference_from_features(features: np.ndarray) -> SpeakerReference:
        """:class:`SpeakerReference` from precomputed :meth:`features` rows (N, D), N >= 1."""
        f = np.atleast_2d(np.asarray(features, np.float64))
        return SpeakerReference(f.mean(axis=0), int(f.shape[0]))

    def _proba(self, feats: np.ndarray, reference: SpeakerReference | None) -> np.ndarray:
        if reference is None:
            return self.model.proba(feats)
        if self.norm_model is None:
            raise BackendError(
                f"no speaker-normalised {self.variant} model is installed "
                f"({model_path(self.variant, len(self.labels), True).name}); run "
                "`.venv/bin/python scripts/train_speech_emotion.py`"
            )
        ref = np.asarray(reference.mean, np.float64)
        if ref.shape != (feats.shape[1],):
            raise ConfigError(
                f"the speaker reference has {ref.shape[-1]} features, this {self.variant} "
                f"recogniser {feats.shape[1]}: build it with this recogniser's reference()"
            )
        return self.norm_model.proba(feats - ref)

    def predict(
        self, audio: np.ndarray, sr: int, reference: SpeakerReference | None = None
    ) -> EmotionProbs:
        """audio: (N,) float32 mono in [-1, 1] (any level), sr: its rate in Hz (any; resampled
        to 16 kHz). ``reference``: judge relative to this speaker reference with the
        speaker-normalised model (see the module docstring); None: the plain model.
        Returns probabilities of shape (len(labels),), float32, summing to 1."""
        return EmotionProbs(self.labels, self._proba(self.features(audio, sr)[None], reference)[0])

    def predict_batch(
        self, audios: Sequence[np.ndarray], sr: int, reference: SpeakerReference | None = None
    ) -> EmotionProbs:
        """Several utterances at one rate (all of one speaker when ``reference`` is given) ->
        probabilities (N, len(labels)), float32. Raises NoSpeechError (naming the clip index)
        if any clip holds no speech."""
        if len(audios) == 0:
            return EmotionProbs(self.labels, np.zeros((0, len(self.labels)), np.float32))
        return EmotionProbs(self.labels, self._proba(self._features_batch(audios, sr), reference))

    def predict_features(
        self, features: np.ndarray, reference: SpeakerReference | None = None
    ) -> EmotionProbs:
        """Probabilities from precomputed :meth:`features` rows, (N, D) -> (N, K)."""
        return EmotionProbs(self.labels, self._proba(np.atleast_2d(features), reference))


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
    The speaker-normalised model of the same variant (``..._spknorm.npz``) is loaded too when
    present; it serves ``predict(..., reference=...)``. On emoshift's own Kokoro speech
    (issue 8) the default, without a reference, labels most renditions right
    (docs/recognizers.md).
    """
    if n_classes not in (4, 7):
        raise ConfigError(f"n_classes must be 4 or 7 (got {n_classes})")
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS} (got {variant!r})")
    labels, model, stored_variant, info = load_model_file(model_path(variant, n_classes))
    if stored_variant != variant or len(labels) != n_classes:
        raise BackendError(f"{model_path(variant, n_classes).name} does not hold a {variant} model")
    norm_model = None
    norm_path = model_path(variant, n_classes, speaker_norm=True)
    if norm_path.exists():  # optional: only predictions with a reference need it
        norm_labels, norm_model, norm_variant, norm_info = load_model_file(norm_path)
        if norm_labels != labels or norm_variant != variant:
            raise BackendError(
                f"{norm_path.name} does not match {model_path(variant, n_classes).name}"
            )
        info = {**info, **{f"spknorm_{k}": v for k, v in norm_info.items()}}
    if variant == "whisper":
        whisper_encoder()  # load now, so the first prediction is not the slow one
    return SpeechEmotionRecognizer(labels, model, variant, info=info, norm_model=norm_model)
