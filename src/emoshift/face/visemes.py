"""ARPAbet phones -> viseme mouth-parameter tracks, with coarticulation and loudness.

Each phone has a *target* mouth shape, five parameters in [0, 1] (:data:`VISEME_PARAMS`):

==============  ==========================================================================
``jaw``         jaw opening (lower lip and chin drop); AA ~0.9, IY ~0.2, closed for P/B/M
``round``       lip rounding / protrusion (corners pulled in, an "O"): UW, OW, W, SH
``spread``      lip stretch / spread (corners out, lips thinned): IY, EY, EH, S
``close``       full lip closure (the lips meet and press): P, B, M
``labiodental`` lower lip raised against the upper teeth: F, V
==============  ==========================================================================

(``TH``/``DH`` show the tongue between slightly parted teeth: a small jaw opening here;
the mouth interior renderer draws what shows inside.)

Coarticulation follows Cohen & Massaro's dominance model (Cohen & Massaro 1993, "Modeling
coarticulation in synthetic visual speech"): every phone segment exerts, per parameter, a
dominance ``D(t) = alpha * exp(-theta * tau(t))`` where ``tau`` is the time (s) outside the
segment (0 inside it) and ``theta`` differs before (anticipation) and after (carry-over) the
segment; the parameter at time t is the dominance-weighted mean of the targets. Shapes
therefore blend smoothly across neighbouring phones (no snapping), while phones with a
strong gesture (P/B/M closure, F/V, W rounding) dominate their neighbours and reach their
target. Rounding is anticipated longer than other gestures (it starts over the preceding
consonants, as in real speech).

Loudness: the RMS envelope of the speech (:func:`loudness_envelope`, 0..1 per frame)
scales the jaw opening, so loud syllables open wider and the mouth follows the voice.

Everything here is pure numpy: phones in, (T, k) float32 arrays out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

VISEME_PARAMS: tuple[str, ...] = ("jaw", "round", "spread", "close", "labiodental")
"""Names of the viseme parameter columns, in order."""
K = len(VISEME_PARAMS)
JAW, ROUND, SPREAD, CLOSE, LABIO = range(K)

# Targets (jaw, round, spread, close, labiodental) per ARPAbet phone (no stress digits).
TARGETS: dict[str, tuple[float, float, float, float, float]] = {
    # vowels
    "AA": (0.90, 0.00, 0.10, 0.0, 0.0),
    "AE": (0.75, 0.00, 0.40, 0.0, 0.0),
    "AH": (0.60, 0.00, 0.10, 0.0, 0.0),
    "AO": (0.75, 0.50, 0.00, 0.0, 0.0),
    "AW": (0.70, 0.40, 0.00, 0.0, 0.0),
    "AY": (0.75, 0.00, 0.30, 0.0, 0.0),
    "EH": (0.50, 0.00, 0.45, 0.0, 0.0),
    "ER": (0.35, 0.45, 0.00, 0.0, 0.0),
    "EY": (0.45, 0.00, 0.55, 0.0, 0.0),
    "IH": (0.35, 0.00, 0.50, 0.0, 0.0),
    "IY": (0.20, 0.00, 0.75, 0.0, 0.0),
    "OW": (0.55, 0.75, 0.00, 0.0, 0.0),
    "OY": (0.55, 0.60, 0.00, 0.0, 0.0),
    "UH": (0.35, 0.65, 0.00, 0.0, 0.0),
    "UW": (0.20, 0.95, 0.00, 0.0, 0.0),
    # bilabials: closed
    "P": (0.00, 0.00, 0.00, 1.0, 0.0),
    "B": (0.00, 0.00, 0.00, 1.0, 0.0),
    "M": (0.00, 0.00, 0.00, 1.0, 0.0),
    # labiodentals
    "F": (0.10, 0.00, 0.00, 0.0, 1.0),
    "V": (0.10, 0.00, 0.00, 0.0, 1.0),
    # dentals: tongue between the teeth
    "TH": (0.22, 0.00, 0.10, 0.0, 0.0),
    "DH": (0.22, 0.00, 0.10, 0.0, 0.0),
    # rounded / protruded consonants
    "W": (0.15, 0.95, 0.00, 0.0, 0.0),
    "R": (0.25, 0.45, 0.00, 0.0, 0.0),
    "SH": (0.20, 0.55, 0.00, 0.0, 0.0),
    "ZH": (0.20, 0.55, 0.00, 0.0, 0.0),
    "CH": (0.20, 0.55, 0.00, 0.0, 0.0),
    "JH": (0.20, 0.55, 0.00, 0.0, 0.0),
    # spread / neutral consonants
    "S": (0.12, 0.00, 0.40, 0.0, 0.0),
    "Z": (0.12, 0.00, 0.40, 0.0, 0.0),
    "Y": (0.20, 0.00, 0.50, 0.0, 0.0),
    "T": (0.25, 0.00, 0.15, 0.0, 0.0),
    "D": (0.25, 0.00, 0.15, 0.0, 0.0),
    "N": (0.25, 0.00, 0.15, 0.0, 0.0),
    "L": (0.30, 0.00, 0.10, 0.0, 0.0),
    "K": (0.30, 0.00, 0.10, 0.0, 0.0),
    "G": (0.30, 0.00, 0.10, 0.0, 0.0),
    "NG": (0.30, 0.00, 0.10, 0.0, 0.0),
    "HH": (0.45, 0.00, 0.00, 0.0, 0.0),
    # silence: the rest mouth
    "SIL": (0.00, 0.00, 0.00, 0.0, 0.0),
}

# Dominance magnitudes alpha per phone class and parameter (jaw, round, spread, close, labio).
_VOWEL_ALPHA = (1.0, 1.0, 1.0, 2.0, 2.0)
_ALPHA: dict[str, tuple[float, float, float, float, float]] = {
    **{p: (2.5, 1.0, 1.0, 12.0, 1.0) for p in ("P", "B", "M")},
    **{p: (3.0, 1.0, 1.0, 1.0, 8.0) for p in ("F", "V")},
    **{p: (1.0, 5.0, 1.0, 0.5, 0.5) for p in ("W",)},
    **{p: (0.8, 3.0, 0.5, 0.5, 0.5) for p in ("SH", "ZH", "CH", "JH", "R")},
    **{p: (0.6, 0.3, 1.0, 0.5, 0.5) for p in ("S", "Z", "Y", "TH", "DH")},
    **{p: (0.4, 0.2, 0.3, 0.5, 0.5) for p in ("T", "D", "N", "L", "K", "G", "NG")},
    "HH": (0.1, 0.1, 0.1, 0.3, 0.3),
    "SIL": (0.6, 0.6, 0.6, 0.5, 0.5),
}


@dataclass(frozen=True)
class VisemeConfig:
    """Settings of :func:`viseme_tracks`.

    theta_before / theta_after: dominance decay rates (1/s) ahead of / after a segment per
        parameter (jaw, round, spread, close, labiodental); rounding is anticipated longest.
    loudness_floor: the jaw opening at zero loudness as a fraction of the phone's target
        (the rest, ``1 - loudness_floor``, follows the loudness envelope).
    loudness_only_jaw: jaw opening at full loudness when no phones are known.
    jaw_gamma / jaw_pivot: the jaw opening's response curve, ``pivot * (jaw / pivot) **
        gamma`` (unchanged at ``pivot``): gamma < 1 opens small openings more (consonants,
        quiet syllables), which a face tracker would otherwise read as closed lips. The jaw
        is first multiplied by ``1 - close`` (the jaw closes with the lips for P/B/M).
    """

    theta_before: tuple[float, float, float, float, float] = (30.0, 9.0, 16.0, 110.0, 80.0)
    theta_after: tuple[float, float, float, float, float] = (35.0, 14.0, 20.0, 120.0, 90.0)
    loudness_floor: float = 0.35
    loudness_only_jaw: float = 0.7
    jaw_gamma: float = 0.65
    jaw_pivot: float = 0.6


@dataclass(frozen=True)
class PhoneSeg:
    """One phone: ARPAbet ``label`` (no stress), ``start`` / ``end`` in seconds."""

    label: str
    start: float
    end: float


def normalize_phones(phones: Iterable[Any] | None) -> list[PhoneSeg]:
    """Phones as :class:`PhoneSeg` from ``speech.align.Phone`` objects, dicts
    ``{"label", "start", "end"}`` or (label, start, end) tuples; stress digits are removed,
    unknown labels become ``SIL``, empty or reversed segments are dropped; sorted by start."""
    out: list[PhoneSeg] = []
    for p in phones or ():
        if isinstance(p, Mapping):
            lab, s, e = p["label"], p["start"], p["end"]
        elif isinstance(p, Sequence) and not isinstance(p, str):
            lab, s, e = p[0], p[1], p[2]
        else:
            lab, s, e = p.label, p.start, p.end
        lab = "".join(c for c in str(lab).upper() if not c.isdigit())
        if lab not in TARGETS:
            lab = "SIL"
        s, e = float(s), float(e)
        if e > s:
            out.append(PhoneSeg(lab, s, e))
    out.sort(key=lambda q: q.start)
    return out


def frame_times(n_frames: int, fps: float) -> np.ndarray:
    """(T,) float64 time in seconds of each video frame (frame i at i / fps)."""
    return np.arange(int(n_frames), dtype=np.float64) / float(fps)


def dominance_blend(
    phones: Sequence[PhoneSeg], times: np.ndarray, config: VisemeConfig = VisemeConfig()
) -> np.ndarray:
    """Coarticulated parameter values at ``times`` ((T,) seconds) -> (T, K) float64 in [0, 1].

    Cohen-Massaro dominance blend (module docstring); times outside every phone get the
    rest shape (silence)."""
    t = np.asarray(times, dtype=np.float64)
    if not phones:
        return np.zeros((t.size, K))
    starts = np.array([p.start for p in phones])[:, None]
    ends = np.array([p.end for p in phones])[:, None]
    targets = np.array([TARGETS[p.label] for p in phones])  # (S, K)
    alpha = np.array([_ALPHA.get(p.label, _VOWEL_ALPHA) for p in phones])  # (S, K)
    before = np.maximum(starts - t[None, :], 0.0)  # (S, T) time until the segment starts
    after = np.maximum(t[None, :] - ends, 0.0)  # time since it ended
    tb = np.asarray(config.theta_before)[None, None, :]
    ta = np.asarray(config.theta_after)[None, None, :]
    dom = alpha[:, None, :] * np.exp(-(before[..., None] * tb + after[..., None] * ta))  # (S, T, K)
    # before the first and after the last phone the rest shape (all 0) joins with weight 0.05
    outside = ((t < phones[0].start) | (t > phones[-1].end)).astype(np.float64)
    num = (dom * targets[:, None, :]).sum(axis=0)
    den = dom.sum(axis=0) + 0.05 * outside[:, None]
    return np.clip(num / np.maximum(den, 1e-12), 0.0, 1.0)


def loudness_envelope(
    audio: np.ndarray, sr: int, fps: float, n_frames: int, *, range_db: float = 35.0
) -> np.ndarray:
    """Speech loudness per video frame, (T,) float32 in [0, 1].

    RMS level (dB) in a window of two frame periods centred on each frame's time, mapped
    linearly from ``peak - range_db`` (0) to the peak (1), where the peak is the 95th
    percentile of the frame levels. Frames past the end of the audio are 0.
    """
    x = np.asarray(audio, dtype=np.float64).ravel()
    n = int(n_frames)
    if x.size == 0 or n <= 0:
        return np.zeros(max(n, 0), np.float32)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = sr / fps
    centre = np.arange(n) * sr / fps
    lo = np.clip(np.round(centre - half).astype(np.int64), 0, x.size)
    hi = np.clip(np.round(centre + half).astype(np.int64), 0, x.size)
    cnt = hi - lo
    ms = np.where(cnt > 0, (csum[hi] - csum[lo]) / np.maximum(cnt, 1), 0.0)
    db = 10.0 * np.log10(np.maximum(ms, 1e-10))
    valid = cnt > 0
    if not valid.any():
        return np.zeros(n, np.float32)
    peak = float(np.percentile(db[valid], 95))
    env = np.clip((db - (peak - range_db)) / range_db, 0.0, 1.0)
    env[~valid] = 0.0
    return env.astype(np.float32)


def viseme_tracks(
    phones: Iterable[Any] | None,
    n_frames: int,
    fps: float,
    loudness: np.ndarray | None = None,
    config: VisemeConfig = VisemeConfig(),
) -> np.ndarray:
    """Per-frame viseme parameters, (T, K) float32 in [0, 1], columns :data:`VISEME_PARAMS`.

    phones: ARPAbet phones with times in seconds (see :func:`normalize_phones`), or None to
    drive the jaw from ``loudness`` alone. loudness: (T,) in [0, 1] from
    :func:`loudness_envelope`, or None (no modulation). The jaw opening of each frame is the
    coarticulated target times ``loudness_floor + (1 - loudness_floor) * loudness``, through
    the response curve of ``jaw_gamma`` (:class:`VisemeConfig`).
    """
    n = int(n_frames)
    t = frame_times(n, fps)
    segs = normalize_phones(phones)
    if loudness is not None:
        loud = np.asarray(loudness, dtype=np.float64).ravel()
        if loud.size != n:
            raise ValueError(f"loudness has {loud.size} frames, expected {n}")
    else:
        loud = None
    if not segs or all(s.label == "SIL" for s in segs):
        out = np.zeros((n, K))
        if loud is not None:
            out[:, JAW] = config.loudness_only_jaw * _smooth(loud, 1.0)
        return out.astype(np.float32)
    out = dominance_blend(segs, t, config)
    if loud is not None:
        f = config.loudness_floor
        out[:, JAW] *= f + (1.0 - f) * loud
    return _jaw_curve(out, fps, config).astype(np.float32)


def _jaw_curve(params: np.ndarray, fps: float, config: VisemeConfig) -> np.ndarray:
    """The jaw of (T, K) parameters, in place: raised with the lip closure (a P/B/M is made
    by the jaw closing too: ``jaw * (1 - close)``; a dropped chin under shut lips reads as an
    open mouth), then through the response curve of ``config``."""
    del fps
    jaw = np.clip(params[:, JAW], 0.0, None) * (1.0 - np.clip(params[:, CLOSE], 0.0, 1.0))
    if config.jaw_gamma != 1.0:
        piv = max(config.jaw_pivot, 1e-6)
        jaw = np.clip(piv * (jaw / piv) ** config.jaw_gamma, 0.0, 1.0)
    params[:, JAW] = jaw
    return params


def speech_activity(
    phones: Iterable[Any] | None, n_frames: int, fps: float, *, smooth_s: float = 0.08
) -> np.ndarray:
    """(T,) float32 in [0, 1]: 1 while a non-silence phone is spoken, eased over ``smooth_s``."""
    n = int(n_frames)
    t = frame_times(n, fps)
    act = np.zeros(n)
    for s in normalize_phones(phones):
        if s.label != "SIL":
            act[(t >= s.start) & (t < s.end)] = 1.0
    return np.clip(_smooth(act, smooth_s * fps), 0.0, 1.0).astype(np.float32)


def closure_centres(
    phones: Iterable[Any] | None, labels: tuple[str, ...] = ("P", "B", "M")
) -> np.ndarray:
    """(n,) float64 centre times (s) of the phones in ``labels`` (bilabial closures)."""
    return np.array(
        [0.5 * (s.start + s.end) for s in normalize_phones(phones) if s.label in labels]
    )


def _smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along time (edges held); identity for sigma < 0.3 frames."""
    if sigma_frames < 0.3 or x.size < 2:
        return np.asarray(x, dtype=np.float64)
    r = max(1, int(np.ceil(3 * sigma_frames)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= k.sum()
    return np.convolve(np.pad(np.asarray(x, dtype=np.float64), r, mode="edge"), k, mode="valid")
