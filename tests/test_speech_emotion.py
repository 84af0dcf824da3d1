"""Speech emotion recogniser: the committed weights on real RAVDESS clips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from emoshift.emotion import Emotion
from emoshift.errors import ConfigError, NoSpeechError
from emoshift.recognize.base import EmotionProbs
from emoshift.recognize.features_audio import FEATURE_NAMES, extract_features
from emoshift.recognize.speech import (
    LABELS_4,
    LABELS_7,
    SpeechEmotionRecognizer,
    load_model_file,
    load_speech_recognizer,
    model_path,
)

HELD_OUT_ACTORS = ("17", "18")  # left out of ser_prosody_4_dev.npz by the training script


@pytest.fixture(scope="session")
def rec4() -> SpeechEmotionRecognizer:
    return load_speech_recognizer(4)


@pytest.fixture(scope="session")
def ravdess(shared_data: Path) -> Path:
    path = shared_data / "ravdess_actors01-18"
    if not (path / "manifest.csv").exists():
        pytest.skip("RAVDESS not available")
    return path


@pytest.fixture(scope="session")
def manifest(ravdess: Path) -> list[dict[str, str]]:
    with open(ravdess / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def angry_clip(ravdess: Path) -> tuple[np.ndarray, int]:
    # actor 01, anger, strong, statement 1, repetition 1
    audio, sr = sf.read(ravdess / "Actor_01" / "03-01-05-02-01-01-01.flac", dtype="float32")
    return audio, sr


def test_labels_and_licences(rec4: SpeechEmotionRecognizer) -> None:
    assert rec4.labels == (Emotion.ANGER, Emotion.HAPPINESS, Emotion.NEUTRAL, Emotion.SADNESS)
    assert rec4.licence_keys[:2] == ("emoshift-ser", "ravdess")
    rec7 = load_speech_recognizer(7)
    assert rec7.labels == LABELS_7 and len(set(rec7.labels)) == 7
    assert load_speech_recognizer(4) is rec4  # cached
    with pytest.raises(ConfigError):
        load_speech_recognizer(5)


def test_predict_real_clip_is_a_distribution(
    rec4: SpeechEmotionRecognizer, angry_clip: tuple[np.ndarray, int]
) -> None:
    audio, sr = angry_clip
    probs = rec4.predict(audio, sr)
    assert isinstance(probs, EmotionProbs)
    assert probs.p.shape == (4,) and probs.p.dtype == np.float32
    assert np.all(probs.p >= 0) and abs(float(probs.p.sum()) - 1.0) < 1e-5
    # anger and happiness (both high arousal) share most of the mass of a strong angry take
    assert probs.column(Emotion.ANGER) + probs.column(Emotion.HAPPINESS) > 0.6


def test_held_out_actors_mostly_right(ravdess: Path, manifest: list[dict[str, str]]) -> None:
    """Development model trained without actors 17-18, judged on their clips: the strong
    anger / happiness / sadness takes and all neutral takes (32 clips, chance 25%)."""
    labels, model, variant, _ = load_model_file(
        model_path("prosody", 4).with_name("ser_prosody_4_dev.npz")
    )
    dev = SpeechEmotionRecognizer(labels, model, variant)
    rows = [
        r
        for r in manifest
        if r["actor"] in HELD_OUT_ACTORS
        and (
            (r["label"] in ("anger", "happiness", "sadness") and r["intensity"] == "strong")
            or r["label"] == "neutral"
        )
    ]
    assert len(rows) == 32
    clips = [sf.read(ravdess / r["path"], dtype="float32") for r in rows]
    probs = dev.predict_batch([c[0] for c in clips], clips[0][1])
    pred = [e.value for e in probs.top_labels()]
    truth = [r["label"] for r in rows]
    per_class = {c: np.mean([p == c for p, t in zip(pred, truth) if t == c]) for c in set(truth)}
    ua = float(np.mean(list(per_class.values())))
    # measured 0.656 when written (neutral 0.88, anger 0.88, sadness 0.50, happiness 0.38); chance 0.25
    print(f"held-out UA {ua:.3f} {per_class}")
    assert ua >= 0.55, per_class


def test_batch_matches_single(
    rec4: SpeechEmotionRecognizer, angry_clip: tuple[np.ndarray, int]
) -> None:
    audio, sr = angry_clip
    batch = rec4.predict_batch([audio, audio[: sr * 2]], sr)
    assert batch.p.shape == (2, 4)
    np.testing.assert_allclose(batch.p[0], rec4.predict(audio, sr).p, atol=1e-6)
    assert rec4.predict_batch([], sr).p.shape == (0, 4)


def test_any_sample_rate_and_gain(
    rec4: SpeechEmotionRecognizer, angry_clip: tuple[np.ndarray, int]
) -> None:
    audio, sr = angry_clip
    ref = rec4.predict(audio, sr).p
    for new_sr in (44100, 22050):
        x = soxr.resample(audio, sr, new_sr).astype(np.float32)
        p = rec4.predict(x, new_sr).p
        assert np.argmax(p) == np.argmax(ref)
        assert np.max(np.abs(p - ref)) < 0.15
    stereo = np.stack([audio, audio], axis=1)
    np.testing.assert_allclose(rec4.predict(stereo, sr).p, ref, atol=1e-5)
    # no absolute level in the features: a 20 dB quieter copy gives the same answer
    np.testing.assert_allclose(rec4.predict(audio * 0.1, sr).p, ref, atol=0.02)


def test_silence_and_too_short_raise(
    rec4: SpeechEmotionRecognizer, angry_clip: tuple[np.ndarray, int]
) -> None:
    audio, sr = angry_clip
    with pytest.raises(NoSpeechError, match="silent"):
        rec4.predict(np.zeros(sr * 2, np.float32), sr)
    rng = np.random.default_rng(0)
    with pytest.raises(NoSpeechError):
        rec4.predict((rng.standard_normal(sr * 2) * 1e-4).astype(np.float32), sr)
    with pytest.raises(NoSpeechError, match="too little speech"):
        rec4.predict(audio[int(0.9 * sr) : int(1.1 * sr)], sr)
    with pytest.raises(NoSpeechError, match="empty"):
        rec4.predict(np.zeros(0, np.float32), sr)
    with pytest.raises(NoSpeechError, match="clip 1"):
        rec4.predict_batch([audio, np.zeros(sr, np.float32)], sr)


def test_features_are_finite(angry_clip: tuple[np.ndarray, int]) -> None:
    audio, sr = angry_clip
    f = extract_features(audio, sr)
    assert f.shape == (len(FEATURE_NAMES),) and f.dtype == np.float32
    assert np.all(np.isfinite(f))
    # pitch of a male actor's angry take lies in a plausible band (semitones re 100 Hz)
    med = f[FEATURE_NAMES.index("f0_median")]
    assert -5.0 < med < 25.0


def test_label_sets_match_weights() -> None:
    for k, labels in ((4, LABELS_4), (7, LABELS_7)):
        got, model, variant, info = load_model_file(model_path("prosody", k))
        assert got == labels and variant == "prosody"
        assert model.coef.shape == (len(FEATURE_NAMES), k)
        assert info["cv_mean_fold_ua"] > 1.5 / k  # well above chance, as trained


def test_whisper_variant_predicts(angry_clip: tuple[np.ndarray, int]) -> None:
    rec = load_speech_recognizer(4, "whisper")
    assert "whisper-base" in rec.licence_keys
    audio, sr = angry_clip
    p = rec.predict(audio, sr).p
    assert p.shape == (4,) and abs(float(p.sum()) - 1.0) < 1e-5
    assert rec.features(audio, sr).shape == (len(FEATURE_NAMES) + 512,)


# --- speaker-normalised mode ---------------------------------------------------------------
@pytest.fixture(scope="session")
def held_out_4class(
    ravdess: Path, manifest: list[dict[str, str]]
) -> tuple[list[dict[str, str]], np.ndarray]:
    """Rows and prosody features of all 4-class clips of the held-out actors 17-18 (72)."""
    four = {"anger", "happiness", "sadness", "neutral", "calm"}
    rows = [r for r in manifest if r["actor"] in HELD_OUT_ACTORS and r["label"] in four]
    feats = np.stack(
        [extract_features(*sf.read(ravdess / r["path"], dtype="float32")) for r in rows]
    )
    return rows, feats


def test_speaker_normalised_held_out_actors(
    held_out_4class: tuple[list[dict[str, str]], np.ndarray],
) -> None:
    """Development speaker-normalised model (actors 17-18 held out). Each judged clip is
    normalised by its actor's clips of the OTHER sentence (never itself; labels unused), as
    a TTS voice is by its renditions of other sentences. Same 32 clips as the plain test."""
    rows, feats = held_out_4class
    labels, model, variant, _ = load_model_file(
        model_path("prosody", 4).with_name("ser_prosody_4_spknorm_dev.npz")
    )
    dev = SpeechEmotionRecognizer(labels, model, variant, norm_model=model)
    pred, truth = [], []
    for i, r in enumerate(rows):
        if not (
            (r["label"] in ("anger", "happiness", "sadness") and r["intensity"] == "strong")
            or r["label"] == "neutral"
        ):
            continue
        other = [
            j
            for j, o in enumerate(rows)
            if o["actor"] == r["actor"] and o["statement"] != r["statement"]
        ]
        assert i not in other and len(other) == 18
        ref = dev.reference_from_features(feats[other])
        pred.append(dev.predict_features(feats[i], reference=ref).top_labels()[0].value)
        truth.append(r["label"])
    assert len(truth) == 32
    per_class = {c: np.mean([p == c for p, t in zip(pred, truth) if t == c]) for c in set(truth)}
    ua = float(np.mean(list(per_class.values())))
    # measured 0.531 when written (anger 1.0, neutral 0.75, happiness 0.25, sadness 0.125):
    # below the plain model's 0.656 on these two actors, although over all 18 actors
    # (leave-one-actor-out) normalising raises the 4-class UA from 0.645 to 0.702
    print(f"held-out speaker-normalised UA {ua:.3f} {per_class}")
    assert ua >= 0.45, per_class


def test_reference_api(rec4: SpeechEmotionRecognizer, angry_clip: tuple[np.ndarray, int]) -> None:
    from emoshift.errors import BackendError

    rec = load_speech_recognizer(4, "prosody")
    audio, sr = angry_clip
    half = audio.size // 2
    ref = rec.reference([audio[:half], audio[half:]], sr)
    assert ref.n_utterances == 2 and ref.mean.shape == (len(FEATURE_NAMES),)
    p = rec.predict(audio, sr, reference=ref).p
    assert p.shape == (4,) and abs(float(p.sum()) - 1.0) < 1e-5
    # the reference moves the answer: judged against itself, an utterance is "average"
    same = rec.predict(audio, sr, reference=rec.reference([audio, audio], sr)).p
    assert not np.allclose(same, rec.predict(audio, sr).p, atol=1e-3)
    batch = rec.predict_batch([audio, audio], sr, reference=ref).p
    np.testing.assert_allclose(batch[0], p, atol=1e-6)
    with pytest.raises(ConfigError, match="at least 2"):
        rec.reference([audio], sr)
    with pytest.raises(ConfigError, match="features"):  # a whisper-sized reference
        rec.predict(audio, sr, reference=rec.reference_from_features(np.zeros((2, 570))))
    bare = SpeechEmotionRecognizer(rec.labels, rec.model, "prosody")
    with pytest.raises(BackendError, match="speaker-normalised"):
        bare.predict(audio, sr, reference=ref)
    assert rec4.norm_model is not None  # the default variant ships one too


@pytest.fixture(scope="module")
def train_script():
    """scripts/train_speech_emotion.py as a module (the training recipe)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    import train_speech_emotion

    return train_speech_emotion


