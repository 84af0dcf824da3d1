"""Head motion for the animation: re-timing a source video, or gentle motion from prosody.

* Video mode (:func:`retime_indices`): the output, as long as the new speech, shows the
  source frames in order; when the speech is longer than the clip the playback turns round
  (ping-pong) instead of jumping back to the start, easing into and out of each turn so the
  head never reverses at full speed. The source's own head pose and gestures are kept,
  merely re-timed (its blinks are planned by :func:`emoshift.face.blink.plan_video_blinks`). :func:`retime_pose` re-times a pose track the same way.
* Still mode (:func:`prosody_pose`): yaw, pitch and roll from slow seeded noise (a few
  tenths of a hertz, band-limited, so no jitter) plus small nods on the stressed, loud
  moments of the speech (the energy envelope's rises), scaled to the head-motion spread of
  real talking clips (about 1-4 degrees standard deviation).

Poses are (T, 3) float32 degrees (yaw, pitch, roll), as :func:`emoshift.face.landmarks.head_pose`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def retime_indices(n_src: int, n_out: int, *, ease_frames: int = 6) -> np.ndarray:
    """(n_out,) int64 source frame index for each output frame.

    Forward 0, 1, ..., n_src - 1, then backward, forward... (ping-pong). Around each turn
    the playback slows down over ``ease_frames`` frames (a few source frames repeat) so the
    motion comes to rest before it reverses. n_out <= n_src plays the first n_out frames.
    """
    if n_src <= 0 or n_out <= 0:
        return np.zeros(max(n_out, 0), np.int64)
    if n_src == 1:
        return np.zeros(n_out, np.int64)
    if n_out <= n_src:
        return np.arange(n_out, dtype=np.int64)
    # speed 1 except within ease_frames of a turn, where it falls linearly to 0.3
    e = max(1, int(ease_frames))
    period = n_src - 1
    pos = np.empty(n_out)
    x = 0.0
    direction = 1.0
    for j in range(n_out):  # n_out is frames of output: a cheap scalar loop
        pos[j] = x
        dist_to_turn = (period - x) if direction > 0 else x
        speed = 0.3 + 0.7 * float(np.clip(dist_to_turn / e, 0.0, 1.0))
        x += direction * speed
        if x >= period:
            x = period - (x - period)
            direction = -1.0
        elif x <= 0.0:
            x = -x
            direction = 1.0
    return np.clip(np.round(pos), 0, n_src - 1).astype(np.int64)


def retime_pose(pose: np.ndarray, n_out: int) -> np.ndarray:
    """A (T, 3) pose track re-timed to ``n_out`` frames like :func:`retime_indices` (NaN rows
    are bridged first)."""
    p = np.asarray(pose, dtype=np.float64)
    ok = np.isfinite(p).all(axis=1)
    if not ok.any():
        return np.zeros((n_out, 3), np.float32)
    t = np.arange(len(p))
    p = np.stack([np.interp(t, t[ok], p[ok, d]) for d in range(3)], axis=1)
    return p[retime_indices(len(p), n_out)].astype(np.float32)


@dataclass(frozen=True)
class ProsodyPoseConfig:
    """Amplitudes (degrees, standard deviation of the slow drift) and the nod size.

    Defaults sit inside the spread of the real talk_* clips (per-axis std 1-5 degrees)."""

    yaw_std: float = 2.4
    pitch_std: float = 1.6
    roll_std: float = 1.1
    nod_deg: float = 1.6
    drift_hz: float = 0.35


def _lowpass_noise(rng: np.random.Generator, n: int, fps: float, hz: float) -> np.ndarray:
    """(n,) zero-mean unit-std noise low-passed at ``hz`` (Gaussian kernel, no jitter)."""
    sigma = 0.1325 * fps / max(hz, 1e-3)
    r = int(np.ceil(3 * sigma))
    x = rng.standard_normal(n + 2 * r)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    y = np.convolve(x, k / k.sum(), mode="valid")[:n]
    y = y - y.mean()
    s = y.std()
    return y / s if s > 1e-9 else y


def prosody_pose(
    loudness: np.ndarray,
    fps: float,
    *,
    seed: int = 0,
    config: ProsodyPoseConfig = ProsodyPoseConfig(),
) -> np.ndarray:
    """Gentle head motion for a still from the speech loudness envelope.

    loudness: (T,) in [0, 1] per frame (:func:`emoshift.face.visemes.loudness_envelope`).
    Returns (T, 3) float32 (yaw, pitch, roll) degrees, zero-mean, starting near 0 (the still's
    own pose). Nods: the pitch dips briefly (down = negative) after each rise of loudness.
    """
    loud = np.asarray(loudness, dtype=np.float64).ravel()
    n = loud.size
    if n == 0:
        return np.zeros((0, 3), np.float32)
    rng = np.random.default_rng(seed)
    yaw = config.yaw_std * _lowpass_noise(rng, n, fps, config.drift_hz)
    pitch = config.pitch_std * _lowpass_noise(rng, n, fps, config.drift_hz * 1.3)
    roll = config.roll_std * _lowpass_noise(rng, n, fps, config.drift_hz * 0.8)
    # emphasis nods: smoothed positive loudness change, itself smoothed (~0.15 s)
    rise = np.maximum(np.diff(loud, prepend=loud[0]), 0.0)
    sig = max(1.0, 0.12 * fps)
    r = int(np.ceil(3 * sig))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sig) ** 2)
    nod = np.convolve(np.pad(rise, r, mode="edge"), k / k.sum(), mode="valid")
    if nod.max() > 1e-9:
        nod = nod / nod.max()
    pitch = pitch - config.nod_deg * nod
    pose = np.stack([yaw, pitch, roll], axis=1)
    # fade in from the still's own pose over the first 0.5 s
    ramp = np.clip(np.arange(n) / max(1.0, 0.5 * fps), 0.0, 1.0)
    pose = pose - pose[:1] * (1.0 - ramp)[:, None]
    return pose.astype(np.float32)


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """(3, 3) rotation in camera coordinates (x right, y down, z into the image) for a head
    turned by ``yaw`` (toward image right), tilted up by ``pitch``, rolled clockwise by
    ``roll`` (degrees), matching the signs of :func:`emoshift.face.landmarks.head_pose`."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx
