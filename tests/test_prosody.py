"""Emotion -> prosody targets, and WORLD re-synthesis with them."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.emotion import Emotion, EmotionSpec, parse_emotion
from emoshift.speech.convert import convert_emotion
from emoshift.speech.prosody import (
    ProsodyTargets,
    active_rms,
    apply_prosody,
    median_f0,
    targets_for,
)


def test_zero_intensity_is_identity_and_neutral_only_calms():
    assert targets_for(EmotionSpec(Emotion.ANGER, 0.0)).is_identity
    assert targets_for(EmotionSpec(Emotion.NEUTRAL, 0.0)).is_identity
    n = targets_for(EmotionSpec(Emotion.NEUTRAL, 1.0))
    # neutral removes colouring: a flatter, slightly darker reading; same level, rate, loudness
    assert 0.7 <= n.f0_range < 1.0 and n.tilt_db <= 0
    assert n.f0_shift_st == 0 and n.rate == 1 and n.energy_db == 0 and n.breathiness == 0


def test_directions_follow_murray_and_arnott():
    t = {e: targets_for(EmotionSpec(e, 1.0)) for e in Emotion}
    for hi in (Emotion.ANGER, Emotion.HAPPINESS, Emotion.FEAR, Emotion.SURPRISE):
        assert t[hi].f0_shift_st > 1.5 and t[hi].f0_range > 1.2
    sad = t[Emotion.SADNESS]
    assert sad.f0_range < 0.8 and sad.tilt_db < -3 and sad.breathiness > 0.3
    assert sad.rate < 0.95 and t[Emotion.FEAR].rate > 1.05
    assert t[Emotion.DISGUST].rate < 0.9 and t[Emotion.DISGUST].f0_shift_st < 0
    assert (
        t[Emotion.ANGER].energy_db
        > t[Emotion.HAPPINESS].energy_db
        > 0
        > t[Emotion.SADNESS].energy_db
    )
    assert t[Emotion.SADNESS].pause_factor > 1 > t[Emotion.ANGER].pause_factor


def test_intensity_scales_monotonically():
    shifts = [
        targets_for(EmotionSpec(Emotion.HAPPINESS, k)).f0_shift_st for k in (0.2, 0.5, 0.8, 1.0)
    ]
    assert np.all(np.diff(shifts) > 0)
    mix = targets_for(parse_emotion("happy and sad", 1.0))
    hap, sad = (
        targets_for(EmotionSpec(Emotion.HAPPINESS, 1.0)),
        targets_for(EmotionSpec(Emotion.SADNESS, 1.0)),
    )
    assert sad.f0_shift_st < mix.f0_shift_st < hap.f0_shift_st


@pytest.fixture(scope="session")
def voice(talk_clip):
    from emoshift.media import read_audio

    return read_audio(talk_clip, sr=16000, end=3.0)


def test_f0_level_range_and_reference(voice):
    sr = 16000
    f0_in = median_f0(voice, sr)
    up = apply_prosody(voice, sr, ProsodyTargets(f0_shift_st=4.0))
    assert 12 * np.log2(median_f0(up, sr) / f0_in) == pytest.approx(4.0, abs=0.8)
    ref = apply_prosody(voice, sr, ProsodyTargets(), f0_ref=1.3 * f0_in)
    assert median_f0(ref, sr) == pytest.approx(1.3 * f0_in, rel=0.05)


def test_rate_energy_and_pauses(voice):
    sr = 16000
    slow = apply_prosody(voice, sr, ProsodyTargets(rate=0.8))
    assert slow.size / voice.size == pytest.approx(1.25, rel=0.03)
    loud = apply_prosody(voice, sr, ProsodyTargets(energy_db=-6.0))
    assert 20 * np.log10(active_rms(loud, sr) / active_rms(voice, sr)) == pytest.approx(
        -6.0, abs=1.0
    )
    assert np.max(np.abs(apply_prosody(voice, sr, ProsodyTargets(energy_db=20.0)))) <= 0.97 + 1e-6


def test_keep_words_conversion_changes_prosody_not_length_when_asked(voice):
    sr = 16000
    sad = convert_emotion(voice, sr, parse_emotion("very sad"))
    happy = convert_emotion(voice, sr, parse_emotion("very happy"), keep_timing=True)
    assert happy.size == voice.size
    assert sad.size > voice.size * 1.05
    assert median_f0(happy, sr) > median_f0(voice, sr) * 1.1
    from emoshift.speech.prosody import f0_stats, track_f0

    assert f0_stats(track_f0(sad, sr))[1] < 0.85 * f0_stats(track_f0(voice, sr))[1]  # flatter


def test_world_in_parallel_pieces_matches_one_piece(voice):
    """Analysis cut at quiet frames gives the whole-utterance frames; synthesis cut at quiet
    unvoiced frames gives the same length and spectrum (WORLD's noise source restarts in
    each piece, so aperiodic detail differs sample by sample) and no click at the cuts."""
    from scipy.signal import stft

    from emoshift.speech import prosody as P

    audio, sr = voice, 16000
    one = P.analyse(audio, sr, workers=1)
    two = P.analyse(audio, sr, workers=2)
    assert two.f0.shape == one.f0.shape and two.sp.shape == one.sp.shape
    # pitch differs only next to the one cut (within 100 ms: DIO's window sees less context)
    diff = np.flatnonzero(np.abs(two.f0 - one.f0) > 1.0)
    assert diff.size == 0 or diff[-1] - diff[0] <= 20
    assert np.median(np.abs(np.log(two.sp + 1e-12) - np.log(one.sp + 1e-12))) < 1e-3
    mod = P.modify(one, P.targets_for(EmotionSpec(Emotion.SADNESS, 1.0)))
    y1 = P.synthesize_world(mod, workers=1)
    y2 = P.synthesize_world(mod, workers=2)
    assert y2.shape == y1.shape

    def logspec(y):
        return np.log(np.abs(stft(y, sr, nperseg=512, noverlap=384)[2]) + 1e-4)

    assert np.corrcoef(logspec(y1).ravel(), logspec(y2).ravel())[0, 1] > 0.95
    # no click: the largest sample-to-sample step is no larger than the one-piece output's
    assert np.abs(np.diff(y2)).max() <= 1.2 * np.abs(np.diff(y1)).max()
