"""ElevenLabs-style HTTP text to speech (the paper's ET2S), or any server speaking its protocol.

Request: ``POST {base_url}/v1/text-to-speech/{voice_id}?output_format=...`` with header
``xi-api-key`` and JSON ``{text, model_id, voice_settings: {stability, similarity_boost,
style, use_speaker_boost, speed}}``; the response body is the audio (MP3 or WAV; decoded
with PyAV). The emotion maps onto the voice settings -- lower ``stability`` and higher
``style`` for stronger emotions, ``speed`` from the prosody rate -- and, unless
``post_prosody=False``, the WORLD prosody of :mod:`emoshift.speech.prosody` is applied too.

Configuration: ``base_url`` (default ``$ELEVENLABS_BASE_URL`` or https://api.elevenlabs.io),
``api_key`` (default ``$ELEVENLABS_API_KEY``), ``voice_id``, ``model_id``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.emotion import EmotionSpec
from emoshift.errors import BackendError
from emoshift.speech.voice import VoiceProfile

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
DEFAULT_VOICE_ID = "21m00Tcm4TlvDq8ikWAM"
DEFAULT_MODEL_ID = "eleven_multilingual_v2"


def voice_settings(target: EmotionSpec) -> dict[str, Any]:
    """ElevenLabs voice settings for an emotion: expressive (low stability, high style) in
    proportion to intensity x how far the emotion is from neutral; speed from the rate."""
    from emoshift.speech.prosody import targets_for

    v, a, _ = target.vad
    strength = float(np.clip(np.hypot(v, a) / 0.9, 0.0, 1.0))  # vad already carries intensity
    rate = targets_for(target).rate
    return {
        "stability": round(float(np.clip(0.75 - 0.5 * strength, 0.2, 0.9)), 3),
        "similarity_boost": 0.75,
        "style": round(float(np.clip(0.8 * strength, 0.0, 1.0)), 3),
        "use_speaker_boost": True,
        "speed": round(float(np.clip(rate, 0.7, 1.2)), 3),
    }


class HttpSynthesizer:
    """ET2S through an ElevenLabs-style API.

    Args:
        base_url, api_key, voice_id, model_id: the service; see the module docstring.
        output_format: ElevenLabs ``output_format`` query value (e.g. "mp3_44100_128").
        timeout: seconds per request.
        post_prosody: also apply the WORLD prosody and F0 matching locally.
        phones: align phones of the output (for lip sync).
    """

    name = "elevenlabs"
    licence_keys: tuple[str, ...] = ("pocketsphinx-en-us",)

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        voice_id: str = DEFAULT_VOICE_ID,
        model_id: str = DEFAULT_MODEL_ID,
        output_format: str = "mp3_44100_128",
        timeout: float = 60.0,
        post_prosody: bool = True,
        phones: bool = True,
    ) -> None:
        import httpx

        self.base_url = (
            base_url or os.environ.get("ELEVENLABS_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.api_key = (
            api_key or os.environ.get("ELEVENLABS_API_KEY") or os.environ.get("XI_API_KEY")
        )
        if not self.api_key:
            raise BackendError(
                "the elevenlabs backend needs an API key: set ELEVENLABS_API_KEY (or pass api_key=)"
            )
        self.voice_id = voice_id
        self.model_id = model_id
        self.output_format = output_format
        self.post_prosody = post_prosody
        self.with_phones = phones
        self._client = httpx.Client(timeout=timeout)

    def request(self, text: str, target: EmotionSpec) -> bytes:
        """POST the text; return the audio bytes. Raises :class:`BackendError` on failure."""
        import httpx

        url = f"{self.base_url}/v1/text-to-speech/{self.voice_id}"
        body = {"text": text, "model_id": self.model_id, "voice_settings": voice_settings(target)}
        try:
            r = self._client.post(
                url,
                params={"output_format": self.output_format},
                headers={"xi-api-key": str(self.api_key), "accept": "audio/*"},
                json=body,
            )
        except httpx.HTTPError as exc:
            raise BackendError(
                f"text-to-speech request to {url} failed: {exc}; is the server reachable?"
            ) from exc
        if r.status_code in (401, 403):
            raise BackendError(
                f"the TTS server refused the API key (HTTP {r.status_code}); check ELEVENLABS_API_KEY"
            )
        if r.status_code != 200:
            raise BackendError(f"the TTS server answered HTTP {r.status_code}: {r.text[:200]}")
        if not r.content:
            raise BackendError("the TTS server returned no audio")
        return r.content

    def synthesize(
        self,
        text: str,
        target: EmotionSpec,
        voice: VoiceProfile | None = None,
        *,
        seed: int = 0,
        max_seconds: float | None = None,
    ) -> Any:
        from emoshift.speech.prosody import ProsodyTargets, targets_for
        from emoshift.speech.synthesize import finish, split_rate

        data = self.request(text, target)
        audio, sr = decode_audio_bytes(data)
        _, post = split_rate(targets_for(target))
        if not self.post_prosody:
            post, voice = ProsodyTargets(), None
        info = {
            "backend": self.name,
            "voice_id": self.voice_id,
            "model_id": self.model_id,
            "voice_settings": voice_settings(target),
        }
        return finish(
            audio,
            sr,
            text,
            target,
            voice,
            post,
            with_phones=self.with_phones,
            info=info,
            max_seconds=max_seconds,
        )

    def close(self) -> None:
        self._client.close()


def decode_audio_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Decode audio bytes of any FFmpeg-readable format -> ((N,) float32 mono, sr)."""
    from emoshift.errors import MediaError
    from emoshift.media import probe, read_audio

    with tempfile.TemporaryDirectory(prefix="emoshift-tts-") as tmp:
        path = Path(tmp) / "tts_audio"
        path.write_bytes(data)
        try:
            sr = int(probe(path).sample_rate or 22050)
            audio = read_audio(path, sr=sr)
        except MediaError as exc:
            raise BackendError(
                f"the TTS server returned audio that cannot be decoded: {exc}"
            ) from exc
    return audio, sr