def test_group_weight_is_folded_into_the_stored_scale(train_script) -> None:
    """The training recipe's Whisper-block weight: the model fitted on the weighted
    standardised features must give the same probabilities from raw features (inference
    takes raw features and knows nothing of the weight)."""
    from sklearn.linear_model import LogisticRegression

    tr = train_script
    rng = np.random.default_rng(0)
    nd = len(FEATURE_NAMES)
    X = rng.normal(size=(120, nd + 6)) * rng.uniform(0.5, 3.0, size=nd + 6)
    y = np.array([e.value for e in LABELS_4])[rng.integers(0, 4, 120)]
    X[:, nd] += 2.0 * (y == "anger")  # a Whisper-block column that carries a class
    w = 0.25
    model = tr.fit(X, y, LABELS_4, C=0.1, group_weight=w)
    Z = (X - X.mean(0)) / X.std(0)
    Z[:, nd:] *= w
    ref = LogisticRegression(C=0.1, max_iter=5000, class_weight="balanced", random_state=0)
    ref.fit(Z, y)
    order = [list(ref.classes_).index(e.value) for e in LABELS_4]
    np.testing.assert_allclose(model.proba(X), ref.predict_proba(Z)[:, order], atol=1e-5)
    # a smaller weight is a stronger prior against the block: its coefficient shrinks
    full = tr.fit(X, y, LABELS_4, C=0.1, group_weight=1.0)
    assert (
        np.abs(model.coef[nd] / model.scale[nd]).max()
        < np.abs(full.coef[nd] / full.scale[nd]).max()
    )


def test_shipped_whisper_models_record_their_recipe(train_script) -> None:
    """The committed default models carry the C and group weight they were trained with."""
    tr = train_script
    for k in (4, 7):
        with np.load(model_path("whisper", k)) as d:
            assert float(d["info_group_weight"]) == tr.GROUP_WEIGHT["whisper"]
            assert float(d["info_C"]) == tr.C_BY_VARIANT["whisper"]
