"""Face-mesh tracking: 478 MediaPipe landmarks per frame, head pose, lag-free smoothing.

Landmarks are (478, 3) float32 pixel coordinates: x right, y down, z in x's pixel scale
(MediaPipe's normalised z times the image width; smaller z = nearer the camera). A track of
T frames is (T, 478, 3) with NaN rows where no face was found.

Model: ``mediapipe==0.10.21`` ``solutions.face_mesh`` with ``refine_landmarks=True`` (face
landmark + iris models shipped in the wheel; nothing is downloaded).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emoshift.errors import BackendError, ConfigError, MultipleFacesError, NoFaceError
from emoshift.face import regions

log = logging.getLogger(__name__)

MultiFace = Literal["largest", "error"]

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _face_mesh_module() -> Any:
    try:
        from mediapipe.python.solutions import face_mesh
    except Exception as exc:  # pragma: no cover - depends on the install
        raise BackendError(
            f"mediapipe face mesh is unavailable ({exc}); install mediapipe==0.10.21 (`make env`)"
        ) from exc
    return face_mesh


class FaceMeshTracker:
    """MediaPipe FaceMesh (478 points) on single RGB images.

    Args:
        static_image_mode: True treats every image independently (runs the detector each
            call; for stills); False tracks, re-using the previous frame's face region
            (faster and steadier, for consecutive video frames).
        multi_face: when several faces are seen, ``"largest"`` keeps the largest (the one
            nearest the previously chosen face in video mode) and logs a warning once;
            ``"error"`` raises :class:`MultipleFacesError`.
        min_confidence: detection and tracking confidence threshold in [0, 1].
        max_faces: how many faces MediaPipe looks for (>= 2 so several can be noticed).

    Call with an (H, W, 3) uint8 RGB image; returns (478, 3) float32 pixels or None.
    ``n_faces_last`` holds how many faces the last call saw. Use as a context manager or
    call :meth:`close`.
    """

    def __init__(
        self,
        static_image_mode: bool = False,
        multi_face: MultiFace = "largest",
        min_confidence: float = 0.5,
        max_faces: int = 2,
    ) -> None:
        if multi_face not in ("largest", "error"):
            raise ConfigError(f"multi_face must be 'largest' or 'error', got {multi_face!r}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be in [0, 1], got {min_confidence}")
        self.static_image_mode = static_image_mode
        self.multi_face = multi_face
        self.n_faces_last = 0
        self.n_faces_max = 0
        self._warned = False
        self._prev_center: np.ndarray | None = None
        self._mesh = _face_mesh_module().FaceMesh(
            static_image_mode=static_image_mode,
            max_num_faces=max(2, int(max_faces)),
            refine_landmarks=True,
            min_detection_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
        )

    def __enter__(self) -> FaceMeshTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        if self._mesh is not None:
            self._mesh.close()
            self._mesh = None

    def __call__(self, image: np.ndarray) -> np.ndarray | None:
        """Landmarks of the face in ``image`` ((H, W, 3) uint8 RGB): (478, 3) float32 or None."""
        if self._mesh is None:
            raise ConfigError("FaceMeshTracker is closed")
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ConfigError(
                f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}"
            )
        h, w = image.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(image))
        faces = result.multi_face_landmarks or []
        self.n_faces_last = len(faces)
        self.n_faces_max = max(self.n_faces_max, len(faces))
        if not faces:
            return None
        scale = np.array([w, h, w], dtype=np.float32)
        meshes = [
            np.fromiter(
                (v for p in f.landmark for v in (p.x, p.y, p.z)),
                dtype=np.float32,
                count=3 * len(f.landmark),
            ).reshape(-1, 3)
            * scale
            for f in faces
        ]
        if len(meshes) == 1:
            chosen = meshes[0]
        else:
            if self.multi_face == "error":
                raise MultipleFacesError(
                    f"{len(meshes)} faces found; crop the input to one person or allow "
                    "multi_face='largest' (--multi-face largest) to use the largest face"
                )
            chosen = self._pick(meshes)
            if not self._warned:
                log.warning(
                    "%d faces found; using the largest (set multi_face='error' to refuse)",
                    len(meshes),
                )
                self._warned = True
        if not self.static_image_mode:
            self._prev_center = np.nanmean(chosen[:, :2], axis=0)
        return chosen

    def _pick(self, meshes: list[np.ndarray]) -> np.ndarray:
        areas = []
        for m in meshes:
            x0, y0, x1, y1 = _box(m)
            areas.append((x1 - x0) * (y1 - y0))
        largest = int(np.argmax(areas))
        if self._prev_center is None:
            return meshes[largest]
        # In video keep following the same face unless it shrank to well below the largest.
        dists = [
            float(np.linalg.norm(np.mean(m[:, :2], axis=0) - self._prev_center)) for m in meshes
        ]
        nearest = int(np.argmin(dists))
        return meshes[nearest] if areas[nearest] >= 0.5 * areas[largest] else meshes[largest]


@dataclass
class FaceTrack:
    """Landmarks of one face over a video.

    Attributes:
        points: (T, 478, 3) float32 pixels, NaN rows where no face (after gap filling).
        found: (T,) bool, True where a face was detected or a short gap was interpolated.
        pose: (T, 3) float32 (yaw, pitch, roll) in degrees, NaN where no face (see :func:`head_pose`).
        fps: frames per second of the source.
        size: (H, W) of the frames.
        n_faces_max: the most faces seen in any one frame (> 1 means another person appeared).
        detected: (T,) bool, True only where the tracker itself found the face.
    """

    points: np.ndarray
    found: np.ndarray
    pose: np.ndarray
    fps: float
    size: tuple[int, int]
    n_faces_max: int
    detected: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])


def track_video(
    frames: Iterable[np.ndarray],
    fps: float,
    *,
    smooth: bool = True,
    multi_face: MultiFace = "largest",
    max_gap_s: float = 0.5,
    min_confidence: float = 0.5,
    cutoff_hz: float = 6.0,
    fast_cutoff_hz: float = 12.0,
) -> FaceTrack:
    """Track the face through ``frames`` ((H, W, 3) uint8 RGB each, consecutive).

    Gaps of at most ``max_gap_s`` seconds between detections are linearly interpolated;
    longer gaps stay NaN. With ``smooth`` each run of frames with a face is low-pass
    filtered forward and backward (zero phase, so no lag): ``cutoff_hz`` for the face in
    general, ``fast_cutoff_hz`` for lips, eyelids and irises (speech and blinks are fast).

    Raises :class:`NoFaceError` if no frame has a face, :class:`MultipleFacesError` if
    several faces are seen and ``multi_face == "error"``.
    """
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    rows: list[np.ndarray | None] = []
    size: tuple[int, int] | None = None
    with FaceMeshTracker(
        static_image_mode=False, multi_face=multi_face, min_confidence=min_confidence
    ) as tracker:
        for frame in frames:
            if size is None:
                size = (int(frame.shape[0]), int(frame.shape[1]))
            rows.append(tracker(frame))
        n_faces_max = tracker.n_faces_max
    if size is None:
        raise NoFaceError("the video has no frames; check the file")
    t = len(rows)
    points = np.full((t, regions.N_POINTS, 3), np.nan, dtype=np.float32)
    detected = np.zeros(t, dtype=bool)
    for i, r in enumerate(rows):
        if r is not None:
            points[i] = r
            detected[i] = True
    if not detected.any():
        raise NoFaceError(
            f"no face found in any of {t} frames; the subject's face must be visible and "
            "roughly frontal (try a better-lit clip)"
        )
    found = detected.copy()
    max_gap = round(max_gap_s * fps)
    points, found = _fill_gaps(points, found, max_gap)
    if smooth:
        points = smooth_track(
            points, found, fps, cutoff_hz=cutoff_hz, fast_cutoff_hz=fast_cutoff_hz
        )
    return FaceTrack(
        points=points,
        found=found,
        pose=head_pose(points).astype(np.float32),
        fps=float(fps),
        size=size,
        n_faces_max=n_faces_max,
        detected=detected,
    )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a 1-D bool array."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _fill_gaps(
    points: np.ndarray, found: np.ndarray, max_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate interior gaps of at most ``max_gap`` frames."""
    points = points.copy()
    found = found.copy()
    for s, e in _runs(~found):
        if s == 0 or e == len(found) or e - s > max_gap:
            continue
        a, b = points[s - 1], points[e]
        w = (np.arange(1, e - s + 1, dtype=np.float32) / (e - s + 1))[:, None, None]
        points[s:e] = a[None] * (1 - w) + b[None] * w
        found[s:e] = True
    return points, found


