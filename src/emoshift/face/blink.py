"""Natural blinks: a seeded schedule, a per-frame lid-closure track, lid displacements.

Spontaneous blinking in conversation runs at roughly 10-25 blinks per minute (Bentivoglio
et al. 1997, "Analysis of blink rate patterns in normal subjects", Mov. Disord. 12(6)) and a
blink lasts 100-400 ms, closing faster than it opens (about 1/3 closing, 2/3 opening). Here
intervals between blinks are gamma distributed (shape 3, so neither metronomic nor bunched)
around a mean rate drawn per clip within ``rate_range``, kept at least ``min_gap_s`` apart;
durations are drawn in [0.28, 0.4] s (the lids are nearly shut for about half of it,
which is what a landmark tracker sees as the blink). The lid closure c(t) in [0, 1] rises with a smooth
ease over the closing phase, holds fully closed briefly and falls over the opening phase.

A blink moves each upper-lid point onto its lower-lid partner (c = 1: both lid rows meet on
one line a little below the lower lid's contour, up to 0.02 IOD mid-lid, so no white seam of
eye shows and the strip over the eye collapses without folding), the lid crease above
follows by a third and the lower lid rises by a tenth of the gap. Displacements are in the
face-normalised frame (IOD units, :mod:`emoshift.face.lipsync`).

Video mode (:func:`plan_video_blinks`): the source's own blinks, mapped through the
re-timing, are kept at a natural rate and length, the others hidden (open eyes of a nearby
frame), and blinks are added where too few remain.
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
    # the closed lids sit slightly below the lower lid's contour (the tracked contour lies a
    # little inside the real lid margins, and a seam of white would stay otherwise); both
    # rows move there, so the strip of triangles over the eye collapses without folding (an
    # upper lid pushed past the lower one flipped the strip and showed the iris through it)
    over = (
        np.array([0.0, 0.02])
        * np.sin(np.pi * np.linspace(0.0, 1.0, len(R.RIGHT_EYE_UPPER)))[1:-1, None]
    )
    over2 = np.vstack([over, over])
    d[_UP] = c * (0.9 * gap + over2)
    d[_LO] = c * (-0.1 * gap + over2)  # both rows meet: the opening's strip collapses, unfolded
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


@dataclass(frozen=True)
class VideoBlinkPlan:
    """Blinks of a re-timed video (:func:`plan_video_blinks`).

    eye_donor: (T,) int64, the source frame whose eyes (lids, texture) an output frame shows
    instead of its own (-1: its own): open eyes over a suppressed source blink, or a real
    blink of the source replayed where one is added; closure: (T,) float32 in [0, 1], lid
    closure of geometric synthetic blinks (when the source has no blink to replay); kept /
    added: [start, end) output frame ranges of the source blinks kept / blinks added;
    suppressed: how many output frames had a source blink hidden."""

    eye_donor: np.ndarray
    closure: np.ndarray
    kept: list[tuple[int, int]]
    added: list[tuple[int, int]]
    suppressed: int


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.concatenate([[False], np.asarray(mask, bool), [False]]).astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _nearest(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For each of ``x`` (int array) the nearest of ``sorted_values`` (ascending, non-empty)."""
    pos = np.clip(np.searchsorted(sorted_values, x), 1, max(1, sorted_values.size - 1))
    lo = sorted_values[pos - 1]
    hi = sorted_values[np.minimum(pos, sorted_values.size - 1)]
    return np.where(np.abs(x - lo) <= np.abs(hi - x), lo, hi)


