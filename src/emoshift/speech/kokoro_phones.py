"""Phone timings of Kokoro speech from its own duration predictor (no forced alignment).

Kokoro predicts how many 25 ms frames each input symbol lasts and renders exactly that many
(:data:`emoshift.speech.kokoro_graph.FRAME_SAMPLES` samples per frame), so the symbols'
times in the audio are known. Here its symbols (misaki IPA, see
:mod:`emoshift.speech.tts_kokoro`) become ARPAbet phones for lip sync
(:class:`emoshift.speech.align.Phone`): stress and length marks join the next phone, short
word gaps the phone before them, punctuation and long gaps are ``SIL``.

Two corrections against what is heard (calibrated on 3 sentences x 2 voices x 3 speeds
against pocketsphinx alignments of the same audio, 140 matched phones each):

* the sound of a symbol comes :func:`render_lag` (~70 ms at speed 1) *before* its predicted
  frames (a fixed offset of the model's learned alignment: median 62-75 ms, growing a little
  at slower speeds); after removing it, phone starts agree with the alignment within 15 ms
  (median);
* Kokoro renders a pause inside the frames of the phone before the comma, so phones are
  clipped to the silent runs of the audio (:func:`snap_to_pauses`), which become ``SIL``.

Pure functions: symbols and frame counts in, phones out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emoshift.speech.align import Phone

# Kokoro (misaki, US, as produced from espeak-ng) symbol -> ARPAbet (no stress digits)
IPA_TO_ARPABET: dict[str, str] = {
    # vowels and diphthongs
    "ə": "AH",
    "ᵊ": "AH",
    "ʌ": "AH",
    "ɐ": "AH",
    "ɤ": "AH",
    "ɑ": "AA",
    "ɒ": "AA",
    "a": "AA",
    "ɔ": "AO",
    "æ": "AE",
    "ɛ": "EH",
    "ɜ": "ER",
    "ɚ": "ER",
    "œ": "ER",
    "ø": "ER",
    "ɪ": "IH",
    "ᵻ": "IH",
    "ɨ": "IH",
    "i": "IY",
    "u": "UW",
    "ɯ": "UW",
    "ʊ": "UH",
    "o": "OW",
    "O": "OW",
    "Q": "OW",
    "e": "EY",
    "A": "EY",
    "I": "AY",
    "W": "AW",
    "Y": "OY",
    # consonants
    "p": "P",
    "b": "B",
    "m": "M",
    "f": "F",
    "v": "V",
    "θ": "TH",
    "ð": "DH",
    "t": "T",
    "d": "D",
    "ɾ": "D",
    "ʔ": "T",
    "n": "N",
    "ɲ": "N",
    "l": "L",
    "s": "S",
    "z": "Z",
    "ʃ": "SH",
    "ʒ": "ZH",
    "ʧ": "CH",
    "ʤ": "JH",
    "k": "K",
    "x": "K",
    "ɡ": "G",
    "g": "G",
    "ŋ": "NG",
    "h": "HH",
    "ç": "HH",
    "w": "W",
    "ɹ": "R",
    "r": "R",
    "ɻ": "R",
    "j": "Y",
}
MODIFIERS = frozenset("ˈˌːʰʲ\u0303")
"""Symbols that are not segments: their frames go to the next phone (the last one's to the
phone before it)."""
WORD_GAP_SIL = 0.08
"""A word boundary (space) longer than this (s) is a pause (SIL); shorter ones are coarticulated
into the phone before it."""


def render_lag(speed: float) -> float:
    """Seconds by which Kokoro's audio precedes its predicted symbol frames at ``speed``
    (fit: 43 ms + 26 ms / speed)."""
    return 0.043 + 0.026 / max(float(speed), 0.1)


def token_times(durations: np.ndarray, frame_seconds: float) -> np.ndarray:
    """(T,) frame counts -> (T + 1,) boundary times in seconds (0 first)."""
    d = np.asarray(durations, np.float64).ravel()
    return np.concatenate([[0.0], np.cumsum(d)]) * float(frame_seconds)


def phones_from_symbols(
    symbols: Sequence[str], starts: Sequence[float], ends: Sequence[float]
) -> list[Phone]:
    """Kokoro symbols with their start/end (s) -> ARPAbet phones, silences merged.

    ``symbols`` may include the start/end padding (give it as ``""``: silence)."""
    segs: list[list] = []  # [label, start, end]
    carry: float | None = None  # start of pending modifier frames
    for sym, s, e in zip(symbols, starts, ends):
        s, e = float(s), float(e)
        if e <= s and sym not in MODIFIERS:
            continue
        if sym in MODIFIERS:
            carry = s if carry is None else carry
            continue
        label = IPA_TO_ARPABET.get(sym)
        if label is None:
            if sym == " " and e - s <= WORD_GAP_SIL and segs and segs[-1][0] != "SIL":
                segs[-1][2] = e
                continue
            if sym.strip() and sym.isalpha():  # an unmapped letter: part of its neighbour
                if segs:
                    segs[-1][2] = e
                    continue
                label = "AH"
            else:
                label = "SIL"
        start = carry if carry is not None else s
        carry = None
        if label == "SIL" and segs and segs[-1][0] == "SIL":
            segs[-1][2] = e
        else:
            segs.append([label, start, e])
    if carry is not None and segs:
        segs[-1][2] = max(segs[-1][2], float(ends[-1]))
    return [Phone(lab, round(s, 4), round(e, 4)) for lab, s, e in segs if e > s]


def fill_silences(phones: Sequence[Phone], total: float) -> list[Phone]:
    """Sorted phones with the gaps between them (and up to ``total`` s) filled with ``SIL``
    and neighbouring SILs merged, so they cover [0, total]."""
    out: list[Phone] = []
    t = 0.0
    for p in phones:
        if p.start > t + 1e-4:
            out.append(Phone("SIL", round(t, 4), p.start))
        if out and out[-1].label == "SIL" and p.label == "SIL":
            out[-1] = Phone("SIL", out[-1].start, p.end)
        else:
            out.append(p)
        t = p.end
    if total > t + 1e-4:
        if out and out[-1].label == "SIL":
            out[-1] = Phone("SIL", out[-1].start, round(total, 4))
        else:
            out.append(Phone("SIL", round(t, 4), round(total, 4)))
    return out


def shift_phones(phones: Sequence[Phone], offset: float, lo: float, hi: float) -> list[Phone]:
    """Phones moved by ``offset`` seconds and clipped to [lo, hi]; empty ones dropped."""
    hi = math.floor(hi * 1e4) / 1e4  # times are rounded to 0.1 ms: never past ``hi``
    out = []
    for p in phones:
        s = min(max(p.start + offset, lo), hi)
        e = min(max(p.end + offset, lo), hi)
        if e > s:
            out.append(Phone(p.label, round(s, 4), round(e, 4)))
    return out


def snap_to_pauses(phones: Sequence[Phone], pauses: Sequence[tuple[float, float]]) -> list[Phone]:
    """Clip phones to the silent runs ``pauses`` ((start, end) s, sorted) of the audio: a phone
    overlapping a run is cut at its edge (dropped if inside it), and each run becomes a
    ``SIL`` (merged with SILs it touches)."""
    out = [[p.label, p.start, p.end] for p in phones]
    for s, e in pauses:
        kept = []
        for seg in out:
            lab, a, b = seg
            if b <= s or a >= e or lab == "SIL":
                kept.append(seg)
                continue
            if a < s:
                kept.append([lab, a, s])
            if b > e:
                kept.append([lab, e, b])
        kept.append(["SIL", s, e])
        out = sorted(kept, key=lambda x: (x[1], x[2]))
    merged: list[list] = []
    for lab, a, b in out:
        if merged and lab == "SIL" and merged[-1][0] == "SIL" and a <= merged[-1][2] + 1e-4:
            merged[-1][2] = max(merged[-1][2], b)
        elif merged and lab == "SIL" and a < merged[-1][2]:
            merged.append([lab, merged[-1][2], b])
        elif merged and merged[-1][0] == "SIL" and a < merged[-1][2]:
            merged[-1][2] = a
            merged.append([lab, a, b])
        else:
            merged.append([lab, a, b])
    return [Phone(lab, round(a, 4), round(b, 4)) for lab, a, b in merged if b > a]


def map_phones(phones: Sequence[Phone], src: np.ndarray, dst: np.ndarray) -> list[Phone]:
    """Phones moved through a monotone time map (``np.interp(t, src, dst)``, seconds)."""
    out = []
    for p in phones:
        s, e = (float(v) for v in np.interp([p.start, p.end], src, dst))
        if e > s:
            out.append(Phone(p.label, round(s, 4), round(e, 4)))
    return out