_FAST = np.array(
    sorted(
        set(regions.LIPS)
        | set(regions.RIGHT_EYE)
        | set(regions.LEFT_EYE)
        | set(regions.RIGHT_IRIS)
        | set(regions.LEFT_IRIS)
    )
)


def smooth_track(
    points: np.ndarray,
    found: np.ndarray,
    fps: float,
    *,
    cutoff_hz: float = 6.0,
    fast_cutoff_hz: float = 12.0,
) -> np.ndarray:
    """Zero-phase Gaussian low-pass of each run of ``found`` frames (symmetric kernel: no lag).

    points: (T, 478, 3) float32; returns a new array of the same shape (NaN rows kept).
    The kernel's half-power frequency is ``cutoff_hz`` (``fast_cutoff_hz`` for lips,
    eyelids and irises); a cut-off at or above the Nyquist frequency leaves points as they are.
    Ends are padded by repeating the edge frame.
    """
    out = points.copy()
    fast = np.zeros(points.shape[1], dtype=bool)
    fast[_FAST] = True
    for s, e in _runs(found):
        n = e - s
        if n < 3:
            continue
        seg = points[s:e].astype(np.float64)
        for cut, sel in ((cutoff_hz, ~fast), (fast_cutoff_hz, fast)):
            kernel = _gauss_kernel(cut, fps)
            if kernel is None:
                continue
            r = len(kernel) // 2
            padded = np.pad(seg[:, sel], ((r, r), (0, 0), (0, 0)), mode="edge")
            acc = np.zeros_like(seg[:, sel])
            for k, wk in enumerate(kernel):
                acc += wk * padded[k : k + n]
            seg[:, sel] = acc
        out[s:e] = seg.astype(np.float32)
    return out


