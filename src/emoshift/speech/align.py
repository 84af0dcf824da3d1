"""Phone-level timings for lip sync: forced alignment with pocketsphinx.

Given speech and the words spoken, :func:`align_phones` returns every phone (ARPAbet, stress
removed, ``SIL`` for silence) with start and end times in seconds. pocketsphinx 5 does a
two-pass alignment with its packaged en-US acoustic model and CMU dictionary: words first
(``set_align_text``), then phones and states (``set_alignment``). Words missing from the
dictionary (names, numbers, new coinages) get a pronunciation from espeak-ng's IPA mapped to
ARPAbet (:func:`ipa_to_arpabet`). Frames are 10 ms.

Audio at any sample rate is resampled to 16 kHz (the acoustic model's rate) first.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from emoshift.errors import BackendError, SpeechError

SAMPLE_RATE = 16000
FRAME_S = 0.01
PAD_S = 0.3  # seconds of near-silence added around the audio before aligning
LICENCE_KEYS = ("pocketsphinx-en-us", "espeak-ng")

# 39 ARPAbet phones of CMUdict plus silence.
ARPABET: tuple[str, ...] = [
    "AA",
    "AE",
    "AH",
    "AO",
    "AW",
    "AY",
    "B",
    "CH",
    "D",
    "DH",
    "EH",
    "ER",
    "EY",
    "F",
    "G",
    "HH",
    "IH",
    "IY",
    "JH",
    "K",
    "L",
    "M",
    "N",
    "NG",
    "OW",
    "OY",
    "P",
    "R",
    "S",
    "SH",
    "T",
    "TH",
    "UH",
    "UW",
    "V",
    "W",
    "Y",
    "Z",
    "ZH",
    "SIL",
]


@dataclass(frozen=True)
class Phone:
    """One phone: ARPAbet label without stress digits ("AH", "SIL"), start/end in seconds."""

    label: str
    start: float
    end: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlignedWord:
    """A word of the alignment with its time span in seconds and its phones."""

    text: str
    start: float
    end: float
    phones: tuple[Phone, ...]


_ZWJ = "\u200d"
_IPA2ARPA: dict[str, str] = {
    f"a{_ZWJ}ɪ": "AY",
    f"a{_ZWJ}ʊ": "AW",
    f"e{_ZWJ}ɪ": "EY",
    f"o{_ZWJ}ʊ": "OW",
    f"ə{_ZWJ}ʊ": "OW",
    f"ɔ{_ZWJ}ɪ": "OY",
    f"d{_ZWJ}ʒ": "JH",
    f"t{_ZWJ}ʃ": "CH",
    "aɪ": "AY",
    "aʊ": "AW",
    "eɪ": "EY",
    "oʊ": "OW",
    "ɔɪ": "OY",
    "dʒ": "JH",
    "tʃ": "CH",
    "ɜː": "ER",
    "ɚ": "ER",
    "ɝ": "ER",
    "iː": "IY",
    "i": "IY",
    "ɪ": "IH",
    "ᵻ": "IH",
    "ɛ": "EH",
    "e": "EY",
    "æ": "AE",
    "ɑː": "AA",
    "ɑ": "AA",
    "ɒ": "AA",
    "ɔː": "AO",
    "ɔ": "AO",
    "ʊ": "UH",
    "uː": "UW",
    "u": "UW",
    "ʌ": "AH",
    "ə": "AH",
    "ɐ": "AH",
    "ɜ": "ER",
    "o": "OW",
    "a": "AA",
    "b": "B",
    "d": "D",
    "f": "F",
    "ɡ": "G",
    "g": "G",
    "h": "HH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "p": "P",
    "s": "S",
    "t": "T",
    "v": "V",
    "w": "W",
    "z": "Z",
    "j": "Y",
    "ŋ": "NG",
    "θ": "TH",
    "ð": "DH",
    "ʃ": "SH",
    "ʒ": "ZH",
    "ɹ": "R",
    "r": "R",
    "ɾ": "T",
    "ʔ": "T",
    "x": "K",
    "ɬ": "L",
}
_IPA_KEYS = sorted(_IPA2ARPA, key=len, reverse=True)
_IGNORED = set("ˈˌː\u0329\u0303 .‖|-" + _ZWJ)


def ipa_to_arpabet(ipa: str) -> list[str]:
    """espeak-ng IPA of one word -> ARPAbet phones (no stress). Unknown symbols are skipped."""
    out: list[str] = []
    i = 0
    while i < len(ipa):
        for key in _IPA_KEYS:
            if ipa.startswith(key, i):
                out.append(_IPA2ARPA[key])
                i += len(key)
                break
        else:
            i += 1  # stress marks, length, syllabic marks, unknown symbols
    return out


@functools.cache
def espeak_arpabet(word: str) -> tuple[str, ...]:
    """Pronunciation of a word (or number) by espeak-ng, in ARPAbet."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise BackendError("espeak-ng is not installed; install the Debian package `espeak-ng`")
    res = subprocess.run(
        [exe, "-q", "--ipa=3", "-v", "en-us", word], capture_output=True, timeout=30
    )
    return tuple(ipa_to_arpabet(res.stdout.decode("utf-8", "replace")))


