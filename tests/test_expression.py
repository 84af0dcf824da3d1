"""Emotion -> AUs -> landmark displacements -> still (the EFG), on real frames with the real FER."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec
from emoshift.face import regions
from emoshift.face.au import AU_IDS, AUs, emotion_aus, spec_aus
from emoshift.face.expression import (
    FaceFrame,
    _features,
    au_displacements,
    au_displacements_normalized,
    close_lips,
    estimate_aus,
    neutral_reference,
)
from emoshift.face.generate import GenerateConfig, generate_still, generate_still_info
from emoshift.face.landmarks import FaceTrack, inter_ocular, track_video
from emoshift.face.sampling import sample_frames


@pytest.fixture(scope="module")
def clip(talk_clip: Path) -> tuple[np.ndarray, FaceTrack]:
    from emoshift.media import read_video

    frames, fps = read_video(talk_clip, max_frames=90)
    return frames, track_video(frames, fps)


@pytest.fixture(scope="module")
def still(clip: tuple[np.ndarray, FaceTrack]) -> tuple[np.ndarray, np.ndarray]:
    frames, track = clip
    i = int(sample_frames(track, 1, seed=0)[0])
    return frames[i], track.points[i]


@pytest.fixture(scope="module")
def fer():  # type: ignore[no-untyped-def]
    from emoshift.recognize.face import load_face_recognizer

    return load_face_recognizer()


def test_au_patterns_cover_all_emotions_and_scale_linearly() -> None:
    for emo in ALL_EMOTIONS:
        a = emotion_aus(emo, 1.0)
        assert set(a.right) | set(a.left) <= set(AU_IDS)
        if emo is Emotion.NEUTRAL:
            assert a.is_zero()
            continue
        assert not a.is_zero(), emo
        half = emotion_aus(emo, 0.5)
        for au, v in a.right.items():
            assert 0 <= half.right.get(au, 0.0) <= v
    contempt = emotion_aus(Emotion.CONTEMPT, 1.0)
    assert (
        contempt.right.get(12, 0) > 0 and contempt.right.get(14, 0) > 0 and not contempt.left
    )  # unilateral
    assert (
        emotion_aus(Emotion.HAPPINESS, 0.4).right.get(25, 0.0) == 0.0
    )  # lips part only when strong
    assert emotion_aus(Emotion.HAPPINESS, 1.0).right[25] > 0
    mix = spec_aus(
        EmotionSpec(Emotion.HAPPINESS, 1.0, {Emotion.HAPPINESS: 0.5, Emotion.SURPRISE: 0.5})
    )
    assert mix.right[12] == pytest.approx(0.5 * emotion_aus(Emotion.HAPPINESS, 1.0).right[12])
    assert mix.right[26] > 0


def test_displacements_follow_facs_directions(still: tuple[np.ndarray, np.ndarray]) -> None:
    _, pts = still
    frame = FaceFrame.of(pts)
    q = frame.to_face(pts)

    def move(aus: dict[int, float]) -> np.ndarray:
        return au_displacements_normalized(q, AUs.both(aus))

    d = move({12: 1.0})  # smile: corners up and out
    for c in (regions.MOUTH_CORNER_RIGHT, regions.MOUTH_CORNER_LEFT):
        assert d[c, 1] < -0.05 and d[c, 0] * np.sign(q[c, 0]) > 0.03
    d = move({15: 1.0})  # corners down
    assert d[regions.MOUTH_CORNER_RIGHT, 1] > 0.05
    d = move({4: 1.0})  # brows down and together
    assert (d[list(regions.RIGHT_BROW), 1] > 0.05).all()
    assert d[55, 0] > 0 > d[285, 0]
    d = move({1: 1.0, 2: 1.0})  # brows up
    assert (d[list(regions.LEFT_BROW), 1] < -0.05).all()
    d = move({26: 1.0})  # jaw drop opens the lips
    assert d[regions.LOWER_LIP_INNER, 1] - d[regions.UPPER_LIP_INNER, 1] > 0.15
    # identity points and irises never move
    for aus in ({12: 1.5, 6: 1.5}, {26: 1.5, 4: 1.5, 1: 1.5, 2: 1.5}, {9: 1.5, 10: 1.5}):
        d = move(aus)
        assert np.abs(d[list(regions.IDENTITY)]).max() == 0.0
        assert np.abs(d[list(regions.RIGHT_IRIS + regions.LEFT_IRIS)]).max() == 0.0
    # contempt is one-sided: the subject's right corner moves, the left barely
    d = au_displacements_normalized(q, emotion_aus(Emotion.CONTEMPT, 1.0))
    assert np.linalg.norm(d[regions.MOUTH_CORNER_RIGHT]) > 5 * np.linalg.norm(
        d[regions.MOUTH_CORNER_LEFT]
    )


def test_displacements_scale_with_face_and_rotate_with_it(
    still: tuple[np.ndarray, np.ndarray],
) -> None:
    _, pts = still
    aus = emotion_aus(Emotion.SURPRISE, 1.0)
    d = au_displacements(pts, aus)
    c = pts[:, :2].mean(axis=0)
    big = pts.copy()
    big[:, :2] = (pts[:, :2] - c) * 2.0 + c
    big[:, 2] *= 2.0
    assert np.allclose(au_displacements(big, aus), 2.0 * d, atol=1e-3)
    a = np.radians(20)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    turned = pts.copy()
    turned[:, :2] = (pts[:, :2] - c) @ rot.T + c
    assert np.allclose(au_displacements(turned, aus), d @ rot.T, atol=1e-3)


def test_estimate_aus_recovers_applied_aus(clip: tuple[np.ndarray, FaceTrack]) -> None:
    _, track = clip
    ref = neutral_reference(track.points)
    assert ref.shape == (478, 3) and np.isfinite(ref).all()
    rest = estimate_aus(ref, ref).bilateral()  # the rest face: brows and lids at rest
    assert all(rest.get(au, 0.0) < 0.05 for au in (1, 2, 4, 5, 7))
    smiling = ref.copy()
    smiling[:, :2] += au_displacements(ref, AUs.both({12: 0.6}), _unit())
    est = estimate_aus(smiling, ref).bilateral()
    # the rest face's talking mouth is read as a little AU15/16/26, so compare increments
    d12 = est.get(12, 0.0) - rest.get(12, 0.0)
    d15 = est.get(15, 0.0) - rest.get(15, 0.0)
    assert d12 > 0.15 and d12 - d15 > 0.3
    frown = ref.copy()
    frown[:, :2] += au_displacements(ref, AUs.both({4: 0.8}), _unit())
    est = estimate_aus(frown, ref).bilateral()
    assert est.get(4, 0.0) > 0.4 and est.get(12, 0.0) - rest.get(12, 0.0) < 0.1
    assert np.isfinite(_features(FaceFrame.of(ref).to_face(ref))).all()


def _unit():  # type: ignore[no-untyped-def]
    from emoshift.face.expression import ExpressionConfig

    return ExpressionConfig(gain=1.0)


def test_generate_still_geometry_contract(
    still: tuple[np.ndarray, np.ndarray], clip: tuple[np.ndarray, FaceTrack]
) -> None:
    image, pts = still
    iod = float(inter_ocular(pts))
    ref = neutral_reference(clip[1].points)
    for emo in ALL_EMOTIONS:
        out, dst, info = generate_still_info(image, pts, EmotionSpec(emo, 1.0), reference=ref)
        assert out.shape == image.shape and out.dtype == np.uint8 and dst.shape == (478, 3)
        assert info.jacobian_min > 0, emo
        ident = list(regions.IDENTITY)
        assert np.linalg.norm(dst[ident, :2] - pts[ident, :2], axis=1).max() <= 0.03 * iod
        if emo is not Emotion.NEUTRAL:
            assert np.abs(out.astype(int) - image.astype(int)).max() > 30, emo  # something visible
        x0, y0, x1, y1 = info.roi
        outside = np.ones(image.shape[:2], bool)
        outside[y0:y1, x0:x1] = False
        assert np.array_equal(out[outside], image[outside])
    # intensity 0 is the source itself (nothing to add, nothing to undo)
    out0, dst0 = generate_still(image, pts, EmotionSpec(Emotion.ANGER, 0.0))
    assert np.array_equal(out0, image) and np.array_equal(dst0, pts)


def test_generate_without_texture_modules_still_works(still: tuple[np.ndarray, np.ndarray]) -> None:
    image, pts = still
    cfg = GenerateConfig(mouth=False, shading=False)
    _, dst, info = generate_still_info(image, pts, EmotionSpec(Emotion.HAPPINESS, 1.0), config=cfg)
    assert not info.mouth and not info.shading
    assert dst[regions.MOUTH_CORNER_LEFT, 1] < pts[regions.MOUTH_CORNER_LEFT, 1]


def test_fer_reads_happiness_and_intensity_is_monotonic(
    clip: tuple[np.ndarray, FaceTrack],
    fer,  # type: ignore[no-untyped-def]
) -> None:
    frames, track = clip
    idx = sample_frames(track, 3, seed=0)
    ref = neutral_reference(track.points)
    k = list(fer.labels).index(Emotion.HAPPINESS)
    means = []
    for it in (0.0, 0.5, 1.0):
        ps = []
        for i in idx:
            out, dst = generate_still(
                frames[i], track.points[i], EmotionSpec(Emotion.HAPPINESS, it), reference=ref
            )
            ps.append(float(fer.predict_image(out, dst).p[k]))
        means.append(np.mean(ps))
    assert means[0] < means[1] < means[2]
    assert means[2] > 0.5


def test_sample_frames_seeded_open_eyes_frontal(clip: tuple[np.ndarray, FaceTrack]) -> None:
    from emoshift.face.landmarks import eye_openness, head_pose

    _, track = clip
    a = sample_frames(track, 5, seed=3)
    b = sample_frames(track, 5, seed=3)
    c = sample_frames(track, 5, seed=4)
    assert np.array_equal(a, b) and len(set(a.tolist())) == 5 and not np.array_equal(a, c)
    eyes = np.nanmin(eye_openness(track.points), axis=-1)
    assert (eyes[a] >= 0.7 * np.median(eyes)).all()
    assert (np.abs(head_pose(track.points[a])[:, :2]) <= 20).all()
    # blinks are avoided: close the eyes of every frame but two and those two are chosen
    pts = track.points.copy()
    shut = np.ones(len(pts), bool)
    shut[[10, 50]] = False
    for top, bot in (regions.RIGHT_EYE_TOP_BOTTOM, regions.LEFT_EYE_TOP_BOTTOM):
        pts[shut, top, 1] = pts[shut, bot, 1]
    assert set(sample_frames(pts, 2, seed=0).tolist()) == {10, 50}


def test_close_lips_shuts_a_talking_mouth_monotonically(clip: tuple[np.ndarray, FaceTrack]) -> None:
    _frames, track = clip
    q_all = [FaceFrame.of(p).to_face(p) for p in track.points if np.isfinite(p).all()]
    q = max(q_all, key=lambda qq: qq[14, 1] - qq[13, 1])  # the widest-open mouth of the clip
    gap0 = q[14, 1] - q[13, 1]
    assert gap0 > 0.03  # a talking clip opens its mouth
    up, lo = list(regions.LIPS_INNER_UPPER[1:-1]), list(regions.LIPS_INNER_LOWER[1:-1])
    gaps = []
    for amount in (0.0, 0.5, 1.0):
        d = close_lips(q, np.zeros((478, 2)), amount)
        y = q[:, 1] + d[:, 1]
        gaps.append(float(np.max(y[lo] - y[up])))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 0.01  # shut (lips touching)
    # the lower lip (the jaw) does most of the moving, the chin follows it up
    d = close_lips(q, np.zeros((478, 2)), 1.0)
    assert -d[14, 1] > 2.0 * d[13, 1] > 0.0
    assert d[18, 1] < 0.0


def test_anger_shuts_the_mouth_and_keeps_strong_brows(clip: tuple[np.ndarray, FaceTrack]) -> None:
    frames, track = clip
    ok = [i for i in range(len(frames)) if np.isfinite(track.points[i]).all()]
    i = max(ok, key=lambda k: track.points[k, 14, 1] - track.points[k, 13, 1])
    img, pts = frames[i], track.points[i]
    iod = float(inter_ocular(pts))
    _out, dst, info = generate_still_info(img, pts, EmotionSpec(Emotion.ANGER, 1.0))
    assert info.jacobian_min > 0.0
    assert (dst[14, 1] - dst[13, 1]) < 0.5 * (pts[14, 1] - pts[13, 1])
    brows = list(regions.RIGHT_BROW) + list(regions.LEFT_BROW)
    assert float(np.mean(dst[brows, 1] - pts[brows, 1])) > 0.1 * iod  # lowered, not shrunk away


def test_mouth_corners_move_once_and_drag_their_neighbours(
    clip: tuple[np.ndarray, FaceTrack],
) -> None:
    """A corner gets an AU's stated movement once (not the corner term plus the lip term), and
    lip points next to it follow: no step at the corner that the warp draws as a dark notch."""
    _frames, track = clip
    ok = [p for p in track.points if np.isfinite(p).all()]
    pts = max(ok, key=lambda p: p[14, 1] - p[13, 1])  # a talking, open mouth
    q = FaceFrame.of(pts).to_face(pts)
    for au, (dx, dy) in ((15, (0.01, 0.075)), (20, (0.08, 0.02)), (23, (-0.035, 0.0))):
        d = au_displacements_normalized(q, AUs.both({au: 0.5}), close=0.0)
        c = regions.MOUTH_CORNER_RIGHT  # expected = gain 2 x intensity 0.5 x the field's value
        assert d[c, 1] == pytest.approx(dy, abs=0.012), au
        assert abs(d[c, 0]) == pytest.approx(abs(dx), abs=0.012), au
    frame = FaceFrame.of(pts)
    for emo in (Emotion.ANGER, Emotion.SADNESS, Emotion.FEAR, Emotion.DISGUST):
        spec = EmotionSpec(emo, 1.0)
        from emoshift.face.generate import closing, target_aus

        add, undo = target_aus(pts, spec)
        d = au_displacements_normalized(q, add, undo=undo, close=closing(spec))
        for corner, near in ((regions.INNER_CORNER_RIGHT, 191), (regions.INNER_CORNER_LEFT, 415)):
            dist = float(np.linalg.norm(q[near, :2] - q[corner, :2]))
            step = float(np.linalg.norm(d[near] - d[corner]))
            assert step < 1.2 * dist + 0.02, (emo, corner, step, dist)
    assert frame.scale > 0


def test_anger_and_disgust_rise_with_intensity_and_contempt_closes(
    still: tuple[np.ndarray, np.ndarray], fer
) -> None:  # type: ignore[no-untyped-def]
    """On a real talking frame: the FER's anger and disgust probabilities do not fall as the
    intensity grows (anger used to dip at 0.25 when a dark cavity replaced the talker's teeth),
    and contempt, a closed-mouth smirk, shuts the talking mouth."""
    from emoshift.face.generate import closing

    img, pts = still
    for emo in (Emotion.ANGER, Emotion.DISGUST):
        k = list(fer.labels).index(emo)
        ps = []
        for it in (0.0, 0.5, 1.0):
            out, dst = generate_still(img, pts, EmotionSpec(emo, it))
            ps.append(float(fer.predict_image(out, dst).p[k]))
        assert ps[0] <= ps[1] + 0.02 and ps[1] <= ps[2] + 0.02, (emo, ps)
        assert ps[2] > ps[0], (emo, ps)
    assert closing(EmotionSpec(Emotion.CONTEMPT, 1.0)) == 1.0
    assert closing(EmotionSpec(Emotion.CONTEMPT, 0.5)) == pytest.approx(0.25)
