"""Emotion Distribution Divergence (EDD), the paper's metric, computed exactly.

Definition (Mobbs et al., SPIE 2025; see docs/edd.md). A face emotion recogniser gives
per-frame class probabilities for the original video, ``Y_o`` (n, d), and for the generated
video, ``Y_g`` (m, d). Each class is smoothed over time with a sliding-window moving average.
The target emotion's column gives ``y_o`` (labelled 0) and ``y_g`` (labelled 1), and

    EDD = 1 - AUROC(concat(y_o, y_g), concat(zeros(n), ones(m)))

with ties counted 1/2. Equivalently EDD = P(o > g) + P(o = g) / 2 for a random original frame
``o`` and a random generated frame ``g``: **0.5 = no change, 0 = every generated frame shows the
target more than every original frame, > 0.5 = the target emotion went down**. EDD(a, a) = 0.5
and EDD(a, b) + EDD(b, a) = 1 exactly. (The paper's sentence "1.0 indicates complete overlap" is
wrong: complete overlap gives 0.5.)

Everything here is pure numpy/scipy: arrays in, numbers out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emoshift.emotion import Emotion, to_emotion
from emoshift.errors import ConfigError

DEFAULT_WINDOW = 15
"""Default smoothing window in frames (0.5 s at 30 fps, 0.6 s at 25 fps). The paper gives no
value; 15 frames removes frame-to-frame classifier flicker while keeping expression changes
that last longer than about half a second."""


def moving_average(x: np.ndarray, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """Centred sliding-window mean over time (axis 0), unbiased at the edges, NaN-aware.

    Args:
        x: (T,) or (T, C) float array; NaN entries (frames without a face) are ignored.
        window: window length in frames (>= 1). Frame ``t`` averages frames
            ``t - (window - 1) // 2 .. t + window // 2`` that exist and are not NaN, so the
            edges are averaged over the frames available (no zero padding pulling them down)
            and a constant signal stays constant everywhere. ``window=1`` returns ``x``.

    Returns:
        Array of ``x``'s shape, float64. An entry is NaN only if its whole window is NaN.
    """
    if window < 1:
        raise ConfigError(f"smoothing window must be >= 1 frame, got {window}")
    a = np.asarray(x, dtype=np.float64)
    squeeze = a.ndim == 1
    if squeeze:
        a = a[:, None]
    if a.ndim != 2:
        raise ConfigError(f"expected (T,) or (T, C) probabilities, got shape {np.shape(x)}")
    t = a.shape[0]
    if t == 0 or window == 1:
        return a[:, 0].copy() if squeeze else a.copy()
    valid = ~np.isnan(a)
    filled = np.where(valid, a, 0.0)
    # Cumulative sums with a leading zero row: sum over [lo, hi) = c[hi] - c[lo].
    csum = np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(filled, axis=0)])
    ccnt = np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(valid, axis=0)])
    idx = np.arange(t)
    lo = np.clip(idx - (window - 1) // 2, 0, t)
    hi = np.clip(idx + window // 2 + 1, 0, t)
    total = csum[hi] - csum[lo]
    count = ccnt[hi] - ccnt[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out[:, 0] if squeeze else out


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of a 1-D array, tied values sharing the mean of their ranks (as
    ``scipy.stats.rankdata(method="average")``, without importing scipy.stats, which costs
    seconds at start-up). (N,) -> (N,) float64."""
    a = np.asarray(x, dtype=np.float64).ravel()
    n = a.size
    order = np.argsort(a, kind="mergesort")
    xs = a[order]
    starts = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1], [True]]))
    counts = np.diff(starts)
    mean_rank = (starts[:-1] + 1 + starts[1:]) / 2.0  # ranks s+1 .. e of a group [s, e)
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, counts)
    return ranks


