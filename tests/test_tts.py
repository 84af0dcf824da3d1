"""Emotional text to speech: Kokoro (IPA front end), Piper, the ElevenLabs-style HTTP backend."""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy.signal import resample_poly

from emoshift.emotion import Emotion, EmotionSpec, parse_emotion
from emoshift.errors import BackendError
from emoshift.speech.align import ARPABET
from emoshift.speech.prosody import median_f0
from emoshift.speech.synthesize import SYNTHESIZERS, SpeechAudio
from emoshift.speech.transcribe import get_transcriber, word_error_rate
from emoshift.speech.tts_kokoro import phonemize
from emoshift.speech.voice import VoiceProfile, choose_kokoro_voice

TEXT = "We will meet at the station tomorrow."
MALE = VoiceProfile(f0_median=120.0, f0_iqr_st=3.0, sex="male", syllable_rate=4.3)


def _wer(out: SpeechAudio) -> float:
    g = int(np.gcd(out.sr, 16000))
    a16 = resample_poly(out.audio, 16000 // g, out.sr // g).astype(np.float32)
    return word_error_rate(out.text, get_transcriber("base").transcribe(a16, 16000).text)


@pytest.fixture(scope="session")
def kokoro():
    return SYNTHESIZERS.create("kokoro")


@pytest.fixture(scope="session")
def kokoro_neutral(kokoro) -> SpeechAudio:
    return kokoro.synthesize(TEXT, EmotionSpec(Emotion.NEUTRAL, 0.7), MALE)


def test_phonemize_maps_espeak_to_kokoro_symbols():
    ph = phonemize("Hello there, how are you? I'm fine.")
    assert ph.startswith("həlˈO ðˈɛɹ,") and "?" in ph and ph.endswith(".")
    assert "\u200d" not in ph and "ː" not in ph
    from emoshift.speech.tts_kokoro import vocab

    assert set(ph) <= set(vocab())


def test_kokoro_neutral_is_intelligible_and_matches_the_speaker(kokoro_neutral):
    out = kokoro_neutral
    assert out.sr == 24000 and out.audio.dtype == np.float32
    assert 1.0 < out.duration < 6.0 and np.max(np.abs(out.audio)) <= 1.0
    assert _wer(out) <= 0.1
    assert abs(median_f0(out.audio, out.sr) / MALE.f0_median - 1.0) <= 0.15
    assert out.info["voice"] == {"jm_kumo": 1.0}
    assert out.phones and {p.label for p in out.phones} <= set(ARPABET)
    assert out.phones[-1].end <= out.duration + 1e-6


def test_kokoro_sadness_is_flatter_slower_quieter_darker(kokoro, kokoro_neutral):
    from emoshift.speech.prosody import active_rms, f0_stats, track_f0

    sad = kokoro.synthesize(TEXT, parse_emotion("very sad"), MALE)
    neu = kokoro_neutral
    assert f0_stats(track_f0(sad.audio, sad.sr))[1] < f0_stats(track_f0(neu.audio, neu.sr))[1]
    assert sad.duration > neu.duration * 1.04
    assert active_rms(sad.audio, sad.sr) < active_rms(neu.audio, neu.sr) * 0.8
    assert _centroid(sad) < 0.8 * _centroid(neu)  # darker voice
    assert sad.info["speed"] < 1.0 and sad.info["voice"] == {"jm_kumo": 1.0}


def _centroid(out: SpeechAudio) -> float:
    spec = np.abs(np.fft.rfft(out.audio)) ** 2
    freqs = np.fft.rfftfreq(out.audio.size, 1.0 / out.sr)
    return float(np.sum(freqs * spec) / np.sum(spec))


def test_voice_choice_by_f0_and_sex():
    assert choose_kokoro_voice(MALE) == {"jm_kumo": 1.0}
    fem = choose_kokoro_voice(VoiceProfile(225.0, 3.0, "female"))
    assert (
        set(fem) <= {"jf_gongitsune", "jf_nezumi", "jf_alpha"} and abs(sum(fem.values()) - 1) < 1e-6
    )
    assert choose_kokoro_voice(VoiceProfile(320.0, 3.0, "female")).get("jf_tebukuro", 0) > 0.5


def test_piper_speaks_with_emotion():
    tts = SYNTHESIZERS.create("piper", phones=False)
    neutral = tts.synthesize(TEXT, EmotionSpec(Emotion.NEUTRAL, 0.5), MALE)
    happy = tts.synthesize(TEXT, parse_emotion("very happy"), MALE)
    assert neutral.sr == 22050
    assert _wer(neutral) <= 0.1
    assert abs(median_f0(neutral.audio, neutral.sr) / MALE.f0_median - 1.0) <= 0.15
    # a much wider range makes the happy median unstable (Piper's noise varies per call):
    # compare the upper quartile, where the raised, widened melody shows
    from emoshift.speech.prosody import track_f0

    def q75(out: SpeechAudio) -> float:
        f0 = track_f0(out.audio, out.sr)
        return float(np.percentile(f0[f0 > 0], 75))

    assert q75(happy) > 1.2 * q75(neutral)


def test_piper_is_reproducible_with_a_seed():
    from emoshift.speech.tts_piper import load_voice

    def first_call(seed: int) -> np.ndarray:
        load_voice.cache_clear()
        tts = SYNTHESIZERS.create("piper", phones=False, seed=seed)
        return tts.synthesize("Good morning.", EmotionSpec(Emotion.NEUTRAL, 0.5), seed=seed).audio

    a, b = first_call(7), first_call(7)
    assert a.shape == b.shape and np.array_equal(a, b)
    c = first_call(8)
    assert c.shape != a.shape or not np.array_equal(a, c)
    load_voice.cache_clear()


# --- ElevenLabs-style HTTP backend against a local stand-in server ------------------------------
class _StandIn(BaseHTTPRequestHandler):
    """Speaks the ElevenLabs text-to-speech protocol; the voice is espeak-ng."""

    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "key": self.headers.get("xi-api-key"), "body": body}
        )
        if self.headers.get("xi-api-key") != "test-key":
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"detail": "invalid api key"}')
            return
        if not self.path.startswith("/v1/text-to-speech/"):
            self.send_response(404)
            self.end_headers()
            return
        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "out.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), body["text"]], check=True)
            data = wav.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def standin():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_backend_speaks_the_protocol(standin):
    _StandIn.requests.clear()
    tts = SYNTHESIZERS.create(
        "elevenlabs", base_url=standin, api_key="test-key", voice_id="v123", phones=False
    )
    calm = tts.synthesize("The meeting starts at nine.", EmotionSpec(Emotion.NEUTRAL, 0.5), MALE)
    angry = tts.synthesize("The meeting starts at nine.", parse_emotion("very very angry"), MALE)
    r0, r1 = _StandIn.requests
    assert r0["path"].startswith("/v1/text-to-speech/v123") and r0["key"] == "test-key"
    assert r0["body"]["text"] == "The meeting starts at nine." and r0["body"]["model_id"]
    vs0, vs1 = r0["body"]["voice_settings"], r1["body"]["voice_settings"]
    assert set(vs0) >= {"stability", "similarity_boost", "style", "use_speaker_boost"}
    assert vs1["style"] > vs0["style"] and vs1["stability"] < vs0["stability"]
    assert calm.duration > 1.0 and np.sqrt(np.mean(calm.audio**2)) > 0.01
    # the local prosody still runs: F0 moved onto the speaker, higher for anger
    assert abs(median_f0(calm.audio, calm.sr) / MALE.f0_median - 1.0) <= 0.15
    assert median_f0(angry.audio, angry.sr) > median_f0(calm.audio, calm.sr) * 1.1
    raw = SYNTHESIZERS.create(
        "elevenlabs", base_url=standin, api_key="test-key", post_prosody=False, phones=False
    )
    assert (
        abs(
            median_f0(
                raw.synthesize(
                    "The meeting starts at nine.", EmotionSpec(Emotion.NEUTRAL, 0.5), MALE
                ).audio,
                calm.sr,
            )
            / MALE.f0_median
            - 1.0
        )
        > 0.15
    )  # espeak's own pitch, not the speaker's


