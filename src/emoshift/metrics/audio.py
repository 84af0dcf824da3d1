"""Audio measures: F0 (pitch) statistics and onset times.

F0 is tracked with WORLD's DIO + StoneMask (``pyworld``): ~0.05 s of CPU per second of audio,
robust on speech; librosa's pYIN is more accurate on music but ~100x slower here. Onsets (the
audio beats of the beat-align score) come from a spectral-flux detector written here with
librosa's default peak-picking rule (librosa itself takes ~20 s to import with numba on a busy
2-core machine, longer than the whole evaluation should take).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from emoshift.errors import ConfigError

F0_FLOOR_HZ = 60.0
F0_CEIL_HZ = 600.0
FRAME_PERIOD_MS = 10.0


def f0_track(
    audio: np.ndarray, sr: int, floor_hz: float = F0_FLOOR_HZ, ceil_hz: float = F0_CEIL_HZ
) -> np.ndarray:
    """F0 per 10 ms frame in Hz, 0 where unvoiced: (N,) float32 mono in [-1, 1] -> (F,) float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyworld imports the deprecated pkg_resources
        import pyworld

    x = np.ascontiguousarray(np.asarray(audio, dtype=np.float64).ravel())
    if x.size == 0:
        raise ConfigError("no audio samples to analyse")
    f0, t = pyworld.dio(x, sr, f0_floor=floor_hz, f0_ceil=ceil_hz, frame_period=FRAME_PERIOD_MS)
    return pyworld.stonemask(x, f0, t, sr)


@dataclass(frozen=True)
class F0Stats:
    """Pitch statistics of voiced frames.

    Attributes:
        median_hz, mean_hz: central pitch (NaN if nothing is voiced).
        iqr_semitones: inter-quartile range in semitones (12 * log2(q75 / q25)).
        range_semitones: 5th-95th percentile range in semitones (robust pitch range).
        std_semitones: standard deviation of 12 * log2(f0 / median).
        voiced_fraction: voiced frames / all frames, in [0, 1].
        n_frames: analysis frames (10 ms each).
    """

    median_hz: float
    mean_hz: float
    iqr_semitones: float
    range_semitones: float
    std_semitones: float
    voiced_fraction: float
    n_frames: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def f0_stats_from_track(f0: np.ndarray) -> F0Stats:
    """:class:`F0Stats` of an F0 track (Hz per frame, 0 or NaN = unvoiced)."""
    f = np.asarray(f0, dtype=np.float64).ravel()
    n = f.size
    v = f[np.isfinite(f) & (f > 0)]
    if v.size == 0:
        nan = float("nan")
        return F0Stats(nan, nan, nan, nan, nan, 0.0, n)
    q05, q25, q50, q75, q95 = np.percentile(v, [5, 25, 50, 75, 95])
    st = 12.0 * np.log2(v / q50)
    return F0Stats(
        median_hz=float(q50),
        mean_hz=float(v.mean()),
        iqr_semitones=float(12.0 * np.log2(q75 / q25)),
        range_semitones=float(12.0 * np.log2(q95 / q05)),
        std_semitones=float(st.std()),
        voiced_fraction=float(v.size / n) if n else 0.0,
        n_frames=n,
    )


def f0_stats(audio: np.ndarray, sr: int) -> F0Stats:
    """Pitch statistics of speech: (N,) float32 mono in [-1, 1] at ``sr`` Hz -> :class:`F0Stats`."""
    return f0_stats_from_track(f0_track(audio, sr))