def auroc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve of scores, positives vs negatives, ties counted 1/2.

    Computed from the Mann-Whitney U statistic with average ranks (exact, O((n+m) log(n+m))):
    AUROC = (R_pos - m (m + 1) / 2) / (n m) = P(pos > neg) + P(pos = neg) / 2.

    Args:
        negatives: (n,) scores of class 0; positives: (m,) scores of class 1. NaN not allowed.

    Raises:
        ConfigError: if either side is empty or contains NaN.
    """
    neg = np.asarray(negatives, dtype=np.float64).ravel()
    pos = np.asarray(positives, dtype=np.float64).ravel()
    n, m = neg.size, pos.size
    if n == 0 or m == 0:
        raise ConfigError(
            "AUROC needs at least one score on each side (a video without face frames?)"
        )
    if np.isnan(neg).any() or np.isnan(pos).any():
        raise ConfigError("AUROC scores contain NaN; drop frames without a face first")
    ranks = average_ranks(np.concatenate([neg, pos]))
    u = ranks[n:].sum() - m * (m + 1) / 2.0
    return float(u / (n * m))


def edd_from_scores(original: np.ndarray, generated: np.ndarray) -> float:
    """EDD of already-smoothed target-emotion scores: 1 - AUROC(original=0, generated=1).

    Args:
        original: (n,) target probability per original frame (NaN frames are dropped).
        generated: (m,) target probability per generated frame (NaN frames are dropped).

    Returns:
        EDD in [0, 1]: P(original frame > generated frame) + ties / 2.
    """
    o = np.asarray(original, dtype=np.float64).ravel()
    g = np.asarray(generated, dtype=np.float64).ravel()
    return 1.0 - auroc(o[~np.isnan(o)], g[~np.isnan(g)])


def edd(
    original: np.ndarray,
    generated: np.ndarray,
    target: int | Emotion | str,
    labels: Sequence[Emotion] | None = None,
    window: int = DEFAULT_WINDOW,
) -> float:
    """The paper's EDD for one target emotion.

    Args:
        original: (n, d) per-frame class probabilities of the original video (NaN rows =
            no face; ignored in smoothing and dropped before the AUROC).
        generated: (m, d) per-frame class probabilities of the generated video.
        target: column index, or an emotion (then ``labels`` gives the column order,
            e.g. :data:`emoshift.emotion.FER7`).
        labels: the class order of the columns (needed when ``target`` is an emotion).
        window: moving-average window in frames (:data:`DEFAULT_WINDOW`).

    Returns:
        EDD in [0, 1]; 0.5 = no change, lower = the target emotion went up.
    """
    yo, yg = _check_pair(original, generated)
    col = _column(target, labels, yo.shape[1])
    so = moving_average(yo[:, col], window)
    sg = moving_average(yg[:, col], window)
    return edd_from_scores(so, sg)


def edd_per_class(
    original: np.ndarray,
    generated: np.ndarray,
    labels: Sequence[Emotion],
    window: int = DEFAULT_WINDOW,
) -> dict[Emotion, float]:
    """EDD for every class at once (one smoothing pass, one ranking per class).

    Args and shapes as :func:`edd`; ``labels`` names the d columns.

    Returns:
        {emotion: EDD} in ``labels`` order.
    """
    yo, yg = _check_pair(original, generated)
    if len(labels) != yo.shape[1]:
        raise ConfigError(f"{len(labels)} labels for {yo.shape[1]} probability columns")
    so = moving_average(yo, window)
    sg = moving_average(yg, window)
    so = so[~np.isnan(so).any(axis=1)]
    sg = sg[~np.isnan(sg).any(axis=1)]
    n, m = so.shape[0], sg.shape[0]
    if n == 0 or m == 0:
        raise ConfigError("EDD needs at least one frame with a face in each video")
    both = np.concatenate([so, sg], axis=0)
    ranks = np.stack([average_ranks(both[:, j]) for j in range(both.shape[1])], axis=1)
    u = ranks[n:].sum(axis=0) - m * (m + 1) / 2.0
    values = 1.0 - u / (n * m)
    return {to_emotion(e): float(v) for e, v in zip(labels, values)}


def smoothed_curves(probs: np.ndarray, target: int, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """The smoothed per-frame target curve that enters EDD (for plots like the paper's Fig. 5).

    Args:
        probs: (T, d) probabilities; target: column index; window: frames.

    Returns:
        (T,) float64, NaN where the whole window had no face.
    """
    return moving_average(np.asarray(probs, dtype=np.float64)[:, target], window)


def _check_pair(original: np.ndarray, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yo = np.asarray(original, dtype=np.float64)
    yg = np.asarray(generated, dtype=np.float64)
    if yo.ndim == 1:
        yo = yo[:, None]
    if yg.ndim == 1:
        yg = yg[:, None]
    if yo.ndim != 2 or yg.ndim != 2 or yo.shape[1] != yg.shape[1]:
        raise ConfigError(
            f"EDD needs (n, d) and (m, d) probability arrays with the same d; got {yo.shape} and {yg.shape}"
        )
    return yo, yg


def _column(target: int | Emotion | str, labels: Sequence[Emotion] | None, d: int) -> int:
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        col = int(target)
    else:
        if labels is None:
            raise ConfigError("give `labels` (the column order) when the target is an emotion name")
        emo = to_emotion(target)
        if emo not in labels:
            names = ", ".join(e.value for e in labels)
            raise ConfigError(f"{emo.value} is not a class of this recogniser ({names})")
        col = list(labels).index(emo)
    if not 0 <= col < d:
        raise ConfigError(f"target column {col} out of range for {d} classes")
    return col