def normalize_for_alignment(text: str) -> list[str]:
    """Words as the dictionary spells them: lower case, punctuation removed (apostrophes kept
    inside words), hyphenated words split."""
    text = text.lower().replace("’", "'").replace("-", " ").replace("—", " ")
    words = []
    for w in re.findall(r"[a-z0-9']+", text):
        w = w.strip("'")
        if w:
            words.append(w)
    return words


WIDE_BEAMS = {"beam": 1e-80, "wbeam": 1e-60, "pbeam": 1e-80}
"""pocketsphinx search beams of the retry (defaults 1e-48 / 7e-29 / 1e-48)."""


class PhoneAligner:
    """pocketsphinx forced aligner (en-US). Not thread-safe per instance: calls are serialised.

    When the alignment fails (speech that strays from its text, e.g. a TTS that slurs a word:
    pocketsphinx then cannot reach the text's last state, "Failed to set up sub-word
    alignment"), it is tried once more with much wider search beams (:data:`WIDE_BEAMS`),
    which follow such speech at the cost of a slower search."""

    def __init__(self) -> None:
        self._decoder = self._make_decoder()
        self._wide: Any = None  # created on the first failure
        self._lock = threading.Lock()
        self._added: dict[int, set[str]] = {}

    @staticmethod
    def _make_decoder(**beams: float) -> Any:
        from pocketsphinx import Decoder, get_model_path

        return Decoder(
            hmm=get_model_path("en-us/en-us"),
            dict=get_model_path("en-us/cmudict-en-us.dict"),
            lm=None,
            samprate=SAMPLE_RATE,
            loglevel="FATAL",
            bestpath=False,
            **beams,
        )

    def _ensure_words(self, d: Any, words: list[str]) -> list[str]:
        """Add OOV words to decoder ``d`` (espeak-ng pronunciation); return the usable words."""
        added = self._added.setdefault(id(d), set())
        usable = []
        for w in words:
            if w in added or d.lookup_word(w) is not None:
                usable.append(w)
                continue
            phones = espeak_arpabet(w)
            if not phones:
                continue
            d.add_word(w, " ".join(phones), True)
            added.add(w)
            usable.append(w)
        return usable

    def _align(self, d: Any, raw: bytes, words: list[str]) -> Any:
        """Two passes (words, then phones) of decoder ``d``; raises RuntimeError on failure."""
        usable = self._ensure_words(d, words)
        d.set_align_text(" ".join(usable))
        d.start_utt()
        d.process_raw(raw, full_utt=True)
        d.end_utt()
        d.set_alignment()
        d.start_utt()
        d.process_raw(raw, full_utt=True)
        d.end_utt()
        alignment = d.get_alignment()
        if alignment is None:
            raise RuntimeError("the audio does not fit the text")
        return alignment

    def align_words(self, audio: np.ndarray, sr: int, text: str) -> list[AlignedWord]:
        """Words of ``text`` with their phones, aligned to (N,) float audio at ``sr``.

        Silences are returned as words named ``<sil>`` with one ``SIL`` phone. Raises
        :class:`SpeechError` when the text has no words or the alignment fails.
        """
        words = normalize_for_alignment(text)
        if not words:
            raise SpeechError(f"nothing to align in {text!r}: give the words that were spoken")
        pcm = _to_pcm16(audio, sr)
        if pcm.size < SAMPLE_RATE // 10:
            raise SpeechError("audio too short to align (< 0.1 s)")
        duration = (
            np.floor(1000.0 * min(pcm.size / SAMPLE_RATE, np.asarray(audio).shape[0] / sr)) / 1000.0
        )
        # near-silent padding lets the aligner reach its final state when a clip starts or
        # ends mid-word (without it such clips fail to align)
        pad = np.round(
            np.random.default_rng(0).standard_normal(int(PAD_S * SAMPLE_RATE)) * 3.0
        ).astype(np.int16)
        raw = np.concatenate([pad, pcm, pad]).tobytes()
        with self._lock:
            try:
                alignment = self._align(self._decoder, raw, words)
            except RuntimeError as first:
                if self._wide is None:
                    self._wide = self._make_decoder(**WIDE_BEAMS)
                try:
                    alignment = self._align(self._wide, raw, words)
                except RuntimeError as exc:
                    raise SpeechError(
                        f"phone alignment failed ({first}; with wider beams: {exc}); "
                        "is the text what was said?"
                    ) from exc
            out: list[AlignedWord] = []
            for w in alignment.words():
                phones = tuple(
                    Phone(_label(p.name), _t(p.start, duration), _t(p.start + p.duration, duration))
                    for p in w
                )
                phones = tuple(p for p in phones if p.end > p.start)
                name = re.sub(r"\(\d+\)$", "", w.name)
                if not phones:
                    continue
                # the word entry's own duration is unreliable; its phones span the word
                out.append(AlignedWord(name, phones[0].start, phones[-1].end, phones))
        if not any(w.text not in ("<sil>", "<s>", "</s>") for w in out):
            raise SpeechError("phone alignment found no words; is the text what was said?")
        return out

    def align_phones(self, audio: np.ndarray, sr: int, text: str) -> list[Phone]:
        """Every phone (silences as ``SIL``) from start to end of the aligned span."""
        return [p for w in self.align_words(audio, sr, text) for p in w.phones]


