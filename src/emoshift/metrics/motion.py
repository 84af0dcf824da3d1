"""Head and landmark motion: head-motion standard deviation, kinematic beats, the beat-align
score between audio onsets and head motion, and landmark jerk.

Beat-align score (BAS) as in Bailando (Li et al., CVPR 2022) and reused by SadTalker for
head motion: with audio beats ``B_a`` (onset frames) and motion beats ``B_m`` (local minima of
the smoothed head angular speed, i.e. the moments the head stops or turns),

    BAS = (1 / |B_a|) * sum_{t in B_a} exp(-min_{s in B_m} (t - s)^2 / (2 sigma^2))

with times in video frames and ``sigma = 3`` frames (Bailando's sigma^2 = 9). In [0, 1];
higher = head movements land on audio onsets more often.
"""

from __future__ import annotations

import numpy as np

from emoshift.errors import ConfigError

BEAT_SIGMA_FRAMES = 3.0
"""Bailando / SadTalker's sigma of the beat-align score, in frames."""


def head_motion_std(pose: np.ndarray) -> dict[str, float]:
    """Standard deviation over time of the head pose, in degrees.

    Args:
        pose: (T, 3) yaw, pitch, roll in degrees (NaN rows = no face, ignored).

    Returns:
        {"yaw", "pitch", "roll", "mean"}: per-axis std and their mean (NaN if < 2 frames).
    """
    p = np.asarray(pose, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ConfigError(f"expected (T, 3) head pose, got shape {p.shape}")
    p = p[np.isfinite(p).all(axis=1)]
    if p.shape[0] < 2:
        nan = float("nan")
        return {"yaw": nan, "pitch": nan, "roll": nan, "mean": nan}
    s = p.std(axis=0)
    return {"yaw": float(s[0]), "pitch": float(s[1]), "roll": float(s[2]), "mean": float(s.mean())}


def head_speed(pose: np.ndarray, fps: float, smooth_frames: float = 2.0) -> np.ndarray:
    """Angular speed of the head, degrees per second, (T,) float64.

    ``|pose[t] - pose[t-1]| * fps`` (first frame copies the second), Gaussian-smoothed over
    time with sigma ``smooth_frames``. NaN gaps are linearly bridged before smoothing.
    """
    from scipy.ndimage import gaussian_filter1d

    p = _bridge_nan(np.asarray(pose, dtype=np.float64))
    if p.shape[0] < 2:
        return np.zeros(p.shape[0])
    v = np.linalg.norm(np.diff(p, axis=0), axis=1) * fps
    v = np.concatenate([v[:1], v])
    return gaussian_filter1d(v, smooth_frames, mode="nearest") if smooth_frames > 0 else v


def motion_beats(
    pose: np.ndarray, fps: float, order: int | None = None, smooth_frames: float = 2.0
) -> np.ndarray:
    """Kinematic beats of the head: frame indices of local minima of the smoothed angular speed
    (Bailando's motion beats). ``order``: a minimum must be the lowest within +-order frames
    (default: 0.1 s worth, at least 1)."""
    from scipy.signal import argrelextrema

    speed = head_speed(pose, fps, smooth_frames)
    if speed.size < 3:
        return np.zeros(0, dtype=np.int64)
    k = order if order is not None else max(1, round(0.1 * fps))
    return argrelextrema(speed, np.less, order=k)[0].astype(np.int64)


def beat_align_score(
    audio_beats: np.ndarray, motion_beats_: np.ndarray, sigma: float = BEAT_SIGMA_FRAMES
) -> float:
    """Bailando's beat-align score (see module docstring), in [0, 1].

    Args:
        audio_beats: (A,) audio onset times in frames (float or int).
        motion_beats_: (M,) motion beat times in frames.
        sigma: tolerance in frames.

    Returns:
        Mean over audio beats of exp(-d^2 / (2 sigma^2)), d = distance to the nearest motion
        beat. NaN if there are no audio beats; 0 if there are audio beats but no motion beats.
    """
    a = np.asarray(audio_beats, dtype=np.float64).ravel()
    m = np.asarray(motion_beats_, dtype=np.float64).ravel()
    if sigma <= 0:
        raise ConfigError(f"sigma must be positive, got {sigma}")
    if a.size == 0:
        return float("nan")
    if m.size == 0:
        return 0.0
    d2 = np.min((a[:, None] - m[None, :]) ** 2, axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * sigma**2))))


def landmark_jerk(points: np.ndarray, fps: float, scale: np.ndarray | float | None = None) -> float:
    """Mean magnitude of the third time-derivative of the 2-D landmark positions.

    Args:
        points: (T, P, 2 or 3) pixel landmarks (only x, y used), NaN rows = no face.
        fps: frames per second.
        scale: per-frame (T,) or constant length to divide by (e.g. the inter-ocular
            distance) so the value does not depend on face size; None = pixels.

    Returns:
        Mean over points and over all windows of 4 consecutive face frames of
        ``|third difference| * fps^3 / scale``: units of ``scale`` per s^3 (IOD/s^3 with the
        inter-ocular distance). Lower = smoother motion. NaN with fewer than 4 frames.
    """
    p = np.asarray(points, dtype=np.float64)[..., :2]
    if p.ndim != 3:
        raise ConfigError(f"expected (T, P, 2|3) landmarks, got shape {np.shape(points)}")
    if scale is not None:
        s = np.broadcast_to(np.asarray(scale, dtype=np.float64), (p.shape[0],))
        p = p / s[:, None, None]
    if p.shape[0] < 4:
        return float("nan")
    j = p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3]
    mag = np.linalg.norm(j, axis=-1) * fps**3
    ok = np.isfinite(mag).all(axis=1)
    if not ok.any():
        return float("nan")
    return float(mag[ok].mean())


def _bridge_nan(x: np.ndarray) -> np.ndarray:
    """Linearly interpolate NaN rows of (T, D) (edges held); all-NaN stays as zeros."""
    x = x.copy()
    ok = np.isfinite(x).all(axis=1)
    if ok.all() or not ok.any():
        return np.nan_to_num(x)
    t = np.arange(x.shape[0])
    for d in range(x.shape[1]):
        x[~ok, d] = np.interp(t[~ok], t[ok], x[ok, d])
    return x
