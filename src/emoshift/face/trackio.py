"""Save and load a :class:`~emoshift.face.landmarks.FaceTrack` as a compressed ``.npz``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoshift.face.landmarks import FaceTrack
from emoshift.fileio import atomic_path


def save_track(track: FaceTrack, path: str | Path) -> Path:
    """Write ``track`` to ``path`` (.npz) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        np.savez_compressed(
            tmp,
            points=track.points.astype(np.float32),
            found=track.found.astype(bool),
            pose=track.pose.astype(np.float32),
            fps=np.float64(track.fps),
            size=np.asarray(track.size, dtype=np.int64),
            n_faces_max=np.int64(track.n_faces_max),
            detected=(track.detected if track.detected is not None else track.found).astype(bool),
        )
    return path


def load_track(path: str | Path) -> FaceTrack:
    """Read a track written by :func:`save_track`."""
    with np.load(path) as z:
        return FaceTrack(
            points=z["points"],
            found=z["found"],
            pose=z["pose"],
            fps=float(z["fps"]),
            size=(int(z["size"][0]), int(z["size"][1])),
            n_faces_max=int(z["n_faces_max"]),
            detected=z["detected"],
        )
