"""Action-unit shading on real faces: only skin inside the face changes, bounded, where each AU acts."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from emoshift.face import regions
from emoshift.face.landmarks import detect_landmarks, inter_ocular
from emoshift.face.masks import polygon_mask
from emoshift.face.shading import MAX_LIGHTEN, apply_shading, au_cues
from emoshift.media.read import read_frames

ALL = {1: 1.0, 2: 1.0, 4: 1.0, 6: 1.0, 7: 1.0, 9: 1.0, 10: 1.0, 12: 1.0}


@pytest.fixture(scope="module", params=["talk_woman_blue.mp4", "talk_man_map.mp4"])
def face(request: pytest.FixtureRequest, shared_media: Path) -> tuple[np.ndarray, np.ndarray]:
    image = read_frames(shared_media / request.param, [10])[0]
    return image, detect_landmarks(image)


def _region(image: np.ndarray, pts: np.ndarray, grow: float = 0.0) -> np.ndarray:
    return polygon_mask(image.shape[:2], pts[:, :2], feather=0.5, dilate=grow) > 0


def test_zero_aus_identical(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = face
    for aus in ({}, {4: 0.0, 12: 0.0}, {25: 1.0, 26: 1.0}):  # AUs without a cue do nothing
        out = apply_shading(image, p, aus)
        assert np.array_equal(out, image)
    nan = np.full_like(p, np.nan)
    assert np.array_equal(apply_shading(image, nan, ALL), image)


def test_only_skin_inside_the_face_changes(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = face
    out = apply_shading(image, p, ALL)
    assert out.dtype == np.uint8 and out.shape == image.shape
    diff = np.abs(out.astype(int) - image.astype(int)).max(axis=2)
    assert diff.max() > 10  # something was drawn
    oval = _region(image, p[list(regions.FACE_OVAL)], grow=1.0)
    assert diff[~oval].max() == 0
    for hole in (regions.RIGHT_EYE, regions.LEFT_EYE, regions.LIPS_OUTER):
        inner = polygon_mask(image.shape[:2], p[list(hole), :2], feather=0.5, dilate=-1.0) > 0.5
        assert diff[inner].max() <= 1, hole


@pytest.mark.parametrize("max_darken", [0.35, 0.1])
def test_bounded_by_max_darken(face: tuple[np.ndarray, np.ndarray], max_darken: float) -> None:
    image, p = face
    out = apply_shading(image, p, ALL, max_darken=max_darken).astype(float)
    src = image.astype(float)
    bright = src > 40  # ratios of dark pixels are dominated by rounding
    ratio = out[bright] / src[bright]
    assert ratio.min() >= 1.0 - max_darken - 0.02
    assert ratio.max() <= 1.0 + MAX_LIGHTEN + 0.02
    assert ratio.min() < 1.0 - 0.4 * max_darken  # and the cap is actually approached


def test_intensity_is_monotonic(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = face
    y0 = image.astype(float).sum()
    darkening = [
        y0 - apply_shading(image, p, {4: a, 12: a, 1: a}).astype(float).sum()
        for a in (0.0, 0.25, 0.5, 1.0)
    ]
    assert darkening[0] == 0
    assert all(b > a for a, b in itertools.pairwise(darkening))


@pytest.mark.parametrize(
    ("aus", "where"),
    [
        ({4: 1.0}, "glabella"),
        ({1: 1.0, 2: 1.0}, "forehead"),
        ({12: 1.0}, "nasolabial"),
        ({9: 1.0}, "nose"),
    ],
)
def test_each_au_shades_its_own_region(
    face: tuple[np.ndarray, np.ndarray], aus: dict[int, float], where: str
) -> None:
    image, p = face
    iod = inter_ocular(p)
    dark = image.astype(float).sum(axis=2) - apply_shading(image, p, aus).astype(float).sum(axis=2)
    h, w = dark.shape
    yy, xx = np.mgrid[0:h, 0:w]

    def near(points: np.ndarray, r: float) -> np.ndarray:
        d = np.min([(xx - x) ** 2 + (yy - y) ** 2 for x, y in points[:, :2]], axis=0)
        return d <= (r * iod) ** 2

    brow_top = p[list(regions.RIGHT_BROW_UPPER + regions.LEFT_BROW_UPPER), 1].min()
    regions_of = {
        "glabella": near(
            p[[55, 285, 9, 168, *regions.RIGHT_BROW_LOWER, *regions.LEFT_BROW_LOWER]], 0.2
        ),
        "forehead": yy < brow_top,
        "nasolabial": near(p[[206, 426, 216, 436]], 0.2),
        "nose": near(p[[168, 6, 206, 426, 216, 436]], 0.2),  # AU9 also deepens the nasolabial folds
    }
    here = regions_of[where]
    positive = np.clip(dark, 0, None)
    assert positive[here].sum() > 0.6 * positive.sum()  # most of the darkening is where the AU acts
    assert positive[here].max() > 10
    if where == "nose":
        assert positive[near(p[[168, 6]], 0.15)].max() > 10
    # and the chin, which no cue touches, is left alone
    assert np.abs(dark[near(p[[152]], 0.1)]).max() == 0


def test_cues_scale_with_the_face(face: tuple[np.ndarray, np.ndarray]) -> None:
    _, p = face
    small = p.copy()
    small[:, :2] *= 0.5
    a = au_cues(p, ALL)
    b = au_cues(small, ALL)
    assert len(a) == len(b) > 10
    for ca, cb in zip(a, b):
        np.testing.assert_allclose(cb.points, 0.5 * ca.points, atol=1e-6)
        np.testing.assert_allclose(cb.amplitude, ca.amplitude)


def test_bad_max_darken(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = face
    with pytest.raises(ValueError, match="max_darken"):
        apply_shading(image, p, ALL, max_darken=1.5)


def test_lip_seam_hides_a_squeezed_talking_mouth(shared_media: Path) -> None:
    """Anger shuts a talking mouth; what the warp leaves of the opening (dark cavity, a line of
    teeth) is filled from the lips, continuously in the amount, and nothing outside the lips'
    box changes."""
    from emoshift.emotion import Emotion, EmotionSpec
    from emoshift.face.generate import GenerateConfig, generate_still_info
    from emoshift.face.masks import roi_around
    from emoshift.face.shading import lip_seam

    frames = read_frames(shared_media / "talk_woman_glasses.mp4", list(range(0, 120, 6)))
    cands = [(f, detect_landmarks(f)) for f in frames]
    img, pts = max(
        ((f, p) for f, p in cands if p is not None), key=lambda fp: fp[1][14, 1] - fp[1][13, 1]
    )
    iod = float(inter_ocular(pts))
    assert pts[14, 1] - pts[13, 1] > 0.05 * iod  # a talking, open mouth
    cfg = GenerateConfig(mouth=False, shading=False)
    warped, dst, _ = generate_still_info(img, pts, EmotionSpec(Emotion.ANGER, 1.0), config=cfg)
    assert lip_seam(warped, dst, 0.0) is warped
    out = lip_seam(warped, dst, 1.0)
    half = lip_seam(warped, dst, 0.5)
    box = roi_around(dst[list(regions.LIPS_OUTER)], img.shape, 0.05 * iod + 4)
    changed = np.abs(out.astype(int) - warped.astype(int)).max(axis=2) > 0
    inside = np.zeros(img.shape[:2], bool)
    inside[box.slices] = True
    assert changed.any() and not changed[~inside].any()
    # the band along the closed lips: fewer pixels far from the lips' colour (cavity, teeth)
    mid = 0.5 * (dst[list(regions.LIPS_INNER_UPPER), :2] + dst[list(regions.LIPS_INNER_LOWER), :2])
    down = np.array([0.0, iod])
    poly = np.vstack([mid - 0.012 * down, (mid + 0.035 * down)[::-1]])
    band = polygon_mask(img.shape[:2], poly, feather=0.5) > 0.5
    lips = polygon_mask(img.shape[:2], dst[list(regions.LIPS_OUTER), :2], feather=0.5) > 0.5

    def odd(im: np.ndarray) -> float:
        import cv2

        lab = cv2.cvtColor(im, cv2.COLOR_RGB2LAB).astype(float)
        ref = np.median(lab[lips & ~band], axis=0)
        dist = np.abs(lab[..., 0] - ref[0]) + 1.5 * np.hypot(*(lab[..., 1:] - ref[1:]).T).T
        return float((dist[band] > 35).mean())

    assert odd(out) < 0.5 * odd(warped)
    assert odd(out) <= odd(half) <= odd(warped)
