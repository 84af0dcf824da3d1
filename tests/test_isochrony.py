"""Isochrony: new speech kept within a time budget (rewrite choice + shorter pauses), on real
Kokoro speech and a real talking clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from emoshift.emotion import Emotion, EmotionSpec
from emoshift.speech import isochrony as iso
from emoshift.speech.synthesize import SYNTHESIZERS
from emoshift.speech.transcribe import get_transcriber, word_error_rate
from emoshift.speech.voice import VoiceProfile


def test_estimate_grows_with_words_pauses_and_slower_speech():
    short = "It is late."
    longer = "It is late, and I am so tired of all of it."
    assert iso.estimate_seconds(longer) > iso.estimate_seconds(short)
    assert iso.estimate_seconds(short, speed=0.8) > iso.estimate_seconds(short, speed=1.0)
    assert iso.estimate_seconds(short, pause_factor=1.6) > iso.estimate_seconds(short)
    assert iso.count_breaks("Oh no... It is late, isn't it? Yes!") == 4


def test_pick_within_prefers_rank_then_fit_and_keeps_the_verdict():
    cands = [
        "Sadly, it is late... It makes me so sad... I'm heartbroken about it...",
        "It is late, and it breaks my heart.",
        "It is late.",  # shortest, but the recogniser does not read it as the target
    ]
    scores = [{"is_top": True}, {"is_top": True}, {"is_top": False}]
    # a generous budget keeps the best-ranked
    i, rec = iso.pick_within(cands, scores, 60.0)
    assert i == 0 and rec["reason"] == "fits"
    # a budget only the second fits
    need1 = iso.estimate_seconds(cands[1])
    need0 = iso.estimate_seconds(cands[0], break_seconds=0.25)
    assert need1 < need0
    i, rec = iso.pick_within(cands, scores, (need1 + min(need0, need1 * 1.3)) / 2)
    assert i == 1
    # nothing fits: the shortest candidate with the best one's verdict, never the off-target one
    i, rec = iso.pick_within(cands, scores, 0.5)
    assert i == 1 and rec["reason"].startswith("shortest")


@pytest.fixture(scope="module")
def sad_speech():
    kokoro = SYNTHESIZERS.create("kokoro")
    voice = VoiceProfile(f0_median=120.0, f0_iqr_st=3.0, sex="male", syllable_rate=4.3)
    text = "Sadly, it is over... I tried so hard, and it did not work... It makes me so sad..."
    return kokoro.synthesize(text, EmotionSpec(Emotion.SADNESS, 1.0), voice)


def test_fit_pauses_shortens_pauses_only(sad_speech):
    out = sad_speech
    runs = iso.pause_runs(out.audio, out.sr)
    assert len(runs) >= 2, "sad Kokoro speech of three sentences has inner pauses"
    give = sum(max(0, b - a - int(0.2 * out.sr)) for a, b in runs) / out.sr
    assert give > 0.3
    target = out.duration - 0.7 * give
    audio, phones, removed = iso.fit_pauses(out.audio, out.sr, target, out.phones, min_pause=0.2)
    assert audio.size / out.sr <= target + 0.01
    assert removed == pytest.approx(out.duration - audio.size / out.sr, abs=1e-3)
    # every pause is still there, none shorter than the floor (10 ms frames)
    new_runs = iso.pause_runs(audio, out.sr)
    assert len(new_runs) == len(runs)
    assert min(b - a for a, b in new_runs) / out.sr >= 0.2 - 0.02
    # the words are untouched: the speech outside the pauses is the same samples
    active_before = sum(b - a for a, b in runs)
    assert out.audio.size - active_before == pytest.approx(
        audio.size - sum(b - a for a, b in new_runs), abs=0.03 * out.sr
    )
    g = int(np.gcd(out.sr, 16000))
    a16 = resample_poly(audio, 16000 // g, out.sr // g).astype(np.float32)
    assert word_error_rate(out.text, get_transcriber("base").transcribe(a16, 16000).text) <= 0.1
    # phones follow the cuts: same labels, ordered, inside the new audio
    assert out.phones is not None and phones is not None
    assert [p.label for p in phones] == [p.label for p in out.phones]
    starts = np.array([p.start for p in phones])
    assert np.all(np.diff(starts) >= -1e-6)
    assert phones[-1].end <= audio.size / out.sr + 1e-3
    # already short enough: unchanged
    same, _, removed = iso.fit_pauses(out.audio, out.sr, out.duration + 1.0, out.phones)
    assert removed == 0.0 and same.size == out.audio.size


def test_speech_to_speech_keeps_to_the_budget(talk_clip: Path):
    from emoshift.media import read_audio
    from emoshift.speech.s2s import speech_to_speech

    audio = read_audio(talk_clip, sr=16000)[: 16000 * 5]
    spec = EmotionSpec(Emotion.SADNESS, 1.0)
    free = speech_to_speech(audio, 16000, spec, seed=1)
    budget = 0.9 * free.duration
    fit = speech_to_speech(audio, 16000, spec, seed=1, max_seconds=budget)
    assert fit.duration <= budget + 0.01
    assert fit.rewrite is not None and "isochrony" in fit.rewrite
    assert "isochrony" in fit.info
    # still a sad rewrite of the same words
    assert fit.rewritten_text != fit.transcript.text
    assert fit.info.get("target", {}).get("label") == "sadness"
    # a budget the words alone exceed: the shortest eligible rewrite, pauses at their floor,
    # the words sped up by at most 10 % (so it runs over, but less than the free rendition)
    tight = speech_to_speech(audio, 16000, spec, seed=1, max_seconds=0.5 * free.duration)
    assert tight.rewrite["isochrony"]["reason"].startswith("shortest")
    assert tight.info["isochrony"]["rate_used"] == pytest.approx(iso.MAX_WORD_SPEEDUP)
    assert 0.5 * free.duration < tight.duration < fit.duration + 0.01
    assert tight.phones and tight.phones[-1].end <= tight.duration
