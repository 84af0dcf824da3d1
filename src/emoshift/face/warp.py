"""A smooth, fold-free image warp driven by landmark displacements, confined to the face.

The warp is a thin-plate spline (TPS) displacement field fitted to the control landmarks
(their new positions -> their old positions: a *backward* map, as ``cv2.remap`` needs), with
zero-displacement anchors on a ring outside the face oval and on the border of the face's
region of interest (ROI). The field is evaluated on a coarse grid (``grid_step`` pixels),
tapered to exactly zero at the ROI border, upsampled bilinearly and applied with
``cv2.remap`` inside the ROI only: every pixel outside the ROI is untouched, bit for bit.

Folds (the warp turning the image inside out where points cross) show as a non-positive
Jacobian determinant of the map; :func:`jacobian_min` measures it on the grid and
:func:`warp_face` shrinks the displacements until it stays above ``min_jacobian``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from emoshift.face import regions
from emoshift.face.landmarks import inter_ocular

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarpConfig:
    """Settings of :func:`warp_face`.

    grid_step: spacing in pixels of the grid the spline is evaluated on (then upsampled).
    ring: the anchor ring's distance outside the face oval, in IOD.
    roi_margin: ROI margin beyond the ring, in IOD (the taper to zero happens here).
    regularization: TPS smoothing of the moving control points (0 = exact interpolation; the
        identity points and anchors are always exact). A little (1e-3, in IOD units) stops the spline overshooting between lip points that close on
        each other, which otherwise folded the warp and shrank pressed-lip anger.
    min_jacobian: smallest allowed Jacobian determinant; below it the displacements shrink.
    face_margin: the field fades to exactly zero between the face oval and the oval grown by
        this much (IOD), so hair, ears, neck and background stay as they were.
    local_tries / local_radius: a would-be fold first shrinks (x0.8 per try, at most
        ``local_tries`` times) only the landmarks within ``local_radius`` IOD of it; then, if
        needed, all displacements shrink alike.
    mouth_midlines: add :func:`mouth_midlines` control points (only with all 478 points).
    min_jacobian_mouth: the smallest Jacobian allowed inside the new mouth opening (the
        source's slit stretched open there: small but positive; the mouth module repaints it).
    """

    grid_step: int = 8
    ring: float = 0.3
    roi_margin: float = 0.15
    regularization: float = 1e-3
    min_jacobian: float = 0.1
    face_margin: float = 0.08
    local_tries: int = 12
    local_radius: float = 0.12
    mouth_midlines: bool = True
    min_jacobian_mouth: float = 1e-4


@dataclass(frozen=True)
class WarpResult:
    """image: (H, W, 3) uint8 warped frame; dst_points: (478, 3) float32 landmarks actually
    used (shrunk if folds had to be avoided); field: (gh, gw, 2) float32 backward displacement
    on the coarse grid (pixels); roi: (x0, y0, x1, y1) box that was warped; jacobian_min: the
    field's smallest Jacobian determinant; scale: the smallest share of its displacement any control point kept;
    taper: (h, w) face weight over the ROI and field_untapered: the coarse field before it (so
    ``dense_field(field_untapered, roi, step, taper)`` is the exact per-pixel map applied)."""

    image: np.ndarray
    dst_points: np.ndarray
    field: np.ndarray
    roi: tuple[int, int, int, int]
    jacobian_min: float
    scale: float
    taper: np.ndarray | None = None
    field_untapered: np.ndarray | None = None


def _tps_kernel(r2: np.ndarray) -> np.ndarray:
    """U(r) = r^2 log r^2 (0 at r = 0)."""
    return r2 * np.log(np.maximum(r2, 1e-20))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d2, 0.0)


class ThinPlateSpline:
    """2-D TPS interpolating values (N, 2) at centres (N, 2); coordinates normalised by ``unit``.

    regularization: smoothing, a scalar or one value per centre (0 = pass exactly through it).
    """

    def __init__(
        self,
        centers: np.ndarray,
        values: np.ndarray,
        unit: float = 1.0,
        regularization: float | np.ndarray = 0.0,
    ) -> None:
        c = np.asarray(centers, dtype=np.float64)
        self.origin = c.mean(axis=0)
        self.unit = float(unit)
        self.c = (c - self.origin) / self.unit
        n = len(self.c)
        k = _tps_kernel(_sq_dists(self.c, self.c))
        reg = np.broadcast_to(np.asarray(regularization, dtype=np.float64), (n,))
        if reg.any():
            k += np.diag(reg)
        p = np.hstack([np.ones((n, 1)), self.c])
        a = np.zeros((n + 3, n + 3))
        a[:n, :n] = k
        a[:n, n:] = p
        a[n:, :n] = p.T
        rhs = np.zeros((n + 3, values.shape[1]))
        rhs[:n] = values
        sol = np.linalg.solve(a, rhs)
        self.w = sol[:n]
        self.affine = sol[n:]

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        """Values at (M, 2) points -> (M, 2) float64."""
        x = (np.asarray(xy, dtype=np.float64) - self.origin) / self.unit
        return _tps_kernel(_sq_dists(x, self.c)) @ self.w + self.affine[0] + x @ self.affine[1:]


def jacobian_map(field: np.ndarray, step: float = 1.0) -> np.ndarray:
    """(h, w) Jacobian determinant of the map x -> x + field(x) at each grid node.

    field: (h, w, 2) displacement (dx, dy) in pixels sampled every ``step`` pixels (h, w >= 2).
    """
    f = np.asarray(field, dtype=np.float64)
    dfx_dy, dfx_dx = np.gradient(f[..., 0], step)
    dfy_dy, dfy_dx = np.gradient(f[..., 1], step)
    return (1.0 + dfx_dx) * (1.0 + dfy_dy) - dfx_dy * dfy_dx


def jacobian_min(field: np.ndarray, step: float = 1.0) -> float:
    """Smallest Jacobian determinant of the map x -> x + field(x).

    field: (h, w, 2) displacement (dx, dy) in pixels sampled every ``step`` pixels. A value
    <= 0 means the warp folds (the map is not one-to-one there); 1 means no local area change.
    """
    f = np.asarray(field, dtype=np.float64)
    if f.shape[0] < 2 or f.shape[1] < 2:
        return 1.0
    return float(jacobian_map(f, step).min())


_IDENTITY = np.array(regions.IDENTITY)
_INNER_UPPER = np.array(regions.LIPS_INNER_UPPER[1:-1])
_INNER_LOWER = np.array(regions.LIPS_INNER_LOWER[1:-1])
_MID_T = np.array([0.25, 0.5, 0.75])


def mouth_midlines(
    src: np.ndarray, dst: np.ndarray, min_gap: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Virtual control points across the mouth opening: (dst (M, 2), src (M, 2)) pixels.

    At 1/4, 1/2 and 3/4 of the way from each inner upper-lip point to its lower partner, in
    the new face and in the source, for the lip pairs that open (new gap > the source's and
    > ``min_gap`` pixels). They make the spline interpolate the opening linearly (the source's
    slit stretched to the new gap) instead of overshooting between lips that move apart,
    which folded the warp round every open mouth. Closing lips get none (the points would
    crowd into the shut line with very different values).
    """

    def between(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = p[_INNER_UPPER, :2].astype(np.float64)
        lo = p[_INNER_LOWER, :2].astype(np.float64)
        return u[None] + _MID_T[:, None, None] * (lo - u)[None], np.linalg.norm(lo - u, axis=1)

    d, gap_d = between(dst)
    s, gap_s = between(src)
    keep = (gap_d > gap_s) & (gap_d > min_gap)
    return d[:, keep].reshape(-1, 2), s[:, keep].reshape(-1, 2)


def mouth_opening_mask(
    dst: np.ndarray, roi: tuple[int, int, int, int], step: int, shape: tuple[int, int]
) -> np.ndarray:
    """(gh, gw) bool: grid nodes inside the new face's inner-lip polygon grown by one node (the
    mouth opening, which the mouth module repaints)."""
    poly = dst[list(regions.LIPS_INNER), :2].astype(np.float64) - np.array([roi[0], roi[1]])
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly / step * 4).astype(np.int32)], 1, shift=2)
    return cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(bool)


