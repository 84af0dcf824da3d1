"""Natural blinks: a seeded schedule, a per-frame lid-closure track, lid displacements.

Spontaneous blinking in conversation runs at roughly 10-25 blinks per minute (Bentivoglio
et al. 1997, "Analysis of blink rate patterns in normal subjects", Mov. Disord. 12(6)) and a
blink lasts 100-400 ms, closing faster than it opens (about 1/3 closing, 2/3 opening). Here
intervals between blinks are gamma distributed (shape 3, so neither metronomic nor bunched)
around a mean rate drawn per clip within ``rate_range``, kept at least ``min_gap_s`` apart;
durations are drawn in [0.28, 0.4] s (the lids are nearly shut for about half of it,
which is what a landmark tracker sees as the blink). The lid closure c(t) in [0, 1] rises with a smooth
ease over the closing phase, holds fully closed briefly and falls over the opening phase.

A blink moves each upper-lid point onto its lower-lid partner and a little past it (c = 1:
the lids meet and overlap by up to 0.02 IOD mid-lid, so no white seam of eye shows), the lid
crease above follows by a third and the lower lid rises by a tenth of the gap. Displacements are in the
face-normalised frame (IOD units, :mod:`emoshift.face.lipsync`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoshift.face import regions as R

N = R.N_POINTS
_UP = np.array(R.RIGHT_EYE_UPPER[1:-1] + R.LEFT_EYE_UPPER[1:-1])
_LO = np.array(R.RIGHT_EYE_LOWER[1:-1] + R.LEFT_EYE_LOWER[1:-1])
_FOLD = np.array(R.RIGHT_UPPER_LID_FOLD[1:-1] + R.LEFT_UPPER_LID_FOLD[1:-1])


@dataclass(frozen=True)
class BlinkConfig:
    """rate_range: blinks per minute (the clip's mean rate is drawn uniformly in it);
    duration_range: seconds per blink; min_gap_s: shortest time between blink starts;
    first_after_s: no blink starts before this time."""

    rate_range: tuple[float, float] = (12.0, 20.0)
    duration_range: tuple[float, float] = (0.28, 0.4)
    min_gap_s: float = 1.2
    first_after_s: float = 0.6


@dataclass(frozen=True)
class Blink:
    """One blink: ``start`` and ``duration`` in seconds."""

    start: float
    duration: float


def blink_schedule(
    duration_s: float, seed: int = 0, config: BlinkConfig = BlinkConfig()
) -> list[Blink]:
    """Blinks over ``duration_s`` seconds, seeded (same seed -> same blinks)."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(*config.rate_range) / 60.0  # per second
    out: list[Blink] = []
    t = config.first_after_s + rng.uniform(0.0, 1.0 / rate)
    while True:
        dur = float(rng.uniform(*config.duration_range))
        if t + dur > duration_s - 0.05:
            break
        out.append(Blink(float(t), dur))
        t += max(config.min_gap_s, float(rng.gamma(3.0, 1.0 / (3.0 * rate))))
    if not out and duration_s >= 2.0:  # a short clip still blinks once
        dur = float(np.mean(config.duration_range))
        out.append(
            Blink(
                float(min(max(config.first_after_s, 0.4 * duration_s), duration_s - dur - 0.05)),
                dur,
            )
        )
    return out


def closure_track(blinks: list[Blink], n_frames: int, fps: float) -> np.ndarray:
    """(T,) float32 lid closure in [0, 1] sampled at frame times i / fps.

    Each blink: ease-in closing over the first 25% of its duration, fully closed for the
    next 30%, ease-out opening over the last 45%."""
    t = np.arange(int(n_frames), dtype=np.float64) / float(fps)
    c = np.zeros_like(t)
    for b in blinks:
        u = (t - b.start) / b.duration
        up = np.clip(u / 0.25, 0.0, 1.0)
        down = np.clip((1.0 - u) / 0.45, 0.0, 1.0)
        v = np.minimum(up, down)
        v = v * v * (3.0 - 2.0 * v)
        inside = (u >= 0.0) & (u <= 1.0)
        c = np.where(inside, np.maximum(c, v), c)
    return c.astype(np.float32)


def blink_displacement(q: np.ndarray, closure: float) -> np.ndarray:
    """(478, 2) IOD displacement closing the eyes of normalised face ``q`` (478, 3) by
    ``closure`` in [0, 1] (1: upper lids on the lower lids)."""
    d = np.zeros((N, 2))
    c = float(np.clip(closure, 0.0, 1.0))
    if c <= 0.0:
        return d
    qq = np.asarray(q, dtype=np.float64)[:, :2]
    gap = qq[_LO] - qq[_UP]  # (14, 2) from each upper-lid point to its lower partner
    # the upper lid goes slightly past the lower lid's contour: the tracked contour sits a
    # little inside the real lid margins, and a seam of white would stay otherwise
    over = (
        np.array([0.0, 0.02])
        * np.sin(np.pi * np.linspace(0.0, 1.0, len(R.RIGHT_EYE_UPPER)))[1:-1, None]
    )
    d[_UP] = c * (0.9 * gap + np.vstack([over, over]))
    d[_LO] = -c * 0.1 * gap
    d[_FOLD] = c * 0.33 * gap
    return d


def blink_events(
    openness: np.ndarray, fps: float, *, rel_threshold: float = 0.6, merge_s: float = 0.1
) -> list[tuple[int, int]]:
    """Detect blinks in an eye-openness track (e.g. mean eye aspect ratio per frame, (T,)):
    [start, end) frame ranges where the openness is below ``rel_threshold`` x its median;
    runs separated by less than ``merge_s`` seconds are one blink (a tracker's flicker while
    the lids are shut). NaN frames count as open. For measuring blinks in a rendered video."""
    o = np.asarray(openness, dtype=np.float64)
    med = np.nanmedian(o) if np.isfinite(o).any() else 0.0
    low = np.nan_to_num(o, nan=med) < rel_threshold * med
    m = np.concatenate([[False], low, [False]]).astype(np.int8)
    d = np.diff(m)
    runs = list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))
    merged: list[tuple[int, int]] = []
    for s, e in runs:
        if merged and s - merged[-1][1] < merge_s * fps:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged
