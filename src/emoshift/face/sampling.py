"""Choosing the source frames for stills: N random frames with open eyes and a frontal pose.

The paper's EFG takes N = 5 random frames of the input video. Random frames of a talking
video include blinks and turned heads, which make poor stills, so the draw is restricted to
*good* frames: a face found, both eyes open (eye aspect ratio at least ``min_eye_ratio`` of
the clip's median, and above an absolute floor), and the head within ``max_angle`` degrees of
frontal (yaw and pitch). If too few frames qualify, the most frontal open-eyed frames fill up.
Draws are seeded (reproducible) and spread over the clip (one per equal time slice when
possible).
"""

from __future__ import annotations

import numpy as np

from emoshift.errors import ConfigError, NoFaceError
from emoshift.face.landmarks import FaceTrack, eye_openness, head_pose


def frame_quality(
    points: np.ndarray, *, max_angle: float = 20.0, min_eye_ratio: float = 0.7
) -> tuple[np.ndarray, np.ndarray]:
    """(good (T,) bool, score (T,) float) for a track's landmarks (T, 478, 3).

    score is higher for more frontal, wider-open-eyed frames (NaN frames get -inf).
    """
    p = np.asarray(points, dtype=np.float32)
    valid = np.isfinite(p).all(axis=(1, 2))
    if not valid.any():
        return valid, np.full(len(p), -np.inf)
    with np.errstate(invalid="ignore"):
        eyes = np.nanmin(eye_openness(p), axis=-1)
        pose = head_pose(p)
    med = float(np.nanmedian(eyes[valid]))
    eye_ok = valid & (eyes >= max(0.12, min_eye_ratio * med))
    angle = np.nan_to_num(np.abs(pose[:, :2]).max(axis=-1), nan=180.0)
    frontal = valid & (angle <= max_angle)
    score = np.where(
        valid, -angle / max_angle + np.nan_to_num(eyes / max(med, 1e-6), nan=0.0), -np.inf
    )
    return eye_ok & frontal, score


def sample_frames(
    track: FaceTrack | np.ndarray,
    n: int = 5,
    *,
    seed: int = 0,
    max_angle: float = 20.0,
    min_eye_ratio: float = 0.7,
) -> np.ndarray:
    """Indices (sorted, (n,) int64, distinct) of ``n`` good frames of a track, drawn at random.

    track: a :class:`FaceTrack` or its (T, 478, 3) points. The clip is cut into ``n`` equal
    slices and one good frame is drawn from each slice that has one; the rest come at random
    from the remaining good frames, then from the best-scoring others. Raises
    :class:`NoFaceError` if no frame has a face, :class:`ConfigError` if ``n < 1``.
    If the clip has fewer than ``n`` frames with a face, all of them are returned.
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    points = track.points if isinstance(track, FaceTrack) else np.asarray(track)
    good, score = frame_quality(points, max_angle=max_angle, min_eye_ratio=min_eye_ratio)
    valid = np.isfinite(score)
    if not valid.any():
        raise NoFaceError("no frame of the video has a face to take stills from")
    rng = np.random.default_rng(seed)
    t = len(points)
    chosen: list[int] = []
    for sl in np.array_split(np.arange(t), n):
        cand = sl[good[sl]]
        if len(cand):
            chosen.append(int(rng.choice(cand)))
    rest = np.setdiff1d(np.flatnonzero(good), chosen)
    if len(chosen) < n and len(rest):
        chosen += rng.choice(rest, size=min(n - len(chosen), len(rest)), replace=False).tolist()
    if len(chosen) < n:
        others = np.setdiff1d(np.flatnonzero(valid), chosen)
        others = others[np.argsort(-score[others], kind="stable")]
        chosen += others[: n - len(chosen)].tolist()
    return np.array(sorted(chosen), dtype=np.int64)
