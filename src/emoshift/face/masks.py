"""Soft masks from the face mesh: feathered polygons, the face's skin, regions of interest.

Shared helpers of the texture modules (mouth interior, action-unit shading) and of anything
that blends an edit into a frame. Masks are float32 arrays in [0, 1] with an *exact* zero
outside their feathered edge (``dilate + feather`` pixels beyond the polygon), so an edit
weighted by them never touches a pixel farther away. Work happens in a :class:`Roi` (a box
of the frame) so cost scales with the face, not the frame.

Points are (478, 3) float32 pixel coordinates (x right, y down), as from
:mod:`emoshift.face.landmarks`; polygons are (N, 2) float arrays in the same pixel frame as
the mask they are drawn into.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emoshift.face import regions

_SHIFT = 4  # sub-pixel bits for cv2 drawing (1/16 px)
_SCALE = float(1 << _SHIFT)


@dataclass(frozen=True)
class Roi:
    """A box of an (H, W) image: rows y0..y1-1, columns x0..x1-1 (exclusive ends)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the box."""
        return (self.y1 - self.y0, self.x1 - self.x0)

    @property
    def slices(self) -> tuple[slice, slice]:
        """Index an (H, W, ...) array with ``image[roi.slices]``."""
        return (slice(self.y0, self.y1), slice(self.x0, self.x1))

    @property
    def offset(self) -> np.ndarray:
        """(2,) float32 (x0, y0): subtract from image coordinates to get box coordinates."""
        return np.array([self.x0, self.y0], dtype=np.float32)

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0


def roi_around(xy: np.ndarray, shape: tuple[int, ...], margin: float) -> Roi:
    """Integer box around the finite points ``xy`` ((N, 2+) pixels) grown by ``margin`` pixels
    on every side and clipped to an image of ``shape`` ((H, W, ...)). Empty if no point is finite."""
    p = np.asarray(xy, dtype=np.float32)[:, :2]
    p = p[np.isfinite(p).all(axis=1)]
    h, w = int(shape[0]), int(shape[1])
    if len(p) == 0:
        return Roi(0, 0, 0, 0)
    x0 = max(0, int(np.floor(p[:, 0].min() - margin)))
    y0 = max(0, int(np.floor(p[:, 1].min() - margin)))
    x1 = min(w, int(np.ceil(p[:, 0].max() + margin)) + 1)
    y1 = min(h, int(np.ceil(p[:, 1].max() + margin)) + 1)
    return Roi(x0, y0, max(x0, x1), max(y0, y1))


def polygon_coverage(shape: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage of a filled polygon: (h, w) float32 in [0, 1].

    polygon: (N, 2) pixel coordinates (x, y) of a closed outline (need not repeat the first point).
    """
    canvas = np.zeros(shape, dtype=np.uint8)
    pts = np.round(np.asarray(polygon, dtype=np.float64)[:, :2] * _SCALE).astype(np.int32)
    if len(pts) >= 3:
        cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_AA, shift=_SHIFT)
    return canvas.astype(np.float32) * np.float32(1.0 / 255.0)