def has_sound(
    audio: np.ndarray, sr: int, min_dbfs: float = -45.0, min_fraction: float = 0.10
) -> bool:
    """True if at least ``min_fraction`` of the 30 ms frames of ``audio`` ((N,) float in
    [-1, 1]) have an RMS level above ``min_dbfs`` dB FS: a cheap "is there sound at all" gate
    for silent or near-silent (noise-floor) tracks."""
    x = np.asarray(audio, dtype=np.float64).ravel()
    n = max(1, int(0.03 * sr))
    if x.size < n:
        return False
    frames = x[: x.size // n * n].reshape(-1, n)
    db = 10.0 * np.log10(np.maximum((frames**2).mean(axis=1), 1e-12))
    return bool((db > min_dbfs).mean() >= min_fraction)


def onset_strength(audio: np.ndarray, sr: int, hop_s: float = 0.01) -> np.ndarray:
    """Spectral-flux onset envelope, one value per ``hop_s`` seconds, (F,) float64 >= 0.

    Log-compressed STFT magnitude (``log1p(100 |X|)``, ~46 ms Hann window), positive
    differences between consecutive frames summed over frequency (the "flux").
    """
    from scipy.signal import stft

    x = np.asarray(audio, dtype=np.float64).ravel()
    hop = max(1, round(hop_s * sr))
    n_fft = 1 << int(np.ceil(np.log2(0.046 * sr)))
    if x.size < n_fft:
        return np.zeros(0)
    _, _, z = stft(
        x, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft - hop, boundary="even", padded=True
    )
    mag = np.log1p(100.0 * np.abs(z))
    flux = np.maximum(0.0, np.diff(mag, axis=1)).sum(axis=0)
    return np.concatenate([[0.0], flux])


def pick_peaks(
    env: np.ndarray,
    frame_s: float,
    pre_max_s: float = 0.03,
    pre_avg_s: float = 0.10,
    post_avg_s: float = 0.10,
    wait_s: float = 0.03,
    delta: float = 0.07,
) -> np.ndarray:
    """Indices of onset peaks in an envelope, librosa's rule: after scaling ``env`` to [0, 1],
    ``n`` is an onset if ``env[n]`` is the maximum of ``env[n - pre_max : n + 1]``, exceeds the
    mean of ``env[n - pre_avg : n + post_avg + 1]`` by ``delta``, and comes at least ``wait``
    after the previous onset. Times in seconds, converted with ``frame_s``."""
    e = np.asarray(env, dtype=np.float64)
    if e.size < 3 or np.ptp(e) <= 0:
        return np.zeros(0, dtype=np.int64)
    e = (e - e.min()) / np.ptp(e)
    n = e.size
    pre_max = max(0, round(pre_max_s / frame_s))
    pre_avg = round(pre_avg_s / frame_s)
    post_avg = round(post_avg_s / frame_s)
    wait = round(wait_s / frame_s)
    from scipy.ndimage import maximum_filter1d

    # max over [n - pre_max, n]: a filter of size pre_max + 1 shifted to end at n
    mx = (
        maximum_filter1d(e, size=pre_max + 1, origin=pre_max // 2, mode="nearest") if pre_max else e
    )
    csum = np.concatenate([[0.0], np.cumsum(e)])
    idx = np.arange(n)
    lo = np.clip(idx - pre_avg, 0, n)
    hi = np.clip(idx + post_avg + 1, 0, n)
    avg = (csum[hi] - csum[lo]) / (hi - lo)
    cand = np.flatnonzero((e >= mx) & (e >= avg + delta))
    out: list[int] = []
    for c in cand:
        if not out or c - out[-1] > wait:
            out.append(int(c))
    return np.asarray(out, dtype=np.int64)


def onset_times(audio: np.ndarray, sr: int) -> np.ndarray:
    """Audio onsets in seconds, (K,) float64: peaks of :func:`onset_strength` picked by
    :func:`pick_peaks`. Silence gives no onsets."""
    x = np.asarray(audio, dtype=np.float64).ravel()
    if x.size < 2048 or float(np.max(np.abs(x))) < 1e-4:
        return np.zeros(0)
    hop_s = 0.01
    env = onset_strength(x, sr, hop_s)
    hop = max(1, round(hop_s * sr))
    return pick_peaks(env, hop / sr) * (hop / sr)
