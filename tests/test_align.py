"""Forced phone alignment with pocketsphinx (lip-sync timings)."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.errors import SpeechError
from emoshift.speech.align import (
    ARPABET,
    align_phones,
    align_words,
    ipa_to_arpabet,
    normalize_for_alignment,
)
from emoshift.speech.transcribe import get_transcriber


@pytest.fixture(scope="session")
def talk(talk_clip):
    from emoshift.media import read_audio

    audio = read_audio(talk_clip, sr=16000)
    return audio, get_transcriber("base").transcribe(audio, 16000)


def test_phones_cover_the_words_in_order(talk):
    audio, tr = talk
    phones = align_phones(audio, 16000, tr.text)
    assert len(phones) > 30
    assert {p.label for p in phones} <= set(ARPABET)
    starts = np.array([p.start for p in phones])
    ends = np.array([p.end for p in phones])
    assert np.all(ends > starts) and np.all(np.diff(starts) > 0)
    assert np.all(starts[1:] >= ends[:-1] - 1e-6)  # no overlaps
    assert ends[-1] <= audio.size / 16000 + 1e-6
    # "my biggest" starts with M AY B IH G
    speech = [p.label for p in phones if p.label != "SIL"]
    assert speech[:5] == ["M", "AY", "B", "IH", "G"]


def test_word_times_agree_with_whisper(talk):
    audio, tr = talk
    aligned = [w for w in align_words(audio, 16000, tr.text) if w.text != "<sil>"]
    whisper = [w for w in tr.words if normalize_for_alignment(w.text)]
    assert len(aligned) == len(whisper)
    diffs = [abs(a.start - w.start) for a, w in zip(aligned, whisper)] + [
        abs(a.end - w.end) for a, w in zip(aligned, whisper)
    ]
    assert float(np.median(diffs)) <= 0.08


def test_out_of_vocabulary_words_use_espeak(talk):
    audio, _ = talk
    # "zorblaxian" is in no dictionary; the alignment must still run and give it phones
    words = align_words(audio[: 16000 * 2], 16000, "my zorblaxian weaknesses")
    names = [w.text for w in words]
    assert "zorblaxian" in names
    z = words[names.index("zorblaxian")]
    assert len(z.phones) >= 6 and z.end > z.start


def test_ipa_to_arpabet():
    assert ipa_to_arpabet("həlˈo\u200dʊ") == ["HH", "AH", "L", "OW"]
    assert ipa_to_arpabet("d\u200dʒˈʌd\u200dʒ") == ["JH", "AH", "JH"]
    assert ipa_to_arpabet("θˈɪŋk") == ["TH", "IH", "NG", "K"]


def test_empty_text_is_an_error(talk):
    audio, _ = talk
    with pytest.raises(SpeechError, match="nothing to align"):
        align_phones(audio, 16000, " ... ")


def test_other_sample_rates_are_resampled(talk):
    audio, tr = talk
    from scipy.signal import resample_poly

    a24 = resample_poly(audio, 3, 2).astype(np.float32)
    p16 = align_phones(audio, 16000, tr.text)
    p24 = align_phones(a24, 24000, tr.text)
    assert len(p16) == len(p24)
    assert (
        np.median(np.abs(np.array([p.start for p in p16]) - np.array([p.start for p in p24])))
        <= 0.02
    )


def test_speech_that_strays_from_its_text_aligns_with_wider_beams(tmp_path, monkeypatch):
    """A TTS sometimes slurs a word ("drove them to the" -> "drove another"): the default
    search cannot reach the text's end; the retry with wider beams can."""
    import shutil
    import subprocess

    import soundfile as sf

    from emoshift.speech import align as A

    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed")
    spoken = (
        "Oh how lovely, she packed the boxes and drove another new house, "
        "and I couldn't be happier. Love it so much."
    )
    text = (
        "Oh, how lovely, she packed the boxes and drove them to the new house, "
        "and I couldn't be happier! I love it so much!"
    )
    wav = tmp_path / "strays.wav"
    subprocess.run([exe, "-v", "en-us", "-s", "160", "-w", str(wav), spoken], check=True)
    audio, sr = sf.read(wav, dtype="float32")
    with monkeypatch.context() as m:
        m.setattr(A, "WIDE_BEAMS", {})  # the retry with the default beams: fails
        with pytest.raises(SpeechError, match="phone alignment failed"):
            A.PhoneAligner().align_phones(audio, sr, text)
    phones = A.PhoneAligner().align_phones(audio, sr, text)
    spoken_phones = [p for p in phones if p.label != "SIL"]
    assert len(spoken_phones) > 40
    assert phones[-1].end <= len(audio) / sr + 1e-3
    starts = np.array([p.start for p in phones])
    assert np.all(np.diff(starts) >= 0)