def test_http_backend_errors_are_clear(standin, monkeypatch):
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    monkeypatch.delenv("XI_API_KEY", raising=False)
    with pytest.raises(BackendError, match="API key"):
        SYNTHESIZERS.create("elevenlabs", base_url=standin)
    bad = SYNTHESIZERS.create("elevenlabs", base_url=standin, api_key="wrong", phones=False)
    with pytest.raises(BackendError, match="refused the API key"):
        bad.synthesize("Hello.", EmotionSpec(Emotion.NEUTRAL, 0.5))
    down = SYNTHESIZERS.create(
        "elevenlabs", base_url="http://127.0.0.1:9", api_key="k", timeout=2.0
    )
    with pytest.raises(BackendError, match="reachable"):
        down.synthesize("Hello.", EmotionSpec(Emotion.NEUTRAL, 0.5))


def test_voice_profile_of_a_real_speaker(talk_clip):
    from emoshift.media import read_audio
    from emoshift.speech.voice import voice_profile

    audio = read_audio(talk_clip, sr=16000)
    text = "My biggest weakness is asking for help when I need it. I'd like to do better at that."
    vp = voice_profile(audio, 16000, text=text, speech_seconds=6.0)
    assert vp.sex == "male" and 75.0 < vp.f0_median < 150.0
    assert 2.0 < vp.syllable_rate < 7.0 and 0.2 < vp.voiced_fraction < 0.9
    assert 1.0 < vp.f0_iqr_st < 10.0