def signed_distance(coverage: np.ndarray) -> np.ndarray:
    """Approximate signed distance in pixels to the edge of a shape given by its coverage
    ((h, w) float in [0, 1]): positive inside, negative outside, ``coverage - 0.5`` on the
    anti-aliased rim."""
    inside = (coverage >= 0.5).astype(np.uint8)
    if not inside.any():
        return np.full(coverage.shape, -1e4, np.float32)
    if inside.all():
        return np.full(coverage.shape, 1e4, np.float32)
    d_in = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    d_out = cv2.distanceTransform(1 - inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # pixel centres sit half a pixel from the edge between an inside and an outside pixel
    sd = np.where(inside.astype(bool), d_in - 0.5, 0.5 - d_out)
    rim = (coverage > 0.0) & (coverage < 1.0)
    sd[rim] = coverage[rim] - 0.5
    return sd.astype(np.float32)


def feathered(sd: np.ndarray, feather: float, dilate: float = 0.0) -> np.ndarray:
    """Soft mask from a signed distance field: 1 at ``sd >= feather - dilate``, 0 at
    ``sd <= -feather - dilate`` (exactly), a smoothstep between. Units: pixels."""
    f = max(float(feather), 1e-3)
    t = np.clip((sd + np.float32(dilate)) * np.float32(0.5 / f) + np.float32(0.5), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def polygon_mask(
    shape: tuple[int, int], polygon: np.ndarray, *, feather: float = 1.0, dilate: float = 0.0
) -> np.ndarray:
    """Feathered mask of a polygon: (h, w) float32 in [0, 1].

    polygon: (N, 2) pixel coordinates in the mask's frame. The edge is moved outward by
    ``dilate`` pixels (negative: inward), then ramps from 1 to 0 over ``2 * feather`` pixels
    centred on it. Pixels farther than ``dilate + feather`` outside the polygon are exactly 0.
    """
    cov = polygon_coverage(shape, polygon)
    if feather <= 0 and dilate == 0:
        return cov
    return feathered(signed_distance(cov), feather, dilate)


def face_skin_mask(
    image: np.ndarray,
    points: np.ndarray,
    roi: Roi,
    *,
    iod: float,
    feather: float = 0.03,
    colour_gate: bool = True,
) -> np.ndarray:
    """Where the face's skin is, inside ``roi``: (h, w) float32 in [0, 1].

    image: the full (H, W, 3) uint8 RGB frame; points: its (478, 3) landmarks; iod: the
    inter-ocular distance in pixels (sizes below are fractions of it). The face oval
    (shrunk by ``feather``) minus the eye openings (grown 0.02) and the lips, feathered by
    ``feather`` x iod; with ``colour_gate`` also weighted by :func:`skin_likeness`, so hair
    over the forehead, glasses rims and background behind a loose oval are left alone.
    Exactly 0 outside the face oval. Faces with an IOD of 48 px or more are worked out at half
    resolution (the mask is smooth) and scaled up.
    """
    h, w = roi.shape
    xy = np.asarray(points, dtype=np.float32)[:, :2] - roi.offset
    ref = skin_reference(image, points, iod=iod) if colour_gate else None
    crop = image[roi.slices]
    if iod < 48 or min(h, w) < 16:
        return _skin_mask(crop, xy, iod, feather, colour_gate, ref, 0.0)
    hs, ws = (h + 1) // 2, (w + 1) // 2
    small = cv2.resize(crop, (ws, hs), interpolation=cv2.INTER_AREA)
    sx, sy = ws / w, hs / h
    xys = (xy + 0.5) * np.array([sx, sy], np.float32) - 0.5
    # one more half-resolution pixel inside the oval: scaling up blurs the edge by that much
    m = _skin_mask(small, xys, iod * 0.5 * (sx + sy), feather, colour_gate, ref, 1.0)
    return cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)


def _skin_mask(
    crop: np.ndarray,
    xy: np.ndarray,
    iod: float,
    feather: float,
    colour_gate: bool,
    ref: SkinReference | None,
    shrink: float,
) -> np.ndarray:
    """face_skin_mask on a crop with landmarks ``xy`` (478, 2) in its pixels."""
    h, w = crop.shape[:2]
    f = max(1.0, feather * iod)
    mask = polygon_mask((h, w), xy[list(regions.FACE_OVAL)], feather=f, dilate=-f - shrink)
    for poly, grow in (
        (regions.RIGHT_EYE, 0.02),
        (regions.LEFT_EYE, 0.02),
        (regions.LIPS_OUTER, 0.0),
    ):
        # each hole is drawn in its own small box: the distance transform stays cheap
        dil = grow * iod + 0.4 * f + shrink
        sub = roi_around(xy[list(poly)], (h, w), dil + 0.4 * f + 2.0)
        if sub.empty:
            continue
        hole = polygon_mask(sub.shape, xy[list(poly)] - sub.offset, feather=0.4 * f, dilate=dil)
        mask[sub.slices] *= 1.0 - hole
    if colour_gate:
        mask *= skin_likeness(crop, xy, iod=iod, ref=ref)
    return mask.astype(np.float32)


_SKIN_SAMPLES: tuple[int, ...] = tuple(
    sorted(set(regions.RIGHT_CHEEK) | set(regions.LEFT_CHEEK) | {6, 197, 195, 5})
)
"""Landmarks that sit on bare skin on almost every face (cheeks, nose bridge; not the forehead,
which fringes of hair often cover)."""


@dataclass(frozen=True, eq=False)
class SkinReference:
    """The face's own skin, sampled at :data:`_SKIN_SAMPLES`: median YCrCb (3,), its median
    absolute deviation (3,), and the median local standard deviation of luminance (texture)."""

    ycc: np.ndarray
    spread: np.ndarray
    texture: float


def skin_reference(image: np.ndarray, points: np.ndarray, *, iod: float) -> SkinReference | None:
    """Sample the skin of a face: image (H, W, 3) uint8 RGB, points (478, 3). None if fewer than
    5 sample points fall inside the image."""
    h, w = image.shape[:2]
    pts = np.round(np.asarray(points, dtype=np.float32)[list(_SKIN_SAMPLES), :2]).astype(int)
    r = max(1, round(0.025 * iod))  # patch half-size: ~0.05 IOD across
    ok = (pts[:, 0] >= r) & (pts[:, 0] < w - r) & (pts[:, 1] >= r) & (pts[:, 1] < h - r)
    if ok.sum() < 5:
        return None
    pts = pts[ok]
    d = np.arange(-r, r + 1)
    yy = pts[:, 1, None, None] + d[None, :, None]
    xx = pts[:, 0, None, None] + d[None, None, :]
    patches = image[yy, xx].reshape(len(pts), -1, 3)  # (n, k*k, 3)
    ycc = cv2.cvtColor(patches.astype(np.uint8), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    samp = np.median(ycc, axis=1)
    ref = np.median(samp, axis=0)
    spread = np.median(np.abs(samp - ref), axis=0)
    texture = float(np.median(ycc[..., 0].std(axis=1)))
    return SkinReference(ref.astype(np.float32), spread.astype(np.float32), texture)


def skin_likeness(
    image_roi: np.ndarray, xy_roi: np.ndarray, *, iod: float, ref: SkinReference | None
) -> np.ndarray:
    """How skin-like each pixel of a face crop is: (h, w) float32 in [0, 1].

    image_roi: (h, w, 3) uint8 RGB; xy_roi: (478, 2+) landmarks in the crop's frame; iod in
    the crop's pixels; ref: from :func:`skin_reference` (None: everything counts as skin). A
    pixel is skin when its chroma is near the reference's, it is not far darker (dark hair,
    rims, shadows of glasses) and, above the brows, about as smooth as the sampled skin (a
    fringe of hair is not; below the brows the face's own folds are textured too, so texture is
    not used there). Above the brows a pixel is also skin only as far as the pixels between it
    and the brows are (a fringe hangs down from the hairline).
    """
    h, w = image_roi.shape[:2]
    if ref is None:
        return np.ones((h, w), dtype=np.float32)
    ycc = cv2.cvtColor(image_roi, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    tol = np.maximum(ref.spread[1:] * 3.0, 5.0)
    c = (ycc[..., 1:] - ref.ycc[1:]) / tol
    dist2 = c[..., 0] * c[..., 0] + c[..., 1] * c[..., 1]
    chroma = np.clip(2.0 - np.sqrt(dist2), 0.0, 1.0)  # 1 within one tolerance, 0 beyond two
    y = ycc[..., 0]
    # dark hair, glasses rims -> 0
    luma = np.clip((y - 0.35 * ref.ycc[0]) / (0.25 * ref.ycc[0] + 1e-3), 0.0, 1.0)
    gate = chroma * luma
    # "above the brows": per image column, from a little above the brows' upper edge upward
    # (columns, not the face's axis: fine for the usual small head roll)
    xy = np.asarray(xy_roi, dtype=np.float32)[:, :2]
    brow = xy[list(regions.RIGHT_BROW_UPPER + regions.LEFT_BROW_UPPER)]
    brow = brow[np.argsort(brow[:, 0])]
    top = np.interp(np.arange(w, dtype=np.float32), brow[:, 0], brow[:, 1]) - 0.03 * iod
    above = np.clip(
        (top[None, :] - np.arange(h, dtype=np.float32)[:, None]) / (0.08 * iod), 0.0, 1.0
    )
    rows = int(np.clip(np.ceil(top.max()), 0, h))  # rows 0..rows-1 can be above the brows
    if rows > 0:
        a = above[:rows]
        k = max(3, round(0.05 * iod) | 1)
        yt = y[:rows]
        yb = cv2.blur(yt, (k, k))
        std = np.sqrt(np.maximum(cv2.blur(yt * yt, (k, k)) - yb * yb, 0.0))
        lim = 2.0 * ref.texture + 3.0
        smooth = np.clip(2.0 - std / lim, 0.0, 1.0)  # 1 up to lim, 0 at twice that
        gate[:rows] *= 1.0 - a + a * smooth
    out = cv2.GaussianBlur(gate, (0, 0), max(0.8, 0.01 * iod))
    if rows > 0:
        # running minimum up each column of a more strongly smoothed copy, from the brows
        soft = cv2.GaussianBlur(
            out[: min(h, rows + 2 * max(1, round(0.03 * iod)))], (0, 0), max(1.0, 0.03 * iod)
        )[:rows]
        a = above[:rows]
        soft[a <= 0.0] = 1.0
        run = np.clip(np.minimum.accumulate(soft[::-1], axis=0)[::-1] / 0.8, 0.0, 1.0)
        out[:rows] *= 1.0 - a + a * run
    return out.astype(np.float32)
