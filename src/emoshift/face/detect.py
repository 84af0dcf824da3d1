"""Face detection (boxes, not landmarks) with MediaPipe's BlazeFace models.

The models ship inside the ``mediapipe==0.10.21`` wheel (short-range: faces within ~2 m,
128x128 input; full-range: up to ~5 m, 192x192 input), so nothing is downloaded. A detector
loads its model once; :func:`detect_faces` shares one cached detector per process.

Boxes are in pixels of the input image (x right, y down), clipped to the image, largest
first. Each carries MediaPipe's six key points (right eye, left eye, nose tip, mouth centre,
right ear tragion, left ear tragion; "right" is the person's right, i.e. image left).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emoshift.errors import BackendError, ConfigError

DetectorModel = Literal["full", "short"]
KEYPOINT_NAMES = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")


@dataclass(frozen=True)
class FaceBox:
    """A detected face: box corners ``(x0, y0)``-``(x1, y1)`` in pixels, ``score`` in [0, 1],
    and ``keypoints``: six ``(x, y)`` pixel points in :data:`KEYPOINT_NAMES` order."""

    x0: float
    y0: float
    x1: float
    y1: float
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def as_array(self) -> np.ndarray:
        """``[x0, y0, x1, y1]`` float32."""
        return np.array([self.x0, self.y0, self.x1, self.y1], np.float32)

    def expanded(
        self, factor: float, width: int | None = None, height: int | None = None
    ) -> FaceBox:
        """The box scaled by ``factor`` about its centre (clipped to the image if its size is
        given), e.g. ``expanded(1.5)`` for a crop that includes hair and chin."""
        cx, cy = self.center
        hw, hh = self.width * factor / 2, self.height * factor / 2
        x0, y0, x1, y1 = cx - hw, cy - hh, cx + hw, cy + hh
        if width is not None:
            x0, x1 = max(0.0, x0), min(float(width), x1)
        if height is not None:
            y0, y1 = max(0.0, y0), min(float(height), y1)
        return FaceBox(x0, y0, x1, y1, self.score, self.keypoints)


def _check_image(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ConfigError(
            f"face detection needs an (H, W, 3) uint8 RGB image; got {arr.shape} {arr.dtype}"
        )
    if min(arr.shape[:2]) < 8:
        raise ConfigError(
            f"image of {arr.shape[1]}x{arr.shape[0]} pixels is too small for detection"
        )
    return np.ascontiguousarray(arr)


class FaceDetector:
    """MediaPipe face detector: ``detector(image) -> list[FaceBox]`` (largest first).

    ``min_score``: detection confidence threshold in (0, 1). ``model``: ``"full"`` (default;
    faces near or far) or ``"short"`` (close-up faces only, a little faster). The model is
    loaded once and reused; calls are serialised with a lock (MediaPipe graphs are not
    thread-safe). ~10-20 ms per 700x700 frame on one core.
    """

    def __init__(self, min_score: float = 0.5, model: DetectorModel = "full") -> None:
        if not 0.0 < min_score < 1.0:
            raise ConfigError(f"min_score must be in (0, 1) (got {min_score})")
        if model not in ("full", "short"):
            raise ConfigError(f"model must be 'full' or 'short' (got {model!r})")
        self.min_score, self.model = float(min_score), model
        self._lock = threading.Lock()
        self._impl: Any = _load(model, self.min_score)

    def __call__(self, image: np.ndarray) -> list[FaceBox]:
        """Faces in an (H, W, 3) uint8 RGB image, largest first (empty list if none)."""
        img = _check_image(image)
        h, w = img.shape[:2]
        with self._lock:
            result = self._impl.process(img)
        faces = []
        for det in result.detections or ():
            if float(det.score[0]) < self.min_score:  # MediaPipe's own threshold is loose
                continue
            box = det.location_data.relative_bounding_box
            x0 = float(np.clip(box.xmin * w, 0, w))
            y0 = float(np.clip(box.ymin * h, 0, h))
            x1 = float(np.clip((box.xmin + box.width) * w, 0, w))
            y1 = float(np.clip((box.ymin + box.height) * h, 0, h))
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            kps = tuple(
                (float(k.x * w), float(k.y * h)) for k in det.location_data.relative_keypoints
            )
            faces.append(FaceBox(x0, y0, x1, y1, float(det.score[0]), kps))
        faces.sort(key=lambda f: -f.area)
        return faces

    def close(self) -> None:
        """Release the MediaPipe graph (the detector cannot be used afterwards)."""
        with self._lock:
            self._impl.close()


def _load(model: DetectorModel, min_score: float) -> Any:
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from mediapipe.python.solutions import face_detection
    except ImportError as exc:
        raise BackendError(
            f"mediapipe is not installed ({exc}); run `make env` (it installs mediapipe==0.10.21)"
        ) from None
    return face_detection.FaceDetection(
        model_selection=1 if model == "full" else 0, min_detection_confidence=min_score
    )


@functools.cache
def default_detector() -> FaceDetector:
    """The process-wide detector (``FaceDetector()``: full-range model, min_score 0.5)."""
    return FaceDetector()


def detect_faces(image: np.ndarray) -> list[FaceBox]:
    """Faces in an (H, W, 3) uint8 RGB image, largest first, with the shared default detector."""
    return default_detector()(image)
