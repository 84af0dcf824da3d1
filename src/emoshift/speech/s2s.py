"""Speech to speech (the paper's S2S): transcribe -> rewrite in the emotion -> speak it.

    result = speech_to_speech(audio, sr, parse_emotion("very happy"))
    result.audio, result.sr, result.phones, result.rewritten_text, result.timings

With ``keep_words=True`` the words are not rewritten or re-synthesised: the original recording
is converted (:mod:`emoshift.speech.convert`). With a :class:`~emoshift.pipeline.RunFolder`,
each step is a stage (``transcribe`` is shareable across runs on the same audio) writing
``transcript.json``, ``rewritten.txt`` (+ ``rewrite.json``) and ``speech.wav`` (+
``phones.json``), and a rerun reuses finished stages.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.emotion import EmotionSpec
from emoshift.errors import ConfigError
from emoshift.fileio import write_json_atomic, write_text_atomic
from emoshift.speech import isochrony
from emoshift.speech.align import Phone, align_phones
from emoshift.speech.synthesize import SpeechAudio, Synthesizer, get_synthesizer
from emoshift.speech.transcribe import SAMPLE_RATE, Transcriber, Transcript, get_transcriber
from emoshift.speech.voice import VoiceProfile, voice_profile
from emoshift.timing import Timings

log = logging.getLogger(__name__)


@dataclass
class S2SResult:
    """What S2S produced.

    Attributes:
        transcript: the original speech's transcript (words with times).
        rewritten_text: what the new speech says (== transcript.text in keep-words mode).
        audio: (N,) float32 in [-1, 1] at ``sr``.
        phones: phones of ``audio`` (seconds) for lip sync, or None if alignment failed.
        timings: seconds per stage (transcribe, voice, rewrite, synthesize, prosody, phones).
        voice: the measured original speaker.
        rewrite: the rewriter's record (backend, scores...) or None.
        keep_words: whether the original recording was converted instead.
    """

    transcript: Transcript
    rewritten_text: str
    audio: np.ndarray
    sr: int
    phones: list[Phone] | None
    timings: dict[str, float]
    voice: VoiceProfile | None = None
    rewrite: dict[str, Any] | None = None
    keep_words: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return self.audio.size / self.sr


def _to16k(audio: np.ndarray, sr: int) -> np.ndarray:
    a = np.asarray(audio, np.float32)
    if a.ndim != 1:
        raise ConfigError(f"audio must be mono (N,), got shape {a.shape}")
    if sr == SAMPLE_RATE:
        return a
    from scipy.signal import resample_poly

    g = int(np.gcd(int(sr), SAMPLE_RATE))
    return resample_poly(a, SAMPLE_RATE // g, int(sr) // g).astype(np.float32)


def speakable_text(text: str) -> str:
    """The transcript as text to speak: words Whisper marks as cut off ("I-") dropped."""
    words = [w for w in text.split() if not (w.endswith("-") and len(w) <= 12)]
    out = " ".join(words).strip()
    return out or text.strip()


def _rewrite(
    text: str, target: EmotionSpec, rewriter: Any, seed: int
) -> tuple[str, dict[str, Any] | None]:
    """Run the ETG rewriter (a name or an instance). Falls back to the text unchanged, with a
    warning, when the rewrite module is not available."""
    try:
        from emoshift.speech import rewrite as rw
    except ImportError as exc:  # the ETG module is developed separately
        log.warning("text rewriting is not available (%s); speaking the transcript unchanged", exc)
        return text, None
    if rewriter is None or isinstance(rewriter, str):
        res = rw.rewrite(text, target, backend=rewriter, seed=seed)
    else:
        res = rewriter.rewrite(text, target, seed=seed)
    return res.text, res.to_dict()


def _fit_text(
    text: str,
    rec: dict[str, Any] | None,
    target: EmotionSpec,
    voice: VoiceProfile,
    max_seconds: float | None,
) -> tuple[str, dict[str, Any] | None]:
    """Under a time budget, the rewrite candidate to speak (:func:`isochrony.pick_within`;
    the rewriter's ranking decides among those that fit). Without one: unchanged."""
    if not max_seconds or not rec or len(rec.get("candidates") or []) < 2:
        return text, rec
    from emoshift.speech.prosody import targets_for
    from emoshift.speech.tts_kokoro import NOMINAL_SYLLABLE_RATE
    from emoshift.speech.voice import rate_match

    tg = targets_for(target)
    speed = tg.rate * rate_match(voice, NOMINAL_SYLLABLE_RATE)  # as the default TTS will speak
    scores = (rec.get("scores") or {}).get("per_candidate")
    i, info = isochrony.pick_within(
        rec["candidates"], scores, float(max_seconds), speed=speed, pause_factor=tg.pause_factor
    )
    rec = {**rec, "isochrony": info}
    if i:
        rec["text"] = rec["candidates"][i]
    return rec["text"], rec


def _synth(synthesizer: Synthesizer | str | None) -> Synthesizer:
    if synthesizer is None or isinstance(synthesizer, str):
        return get_synthesizer(synthesizer)
    return synthesizer


def speech_to_speech(
    audio: np.ndarray,
    sr: int,
    target: EmotionSpec,
    *,
    keep_words: bool = False,
    rewriter: Any = None,
    synthesizer: Synthesizer | str | None = None,
    run: Any = None,
    transcriber: Transcriber | None = None,
    seed: int = 0,
    max_seconds: float | None = None,
) -> S2SResult:
    """Change the emotion of speech.

    Args:
        audio: (N,) float32 mono in [-1, 1] at ``sr`` Hz (any rate; 16 kHz is used for
            recognition).
        target: the emotion and its intensity.
        keep_words: convert the original recording instead of rewriting + re-synthesising.
        rewriter: a rewriter name (see ``emoshift.speech.rewrite.REWRITERS``) or instance;
            None = the default (lexical).
        synthesizer: a synthesizer name (``SYNTHESIZERS``) or instance; None = kokoro.
        run: an :class:`emoshift.pipeline.RunFolder` to write stages into (optional).
        transcriber: a loaded transcriber (default: the shared Whisper base).
        seed: passed to the rewriter and synthesizer.
        max_seconds: a time budget for the new speech (isochrony, as in dubbing; None = no
            limit): the rewrite candidate is chosen to fit it and, if the speech still runs
            over, its pauses are shortened (:mod:`emoshift.speech.isochrony`). Not used in
            keep-words mode.

    Raises :class:`~emoshift.errors.NoSpeechError` when the audio holds no speech.
    """
    timer = Timings()
    a16 = _to16k(audio, sr)
    tr = transcriber or get_transcriber()
    audio_hash = hashlib.sha256(np.ascontiguousarray(a16).tobytes()).hexdigest()[:16]

    # 1. transcribe (shareable: depends only on the audio and the model)
    with timer.stage("transcribe"):
        if run is None:
            transcript = tr.transcribe(a16, SAMPLE_RATE)
        else:

            def _tr_stage(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
                t = tr.transcribe(a16, SAMPLE_RATE)
                write_json_atomic(folder / "transcript.json", t.to_dict())
                return {"transcript": "transcript.json"}, {"text": t.text}

            st = run.stage(
                "transcribe",
                {"audio": audio_hash, "model": tr.config.model},
                _tr_stage,
                models=list(tr.licence_keys),
                shareable=True,
            )
            transcript = Transcript.from_dict(json.loads(st.path("transcript").read_text()))

    with timer.stage("voice"):
        voice = voice_profile(
            a16,
            SAMPLE_RATE,
            text=transcript.text,
            speech_seconds=transcript.speech_end - transcript.speech_start,
        )

    if keep_words:
        return _keep_words(audio, sr, target, transcript, voice, timer, run, audio_hash)

    # 2. rewrite
    source_text = speakable_text(transcript.text)
    with timer.stage("rewrite"):
        if run is None:
            new_text, rec = _fit_text(
                *_rewrite(source_text, target, rewriter, seed), target, voice, max_seconds
            )
        else:

            def _rw_stage(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
                text, r = _fit_text(
                    *_rewrite(source_text, target, rewriter, seed), target, voice, max_seconds
                )
                write_text_atomic(folder / "rewritten.txt", text + "\n")
                write_json_atomic(folder / "rewrite.json", r or {"text": text, "backend": None})
                return {"text": "rewritten.txt", "record": "rewrite.json"}, {"text": text}

            if isinstance(rewriter, str) or rewriter is None:
                from emoshift.speech.rewrite import rewriter_licence_keys

                rname, rw_models = rewriter, list(rewriter_licence_keys(rewriter))
            else:
                rname = getattr(rewriter, "name", "custom")
                rw_models = list(getattr(rewriter, "licence_keys", ()))
            key = {"text": source_text, "target": target.to_dict(), "rewriter": rname, "seed": seed}
            if max_seconds:
                key["max_seconds"] = round(float(max_seconds), 2)
                rate = float(voice.syllable_rate)
                key["speaker_rate"] = round(rate, 2) if np.isfinite(rate) else None
            st = run.stage("rewrite", key, _rw_stage, models=rw_models)
            new_text = st.path("text").read_text().strip()
            rec = json.loads(st.path("record").read_text())

    # 3. speak
    synth = _synth(synthesizer)
    with timer.stage("synthesize"):

        def make() -> SpeechAudio:
            return synth.synthesize(new_text, target, voice, seed=seed, max_seconds=max_seconds)

        if run is None:
            out = make()
            speech, out_sr, phones, info = out.audio, out.sr, out.phones, out.info
        else:
            key = {
                "text": new_text,
                "target": target.to_dict(),
                "tts": synth.name,
                "voice": voice.to_dict(),
                "seed": seed,
            }
            if max_seconds:
                key["max_seconds"] = round(float(max_seconds), 2)
            speech, out_sr, phones, info = _speech_stage(run, key, make, list(synth.licence_keys))
    secs = info.get("seconds", {}) if isinstance(info, dict) else {}
    for k in ("prosody", "phones"):
        if k in secs:
            timer.seconds["synthesize"] -= secs[k]
            timer.add(k, secs[k])
    return S2SResult(
        transcript, new_text, speech, out_sr, phones, timer.as_dict(), voice, rec, False, info
    )


def _speech_stage(
    run: Any, key: dict[str, Any], make: Any, models: list[str]
) -> tuple[np.ndarray, int, Any, dict]:
    """A ``speech`` stage writing speech.wav + phones.json + speech.json; read back after."""
    from emoshift.media import read_audio, write_audio

    def fn(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
        out = make()
        write_audio(folder / "speech.wav", out.audio, out.sr)
        phones = [p.to_dict() for p in out.phones] if out.phones is not None else None
        write_json_atomic(folder / "phones.json", phones)
        write_json_atomic(
            folder / "speech.json", {"sr": out.sr, "text": out.text, "info": out.info}
        )
        return {"audio": "speech.wav", "phones": "phones.json", "info": "speech.json"}, {
            "seconds": out.duration
        }

    st = run.stage("speech", key, fn, models=models)
    meta = json.loads(st.path("info").read_text())
    sr = int(meta["sr"])
    audio = read_audio(st.path("audio"), sr=sr)
    raw = json.loads(st.path("phones").read_text())
    phones = [Phone(**p) for p in raw] if raw is not None else None
    info = dict(meta.get("info", {}))
    if st.cached:
        info["seconds"] = {}
    return audio, sr, phones, info


def _keep_words(
    audio: np.ndarray,
    sr: int,
    target: EmotionSpec,
    transcript: Transcript,
    voice: VoiceProfile,
    timer: Timings,
    run: Any,
    audio_hash: str,
) -> S2SResult:
    from emoshift.speech.convert import convert_emotion, convert_targets

    text = transcript.text

    class _Out:
        pass

    def make() -> Any:
        o = _Out()
        with timer.stage("prosody"):
            o.audio = convert_emotion(np.asarray(audio, np.float32), sr, target)
        with timer.stage("phones"):
            try:
                o.phones = align_phones(o.audio, sr, text)
            except Exception as exc:
                log.warning("could not align phones of the converted speech: %s", exc)
                o.phones = None
        o.sr, o.text = sr, text
        o.info = {
            "mode": "keep-words",
            "prosody": convert_targets(target).to_dict(),
            "target": target.to_dict(),
        }
        o.duration = o.audio.size / sr
        return o

    if run is None:
        o = make()
        speech, out_sr, phones, info = o.audio, o.sr, o.phones, o.info
    else:
        if "rewrite" not in run.stages:

            def _same_words(folder: Path) -> tuple[dict[str, str], dict[str, Any]]:
                write_text_atomic(folder / "rewritten.txt", text + "\n")
                return {"text": "rewritten.txt"}, {"text": text, "keep_words": True}

            run.stage("rewrite", {"text": text, "keep_words": True}, _same_words)
        speech, out_sr, phones, info = _speech_stage(
            run,
            {"audio": audio_hash, "sr": sr, "target": target.to_dict(), "mode": "keep-words"},
            make,
            ["pocketsphinx-en-us"],
        )
    return S2SResult(
        transcript, text, speech, out_sr, phones, timer.as_dict(), voice, None, True, info
    )
