"""Whisper transcription (packaged base / tiny.en), VAD trimming, WER helper."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.errors import ConfigError, NoSpeechError
from emoshift.speech.transcribe import (
    Transcript,
    get_transcriber,
    normalize_words,
    word_error_rate,
)


@pytest.fixture(scope="session")
def talk_audio(talk_clip):
    from emoshift.media import read_audio

    return read_audio(talk_clip, sr=16000)


@pytest.fixture(scope="session")
def talk_transcript(talk_audio) -> Transcript:
    return get_transcriber("base").transcribe(talk_audio, 16000)


def test_transcribes_real_clip(talk_transcript, talk_audio):
    t = talk_transcript
    ref = "My biggest weakness is asking for help when I need it. I'd like to do better at that."
    assert word_error_rate(ref, t.text) <= 0.2, t.text
    assert t.language == "en"
    assert abs(t.duration - talk_audio.size / 16000) < 0.01
    starts = np.array([w.start for w in t.words])
    ends = np.array([w.end for w in t.words])
    assert np.all(np.diff(starts) >= 0) and np.all(ends >= starts)
    assert 0 <= t.speech_start < t.speech_end <= t.duration + 1e-6
    assert starts[0] >= t.speech_start - 0.5 and ends[-1] <= t.duration + 1e-6
    assert all(0.0 <= w.probability <= 1.0 for w in t.words)
    assert Transcript.from_dict(t.to_dict()) == t


def test_leading_silence_is_skipped_and_times_shift(talk_audio, talk_transcript):
    pad = np.zeros(int(1.5 * 16000), np.float32)
    t = get_transcriber("base").transcribe(np.concatenate([pad, talk_audio[: 16000 * 3]]), 16000)
    assert t.speech_start >= 1.3
    assert t.words[0].start >= 1.3
    first = talk_transcript.words[0]
    assert abs(t.words[0].start - 1.5 - first.start) < 0.25


def test_silence_and_noise_raise_no_speech():
    tr = get_transcriber("base")
    with pytest.raises(NoSpeechError, match="silent"):
        tr.transcribe(np.zeros(16000 * 2, np.float32), 16000)
    noise = (np.random.default_rng(0).standard_normal(16000 * 3) * 0.01).astype(np.float32)
    with pytest.raises(NoSpeechError, match="speech"):
        tr.transcribe(noise, 16000)


def test_wrong_rate_is_a_clear_error(talk_audio):
    with pytest.raises(ConfigError, match="16 kHz"):
        get_transcriber("base").transcribe(talk_audio, 44100)


def test_tiny_en_option(talk_audio):
    t = get_transcriber("tiny.en").transcribe(talk_audio, 16000)
    assert "help" in normalize_words(t.text)
    assert t.words and t.language == "en"


def test_word_error_rate():
    assert word_error_rate("The cat sat.", "the cat sat") == 0.0
    assert word_error_rate("the cat sat", "the dog sat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "the cat") == pytest.approx(1 / 3)
    assert word_error_rate("at 9 o'clock", "at nine o'clock") == 0.0
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)
