"""Face detection with the MediaPipe models shipped in the mediapipe wheel, on real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoshift.errors import ConfigError
from emoshift.face.detect import FaceBox, FaceDetector, default_detector, detect_faces
from emoshift.media import read_frames


@pytest.fixture(scope="module")
def talk_frame(talk_clip: Path) -> np.ndarray:
    """Frame 60 (2 s) of the real talking clip: (700, 700, 3) uint8, one man facing the camera."""
    return read_frames(talk_clip, [60])[0]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return default_detector()


def test_one_face_on_real_frame(detector: FaceDetector, talk_frame: np.ndarray) -> None:
    faces = detector(talk_frame)
    assert len(faces) == 1
    f = faces[0]
    assert f.score > 0.7
    # the face sits in the middle of this head-and-shoulders shot, 150-350 px wide
    assert 250 < f.center[0] < 450 and 150 < f.center[1] < 400
    assert 150 < f.width < 350 and 150 < f.height < 350
    assert 0 <= f.x0 < f.x1 <= 700 and 0 <= f.y0 < f.y1 <= 700
    assert f.area == pytest.approx(f.width * f.height)
    # six key points, the eyes above the mouth, all inside the box
    assert len(f.keypoints) == 6
    kp = np.array(f.keypoints)
    assert ((kp[:, 0] >= f.x0 - 5) & (kp[:, 0] <= f.x1 + 5)).all()
    assert kp[0, 1] < kp[3, 1] and kp[1, 1] < kp[3, 1]
    assert kp[0, 0] < kp[1, 0]  # the person's right eye is on the image's left


def test_no_face_on_blank_images(detector: FaceDetector, talk_frame: np.ndarray) -> None:
    assert detector(np.zeros_like(talk_frame)) == []
    assert detector(np.full((480, 640, 3), 200, np.uint8)) == []
    noise = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert detector(noise) == []


def test_two_faces_side_by_side_largest_first(
    detector: FaceDetector, talk_frame: np.ndarray
) -> None:
    pair = np.concatenate([talk_frame, talk_frame[:, ::-1]], axis=1)  # (700, 1400, 3)
    faces = detector(pair)
    assert len(faces) == 2
    assert {f.center[0] < 700 for f in faces} == {True, False}  # one in each half
    # a smaller copy on the left: the larger face (right half) is listed first
    small = talk_frame[::2, ::2]
    canvas = np.zeros((700, 1400, 3), np.uint8)
    canvas[175:525, 175:525] = small
    canvas[:, 700:] = talk_frame
    faces = detector(canvas)
    assert len(faces) == 2
    assert faces[0].area > 2 * faces[1].area and faces[0].center[0] > 700


def test_short_range_model_and_threshold(talk_frame: np.ndarray) -> None:
    short = FaceDetector(model="short", min_score=0.5)
    faces = short(talk_frame)
    assert len(faces) == 1 and faces[0].score > 0.7
    full = detect_faces(talk_frame)[0]
    # both models find the same face (boxes overlap by more than half)
    ix = max(0.0, min(full.x1, faces[0].x1) - max(full.x0, faces[0].x0))
    iy = max(0.0, min(full.y1, faces[0].y1) - max(full.y0, faces[0].y0))
    assert ix * iy > 0.5 * min(full.area, faces[0].area)
    assert FaceDetector(min_score=0.99, model="short")(talk_frame) == []
    short.close()


def test_cached_detector_and_bad_input(talk_frame: np.ndarray) -> None:
    assert default_detector() is default_detector()
    with pytest.raises(ConfigError, match="uint8"):
        detect_faces(talk_frame.astype(np.float32))
    with pytest.raises(ConfigError, match=r"\(H, W, 3\)"):
        detect_faces(talk_frame[..., 0])
    with pytest.raises(ConfigError):
        FaceDetector(model="medium")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        FaceDetector(min_score=1.5)


def test_facebox_helpers() -> None:
    b = FaceBox(10.0, 20.0, 50.0, 100.0, 0.9)
    assert (b.width, b.height, b.area, b.center) == (40.0, 80.0, 3200.0, (30.0, 60.0))
    e = b.expanded(2.0, width=60, height=200)
    assert (e.x0, e.y0, e.x1, e.y1) == (0.0, 0.0, 60.0, 140.0)
    np.testing.assert_array_equal(b.as_array(), [10, 20, 50, 100])