def _near_any(points: np.ndarray, cells: np.ndarray, radius: float) -> np.ndarray:
    """(N,) bool: which of ``points`` (N, 2) lie within ``radius`` of any of ``cells`` (M, 2)."""
    d2 = ((points[:, None, :] - cells[None, :, :]) ** 2).sum(-1)
    return d2.min(axis=1) <= radius * radius


def _interp_matrix(n_out: int, n_in: int, step: int) -> np.ndarray:
    """(n_out, n_in) linear-interpolation weights from grid nodes at 0, step, 2 step... to pixels."""
    t = np.arange(n_out, dtype=np.float64) / step
    i0 = np.clip(np.floor(t).astype(int), 0, n_in - 2)
    frac = t - i0
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    m[rows, i0] = 1.0 - frac
    m[rows, i0 + 1] = frac
    return m


def _ring(src: np.ndarray, iod: float, ring: float) -> np.ndarray:
    """Anchor points (M, 2): the face oval pushed ``ring`` IOD outward from the face centre."""
    oval = src[list(regions.FACE_OVAL[::2]), :2].astype(np.float64)
    center = src[:468, :2].mean(axis=0)
    v = oval - center
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
    return oval + v * ring * iod


def warp_roi(
    src_points: np.ndarray, shape: tuple[int, ...], config: WarpConfig = WarpConfig()
) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) box (exclusive ends, clipped to the image) that :func:`warp_face` may
    change for a face with landmarks ``src_points``; nothing outside it changes."""
    iod = float(inter_ocular(src_points))
    pts = _ring(np.asarray(src_points, dtype=np.float64), iod, config.ring + config.roi_margin)
    h, w = shape[:2]
    x0 = max(0, int(np.floor(pts[:, 0].min())))
    y0 = max(0, int(np.floor(pts[:, 1].min())))
    x1 = min(w, int(np.ceil(pts[:, 0].max())) + 1)
    y1 = min(h, int(np.ceil(pts[:, 1].max())) + 1)
    return x0, y0, x1, y1


def displacement_field(
    src_points: np.ndarray,
    dst_points: np.ndarray,
    control: np.ndarray,
    shape: tuple[int, ...],
    config: WarpConfig = WarpConfig(),
    *,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Backward displacement (dst pixel -> src pixel offset) on the coarse grid of the ROI.

    extra: optional (dst (M, 2), src (M, 2)) pixel positions of virtual control points (e.g.
    :func:`mouth_midlines`). Returns (field (gh, gw, 2) float64 pixels, roi). Grid node (i, j)
    sits at pixel (x0 + j * step, y0 + i * step); the field is exactly 0 on the ROI border.
    """
    src = np.asarray(src_points, dtype=np.float64)
    dst = np.asarray(dst_points, dtype=np.float64)
    iod = float(inter_ocular(src))
    roi = warp_roi(src, shape, config)
    x0, y0, x1, y1 = roi
    step = int(config.grid_step)
    gw = max(2, int(np.ceil((x1 - 1 - x0) / step)) + 1)
    gh = max(2, int(np.ceil((y1 - 1 - y0) / step)) + 1)
    ring = _ring(src, iod, config.ring)
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], dtype=np.float64)
    centers = np.vstack([dst[control, :2], ring, corners])
    values = np.vstack([src[control, :2] - dst[control, :2], np.zeros((len(ring) + 4, 2))])
    if extra is not None and len(extra[0]):
        centers = np.vstack([centers, extra[0]])
        values = np.vstack([values, extra[1] - extra[0]])
    # smoothing only where points move: the fixed identity points and anchors stay exact
    reg = np.zeros(len(centers))
    reg[: len(control)] = np.where(np.isin(control, _IDENTITY), 0.0, config.regularization)
    reg[len(control) + len(ring) + 4 :] = config.regularization
    tps = ThinPlateSpline(centers, values, unit=max(iod, 1.0), regularization=reg)
    gx = x0 + step * np.arange(gw, dtype=np.float64)
    gy = y0 + step * np.arange(gh, dtype=np.float64)
    xx, yy = np.meshgrid(gx, gy)
    fld = tps(np.stack([xx.ravel(), yy.ravel()], axis=1)).reshape(gh, gw, 2)
    # taper to exactly zero at the ROI border (over the roi_margin band)
    band = max(config.roi_margin * iod, 2.0 * step)
    dist = np.minimum.reduce([xx - x0, (x1 - 1) - xx, yy - y0, (y1 - 1) - yy])
    t = np.clip(dist / band, 0.0, 1.0)
    taper = t * t * (3.0 - 2.0 * t)
    return fld * taper[..., None], roi


