"""The thin-plate-spline face warp: interpolation, no folds, background untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoshift.face import regions
from emoshift.face.au import AUs
from emoshift.face.expression import CONTROL, au_displacements
from emoshift.face.landmarks import detect_landmarks, inter_ocular
from emoshift.face.warp import (
    ThinPlateSpline,
    WarpConfig,
    dense_field,
    jacobian_min,
    warp_face,
    warp_roi,
)


@pytest.fixture(scope="module")
def face(talk_clip: Path) -> tuple[np.ndarray, np.ndarray]:
    from emoshift.media import read_frames

    image = read_frames(talk_clip, [30])[0]
    return image, detect_landmarks(image)


def test_tps_interpolates_and_reproduces_affine() -> None:
    rng = np.random.default_rng(1)
    c = rng.uniform(0, 100, (30, 2))
    v = rng.normal(0, 3, (30, 2))
    tps = ThinPlateSpline(c, v, unit=50.0)
    assert np.allclose(tps(c), v, atol=1e-6)
    # an affine field is reproduced exactly everywhere
    a = np.array([[0.1, -0.2], [0.05, 0.3]])
    tps = ThinPlateSpline(c, c @ a.T + [1.0, -2.0], unit=50.0)
    x = rng.uniform(0, 100, (50, 2))
    assert np.allclose(tps(x), x @ a.T + [1.0, -2.0], atol=1e-6)


def test_jacobian_min_detects_folds() -> None:
    yy, xx = np.mgrid[0:20, 0:20].astype(np.float64)
    zero = np.zeros((20, 20, 2))
    assert jacobian_min(zero) == pytest.approx(1.0)
    shrink = np.stack([-0.5 * xx, -0.5 * yy], axis=-1)  # x -> 0.5 x: det 0.25
    assert jacobian_min(shrink) == pytest.approx(0.25)
    fold = np.stack([-2.0 * xx, np.zeros_like(yy)], axis=-1)  # x -> -x: mirrored, det -1
    assert jacobian_min(fold) < 0


def test_identity_warp_changes_nothing(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, pts = face
    res = warp_face(image, pts, pts, control=CONTROL)
    assert np.array_equal(res.image, image)
    assert res.scale == 1.0 and res.jacobian_min == pytest.approx(1.0)


def test_warp_moves_points_without_folds_and_keeps_background(
    face: tuple[np.ndarray, np.ndarray],
) -> None:
    image, pts = face
    iod = float(inter_ocular(pts))
    dst = pts.copy()
    lower = list(regions.LIPS_INNER_LOWER[1:-1]) + list(regions.LIPS_OUTER_LOWER[1:-1])
    dst[lower, 1] += 0.1 * iod  # open the mouth, the skin below the lip following
    chin = sorted(set(regions.CHIN) - set(regions.IDENTITY) - set(regions.LIPS))
    dst[chin, 1] += 0.05 * iod
    brows = list(regions.RIGHT_BROW + regions.LEFT_BROW)
    dst[brows, 1] -= 0.08 * iod  # raise the brows
    cfg = WarpConfig()
    res = warp_face(image, pts, dst, control=CONTROL, config=cfg)
    assert res.scale == 1.0
    assert res.jacobian_min > 0.1
    # the exact per-pixel map has a positive Jacobian everywhere
    assert res.field_untapered is not None
    dense = dense_field(res.field_untapered, res.roi, cfg.grid_step, res.taper)
    assert jacobian_min(dense, 1.0) > 0
    # the image really changed at the lower lip, and the backward map sends the new lower-lip
    # position back to its old one
    x0, y0, _, _ = res.roi
    i = regions.LOWER_LIP_BOTTOM
    nx, ny = np.round(dst[i, :2] - [x0, y0]).astype(int)
    back = dense[ny, nx] + dst[i, :2]
    assert np.linalg.norm(back - pts[i, :2]) < 0.03 * iod
    assert np.abs(res.image.astype(int) - image.astype(int)).max() > 20
    # outside the ROI: bit-identical; outside the grown oval: unchanged
    diff = np.abs(res.image.astype(int) - image.astype(int)).max(axis=-1)
    rx0, ry0, rx1, ry1 = warp_roi(pts, image.shape, cfg)
    outside = np.ones(diff.shape, bool)
    outside[ry0:ry1, rx0:rx1] = False
    assert diff[outside].max() == 0
    assert diff[ry0:ry1, rx0:rx1][res.taper == 0].max() <= 2
    assert (res.taper == 0).mean() > 0.2  # the ROI does hold background the warp leaves alone


def test_folding_request_is_shrunk(face: tuple[np.ndarray, np.ndarray]) -> None:
    image, pts = face
    iod = float(inter_ocular(pts))
    dst = pts.copy()
    # drag the upper inner lip far below the lower lip: the map would fold
    dst[list(regions.LIPS_INNER_UPPER[1:-1]), 1] += 0.6 * iod
    brows = list(regions.RIGHT_BROW) + list(regions.LEFT_BROW)
    dst[brows, 1] -= 0.08 * iod  # a harmless brow raise far from the fold
    res = warp_face(image, pts, dst, control=CONTROL)
    assert res.scale < 1.0
    assert res.jacobian_min > 0.0
    moved = (
        res.dst_points[list(regions.LIPS_INNER_UPPER[1:-1]), 1]
        - pts[list(regions.LIPS_INNER_UPPER[1:-1]), 1]
    )
    assert (moved >= 0.6 * iod * res.scale - 1e-3).all()
    lip_kept = moved / (0.6 * iod)
    brow_kept = (res.dst_points[brows, 1] - pts[brows, 1]) / (-0.08 * iod)
    assert lip_kept.max() < 0.5  # the folding lip gave way
    assert brow_kept.min() >= lip_kept.min()  # and the far brows no more than it


def test_local_fold_leaves_far_points_whole(face: tuple[np.ndarray, np.ndarray]) -> None:
    """A mouth opened wide (a would-be fold round the lips) must not weaken the brows."""
    image, pts = face
    iod = float(inter_ocular(pts))
    brows = list(regions.RIGHT_BROW) + list(regions.LEFT_BROW)
    dst = pts.copy()
    # a strong jaw drop (AU26 x1.7, the surprise setting) plus a brow raise
    dst[:, :2] += au_displacements(pts, AUs.both({26: 1.7, 25: 0.8, 2: 1.0}))
    res = warp_face(image, pts, dst, control=CONTROL)
    assert res.jacobian_min > 0.0
    kept = (res.dst_points[brows, 1] - pts[brows, 1]) / (dst[brows, 1] - pts[brows, 1])
    assert kept.min() > 0.95
    opened = res.dst_points[14, 1] - res.dst_points[13, 1]
    assert opened > 0.25 * iod  # and the mouth does open wide
