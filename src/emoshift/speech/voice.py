"""The original speaker's voice, measured, and the TTS voice chosen to resemble it.

A :class:`VoiceProfile` holds what the packaged TTS voices can be matched on: median F0 and
its spread, a sex estimate from F0 (the only cue available without a speaker model), and the
speaking rate. :func:`choose_kokoro_voice` picks (or blends) Kokoro voices by F0 and sex; the
synthesizers then move the rendition's median F0 onto the speaker's with WORLD
(:func:`emoshift.speech.prosody.apply_prosody` with ``f0_ref``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from emoshift.errors import SpeechError
from emoshift.speech.prosody import f0_stats, track_f0

# Median F0 (Hz) of each Kokoro voice reading English through espeak IPA, measured with
# DIO/StoneMask on two sentences per voice (see docs/speech.md); jm_kumo is the only male.
KOKORO_VOICE_F0: Mapping[str, float] = {
    "jf_alpha": 250.0,
    "jf_gongitsune": 220.0,
    "jf_nezumi": 232.0,
    "jf_tebukuro": 312.0,
    "jm_kumo": 91.0,
}
KOKORO_VOICE_SEX: Mapping[str, str] = {
    v: ("male" if v.startswith("jm") else "female") for v in KOKORO_VOICE_F0
}
SEX_F0_BOUNDARY = 160.0  # Hz: adult male speech mostly below, female above
DEFAULT_F0 = {"male": 115.0, "female": 210.0}


@dataclass(frozen=True)
class VoiceProfile:
    """A speaker's voice in numbers.

    Attributes:
        f0_median: median F0 in Hz of the voiced frames.
        f0_iqr_st: inter-quartile range of F0 in semitones (how lively the melody is).
        sex: "male" or "female", estimated from F0 (boundary 160 Hz).
        syllable_rate: syllables per second of speech (nan when unknown).
        voiced_fraction: fraction of frames that are voiced.
    """

    f0_median: float
    f0_iqr_st: float
    sex: str
    syllable_rate: float = float("nan")
    voiced_fraction: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    @classmethod
    def default(cls, sex: str = "female") -> VoiceProfile:
        return cls(DEFAULT_F0[sex], 4.0, sex)


def count_syllables(text: str) -> int:
    """Rough English syllable count: vowel groups per word, silent final e, at least 1."""
    n = 0
    for w in re.findall(r"[a-z]+", text.lower()):
        groups = len(re.findall(r"[aeiouy]+", w))
        if w.endswith("e") and not w.endswith(("le", "ee")) and groups > 1:
            groups -= 1
        n += max(1, groups)
    return n


def rate_match(voice: VoiceProfile | None, nominal: float) -> float:
    """Speed factor bringing a TTS that speaks ``nominal`` syllables/s to ``voice``'s own
    syllable rate, clamped to 0.85..1.2 (a fast or slow speaker, not a distorted voice);
    1.0 when the speaker's rate is unknown."""
    if voice is None or not np.isfinite(voice.syllable_rate):
        return 1.0
    return float(np.clip(voice.syllable_rate / nominal, 0.85, 1.2))


def voice_profile(
    audio: np.ndarray, sr: int, *, text: str | None = None, speech_seconds: float | None = None
) -> VoiceProfile:
    """Measure the speaker of (N,) float32 speech at ``sr``.

    ``text`` (a transcript) and ``speech_seconds`` (time spent speaking, e.g. VAD span) give
    the syllable rate. Raises :class:`SpeechError` when there is too little voiced speech.
    """
    f0 = track_f0(audio, sr)
    med, iqr = f0_stats(f0)
    if not np.isfinite(med):
        raise SpeechError(
            "no voiced speech found to measure the speaker's pitch; give a recording with speech"
        )
    rate = float("nan")
    if text:
        secs = speech_seconds if speech_seconds else audio.size / sr
        if secs > 0.3:
            rate = count_syllables(text) / secs
    return VoiceProfile(
        f0_median=med,
        f0_iqr_st=iqr,
        sex="male" if med < SEX_F0_BOUNDARY else "female",
        syllable_rate=rate,
        voiced_fraction=float(np.mean(f0 > 0)),
    )


def choose_kokoro_voice(profile: VoiceProfile | None) -> dict[str, float]:
    """Kokoro voice weights closest to ``profile``: the male voice for male speakers; for
    female speakers the two voices nearest in log-F0, weighted by inverse distance."""
    if profile is None:
        return {"jf_alpha": 1.0}
    same = [v for v, s in KOKORO_VOICE_SEX.items() if s == profile.sex] or list(KOKORO_VOICE_F0)
    if len(same) == 1:
        return {same[0]: 1.0}
    dist = {v: abs(np.log2(KOKORO_VOICE_F0[v] / profile.f0_median)) for v in same}
    best = sorted(same, key=dist.__getitem__)[:2]
    inv = {v: 1.0 / (dist[v] + 0.05) for v in best}
    total = sum(inv.values())
    return {v: round(w / total, 3) for v, w in inv.items()}
