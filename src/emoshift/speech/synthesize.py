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
from emoshift.speech import isochrony
from emoshift.speech.align import Phone, align_phones
from emoshift.speech.kokoro_phones import map_phones, shift_phones
from emoshift.speech.prosody import ProsodyTargets, apply_prosody_timed, targets_for
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
        self,
        text: str,
        target: EmotionSpec,
        voice: VoiceProfile | None = None,
        *,
        seed: int = 0,
        max_seconds: float | None = None,
    ) -> SpeechAudio:
        """Speak ``text`` with emotion ``target`` in a voice close to ``voice``; with
        ``max_seconds``, shorten pauses to keep within it (:func:`finish`)."""
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
    max_seconds: float | None = None,
    phones: list[Phone] | None = None,
) -> SpeechAudio:
    """Shared tail of the backends: level, WORLD prosody + F0 matching, phones.
    ``info["seconds"]`` gets the time spent on prosody and on phone alignment.

    ``phones``: the phones of ``audio`` when the TTS knows them (Kokoro's durations); they
    are moved through the re-timing and used instead of a forced alignment of the output.

    ``max_seconds`` (isochrony, :mod:`emoshift.speech.isochrony`): when the speech would run
    over it, the emotion's pause lengthening is reduced (pauses may even shrink) before WORLD,
    and whatever still runs over is taken out of the pauses afterwards (never below 0.25 s
    each); the words keep their pace. Recorded in ``info["isochrony"]``."""
    t0 = time.perf_counter()
    audio = normalise_level(audio, sr)
    iso_rec: dict[str, Any] | None = None
    if max_seconds:
        post, iso_rec = _pause_budget(audio, sr, post, float(max_seconds))
    f0_ref = voice.f0_median if voice is not None and np.isfinite(voice.f0_median) else None
    known = list(phones) if (phones and with_phones) else None
    if f0_ref is not None or not post.is_identity:
        audio, (t_in, t_out) = apply_prosody_timed(
            audio, sr, post, f0_ref=f0_ref, match_formants=True
        )
        if known is not None:
            known = map_phones(known, t_in, t_out)
    if iso_rec is not None and audio.size / sr > float(max_seconds):
        audio, known, removed = isochrony.fit_pauses(audio, sr, float(max_seconds), known)
        iso_rec["pauses_cut_s"] = round(removed, 3)
    if iso_rec is not None:
        iso_rec["seconds"] = round(audio.size / sr, 3)
        info = {**info, "isochrony": iso_rec}
    t1 = time.perf_counter()
    phones = shift_phones(known, 0.0, 0.0, audio.size / sr) if known is not None else None
    if with_phones and phones is None:
        try:
            phones = align_phones(audio, sr, text)
        except Exception as exc:
            log.warning("could not align phones of the synthesised speech: %s", exc)
    if with_phones:
        info = {**info, "phones_from": "tts durations" if known is not None else "alignment"}
    seconds = {"prosody": round(t1 - t0, 4), "phones": round(time.perf_counter() - t1, 4)}
    info = {
        **info,
        "target": target.to_dict(),
        "prosody": post.to_dict(),
        "f0_ref": f0_ref,
        "seconds": seconds,
    }
    return SpeechAudio(np.asarray(audio, np.float32), sr, text, phones, info)


def _pause_budget(
    audio: np.ndarray, sr: int, post: ProsodyTargets, max_seconds: float
) -> tuple[ProsodyTargets, dict[str, Any]]:
    """The WORLD targets with the pause factor lowered so that (N,) ``audio`` (the TTS output
    before WORLD) fits ``max_seconds`` once its pauses are scaled (floor 0.4: pauses keep
    part of their length); if the words alone still run over, they are sped up by at most
    :data:`isochrony.MAX_WORD_SPEEDUP` (WORLD time-scaling: pitch and timbre unchanged).
    Returns the targets and a record of the change."""
    runs = isochrony.pause_runs(audio, sr)
    pauses = sum(b - a for a, b in runs) / sr
    d0 = audio.size / sr
    expected = d0 + (post.pause_factor - 1.0) * pauses
    rec: dict[str, Any] = {
        "max_seconds": round(max_seconds, 3),
        "expected_s": round(expected, 3),
        "pause_factor": round(post.pause_factor, 3),
    }
    if expected > max_seconds and pauses > 0:
        pf = max(0.4, 1.0 + (max_seconds - d0) / pauses)
        if pf < post.pause_factor:
            post = replace(post, pause_factor=pf)
            rec["pause_factor_used"] = round(pf, 3)
    left = (d0 + (post.pause_factor - 1.0) * pauses) / post.rate
    if left > max_seconds:
        rate = post.rate * min(isochrony.MAX_WORD_SPEEDUP, left / max_seconds)
        post = replace(post, rate=rate)
        rec["rate_used"] = round(rate, 3)
    return post, rec


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
    max_seconds: float | None = None,
) -> SpeechAudio:
    """Speak ``text`` with ``target`` using backend ``backend`` (default: kokoro; loaded once);
    ``max_seconds``: see :func:`finish`."""
    return get_synthesizer(backend).synthesize(
        text, target, voice, seed=seed, max_seconds=max_seconds
    )


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
