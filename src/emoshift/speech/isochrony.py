"""Isochrony: keep the new speech within a time budget, as dubbing does.

A rewrite adds words and an emotion's prosody changes the pace (sadness and disgust are slower
and pause longer), so new speech can run to twice the source clip. In ``shift``'s video mode
the source frames are then re-timed over twice their length, and every stage after the
synthesis costs twice as much. Automatic dubbing calls the constraint *isochrony* (Federico et
al. 2020, "Speech-to-speech translation for dubbing"): the new speech should take about as long
as the old one. Three levers, the first two emotion-preserving:

1. :func:`pick_within`: among the rewriter's ranked candidates that the text emotion
   recogniser judges the same way as the best one, take the best-ranked whose estimated
   spoken duration fits (:func:`estimate_seconds`); none fits -> the shortest of them.
2. :func:`fit_pauses`: if the synthesised speech is still too long, shorten its pauses
   (never below ``min_pause``), longest first in proportion. Phone times are mapped through
   the same cuts, so lip sync stays exact.
3. If the words alone still exceed the budget, ``synthesize.finish`` speeds them up by at
   most :data:`MAX_WORD_SPEEDUP` (WORLD time-scaling).

Pure functions: text / arrays in, text / arrays out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from emoshift.speech.voice import count_syllables

# Spoken duration of Kokoro output, fitted (least squares) on 32 renditions of the talk_*
# transcripts rewritten in 8 emotions at intensity 1.0: seconds of speech (pauses of 150 ms or
# more left out) per syllable at speed 1 (mean abs error 6 %), and seconds of pause per
# sentence / clause break at pause factor 1 (whole duration: mean abs error 8 %, max 16 %)
SEC_PER_SYLLABLE = 0.198
SEC_PER_BREAK = 0.53
_BREAK = re.compile(r"[.!?]+(?=\s|$)|[,;:]")


MAX_WORD_SPEEDUP = 1.1
"""When a text's words alone run over the budget, they are spoken up to this much faster
(WORLD time-scaling after the TTS; dubbing keeps such speed-ups small so they go unheard)."""


def check_max_stretch(value: float) -> float:
    """``value`` if it is a valid stretch limit (0 = no limit, else 1..10 times the source's
    length); raises :class:`~emoshift.errors.ConfigError` otherwise."""
    from emoshift.errors import ConfigError

    if value != 0 and not 1.0 <= value <= 10.0:
        raise ConfigError(f"max_stretch must be 0 (no limit) or in 1..10, got {value}")
    return float(value)


def budget_seconds(max_stretch: float, source_seconds: float) -> float | None:
    """The time budget (s) of new speech for a source of ``source_seconds``: ``max_stretch``
    times it, or None when ``max_stretch`` is 0 (no limit)."""
    return max_stretch * source_seconds if max_stretch > 0 else None


def count_breaks(text: str) -> int:
    """Sentence ends and clause marks of ``text`` (each is a pause when spoken)."""
    return len(_BREAK.findall(text))


def estimate_seconds(
    text: str, speed: float = 1.0, pause_factor: float = 1.0, *, break_seconds: float | None = None
) -> float:
    """Estimated spoken duration (s) of ``text`` at TTS ``speed`` (1 = normal) with pauses
    scaled by ``pause_factor``; ``break_seconds`` overrides the pause per break (e.g. the
    floor :func:`fit_pauses` can shorten pauses to)."""
    per_break = SEC_PER_BREAK * pause_factor if break_seconds is None else break_seconds
    syl = count_syllables(text)
    return SEC_PER_SYLLABLE * syl / max(speed, 0.1) + per_break * count_breaks(text)


def pick_within(
    candidates: Sequence[str],
    scores: Sequence[dict[str, Any]] | None,
    budget_s: float,
    *,
    speed: float = 1.0,
    pause_factor: float = 1.0,
    min_pause: float = 0.25,
) -> tuple[int, dict[str, Any]]:
    """Index of the candidate to speak under a ``budget_s`` seconds budget, and a record.

    ``candidates`` are ranked best first; ``scores`` (same order, optional) may carry
    ``is_top`` (the recogniser's top label is the target). Only candidates with the same
    verdict as the best are eligible. First choice: the best-ranked whose estimate with its
    pauses as spoken fits; then the best-ranked that fits once pauses are shortened to
    ``min_pause``; else the eligible candidate with the shortest such estimate."""
    if not candidates:
        return 0, {"budget_s": budget_s, "picked": 0, "reason": "no candidates"}
    verdict = scores[0].get("is_top") if scores else None
    eligible = [
        i
        for i in range(len(candidates))
        if not scores or i >= len(scores) or scores[i].get("is_top") == verdict
    ]
    full = {i: estimate_seconds(candidates[i], speed, pause_factor) for i in eligible}
    tight = {i: estimate_seconds(candidates[i], speed, break_seconds=min_pause) for i in eligible}
    pick, reason = None, ""
    for i in eligible:
        if full[i] <= budget_s:
            pick, reason = i, "fits"
            break
    if pick is None:
        for i in eligible:
            if tight[i] <= budget_s:
                pick, reason = i, "fits with shorter pauses"
                break
    if pick is None:
        pick, reason = min(eligible, key=tight.__getitem__), "shortest (none fits)"
    return pick, {
        "budget_s": round(float(budget_s), 3),
        "picked": int(pick),
        "reason": reason,
        "estimate_s": round(full[pick], 3),
        "best_estimate_s": round(full[eligible[0]], 3) if eligible else None,
    }


def pause_runs(
    audio: np.ndarray, sr: int, *, min_len: float = 0.15, floor_db: float = -35.0
) -> list[tuple[int, int]]:
    """Inner pauses of (N,) speech as (start, end) sample ranges: 10 ms frames more than
    ``-floor_db`` dB below the loudest frame, runs of at least ``min_len`` s, not touching
    the ends of the audio."""
    x = np.asarray(audio, np.float64)
    hop = max(1, int(0.01 * sr))
    m = x.size // hop
    if m < 3:
        return []
    e = 10.0 * np.log10(np.mean(x[: m * hop].reshape(m, hop) ** 2, axis=1) + 1e-12)
    quiet = e < e.max() + floor_db
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    runs = []
    for s, t in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        if s == 0 or t == m:
            continue  # leading / trailing silence is not a pause
        if (t - s) * hop >= min_len * sr:
            runs.append((int(s * hop), int(t * hop)))
    return runs


def fit_pauses(
    audio: np.ndarray,
    sr: int,
    max_seconds: float,
    phones: Sequence[Any] | None = None,
    *,
    min_pause: float = 0.25,
) -> tuple[np.ndarray, list[Any] | None, float]:
    """Shorten the pauses of (N,) ``audio`` so it lasts at most ``max_seconds`` if it can.

    Each inner pause keeps at least ``min_pause`` s; the time taken out is shared in proportion
    to what each pause can give (long pauses give most), cut from the pause's middle with a
    5 ms cross-fade. ``phones`` (objects or dicts with ``start`` / ``end`` seconds) are mapped
    through the cuts (same type returned). Returns (audio, phones, seconds removed); unchanged
    when the audio already fits or has no pauses."""
    x = np.asarray(audio, np.float32)
    excess = x.size / sr - float(max_seconds)
    runs = pause_runs(x, sr)
    if excess <= 0 or not runs:
        return x, list(phones) if phones is not None else None, 0.0
    keep = int(min_pause * sr)
    give = np.array([max(0, (t - s) - keep) for s, t in runs], np.float64)
    if give.sum() <= 0:
        return x, list(phones) if phones is not None else None, 0.0
    share = min(1.0, excess * sr / give.sum())
    cuts = []  # (start, end) sample ranges removed
    for (s, t), g in zip(runs, give):
        n = int(g * share)
        if n <= 0:
            continue
        mid = (s + t) // 2
        cuts.append((mid - n // 2, mid - n // 2 + n))
    # each cut removes exactly n samples: the k samples before it cross-fade into the k
    # samples after it (pauses are near-silent, the fade only hides a click)
    fade = max(1, int(0.005 * sr))
    pieces, prev = [], 0
    for a, b in cuts:
        k = min(fade, a - prev, max(0, x.size - b))
        pieces.append(x[prev : a - k])
        if k > 0:
            w = np.linspace(0.0, 1.0, k, dtype=np.float32)
            pieces.append(x[a - k : a] * (1.0 - w) + x[b : b + k] * w)
        prev = b + k
    pieces.append(x[prev:])
    out = np.concatenate(pieces)
    removed = (x.size - out.size) / sr

    def remap(t: float) -> float:
        n = t * sr
        shift = 0.0
        for a, b in cuts:
            if n >= b:
                shift += b - a
            elif n > a:
                shift += n - a
        return min(max(0.0, (n - shift) / sr), out.size / sr)

    new_phones = None
    if phones is not None:
        new_phones = []
        for p in phones:
            if isinstance(p, dict):
                new_phones.append({**p, "start": remap(p["start"]), "end": remap(p["end"])})
            else:
                new_phones.append(type(p)(p.label, remap(p.start), remap(p.end)))
    return out.astype(np.float32), new_phones, float(removed)


__all__ = [
    "budget_seconds",
    "check_max_stretch",
    "count_breaks",
    "estimate_seconds",
    "fit_pauses",
    "pause_runs",
    "pick_within",
]
