"""Face-mesh tracking on a real clip: shapes, pose, gaps, smoothing, errors, region sets."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emoshift.errors import MultipleFacesError, NoFaceError
from emoshift.face import regions
from emoshift.face.landmarks import (
    FaceMeshTracker,
    FaceTrack,
    detect_landmarks,
    face_box,
    head_pose,
    inter_ocular,
    smooth_track,
    track_video,
)


def _read_frames(path: Path, n: int) -> tuple[list[np.ndarray], float]:
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as c:
        fps = float(c.streams.video[0].average_rate)
        for frame in c.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            if len(frames) >= n:
                break
    return frames, fps


@pytest.fixture(scope="module")
def clip(talk_clip: Path) -> tuple[list[np.ndarray], float]:
    return _read_frames(talk_clip, 45)


@pytest.fixture(scope="module")
def track(clip: tuple[list[np.ndarray], float]) -> FaceTrack:
    frames, fps = clip
    return track_video(frames, fps)


def test_track_shapes_and_values(track: FaceTrack, clip: tuple[list[np.ndarray], float]) -> None:
    frames, fps = clip
    t = len(frames)
    assert track.points.shape == (t, 478, 3) and track.points.dtype == np.float32
    assert track.found.shape == (t,) and track.found.all()
    assert track.pose.shape == (t, 3)
    assert track.size == frames[0].shape[:2] and track.fps == fps
    assert track.n_faces_max == 1
    h, w = track.size
    xy = track.points[..., :2]
    assert (
        (xy[..., 0] > 0).all()
        and (xy[..., 0] < w).all()
        and (xy[..., 1] > 0).all()
        and (xy[..., 1] < h).all()
    )
    # the face is in the middle of a 700x700 talking-head clip and about 1/8 of it between the eyes
    iod = inter_ocular(track.points)
    assert iod.shape == (t,) and 50 < float(np.median(iod)) < 150
    # anatomy: eyes above the nose tip above the mouth above the chin; subject's right eye on image left
    p = track.points[0]
    assert p[159, 1] < p[1, 1] < p[13, 1] < p[152, 1]
    assert p[468, 0] < p[1, 0] < p[473, 0]
    # iris centres lie inside their eye's corners
    assert min(p[33, 0], p[133, 0]) < p[468, 0] < max(p[33, 0], p[133, 0])


def test_pose_is_plausible_and_responds_to_rotation(track: FaceTrack) -> None:
    pose = track.pose
    assert np.isfinite(pose).all()
    # a talking head facing the camera: within 30 degrees
    assert (np.abs(pose) < 30).all()
    # rotating the points in the image plane by +10 degrees changes roll by ~10, yaw/pitch ~0
    p = track.points[0].astype(np.float64)
    c = p[:, :2].mean(axis=0)
    a = np.radians(10.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    q = p.copy()
    q[:, :2] = (p[:, :2] - c) @ rot.T + c
    d = head_pose(q) - head_pose(p)
    assert abs(d[2] - 10.0) < 0.5 and abs(d[0]) < 0.5 and abs(d[1]) < 0.5
    # turning the face about the vertical axis (x<->z) changes yaw by that angle
    q = p.copy()
    cx, cz = p[:, 0].mean(), p[:, 2].mean()
    q[:, 0] = (p[:, 0] - cx) * np.cos(a) - (p[:, 2] - cz) * np.sin(a) + cx
    q[:, 2] = (p[:, 0] - cx) * np.sin(a) + (p[:, 2] - cz) * np.cos(a) + cz
    d = head_pose(q) - head_pose(p)
    assert abs(abs(d[0]) - 10.0) < 1.0 and abs(d[2]) < 1.0
    assert head_pose(track.points).shape == (len(track), 3)
    assert np.isnan(head_pose(np.full((478, 3), np.nan, np.float32))).all()


def test_smoothing_has_no_lag_and_reduces_jitter(track: FaceTrack) -> None:
    t = len(track)
    raw = np.repeat(track.points[:1], t, axis=0)  # a still face...
    rng = np.random.default_rng(0)
    # ...moving slowly sideways, plus jitter: the smoothed track must follow it without delay
    motion = (10 * np.sin(np.linspace(0, 2 * np.pi, t))).astype(np.float32)
    clean = raw.copy()
    clean[..., 0] += motion[:, None]
    noisy = clean + rng.normal(0, 1.5, clean.shape).astype(np.float32)
    sm = smooth_track(noisy, np.ones(t, bool), 30.0)
    err_noisy = np.abs(noisy - clean)[5:-5].mean()
    err_sm = np.abs(sm - clean)[5:-5].mean()
    assert err_sm < 0.8 * err_noisy
    # no lag: the cross-correlation of the smoothed and true motion peaks at zero shift
    m_sm = sm[:, 1, 0] - sm[:, 1, 0].mean()
    m_true = motion - motion.mean()
    shifts = range(-3, 4)
    corr = [np.dot(np.roll(m_sm, s)[5:-5], m_true[5:-5]) for s in shifts]
    assert list(shifts)[int(np.argmax(corr))] == 0


def test_gaps_interpolated_and_long_gaps_kept(clip: tuple[list[np.ndarray], float]) -> None:
    frames, fps = clip
    blank = np.zeros_like(frames[0])
    seq = list(frames[:10]) + [blank] * 3 + list(frames[13:20]) + [blank] * 25 + list(frames[20:30])
    tr = track_video(seq, fps, max_gap_s=0.5)
    assert tr.detected is not None
    assert not tr.detected[10:13].any() and tr.found[10:13].all()  # 3 frames = 0.1 s: filled
    assert np.isfinite(tr.points[10:13]).all()
    gap = slice(20, 45)  # 25 frames = 0.83 s: left empty
    assert not tr.found[gap].any() and np.isnan(tr.points[gap]).all()
    assert np.isnan(tr.pose[gap]).all()
    # interpolated frames lie between their neighbours
    nose = tr.points[:, 1, 0]
    lo, hi = sorted((nose[9], nose[13]))
    assert lo - 2 <= nose[11] <= hi + 2


def test_no_face_errors() -> None:
    blank = np.full((256, 256, 3), 128, np.uint8)
    with pytest.raises(NoFaceError):
        track_video([blank] * 5, 25.0)
    with pytest.raises(NoFaceError):
        detect_landmarks(blank)
    with FaceMeshTracker(static_image_mode=True) as tr:
        assert tr(blank) is None


def test_two_faces_largest_or_error(
    clip: tuple[list[np.ndarray], float], caplog: pytest.LogCaptureFixture
) -> None:
    import cv2

    frame = clip[0][0]
    h, w = frame.shape[:2]
    small = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    canvas = np.full((h, w + w // 2, 3), 90, np.uint8)
    canvas[:, :w] = frame
    canvas[h // 4 : h // 4 + h // 2, w:] = small
    with FaceMeshTracker(static_image_mode=True, multi_face="largest") as tr:
        with caplog.at_level("WARNING"):
            pts = tr(canvas)
        assert tr.n_faces_last == 2
    assert pts is not None and float(np.mean(pts[:, 0])) < w  # the big face on the left
    assert any("faces found" in r.message for r in caplog.records)
    with (
        FaceMeshTracker(static_image_mode=True, multi_face="error") as tr,
        pytest.raises(MultipleFacesError),
    ):
        tr(canvas)


def test_face_box(track: FaceTrack) -> None:
    p = track.points[0]
    x0, y0, x1, y1 = face_box(p)
    assert x0 <= p[:, 0].min() and x1 > p[:, 0].max() and y0 <= p[:, 1].min() and y1 > p[:, 1].max()
    bx0, by0, bx1, by1 = face_box(p, margin=0.2, size=track.size)
    assert bx0 < x0 and by0 < y0 and bx1 > x1 and by1 > y1
    assert bx0 >= 0 and by0 >= 0 and bx1 <= track.size[1] and by1 <= track.size[0]


def test_regions_match_mediapipe_connections() -> None:
    from mediapipe.python.solutions import face_mesh_connections as fmc

    def idx(conn: frozenset[tuple[int, int]]) -> set[int]:
        return {i for e in conn for i in e}

    assert set(regions.FACE_OVAL) == idx(fmc.FACEMESH_FACE_OVAL)
    assert set(regions.LIPS) == idx(fmc.FACEMESH_LIPS)
    assert set(regions.LEFT_EYE) == idx(fmc.FACEMESH_LEFT_EYE)
    assert set(regions.RIGHT_EYE) == idx(fmc.FACEMESH_RIGHT_EYE)
    assert set(regions.LEFT_BROW) == idx(fmc.FACEMESH_LEFT_EYEBROW)
    assert set(regions.RIGHT_BROW) == idx(fmc.FACEMESH_RIGHT_EYEBROW)
    assert set(regions.LEFT_IRIS[1:]) == idx(fmc.FACEMESH_LEFT_IRIS)
    assert set(regions.RIGHT_IRIS[1:]) == idx(fmc.FACEMESH_RIGHT_IRIS)
    # ordered curves follow mesh edges
    edges = {frozenset(e) for e in fmc.FACEMESH_TESSELATION}
    for name in (
        "FACE_OVAL",
        "LIPS_OUTER_UPPER",
        "LIPS_INNER_LOWER",
        "RIGHT_EYE_UPPER",
        "LEFT_EYE_LOWER",
        "NOSE_BRIDGE",
    ):
        seq = getattr(regions, name)
        for a, b in itertools.pairwise(seq):
            assert frozenset((a, b)) in edges, (name, a, b)
    for name, seq in regions.all_named().items():
        assert all(0 <= i < regions.N_POINTS for i in seq), name
