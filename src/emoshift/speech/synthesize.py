"""Emotional text to speech (the paper's ET2S), behind one Protocol and a registry.

    from emoshift.speech.synthesize import SYNTHESIZERS
    tts = SYNTHESIZERS.create("kokoro")             # default; also "piper", "elevenlabs"
    out = tts.synthesize("We leave at nine.", parse_emotion("very happy"), voice=profile)
    out.audio, out.sr, out.phones

Offline backends speak with their own controls (speed, voice blend) and then get the emotion's
prosody (:mod:`emoshift.speech.prosody`: F0 level and range, pauses, loudness, voice quality)
through WORLD, with the median F0 moved onto the original speaker's (``voice.f0_median``)
first. Phones of the output (for lip sync) come from forced alignment of the known text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from emoshift.emotion import EmotionSpec
from emoshift.registry import Registry
from emoshift.speech.align import Phone, align_phones
from emoshift.speech.prosody import ProsodyTargets, apply_prosody, targets_for
from emoshift.speech.voice import VoiceProfile

log = logging.getLogger(__name__)

TARGET_RMS_DB = -20.0  # active-speech level of the neutral rendition, dBFS


@dataclass(frozen=True)
class SpeechAudio:
    """Synthesised speech: (N,) float32 ``audio`` in [-1, 1] at ``sr`` Hz, the ``text`` it says,
    its ``phones`` (seconds) when aligned, and ``info`` about how it was made."""

    audio: np.ndarray
    sr: int
    text: str
    phones: list[Phone] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.audio.size / self.sr


@runtime_checkable
class Synthesizer(Protocol):
    """Any ET2S backend."""

    name: str
    licence_keys: tuple[str, ...]

    def synthesize(
        self, text: str, target: EmotionSpec, voice: VoiceProfile | None = None, *, seed: int = 0
    ) -> SpeechAudio:
        """Speak ``text`` with emotion ``target`` in a voice close to ``voice``."""
        ...


SYNTHESIZERS: Registry[Synthesizer] = Registry("synthesizer")


@SYNTHESIZERS.register(
    "kokoro", default=True, summary="Kokoro-82M int8 ONNX, English via espeak-ng IPA (offline)"
)
def _kokoro(**kwargs: Any) -> Synthesizer:
    from emoshift.speech.tts_kokoro import KokoroSynthesizer

    return KokoroSynthesizer(**kwargs)


@SYNTHESIZERS.register("piper", summary="Piper VITS en_US-joe-medium (offline, US male)")
def _piper(**kwargs: Any) -> Synthesizer:
    from emoshift.speech.tts_piper import PiperSynthesizer

    return PiperSynthesizer(**kwargs)


@SYNTHESIZERS.register(
    "elevenlabs", offline=False, summary="ElevenLabs-style HTTP text-to-speech API"
)
def _elevenlabs(**kwargs: Any) -> Synthesizer:
    from emoshift.speech.tts_http import HttpSynthesizer

    return HttpSynthesizer(**kwargs)


def split_rate(targets: ProsodyTargets) -> tuple[float, ProsodyTargets]:
    """(speed for the TTS engine, the remaining targets for WORLD): speaking rate is best
    done by the TTS itself; pauses, F0 and voice quality afterwards."""
    return targets.rate, replace(targets, rate=1.0)


def normalise_level(audio: np.ndarray, sr: int, db: float = TARGET_RMS_DB) -> np.ndarray:
    """Scale (N,) speech so its active RMS is ``db`` dBFS."""
    from emoshift.speech.prosody import active_rms, soft_limit

    return soft_limit(audio * (10.0 ** (db / 20.0) / active_rms(audio, sr)))


def finish(
    audio: np.ndarray,
    sr: int,
    text: str,
    target: EmotionSpec,
    voice: VoiceProfile | None,
    post: ProsodyTargets,
    *,
    with_phones: bool,
    info: dict[str, Any],
) -> SpeechAudio:
    """Shared tail of the backends: level, WORLD prosody + F0 matching, phones.
    ``info["seconds"]`` gets the time spent on prosody and on phone alignment."""
    t0 = time.perf_counter()
    audio = normalise_level(audio, sr)
    f0_ref = voice.f0_median if voice is not None and np.isfinite(voice.f0_median) else None
    if f0_ref is not None or not post.is_identity:
        audio = apply_prosody(audio, sr, post, f0_ref=f0_ref, match_formants=True)
    t1 = time.perf_counter()
    phones = None
    if with_phones:
        try:
            phones = align_phones(audio, sr, text)
        except Exception as exc:
            log.warning("could not align phones of the synthesised speech: %s", exc)
    seconds = {"prosody": round(t1 - t0, 4), "phones": round(time.perf_counter() - t1, 4)}
    info = {
        **info,
        "target": target.to_dict(),
        "prosody": post.to_dict(),
        "f0_ref": f0_ref,
        "seconds": seconds,
    }
    return SpeechAudio(np.asarray(audio, np.float32), sr, text, phones, info)


_LOADED: dict[str, Synthesizer] = {}


def get_synthesizer(backend: str | None = None) -> Synthesizer:
    """The synthesizer ``backend`` (default: kokoro), created once per process and reused."""
    name = backend or SYNTHESIZERS.default
    if name not in _LOADED:
        _LOADED[name] = SYNTHESIZERS.create(name)
    return _LOADED[name]


def synthesize(
    text: str,
    target: EmotionSpec,
    voice: VoiceProfile | None = None,
    *,
    backend: str | None = None,
    seed: int = 0,
) -> SpeechAudio:
    """Speak ``text`` with ``target`` using backend ``backend`` (default: kokoro; loaded once)."""
    return get_synthesizer(backend).synthesize(text, target, voice, seed=seed)


__all__ = [
    "SYNTHESIZERS",
    "SpeechAudio",
    "Synthesizer",
    "finish",
    "get_synthesizer",
    "normalise_level",
    "split_rate",
    "synthesize",
    "targets_for",
]
