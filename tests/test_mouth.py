"""Mouth interior on a real talking clip: donor selection, rendering only inside the opening."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoshift.face import regions
from emoshift.face.landmarks import inter_ocular, track_video
from emoshift.face.masks import polygon_mask, roi_around
from emoshift.face.mouth import (
    MouthDonor,
    donor_candidates,
    inner_gap,
    render_mouth,
    select_donor,
)
from emoshift.media.read import read_video

INNER = list(regions.LIPS_INNER)


@pytest.fixture(scope="module")
def clip(talk_clip: Path) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, H, W, 3) and tracked landmarks (T, 478, 3) of the man talking in an office
    (his upper teeth show when he speaks)."""
    frames, fps = read_video(talk_clip)
    return frames, track_video(frames, fps).points


@pytest.fixture(scope="module")
def donor(clip: tuple[np.ndarray, np.ndarray]) -> MouthDonor:
    d = select_donor(*clip)
    assert d is not None
    return d


@pytest.fixture(scope="module")
def closed(clip: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The frame with the most tightly closed lips, and its landmarks."""
    frames, pts = clip
    i = int(np.nanargmin(inner_gap(pts)))
    return frames[i], pts[i]


def _opened(points: np.ndarray, amount: float) -> np.ndarray:
    """Landmarks with the lower lip and chin moved down by ``amount`` IOD (lens-shaped: full
    at the mouth centre, nothing at the corners)."""
    p = points.copy()
    iod = inter_ocular(points)
    c0, c1 = points[regions.INNER_CORNER_RIGHT, 0], points[regions.INNER_CORNER_LEFT, 0]
    mid, half = 0.5 * (c0 + c1), 0.5 * abs(c1 - c0)
    lower = sorted(
        set(regions.LIPS_INNER_LOWER[1:-1])
        | set(regions.LIPS_OUTER_LOWER[1:-1])
        | set(regions.CHIN)
    )
    s = np.clip(np.abs(points[lower, 0] - mid) / half, 0, 1)
    p[lower, 1] += amount * iod * (1 - s**2) ** 0.6
    return p


def _teeth_fraction(image: np.ndarray, points: np.ndarray) -> float:
    roi = roi_around(points[INNER], image.shape, 2)
    inside = polygon_mask(roi.shape, points[INNER, :2] - roi.offset, feather=0.5, dilate=-1.5) > 0.5
    hsv = cv2.cvtColor(image[roi.slices], cv2.COLOR_RGB2HSV)[inside]
    return float(((hsv[:, 2] > 150) & (hsv[:, 1] < 90)).mean())


def test_select_donor_finds_teeth(donor: MouthDonor, clip: tuple[np.ndarray, np.ndarray]) -> None:
    frames, pts = clip
    assert donor.has_teeth
    assert donor.teeth_fraction > 0.15
    assert donor.gap >= 0.1
    assert donor.image.dtype == np.uint8 and donor.image.ndim == 3 and donor.image.shape[2] == 3
    assert donor.points.shape == (478, 3)
    # the crop holds the donor's lips
    lips = donor.points[list(regions.LIPS), :2]
    assert (
        (lips >= 0).all()
        and (lips[:, 0] < donor.image.shape[1]).all()
        and (lips[:, 1] < donor.image.shape[0]).all()
    )
    # the donor is one of the widest-open frames of the clip, with its eyes open
    assert donor.gap >= 0.6 * float(np.nanmax(inner_gap(pts)))
    assert 0 <= donor.frame_index < len(frames)
    # the cavity colour is dark: darker than the lips
    lip_y = donor.lip_luma
    cav_y = float(donor.cavity_colour.astype(float) @ [0.299, 0.587, 0.114])
    assert cav_y < 0.8 * lip_y


def test_donor_candidates_are_enough(
    clip: tuple[np.ndarray, np.ndarray], donor: MouthDonor
) -> None:
    frames, pts = clip
    few = donor_candidates(pts, k=5)
    assert len(few) == 5
    g = inner_gap(pts)
    assert np.all(np.diff(g[few]) <= 0)  # widest first
    idx = donor_candidates(pts)  # the same 40 frames select_donor examines in the whole clip
    assert donor.frame_index in idx
    sub = select_donor(frames[idx], pts[idx])
    assert sub is not None and sub.has_teeth
    assert idx[sub.frame_index] == donor.frame_index
    assert len(donor_candidates(np.full((3, 478, 3), np.nan, np.float32))) == 0


def test_select_donor_none_without_open_mouth(clip: tuple[np.ndarray, np.ndarray]) -> None:
    frames, pts = clip
    g = inner_gap(pts)
    shut = np.flatnonzero(g < 0.03)[:5]
    assert len(shut) > 0
    assert select_donor(frames[shut], pts[shut]) is None
    nan = np.full((2, 478, 3), np.nan, np.float32)
    assert select_donor(frames[:2], nan) is None
    with pytest.raises(ValueError):
        select_donor(frames[:3], pts[:2])


def test_closed_lips_unchanged(closed: tuple[np.ndarray, np.ndarray], donor: MouthDonor) -> None:
    image, p = closed
    out = render_mouth(image, p, p, donor)
    assert out is image or np.array_equal(out, image)
    # also when the lips are closed after the warp while the source had them open
    out = render_mouth(image, _opened(p, 0.2), p, donor)
    assert np.array_equal(out, image)


def test_unmoved_open_mouth_keeps_the_real_interior(
    clip: tuple[np.ndarray, np.ndarray], donor: MouthDonor
) -> None:
    frames, pts = clip
    i = donor.frame_index
    out = render_mouth(frames[i], pts[i], pts[i], donor)
    assert np.array_equal(out, frames[i])


@pytest.mark.parametrize("style", ["teeth", "cavity", "lower_teeth"])
def test_render_changes_only_the_opening(
    closed: tuple[np.ndarray, np.ndarray], donor: MouthDonor, style: str
) -> None:
    image, p = closed
    dst = _opened(p, 0.25)
    out = render_mouth(image, p, dst, donor, style)  # type: ignore[arg-type]
    assert out.dtype == np.uint8 and out.shape == image.shape
    diff = np.abs(out.astype(int) - image.astype(int)).max(axis=2)
    iod = inter_ocular(p)
    region = polygon_mask(image.shape[:2], dst[INNER, :2], feather=0.5, dilate=0.03 * iod + 2) > 0
    assert diff[~region].max() == 0
    inside = polygon_mask(image.shape[:2], dst[INNER, :2], feather=0.5, dilate=-2) > 0.5
    assert (diff[inside] > 8).mean() > 0.8  # the opening really was painted


def test_teeth_show_and_styles_differ(
    closed: tuple[np.ndarray, np.ndarray], donor: MouthDonor
) -> None:
    image, p = closed
    dst = _opened(p, 0.25)
    teeth = _teeth_fraction(render_mouth(image, p, dst, donor, "teeth"), dst)
    cavity = _teeth_fraction(render_mouth(image, p, dst, donor, "cavity"), dst)
    assert teeth > 0.1
    assert cavity < 0.02
    # lower_teeth: nothing white in the top third of the opening
    out = render_mouth(image, p, dst, donor, "lower_teeth")
    top = dst.copy()
    top[list(regions.LIPS_INNER_LOWER[1:-1]), 1] = dst[
        list(regions.LIPS_INNER_UPPER[1:-1]), 1
    ] + 0.3 * (
        dst[list(regions.LIPS_INNER_LOWER[1:-1]), 1] - dst[list(regions.LIPS_INNER_UPPER[1:-1]), 1]
    )
    assert _teeth_fraction(out, top) < 0.02


def test_no_donor_draws_a_dark_shaded_cavity(closed: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = closed
    dst = _opened(p, 0.3)
    out = render_mouth(image, p, dst, None)
    inside = polygon_mask(image.shape[:2], dst[INNER, :2], feather=0.5, dilate=-2) > 0.5
    y = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)[inside].astype(float)
    lips = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[
        polygon_mask(image.shape[:2], p[list(regions.LIPS_OUTER), :2], feather=0.5) > 0.5
    ]
    assert y.mean() < 0.6 * lips.mean()
    assert y.std() > 2.0  # shaded, not a flat box


def test_bad_style(closed: tuple[np.ndarray, np.ndarray]) -> None:
    image, p = closed
    with pytest.raises(ValueError, match="style"):
        render_mouth(image, p, _opened(p, 0.2), None, "grin")  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["cavity", "lower_teeth"])
def test_wide_cavity_is_warm_graded_and_not_black(
    closed: tuple[np.ndarray, np.ndarray], donor: MouthDonor, style: str
) -> None:
    """A wide-open mouth (surprise, fear) is dark flesh in shadow: never near-black, redder
    than it is blue, darker at the top under the upper lip than at the bottom."""
    image, p = closed
    dst = _opened(p, 0.35)
    out = render_mouth(image, p, dst, donor, style)  # type: ignore[arg-type]
    inside = polygon_mask(image.shape[:2], dst[INNER, :2], feather=0.5, dilate=-2) > 0.5
    gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(float)
    lips = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[
        polygon_mask(image.shape[:2], p[list(regions.LIPS_OUTER), :2], feather=0.5) > 0.5
    ]
    y = gray[inside]
    # no black hole (the code before this rule: 0.22 and 0.38 of the lips, red/blue 1.5)
    assert np.percentile(y, 5) > 0.27 * np.median(lips)
    assert y.mean() > 0.44 * np.median(lips)
    rgb = out[inside].astype(float)
    assert rgb[:, 0].mean() > 1.65 * rgb[:, 2].mean()  # warm, not a grey slot
    rows = np.flatnonzero(inside.any(axis=1))
    third = max(1, len(rows) // 3)
    top = gray[rows[:third]][inside[rows[:third]]].mean()
    bottom = gray[rows[-third:]][inside[rows[-third:]]].mean()
    assert bottom > 1.15 * top  # graded: lit toward the lower lip and tongue


def test_dark_donor_gives_a_shaded_floor_not_a_black_slot(
    closed: tuple[np.ndarray, np.ndarray], donor: MouthDonor
) -> None:
    """A donor whose mouth is black where no lower teeth show (and whose darkest pixels are
    black) still gives a shaded, lit lower part under a darker top."""
    image, p = closed
    dark = replace(
        donor,
        image=(donor.image.astype(np.float32) * 0.05).astype(np.uint8),
        cavity_colour=np.zeros(3, np.uint8),
    )
    dst = _opened(p, 0.3)
    out = render_mouth(image, p, dst, dark, "lower_teeth")
    inside = polygon_mask(image.shape[:2], dst[INNER, :2], feather=0.5, dilate=-2) > 0.5
    gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(float)
    lips = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[
        polygon_mask(image.shape[:2], p[list(regions.LIPS_OUTER), :2], feather=0.5) > 0.5
    ]
    assert np.percentile(gray[inside], 5) > 0.15 * np.median(lips)
    rows = np.flatnonzero(inside.any(axis=1))
    bottom = gray[rows[-len(rows) // 3 :]][inside[rows[-len(rows) // 3 :]]].mean()
    assert bottom > 0.4 * np.median(lips)