def face_taper(
    src_points: np.ndarray, roi: tuple[int, int, int, int], margin_iod: float
) -> np.ndarray:
    """(h, w) float32 weight over the ROI: 1 inside the face oval, fading (smoothstep) to exactly 0
    at the oval grown by ``margin_iod`` IOD."""
    src = np.asarray(src_points, dtype=np.float64)
    iod = float(inter_ocular(src))
    x0, y0, x1, y1 = roi
    band = max(margin_iod * iod, 2.0)
    oval = src[list(regions.FACE_OVAL), :2] - np.array([x0, y0])
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(inside, [np.round(oval * 4).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=2)
    dist = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    t = np.clip(1.0 - dist / band, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def dense_field(
    field: np.ndarray,
    roi: tuple[int, int, int, int],
    step: int,
    taper: np.ndarray | None = None,
) -> np.ndarray:
    """The coarse backward ``field`` upsampled (bilinear) to every pixel of ``roi``, times
    ``taper`` ((h, w), see :func:`face_taper`) if given: (h, w, 2) float32 pixels."""
    x0, y0, x1, y1 = roi
    h, w = y1 - y0, x1 - x0
    my = _interp_matrix(h, field.shape[0], step)
    mx = _interp_matrix(w, field.shape[1], step)
    fx = (my @ field[..., 0] @ mx.T).astype(np.float32)
    fy = (my @ field[..., 1] @ mx.T).astype(np.float32)
    if taper is not None:
        fx *= taper
        fy *= taper
    return np.stack([fx, fy], axis=-1)


def apply_field(
    image: np.ndarray,
    field: np.ndarray,
    roi: tuple[int, int, int, int],
    step: int,
    taper: np.ndarray | None = None,
) -> np.ndarray:
    """Warp ``image`` inside ``roi`` with the coarse backward ``field`` (times the full-resolution
    ``taper`` (h, w) if given); a new array. Pixels outside ``roi`` are copied unchanged."""
    x0, y0, x1, y1 = roi
    dense = dense_field(field, roi, step, taper)
    map_x = np.arange(x0, x1, dtype=np.float32)[None, :] + dense[..., 0]
    map_y = np.arange(y0, y1, dtype=np.float32)[:, None] + dense[..., 1]
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(
        image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return out


def warp_face(
    image: np.ndarray,
    src_points: np.ndarray,
    dst_points: np.ndarray,
    *,
    control: np.ndarray | None = None,
    config: WarpConfig = WarpConfig(),
) -> WarpResult:
    """Move the face in ``image`` so landmarks ``src_points`` go to ``dst_points``.

    image: (H, W, 3) uint8 RGB; src_points, dst_points: (478, 3) float32 pixels. control:
    indices of the landmarks that drive the warp (default: all 478). Only the face ROI
    (:func:`warp_roi`) changes. If the map would fold (Jacobian determinant below
    ``config.min_jacobian``; ``config.min_jacobian_mouth`` inside the new mouth opening) the
    landmarks next to the fold are shrunk (x0.8 per try, ``config.local_tries`` times), then
    if needed all of them; the returned ``dst_points`` say what was used and ``scale`` is the
    smallest share of its displacement a control point kept.
    """
    src = np.asarray(src_points, dtype=np.float32)
    dst = np.asarray(dst_points, dtype=np.float32)
    ctrl = np.arange(regions.N_POINTS) if control is None else np.asarray(control)
    step = config.grid_step
    iod = max(float(inter_ocular(src)), 1.0)
    # Local shrinking: only the landmarks next to a fold lose displacement, so a lip that would
    # fold does not weaken the brows. Each try shrinks the points within ``local_radius`` of
    # the folding cells by x0.8; after ``local_tries`` the whole field shrinks (the old way).
    point_scale = np.ones(len(src), dtype=np.float64)
    taper = None
    for attempt in range(config.local_tries + 1):
        cur = (src + (dst - src) * point_scale[:, None].astype(np.float32)).astype(np.float32)
        extra = (
            mouth_midlines(src, cur, 0.03 * iod)
            if config.mouth_midlines and len(src) == regions.N_POINTS
            else None
        )
        full, roi = displacement_field(src, cur, ctrl, image.shape, config, extra=extra)
        if taper is None:
            taper = face_taper(src, roi, config.face_margin)
            rows = np.minimum(np.arange(full.shape[0]) * step, taper.shape[0] - 1)
            cols = np.minimum(np.arange(full.shape[1]) * step, taper.shape[1] - 1)
            grid_taper = taper[np.ix_(rows, cols)][..., None]
        det = jacobian_map(full * grid_taper, step)
        floor = np.full(det.shape, config.min_jacobian)
        if extra is not None:
            floor[mouth_opening_mask(cur, roi, step, det.shape)] = config.min_jacobian_mouth
        bad = det < floor
        if not bad.any() or attempt == config.local_tries:
            break
        by, bx = np.nonzero(bad)
        cells = np.stack([roi[0] + bx * step, roi[1] + by * step], axis=1).astype(np.float64)
        near = _near_any(cur[:, :2].astype(np.float64), cells, config.local_radius * iod)
        near &= np.linalg.norm(dst[:, :2] - src[:, :2], axis=1) > 1e-3
        if not near.any():
            break
        point_scale[near] *= 0.8
    raw = full
    full = raw * grid_taper  # what the image will see, for the fold check
    # The spline is linear in the displacements: shrinking them shrinks the field alike.
    scale = 1.0

    def margin(k: float) -> tuple[float, float]:
        d = jacobian_map(full * k, step) if min(full.shape[:2]) >= 2 else np.ones((1, 1))
        return float((d - floor).min()), float(d.min())

    slack, jmin = margin(1.0)
    while slack < 0.0 and scale > 0.05:
        log.debug("warp would fold (min Jacobian %.3f); shrinking displacements", jmin)
        scale *= 0.8
        slack, jmin = margin(scale)
    if slack < 0.0:  # pragma: no cover - a tiny field cannot fold
        scale, jmin = 0.0, 1.0
    fld = full * scale
    fld_raw = raw * scale
    out = apply_field(image, fld_raw, roi, step, taper)
    moved = point_scale * scale
    cur = (src + (dst - src) * moved[:, None].astype(np.float32)).astype(np.float32)
    scale = float(moved[ctrl].min())
    return WarpResult(
        out,
        cur,
        fld.astype(np.float32),
        roi,
        float(jmin),
        scale,
        taper,
        fld_raw.astype(np.float32),
    )
