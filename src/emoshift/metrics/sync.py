"""Audio-visual lip sync without a lip-sync network: how well the mouth opening follows the
loudness of the speech.

* mouth opening per frame: mean gap between five pairs of inner-lip mesh points (centre and
  two on each side), divided by the inter-ocular distance (face-size free);
* loudness per frame: RMS level of the audio in a window of two frame periods centred on the
  frame's time, in dB (floored at -60 dB FS);
* score: Pearson correlation between the two at the best lag within +-``max_lag_s``, and that
  lag. A positive lag means the mouth moves AFTER the sound (video behind audio).

Real talking clips give r of roughly 0.3-0.7 at a lag near 0; unrelated audio gives r near 0.
This is a coarse check (it cannot see whether the right phoneme is shaped), named honestly: it
is not SyncNet's LSE-C/LSE-D.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from emoshift.errors import ConfigError

# Inner-lip pairs (upper, lower) of the MediaPipe mesh: 81-178, 82-87, 13-14, 312-317, 311-402.
INNER_LIP_PAIRS: tuple[tuple[int, int], ...] = (
    (81, 178),
    (82, 87),
    (13, 14),
    (312, 317),
    (311, 402),
)
_EYES = ((33, 133), (263, 362))
LOUDNESS_FLOOR_DB = -60.0


@dataclass(frozen=True)
class LipSyncResult:
    """Correlation of mouth opening with loudness.

    Attributes:
        r: Pearson r at the best lag (in [-1, 1]; NaN if undefined, e.g. a still mouth).
        lag_frames: the best lag in frames (positive = mouth after sound).
        lag_s: the same in seconds.
        r_at_zero: Pearson r with no shift.
        n_frames: frames used (face present and audio available).
    """

    r: float
    lag_frames: int
    lag_s: float
    r_at_zero: float
    n_frames: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def inner_lip_gap(points: np.ndarray) -> np.ndarray:
    """Mouth opening: mean inner-lip gap of :data:`INNER_LIP_PAIRS` / inter-ocular distance.

    Args:
        points: (478, 3) or (T, 478, 3) mesh landmarks in pixels (NaN rows = no face).

    Returns:
        () or (T,) float64; 0 = lips touching, ~0.3-0.6 = wide open; NaN where no face.
    """
    p = np.asarray(points, dtype=np.float64)[..., :2]
    up = p[..., [a for a, _ in INNER_LIP_PAIRS], :]
    lo = p[..., [b for _, b in INNER_LIP_PAIRS], :]
    gap = np.linalg.norm(up - lo, axis=-1).mean(axis=-1)
    eye_r = p[..., list(_EYES[0]), :].mean(axis=-2)
    eye_l = p[..., list(_EYES[1]), :].mean(axis=-2)
    iod = np.linalg.norm(eye_l - eye_r, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return gap / np.where(iod > 0, iod, np.nan)


def loudness_per_frame(audio: np.ndarray, sr: int, fps: float, n_frames: int) -> np.ndarray:
    """RMS level in dB FS around each video frame's time.

    Args:
        audio: (N,) float32 mono in [-1, 1]; sr: its sample rate.
        fps: video frame rate; n_frames: how many frames (T).

    Returns:
        (T,) float64 dB, floored at :data:`LOUDNESS_FLOOR_DB`; NaN for frames past the audio.
    """
    x = np.asarray(audio, dtype=np.float64).ravel()
    if sr <= 0 or fps <= 0:
        raise ConfigError("sample rate and fps must be positive")
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    half = sr / fps  # half window = one frame period
    centre = np.arange(n_frames) * sr / fps
    lo = np.clip(np.round(centre - half).astype(np.int64), 0, x.size)
    hi = np.clip(np.round(centre + half).astype(np.int64), 0, x.size)
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        ms = (csum[hi] - csum[lo]) / n
        db = 10.0 * np.log10(np.maximum(ms, 10 ** (LOUDNESS_FLOOR_DB / 10.0)))
    return np.where(n > 0, db, np.nan)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length vectors over pairs where both are finite
    (NaN if fewer than 3 pairs or either is constant)."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    den = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / den) if den > 0 else float("nan")


def lip_sync_score(
    opening: np.ndarray, loudness: np.ndarray, fps: float, max_lag_s: float = 0.2
) -> LipSyncResult:
    """Best-lag correlation of mouth opening and loudness (see the module docstring).

    Args:
        opening: (T,) mouth opening per frame (NaN = no face).
        loudness: (T,) loudness per frame (NaN = no audio).
        fps: frame rate; max_lag_s: lags tried, +- this many seconds.

    Returns:
        :class:`LipSyncResult`. Ties between lags go to the smallest |lag|.
    """
    o = np.asarray(opening, dtype=np.float64).ravel()
    lo = np.asarray(loudness, dtype=np.float64).ravel()
    if o.shape != lo.shape:
        raise ConfigError(f"opening {o.shape} and loudness {lo.shape} differ in length")
    max_lag = round(max_lag_s * fps)
    best_r, best_lag = float("nan"), 0
    for lag in sorted(range(-max_lag, max_lag + 1), key=abs):
        # opening[t] against loudness[t - lag]
        if lag >= 0:
            r = pearson(o[lag:], lo[: lo.size - lag])
        else:
            r = pearson(o[:lag], lo[-lag:])
        if np.isfinite(r) and (not np.isfinite(best_r) or r > best_r + 1e-12):
            best_r, best_lag = r, lag
    n = int((np.isfinite(o) & np.isfinite(lo)).sum())
    return LipSyncResult(best_r, best_lag, best_lag / fps, pearson(o, lo), n)