def _gauss_kernel(cutoff_hz: float, fps: float) -> np.ndarray | None:
    """Normalised Gaussian taps whose response is 1/sqrt(2) at ``cutoff_hz``; None if no smoothing."""
    if cutoff_hz <= 0 or cutoff_hz >= 0.95 * fps / 2:
        return None
    sigma = 0.1325 * fps / cutoff_hz  # frames: exp(-2 pi^2 sigma^2 f^2) = 1/sqrt(2)
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


# --- geometry ----------------------------------------------------------------------------------
def _eye_centers(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(…, 3) centres of the subject's right and left eyes (mean of the corner points)."""
    r = points[..., list(regions.RIGHT_EYE_CORNERS), :].mean(axis=-2)
    le = points[..., list(regions.LEFT_EYE_CORNERS), :].mean(axis=-2)
    return r, le


def inter_ocular(points: np.ndarray) -> float | np.ndarray:
    """Pixel distance between the eye centres (mean of each eye's corners), in the image plane.

    points: (478, 3) -> float; (T, 478, 3) -> (T,) float32 (NaN where no face).
    """
    r, le = _eye_centers(np.asarray(points, dtype=np.float32))
    d = np.linalg.norm((le - r)[..., :2], axis=-1)
    return float(d) if np.ndim(d) == 0 else d.astype(np.float32)


def face_axes(points: np.ndarray) -> np.ndarray:
    """Rotation of the face: (…, 3, 3) whose columns are the face's x (subject's right to
    left, image right for a frontal face), y (down the face) and z (into the image) axes in
    camera coordinates. Built from the eye corners / cheek extremes (x) and forehead-to-chin (y).
    """
    p = np.asarray(points, dtype=np.float64)
    r, le = _eye_centers(p)
    x = (le - r) + 0.5 * (p[..., 454, :] - p[..., 234, :])
    y = p[..., 152, :] - p[..., 10, :]
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    z = np.cross(x, y)
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


# Mean pitch measured by face_axes on frontal faces (the forehead-chin line leans back).
_PITCH_OFFSET_DEG = 0.0


def head_pose(points: np.ndarray) -> np.ndarray:
    """Head pose (yaw, pitch, roll) in degrees from the mesh.

    points: (478, 3) -> (3,); (T, 478, 3) -> (T, 3); NaN where the points are NaN.
    yaw > 0: the face turns toward the image's right; pitch > 0: the face tilts up;
    roll > 0: the face rotates clockwise in the image (its image-right side goes down).
    0, 0, 0 is a face looking straight into the camera, upright.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        r = face_axes(points)
        # R = Rz(roll) @ Ry(-yaw) @ Rx(-pitch): roll is the in-image rotation, so rotating the
        # image leaves yaw and pitch unchanged.
        yaw = np.degrees(np.arcsin(np.clip(r[..., 2, 0], -1.0, 1.0)))
        pitch = -np.degrees(np.arctan2(r[..., 2, 1], r[..., 2, 2])) - _PITCH_OFFSET_DEG
        roll = np.degrees(np.arctan2(r[..., 1, 0], r[..., 0, 0]))
    return np.stack([yaw, pitch, roll], axis=-1).astype(np.float32)


def _box(points: np.ndarray) -> tuple[float, float, float, float]:
    xy = points[:, :2]
    return (
        float(np.nanmin(xy[:, 0])),
        float(np.nanmin(xy[:, 1])),
        float(np.nanmax(xy[:, 0])),
        float(np.nanmax(xy[:, 1])),
    )


def face_box(
    points: np.ndarray, margin: float = 0.0, size: tuple[int, int] | None = None
) -> tuple[int, int, int, int]:
    """Integer bounding box (x0, y0, x1, y1) of the landmarks, x1/y1 exclusive.

    points: (478, 3) or (T, 478, 3) (the box of all frames). ``margin`` grows each side by
    that fraction of the box's width/height. With ``size`` = (H, W) the box is clipped to
    the image. Raises :class:`NoFaceError` if all points are NaN.
    """
    p = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    if not np.isfinite(p[:, :2]).any():
        raise NoFaceError("no landmarks to take a face box from")
    x0, y0, x1, y1 = _box(p)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    bx0, by0 = int(np.floor(x0 - mx)), int(np.floor(y0 - my))
    bx1, by1 = int(np.ceil(x1 + mx)) + 1, int(np.ceil(y1 + my)) + 1
    if size is not None:
        h, w = size
        bx0, by0 = max(0, bx0), max(0, by0)
        bx1, by1 = min(w, bx1), min(h, by1)
    return bx0, by0, bx1, by1


def eye_openness(points: np.ndarray) -> np.ndarray:
    """Eye aspect ratio per eye: lid gap / eye width, (…, 2) (right, left); ~0.25-0.35 open, < 0.12 closed."""
    p = np.asarray(points, dtype=np.float32)
    out = []
    for (c0, c1), (t, b) in (
        (regions.RIGHT_EYE_CORNERS, regions.RIGHT_EYE_TOP_BOTTOM),
        (regions.LEFT_EYE_CORNERS, regions.LEFT_EYE_TOP_BOTTOM),
    ):
        width = np.linalg.norm(p[..., c0, :2] - p[..., c1, :2], axis=-1)
        gap = np.linalg.norm(p[..., t, :2] - p[..., b, :2], axis=-1)
        out.append(gap / np.maximum(width, 1e-6))
    return np.stack(out, axis=-1)


def mouth_openness(points: np.ndarray) -> np.ndarray:
    """Inner-lip gap (13 to 14) divided by the inter-ocular distance, (…,)."""
    p = np.asarray(points, dtype=np.float32)
    gap = np.linalg.norm(
        p[..., regions.UPPER_LIP_INNER, :2] - p[..., regions.LOWER_LIP_INNER, :2], axis=-1
    )
    return gap / np.maximum(np.asarray(inter_ocular(p)), 1e-6)


def detect_landmarks(image: np.ndarray, multi_face: MultiFace = "largest") -> np.ndarray:
    """Landmarks of the face in one still image ((H, W, 3) uint8 RGB) -> (478, 3) float32.

    Raises :class:`NoFaceError` if there is no face.
    """
    with FaceMeshTracker(static_image_mode=True, multi_face=multi_face) as tracker:
        pts = tracker(image)
    if pts is None:
        raise NoFaceError(
            "no face found in the image; use a picture with a clearly visible, roughly frontal face"
        )
    return pts