def plan_video_blinks(
    openness: np.ndarray,
    indices: np.ndarray,
    fps: float,
    *,
    seed: int = 0,
    config: BlinkConfig = BlinkConfig(),
    max_rate: float = 24.0,
    duration_ms: tuple[float, float] = (100.0, 360.0),
) -> VideoBlinkPlan:
    """Which of the source's own blinks a re-timed video keeps, and which blinks it adds, so
    the output blinks at a natural rate with natural durations.

    openness: (N,) eye openness of the source frames (e.g. the mean eye aspect ratio; NaN =
    no face); indices: (T,) source frame of each output frame (re-timing); fps: frame rate.

    Source blinks (:func:`blink_events`) are mapped to the output; one is kept when it lasts
    ``duration_ms`` there (re-timing near a ping-pong turn slows or doubles it), starts at
    least ``config.min_gap_s`` after the previous kept one and the count stays within
    ``max_rate`` per minute. The others are suppressed: their frames, widened to where the
    lids are lower than 0.85 x the median openness, show the eyes of the nearest source
    frame that is open (>= 0.92 x median). Then blinks are added at the times of
    :func:`blink_schedule` (seeded) that start at least ``config.min_gap_s`` away from every
    kept or suppressed blink, within ``max_rate``: the source's best real blink replayed
    (its eyes pasted frame by frame), or, when the source has none, a geometric one
    (:func:`closure_track`); at least one when the video lasts 2 s or more.
    """
    o = np.asarray(openness, dtype=np.float64).ravel()
    idx = np.clip(np.asarray(indices, dtype=np.int64).ravel(), 0, max(o.size - 1, 0))
    n_out, n_src = idx.size, o.size
    med = float(np.nanmedian(o)) if np.isfinite(o).any() else 0.0
    oo = np.nan_to_num(o, nan=med)
    src_core = np.zeros(n_src, bool)
    events = blink_events(o, fps)
    for s, e in events:
        src_core[s:e] = True
    # each blink's full extent: while the lids are lower than 0.85 x median
    src_wide = src_core.copy()
    extent: list[tuple[int, int]] = []
    for s, e in events:
        ws, we = s, e
        while ws > 0 and oo[ws - 1] < 0.85 * med:
            ws -= 1
        while we < n_src and oo[we] < 0.85 * med:
            we += 1
        ws, we = max(0, ws - 1), min(n_src, we + 1)
        src_wide[ws:we] = True
        extent.append((ws, we))
    out_core = src_core[idx] if n_src else np.zeros(n_out, bool)
    out_wide = src_wide[idx] if n_src else np.zeros(n_out, bool)
    duration_s = n_out / float(fps)
    max_count = max(1, int(np.floor(max_rate * duration_s / 60.0)))
    gap = config.min_gap_s * fps
    kept: list[tuple[int, int]] = []
    suppress = np.zeros(n_out, bool)
    busy: list[tuple[int, int]] = []  # frames an added blink must keep away from
    for s, e in _runs(out_core):
        ms = (e - s) / fps * 1000.0
        ok = duration_ms[0] <= ms <= duration_ms[1] and len(kept) < max_count
        ok = ok and (not kept or s - kept[-1][0] >= gap)
        ws, we = s, e
        while ws > 0 and out_wide[ws - 1]:
            ws -= 1
        while we < n_out and out_wide[we]:
            we += 1
        if ok:
            kept.append((s, e))
        else:
            suppress[ws:we] = True
        busy.append((ws, we))
    for s, e in kept:  # a suppressed neighbour's extent never hides a kept blink
        suppress[max(0, s - 1) : e + 1] = False
    eye_donor = np.full(n_out, -1, np.int64)
    # donors well away from any blink (the tracker's openness is noisy just after one: eyes
    # looking down after a blink read as open)
    dist = np.full(n_src, np.inf)
    cores = np.flatnonzero(src_core)
    if cores.size:
        frames = np.arange(n_src)
        dist = np.abs(frames - _nearest(cores, frames)).astype(float)
    open_src = np.flatnonzero(~src_wide & (oo >= 0.95 * med) & (dist >= 0.2 * fps))
    if not open_src.size:
        open_src = np.flatnonzero(~src_wide)
    if suppress.any() and open_src.size:
        eye_donor[suppress] = _nearest(open_src, idx[suppress])
    n_supp = int((eye_donor >= 0).sum())
    # a real blink to replay: the source's blink of the most natural length (3-8 frames
    # below threshold), whole extent inside the clip
    template: np.ndarray | None = None
    cands = [
        (abs((e - s) - 0.16 * fps), ws, we)
        for (s, e), (ws, we) in zip(events, extent, strict=True)
        if duration_ms[0] <= (e - s) / fps * 1000.0 <= duration_ms[1]
        and ws > 0
        and we < n_src
        and (we - ws) <= 0.45 * fps
        and src_core[ws:we].sum() == e - s  # no other blink inside its extent
    ]
    if cands:
        _, ws, we = min(cands)
        template = np.arange(ws, we)
    added: list[tuple[int, int]] = []
    closure = np.zeros(n_out, np.float32)

    def _add(start_s: float, dur_s: float) -> None:
        s0 = round(start_s * fps)
        if template is not None:
            e0 = min(n_out, s0 + template.size)
            eye_donor[s0:e0] = template[: e0 - s0]
        else:
            e0 = min(n_out, int(np.ceil((start_s + dur_s) * fps)))
            np.maximum(closure, closure_track([Blink(start_s, dur_s)], n_out, fps), out=closure)
        added.append((s0, e0))
        busy.append((s0, e0))

    span = (template.size / fps) if template is not None else None
    count = len(kept)
    # added only up to a natural mean rate (the schedule's range centre), never past max_rate
    want = min(max_count, max(1, int(float(np.mean(config.rate_range)) * duration_s / 60.0)))
    for b in blink_schedule(duration_s, seed, config):
        if count >= want:
            break
        dur = span if span is not None else b.duration
        s = int(np.floor(b.start * fps))
        e = int(np.ceil((b.start + dur) * fps))
        if e > n_out - 1 or any(s < be + gap and bs < e + gap for bs, be in busy):
            continue
        _add(b.start, dur)
        count += 1
    if count == 0 and duration_s >= 2.0:  # one blink where the most room is
        dur = span if span is not None else float(np.mean(config.duration_range))
        need = int(np.ceil(dur * fps))
        free = np.ones(n_out, bool)
        free[: min(int(config.first_after_s * fps), n_out)] = False
        free[max(0, n_out - need - 2) :] = False
        for bs, be in busy:
            free[max(0, int(bs - gap) - need) : int(be + gap)] = False
        runs = _runs(free)
        if runs:
            s, e = max(runs, key=lambda r: r[1] - r[0])
            _add(0.5 * (s + e) / fps, dur)
    return VideoBlinkPlan(eye_donor, closure, kept, added, n_supp)