def _t(frame: int, duration: float) -> float:
    """Frame index of the padded input -> seconds on the caller's timeline (clipped)."""
    return round(min(max(frame * FRAME_S - PAD_S, 0.0), duration), 3)


def _label(name: str) -> str:
    lab = re.sub(r"\d", "", name).upper()
    return (
        "SIL"
        if lab in ("SIL", "<SIL>", "+NSN+", "+SPN+", "+BREATH+", "") or lab.startswith("+")
        else lab
    )


def _to_pcm16(audio: np.ndarray, sr: int) -> np.ndarray:
    a = np.asarray(audio, np.float32)
    if a.ndim != 1:
        raise SpeechError(f"audio must be mono (N,), got shape {a.shape}")
    if sr != SAMPLE_RATE:
        from scipy.signal import resample_poly

        g = np.gcd(int(sr), SAMPLE_RATE)
        a = resample_poly(a, SAMPLE_RATE // g, int(sr) // g).astype(np.float32)
    return (np.clip(a, -1.0, 1.0) * 32767.0).astype(np.int16)


@functools.cache
def get_aligner() -> PhoneAligner:
    """The shared aligner (the model loads once, ~1 s)."""
    return PhoneAligner()


def align_phones(audio: np.ndarray, sr: int, text: str) -> list[Phone]:
    """Phones of ``text`` spoken in (N,) float32 audio at ``sr``: a list of :class:`Phone`
    (ARPAbet without stress, ``SIL`` for silence; seconds), in time order."""
    return get_aligner().align_phones(audio, sr, text)


def align_words(audio: np.ndarray, sr: int, text: str) -> list[AlignedWord]:
    """Words of ``text`` with their phones and times (``<sil>`` entries for silences)."""
    return get_aligner().align_words(audio, sr, text)
