"""Frechet distance, motion, lip sync, WER, F0, onsets and accuracy tables: hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.errors import ConfigError
from emoshift.metrics.accuracy import accuracy_table
from emoshift.metrics.audio import f0_stats, has_sound, onset_times
from emoshift.metrics.frechet import frechet_distance, frechet_from_stats
from emoshift.metrics.motion import beat_align_score, head_motion_std, landmark_jerk, motion_beats
from emoshift.metrics.sync import inner_lip_gap, lip_sync_score, loudness_per_frame
from emoshift.metrics.text import normalize_text, word_error_rate


# --- Frechet -----------------------------------------------------------------------------------
def test_frechet_hand_computed() -> None:
    # diagonal covariances: |mu|^2 + sum (sqrt(a) - sqrt(b))^2 = 1 + (1-2)^2 + (2-1)^2 = 3
    d = frechet_from_stats(
        np.array([1.0, 0.0]), np.diag([1.0, 4.0]), np.zeros(2), np.diag([4.0, 1.0])
    )
    assert d == pytest.approx(3.0)
    x = np.random.default_rng(0).normal(size=(200, 5))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(x, x + 2.0) == pytest.approx(4.0 * 5, rel=1e-6)  # mean shift only
    with pytest.raises(ConfigError):
        frechet_distance(x[:1], x)


# --- motion ------------------------------------------------------------------------------------
def test_head_motion_std() -> None:
    pose = np.zeros((4, 3))
    pose[:, 0] = [0, 2, 0, 2]
    pose = np.vstack([pose, [np.nan] * 3])
    s = head_motion_std(pose)
    assert s["yaw"] == pytest.approx(1.0) and s["pitch"] == 0.0
    assert s["mean"] == pytest.approx(1.0 / 3)


def test_beat_align_hand_computed() -> None:
    assert beat_align_score(np.array([10]), np.array([10, 40])) == pytest.approx(1.0)
    assert beat_align_score(np.array([10]), np.array([13])) == pytest.approx(np.exp(-0.5))
    assert beat_align_score(np.array([10, 40]), np.array([10])) == pytest.approx(
        (1 + np.exp(-900 / 18)) / 2
    )
    assert beat_align_score(np.array([5]), np.array([])) == 0.0
    assert np.isnan(beat_align_score(np.array([]), np.array([3])))


def test_motion_beats_at_head_turns() -> None:
    fps = 30.0
    t = np.arange(120) / fps
    pose = np.zeros((120, 3))
    pose[:, 0] = 10 * np.sin(2 * np.pi * 0.5 * t)  # turns at t = 0.5, 1.5, 2.5, 3.5 s
    beats = motion_beats(pose, fps) / fps
    assert len(beats) == 4
    np.testing.assert_allclose(beats, [0.5, 1.5, 2.5, 3.5], atol=0.05)


def test_landmark_jerk() -> None:
    t = np.arange(10, dtype=np.float64)
    lin = np.zeros((10, 2, 2))
    lin[:, :, 0] = 3 * t[:, None]
    assert landmark_jerk(lin, 25.0) == 0.0
    quad = np.zeros((10, 2, 2))
    quad[:, :, 1] = (t**2)[:, None]
    assert landmark_jerk(quad, 25.0) == 0.0
    cub = np.zeros((10, 1, 2))
    cub[:, 0, 0] = t**3  # third difference of t^3 is 6 everywhere
    assert landmark_jerk(cub, 10.0) == pytest.approx(6 * 1000.0)
    assert landmark_jerk(cub, 10.0, scale=2.0) == pytest.approx(3 * 1000.0)
    cub[5] = np.nan  # windows touching frame 5 are skipped
    assert landmark_jerk(cub, 10.0) == pytest.approx(6000.0)


# --- lip sync ----------------------------------------------------------------------------------
def _mesh(gap: float, iod: float = 100.0) -> np.ndarray:
    p = np.zeros((478, 3), dtype=np.float32)
    p[[33, 133], 0] = [0, 0]  # right eye centre at x=0
    p[[263, 362], 0] = [iod, iod]
    for up, lo in ((81, 178), (82, 87), (13, 14), (312, 317), (311, 402)):
        p[up, 1] = 50.0
        p[lo, 1] = 50.0 + gap
    return p


def test_inner_lip_gap_normalised_by_iod() -> None:
    assert inner_lip_gap(_mesh(20.0)) == pytest.approx(0.2)
    assert inner_lip_gap(_mesh(20.0, iod=200.0)) == pytest.approx(0.1)
    seq = np.stack([_mesh(0.0), _mesh(30.0), np.full((478, 3), np.nan, np.float32)])
    g = inner_lip_gap(seq)
    assert g[0] == 0.0 and g[1] == pytest.approx(0.3) and np.isnan(g[2])


def test_loudness_per_frame_of_a_sine() -> None:
    sr, fps = 16000, 25.0
    x = 0.5 * np.sin(2 * np.pi * 200 * np.arange(sr) / sr)
    db = loudness_per_frame(x, sr, fps, 30)
    expected = 20 * np.log10(0.5 / np.sqrt(2))  # -9.03 dB
    np.testing.assert_allclose(db[2:24], expected, atol=0.05)
    assert np.isnan(db[-1])  # frame 29 is at 1.16 s, past the 1 s of audio
    assert loudness_per_frame(np.zeros(sr), sr, fps, 3)[1] == -60.0


def test_lip_sync_finds_the_lag() -> None:
    rng = np.random.default_rng(0)
    loud = rng.normal(size=200)
    opening = np.concatenate([np.full(3, np.nan), loud[:-3]])  # mouth 3 frames after the sound
    res = lip_sync_score(opening, loud, fps=30.0, max_lag_s=0.2)
    assert res.lag_frames == 3 and res.r == pytest.approx(1.0)
    assert res.lag_s == pytest.approx(0.1)
    assert abs(res.r_at_zero) < 0.3
    unrelated = lip_sync_score(rng.normal(size=200), loud, fps=30.0)
    assert abs(unrelated.r) < 0.3


# --- WER ---------------------------------------------------------------------------------------
def test_wer_hand_computed() -> None:
    r = word_error_rate("The cat sat on the mat.", "the cat sat on a mat")
    assert (r.substitutions, r.deletions, r.insertions, r.reference_words) == (1, 0, 0, 6)
    assert r.wer == pytest.approx(1 / 6)
    r = word_error_rate("a b c", "a x b c d")
    assert (r.substitutions, r.deletions, r.insertions) == (0, 0, 2)
    r = word_error_rate("one two three four", "one three")
    assert (r.deletions, r.wer) == (2, 0.5)
    assert word_error_rate("Don't STOP!", "don\u2019t stop").wer == 0.0
    assert word_error_rate("", "").wer == 0.0
    with pytest.raises(ConfigError):
        word_error_rate("...", "words")
    assert normalize_text("Well-known 'quotes', I'd say.") == [
        "well",
        "known",
        "quotes",
        "i'd",
        "say",
    ]


# --- F0 and onsets -----------------------------------------------------------------------------
def test_f0_stats_of_a_harmonic_tone() -> None:
    sr = 16000
    t = np.arange(sr) / sr
    tone = sum(0.3 / k * np.sin(2 * np.pi * 180 * k * t) for k in (1, 2, 3)).astype(np.float32)
    s = f0_stats(tone, sr)
    assert s.median_hz == pytest.approx(180, rel=0.02)
    assert s.voiced_fraction > 0.8
    assert s.iqr_semitones < 0.3
    silent = f0_stats(np.zeros(sr, dtype=np.float32), sr)
    assert silent.voiced_fraction == 0.0 and np.isnan(silent.median_hz)


def test_onsets_of_clicks() -> None:
    sr = 16000
    y = np.zeros(2 * sr, dtype=np.float32)
    for at in (0.25, 0.8, 1.3):
        i = int(at * sr)
        y[i : i + 200] = np.sin(np.arange(200) * 0.3)
    on = onset_times(y, sr)
    np.testing.assert_allclose(on, [0.25, 0.8, 1.3], atol=0.035)
    assert onset_times(np.zeros(sr, dtype=np.float32), sr).size == 0


def test_has_sound_gate() -> None:
    sr = 16000
    rng = np.random.default_rng(0)
    assert not has_sound(np.zeros(sr, dtype=np.float32), sr)
    assert not has_sound(rng.normal(0, 10 ** (-62 / 20), sr), sr)  # a -62 dB noise floor
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(sr) / sr)  # -23 dB FS
    assert has_sound(tone, sr)
    quiet = np.zeros(sr)
    quiet[: sr // 20] = tone[: sr // 20]  # sound in only 5% of the clip
    assert not has_sound(quiet, sr)


# --- accuracy tables ---------------------------------------------------------------------------
def test_accuracy_table_hand_computed() -> None:
    t = accuracy_table(["happy", "sad", "sad", "anger"], ["happiness", "sad", "happy", "angry"])
    assert t.labels == ("anger", "happiness", "sadness")
    np.testing.assert_array_equal(t.confusion, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    np.testing.assert_allclose(t.per_class, [1.0, 1.0, 0.5])
    assert t.overall == pytest.approx(0.75) and t.unweighted == pytest.approx(2.5 / 3)
    md = t.to_markdown("ETG")
    assert "| ETG | 100.0% | 100.0% | 50.0% | 75.0% | 83.3% |" in md
    t2 = accuracy_table(["a", "b"], ["a", "a"], labels=["a", "b", "c"])
    assert np.isnan(t2.per_class[2]) and t2.unweighted == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        accuracy_table(["a"], ["a", "b"])
    with pytest.raises(ConfigError):
        accuracy_table(["a"], ["z"], labels=["a"])
