"""A real mouth interior for lips that a warp has parted: the subject's own teeth.

A geometric warp that opens the lips stretches lip pixels over the opening (a smear), and a
flat dark fill looks grotesque. Instead, the subject's own open mouth is cut once from the
best frame of their video (:func:`select_donor`: widest inner-lip gap with the most teeth,
eyes open) and re-mapped into every new opening (:func:`render_mouth`):

* the donor mouth is split where its upper row of teeth ends; the upper part rides the new
  upper inner lip and the lower part the new lower inner lip, each at the face's own scale
  downwards, so teeth are *cropped* when the new opening is smaller, never squashed; across
  the mouth the teeth keep their scale too, or stretch by at most ``MAX_STRETCH`` when the
  new mouth is wider than the donor's;
* where the new opening is wider or taller than the donor's, or the donor is dark (no lower
  teeth showing), a shaded cavity shows: dark but warm flesh (the donor's cavity colour,
  half lip-derived red, not black when the mouth is wide open), darkest under the upper lip
  and in the corners, lighter toward the lower lip with a tongue tone when open wide, turning
  toward the lips' shadowed colour near the outline;
* the result is blended in with a soft mask of the new inner-lip polygon, brightness
  matched to the frame through the lips' own luminance.

Without a usable donor (no open-mouthed frame, or no teeth in it) a shaded cavity is drawn.
Styles choose what shows: ``"teeth"`` (both rows; happiness, disgust), ``"lower_teeth"`` (the
lower row only, under a dark upper cavity; fear, surprise) and ``"cavity"`` (no teeth).

Coordinates: landmarks are (478, 3) float32 pixels (x right, y down), see
:mod:`emoshift.face.landmarks`; distances in docs are in inter-ocular distances (IOD).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from emoshift.face import regions
from emoshift.face.landmarks import eye_openness, head_pose, inter_ocular
from emoshift.face.masks import (
    feathered,
    polygon_coverage,
    polygon_mask,
    roi_around,
    signed_distance,
)

MouthStyle = Literal["teeth", "cavity", "lower_teeth"]

_UPPER = np.array(regions.LIPS_INNER_UPPER)
_LOWER = np.array(regions.LIPS_INNER_LOWER)
_INNER = np.array(regions.LIPS_INNER)
_OUTER = np.array(regions.LIPS_OUTER)
_EYE_CORNERS = np.array(regions.RIGHT_EYE_CORNERS + regions.LEFT_EYE_CORNERS)
_GAP_PAIRS = (np.array([81, 82, 13, 312, 311]), np.array([178, 87, 14, 317, 402]))

# Thresholds (fractions of the IOD unless stated).
TEETH_V_MIN = 150
"""Teeth pixels: HSV value above this (OpenCV 0..255 scale)..."""
TEETH_S_MAX = 90
"""...and saturation below this (0..255): bright and nearly white."""
TEETH_REL_LUMA = 1.25
TEETH_REL_SAT = 0.8
"""...or, for dim or tinted footage, luminance above 1.25x and saturation below 0.8x the lips' medians."""
MIN_DONOR_GAP = 0.06
"""A donor's inner lips must be at least this far apart (mean of the 5 central pairs)."""
MIN_TEETH_FRACTION = 0.06
"""A donor shows teeth when at least this fraction of its opening is teeth-coloured."""
MAX_STRETCH = 1.4
"""A mouth wider than the donor's stretches the teeth across by at most this factor (a
smile's corners beyond the donor's teeth show cavity)."""
CAVITY_MAX_LUMA = 0.5
"""The cavity's base colour is at most this bright, relative to the lips' median luminance..."""
CAVITY_MIN_LUMA = 0.28
"""...and at least this bright: a real open mouth is dark but never black (a donor whose
darkest pixels are black would otherwise paint a hole)."""
DARK_MAX_LUMA = 0.4
"""...for a narrow opening the cap is this (the face mesh re-detects a talking mouth's
opening by its dark interior: a lighter one lowered the lip-sync correlation)."""
LIT_GAP = (0.08, 0.25)
"""Mean inner-lip gaps (IOD) between which the cavity's luminance range widens from
[0, DARK_MAX_LUMA] to [CAVITY_MIN_LUMA, CAVITY_MAX_LUMA] of the lips' luminance."""
CAVITY_WARMTH = 0.5
"""Share of the cavity's base colour taken from a warm, lip-derived red of the same luminance
(the inside of the mouth is flesh in shadow, not a grey hole)."""
RIM = 0.03
"""Inside the opening, within this distance (IOD) of the inner-lip outline, the interior turns
toward the lips' shadowed inner faces: lighter and warmer near the lips, soft against them."""
CORNER_FADE = 0.05
"""Where the opening is narrower than this (IOD, at least 2 px) the interior fades out."""
N_SPLIT = 16
"""Positions across the donor's mouth at which the split between its rows of teeth is kept."""
CLOSED_GAP = 0.012
"""Inner lips whose widest gap is below this count as closed: nothing is drawn."""
OPEN_GAP = 0.035
"""The new interior fades in between CLOSED_GAP and this widest gap."""
CHANGE_FULL = 0.03
"""How far (widest per-point change of the inner-lip gap) the warp must move the lips from
the source's for the interior to be fully replaced; below that the warped source interior,
which is real, shows through in proportion (so an unchanged mouth stays unchanged)."""


@dataclass(frozen=True, eq=False)
class MouthDonor:
    """The subject's own open mouth, cut once from the best frame of a video.

    image: (h, w, 3) uint8 RGB crop around the donor frame's mouth.
    points: (478, 3) float32 landmarks of the donor frame in crop coordinates.
    teeth_fraction: fraction in [0, 1] of the inner-lip opening that is teeth-coloured.
    gap: mean inner-lip gap divided by the inter-ocular distance.
    cavity_colour: (3,) uint8 RGB, median of the darkest 15% of the opening.
    has_teeth: whether enough teeth show to paste them (else a shaded cavity is drawn).
    frame_index: index of the donor frame in the sequence it was chosen from (-1 if unknown).
    lip_luma: median luminance (0..255) of the donor's lips, to match brightness.
    split: (N_SPLIT,) float32, where the upper row of teeth ends and the lower row begins,
        as a fraction of the opening from the upper lip (0) to the lower lip (1), at N_SPLIT
        evenly spaced positions from corner 78 to corner 308 (the darkest band between the
        rows; 0.5 everywhere when unknown).
    """

    image: np.ndarray
    points: np.ndarray
    teeth_fraction: float
    gap: float
    cavity_colour: np.ndarray
    has_teeth: bool
    frame_index: int = -1
    lip_luma: float = float("nan")
    split: np.ndarray | None = None


# --- measuring mouths --------------------------------------------------------------------------
def inner_gap(points: np.ndarray) -> np.ndarray:
    """Mean inner-lip gap over the 5 central point pairs, in IOD: (478, 3) -> float array (),
    (T, 478, 3) -> (T,) (NaN where no face)."""
    p = np.asarray(points, dtype=np.float32)
    d = np.linalg.norm(p[..., _GAP_PAIRS[0], :2] - p[..., _GAP_PAIRS[1], :2], axis=-1).mean(axis=-1)
    return d / np.maximum(np.asarray(inter_ocular(p)), 1e-6)


def _iod(points: np.ndarray) -> float:
    """Inter-ocular distance of one (478, 3) face in pixels (as landmarks.inter_ocular, cheaper)."""
    p = points[_EYE_CORNERS, :2].astype(np.float64)
    return float(np.hypot(*(0.5 * (p[2] + p[3] - p[0] - p[1]))))


def _luma(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _opening_stats(image: np.ndarray, points: np.ndarray) -> tuple[float, np.ndarray, int]:
    """(teeth fraction, cavity colour (3,) uint8, opening pixel count) of a frame's inner-lip opening."""
    roi = roi_around(points[_OUTER], image.shape, 2)
    if roi.empty:
        return 0.0, np.zeros(3, np.uint8), 0
    crop = image[roi.slices]
    # half a pixel inward so lip pixels on the rim are not counted
    inside = (
        polygon_mask(roi.shape, points[_INNER, :2] - roi.offset, feather=0.5, dilate=-1.0) > 0.5
    )
    n = int(inside.sum())
    if n < 6:
        return 0.0, np.zeros(3, np.uint8), n
    pix = crop[inside]
    hsv = cv2.cvtColor(pix.reshape(-1, 1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    teeth = (hsv[:, 2] > TEETH_V_MIN) & (hsv[:, 1] < TEETH_S_MAX)
    _, lip_y, lip_s = _lip_stats(image, points)
    # dim or tinted footage: teeth are much lighter and less saturated than the lips
    teeth |= (_luma(pix) > TEETH_REL_LUMA * lip_y) & (hsv[:, 1] < TEETH_REL_SAT * lip_s)
    y = _luma(pix)
    k = max(1, round(0.15 * n))
    dark = pix[np.argpartition(y, k - 1)[:k]]
    cavity = np.median(dark, axis=0).round().astype(np.uint8)
    return float(teeth.mean()), cavity, n


_LIP_PAIRS = (
    np.array(regions.LIPS_OUTER_UPPER[1:-1] + regions.LIPS_OUTER_LOWER[1:-1]),
    np.array(regions.LIPS_INNER_UPPER[1:-1] + regions.LIPS_INNER_LOWER[1:-1]),
)


def _lip_samples(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(54, 3) float32 RGB of the lips, sampled bilinearly at 1/4, 1/2 and 3/4 of the way
    from each outer lip point to its inner partner (cheap, and the same for every frame)."""
    xy = np.asarray(points, dtype=np.float32)[:, :2]
    o, i = xy[_LIP_PAIRS[0]], xy[_LIP_PAIRS[1]]
    f = np.array([0.25, 0.5, 0.75], np.float32)[:, None, None]
    q = (o[None] * (1.0 - f) + i[None] * f).reshape(1, -1, 2)
    return cv2.remap(
        image, q[..., 0], q[..., 1], interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )[0].astype(np.float32)


def _lip_stats(image: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(median lip RGB (3,) float32, median luminance, median HSV saturation 0..255)."""
    pix = _lip_samples(image, points)
    sat = cv2.cvtColor(pix.reshape(-1, 1, 3).astype(np.uint8), cv2.COLOR_RGB2HSV)[:, 0, 1]
    return np.median(pix, axis=0), float(np.median(_luma(pix))), float(np.median(sat))


def _screen(pts: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(candidate indices, widest first, at most k; gap (T,); frontality (T,)) of a track."""
    t = len(pts)
    valid = np.isfinite(pts).all(axis=(1, 2))
    if not valid.any():
        return np.zeros(0, np.int64), np.zeros(t), np.zeros(t)
    safe = np.where(valid[:, None, None], pts, pts[np.argmax(valid)])  # NaN rows -> any face
    gap = np.where(valid, inner_gap(safe), 0.0)
    eyes = np.where(valid, eye_openness(safe).min(axis=-1), 0.0)
    eyes_ok = eyes >= max(0.12, 0.7 * float(np.median(eyes[valid])))
    pose = head_pose(safe)
    # yaw from straight ahead; pitch from the clip's usual pitch (the mesh's pitch has an offset)
    turn = np.maximum(np.abs(pose[:, 0]), np.abs(pose[:, 1] - float(np.median(pose[valid, 1]))))
    frontal = np.where(valid, np.clip(1.0 - turn / 40.0, 0.0, 1.0), 0.0)
    ok = valid & eyes_ok & (gap >= MIN_DONOR_GAP) & (frontal > 0.0)
    if not ok.any():
        ok = valid & (gap >= MIN_DONOR_GAP)  # rather a blink than no mouth at all
    cand = np.flatnonzero(ok)
    return cand[np.argsort(-gap[cand], kind="stable")][:k], gap, frontal


def _check_track(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim != 3 or pts.shape[1:] != (regions.N_POINTS, 3):
        raise ValueError(f"points must be (T, {regions.N_POINTS}, 3), got {pts.shape}")
    return pts


def donor_candidates(points: np.ndarray, k: int = 40) -> np.ndarray:
    """Indices of the frames worth reading for :func:`select_donor`: (n,) int, n <= k, widest
    inner-lip gap first, from the landmarks alone.

    points: (T, 478, 3) track (NaN rows allowed). Frames with a face, the lips at least
    ``MIN_DONOR_GAP`` IOD apart, eyes open and a roughly frontal pose (as in
    :func:`select_donor`). Empty when no frame qualifies (then there is no donor). Use it to
    decode only those frames of a long video:
    ``idx = donor_candidates(track.points); donor = select_donor(read_frames(video, idx),
    track.points[idx]) if len(idx) else None``.
    """
    return _screen(_check_track(points), k)[0]


def select_donor(
    frames: Sequence[np.ndarray] | np.ndarray, points: np.ndarray, *, max_candidates: int = 40
) -> MouthDonor | None:
    """Choose the frame whose open mouth best shows the subject's teeth and cut it out.

    frames: (T, H, W, 3) uint8 RGB array or a sequence of T such frames. points: (T, 478, 3)
    float32 landmarks, NaN rows for frames without a face. Among frames with a face, both eyes
    open (at least 70% of the clip's median openness) and a roughly frontal pose (yaw and pitch
    change within 40 degrees), the score is inner-lip gap x (teeth fraction + 0.1) x
    (0.5 + 0.5 frontality), where teeth are pixels inside the inner lip with HSV V > 150 and
    S < 90, or (dim footage) luminance > 1.25x and saturation < 0.8x the lips' medians. Only
    the ``max_candidates`` widest-open frames are examined (one mouth crop each; see
    :func:`donor_candidates` to decode only those). Returns None when no frame opens the lips
    by at least ``MIN_DONOR_GAP`` IOD.
    """
    pts = _check_track(points)
    if len(frames) != len(pts):
        raise ValueError(f"{len(frames)} frames but {len(pts)} landmark rows")
    cand, gap, frontal = _screen(pts, max_candidates)
    if len(cand) == 0:
        return None
    best, best_score, best_stats = -1, -1.0, (0.0, np.zeros(3, np.uint8), 0)
    for i in cand:  # per frame, a few dozen at most; each looks at the mouth crop only
        frame = np.asarray(frames[i])
        stats = _opening_stats(frame, pts[i])
        score = float(gap[i]) * (stats[0] + 0.1) * (0.5 + 0.5 * float(frontal[i]))
        if score > best_score:
            best, best_score, best_stats = int(i), score, stats
    frame = np.asarray(frames[best])
    p = pts[best]
    iod = float(inter_ocular(p))
    roi = roi_around(p[_OUTER], frame.shape, 0.25 * iod)
    lip = _lip_stats(frame, p)[1]
    crop_pts = p.copy()
    crop_pts[:, :2] -= roi.offset
    teeth_fraction, cavity, _ = best_stats
    image = np.ascontiguousarray(frame[roi.slices])
    return MouthDonor(
        image=image,
        points=crop_pts,
        teeth_fraction=teeth_fraction,
        gap=float(gap[best]),
        cavity_colour=cavity,
        has_teeth=teeth_fraction >= MIN_TEETH_FRACTION,
        frame_index=best,
        lip_luma=lip,
        split=_teeth_split(image, crop_pts),
    )


def _teeth_split(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Where the upper row of teeth ends in a donor mouth: (N_SPLIT,) float32 fractions of the
    opening (0 = upper inner lip, 1 = lower inner lip), the darkest band between 0.25 and 0.85,
    smoothed across the mouth."""
    mf = _MouthFrame.of(points)
    nv = 32
    u = np.linspace(-mf.half, mf.half, N_SPLIT + 2)[1:-1]
    t = np.linspace(0.0, 1.0, nv)
    up, lo = mf.upper(u), mf.lower(u)
    vv = up[:, None] + t[None, :] * (lo - up)[:, None]
    uu = np.broadcast_to(u[:, None], vv.shape)
    mx = (mf.origin[0] + uu * mf.eu[0] + vv * mf.ev[0]).astype(np.float32)
    my = (mf.origin[1] + uu * mf.eu[1] + vv * mf.ev[1]).astype(np.float32)
    lum = _luma(
        cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    )
    lum = cv2.GaussianBlur(lum, (0, 0), sigmaX=0.8, sigmaY=1.5)
    band = (t >= 0.25) & (t <= 0.85)
    idx = np.argmin(np.where(band[None, :], lum, np.inf), axis=1)
    split = t[idx]
    # smooth across the mouth: a running median of 5 then a mean of 3
    pad = np.pad(split, 2, mode="edge")
    med = np.median(np.lib.stride_tricks.sliding_window_view(pad, 5), axis=1)
    return np.convolve(np.pad(med, 1, mode="edge"), np.ones(3) / 3.0, mode="valid").astype(
        np.float32
    )


# --- the mouth's own frame ---------------------------------------------------------------------
@dataclass(frozen=True)
class _MouthFrame:
    """Mouth-aligned coordinates: u along the inner corners (78 -> 308), v perpendicular (down)."""

    origin: np.ndarray  # (2,)
    eu: np.ndarray  # (2,) unit
    ev: np.ndarray  # (2,) unit
    uu: np.ndarray  # (11,) upper lip u, increasing
    vu: np.ndarray  # (11,) upper lip v
    ul: np.ndarray  # lower lip u, increasing
    vl: np.ndarray  # lower lip v
    half: float  # half the corner-to-corner width

    @staticmethod
    def of(points: np.ndarray) -> _MouthFrame:
        xy = np.asarray(points, dtype=np.float64)[:, :2]
        c0, c1 = xy[regions.INNER_CORNER_RIGHT], xy[regions.INNER_CORNER_LEFT]
        axis = c1 - c0
        width = max(float(np.hypot(*axis)), 1e-6)
        eu = axis / width
        ev = np.array([-eu[1], eu[0]])
        origin = 0.5 * (c0 + c1)
        up = (xy[_UPPER] - origin) @ np.stack([eu, ev], axis=1)
        lo = (xy[_LOWER] - origin) @ np.stack([eu, ev], axis=1)
        up = up[np.argsort(up[:, 0], kind="stable")]
        lo = lo[np.argsort(lo[:, 0], kind="stable")]
        return _MouthFrame(origin, eu, ev, up[:, 0], up[:, 1], lo[:, 0], lo[:, 1], 0.5 * width)

    def upper(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.uu, self.vu)

    def lower(self, u: np.ndarray) -> np.ndarray:
        return np.interp(u, self.ul, self.vl)

    def gap(self, u: np.ndarray) -> np.ndarray:
        return np.maximum(self.lower(u) - self.upper(u), 0.0)


def _pointwise_gap(points: np.ndarray) -> np.ndarray:
    """(9,) distances between matching inner upper / lower lip points (corners excluded), px."""
    p = np.asarray(points, dtype=np.float32)[:, :2]
    return np.linalg.norm(p[_UPPER[1:-1]] - p[_LOWER[1:-1]], axis=-1)


_CR = np.array([[0, 2, 0, 0], [-1, 0, 1, 0], [2, -5, 4, -1], [-1, 3, -3, 1]], np.float64) * 0.5


def smooth_closed(points: np.ndarray, per_segment: int = 4) -> np.ndarray:
    """A closed outline through ``points`` ((N, 2)) as a Catmull-Rom spline: (N * per_segment, 2).
    A large opening drawn straight between 20 landmarks looks cut with scissors."""
    n = len(points)
    t = np.arange(per_segment, dtype=np.float64) / per_segment
    basis = np.stack([np.ones_like(t), t, t * t, t * t * t], axis=1) @ _CR  # (per_segment, 4)
    # (n, 4): the neighbours of each segment
    idx = (np.arange(n)[:, None] + np.arange(-1, 3)[None, :]) % n
    return np.einsum("sk,nkd->nsd", basis, points[idx]).reshape(-1, points.shape[1])


def _smoothstep(x: np.ndarray | float) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --- drawing -----------------------------------------------------------------------------------
def _shaded_cavity(
    u: np.ndarray,
    t: np.ndarray,
    half: float,
    gap_iod: float,
    base: np.ndarray,
    tongue: np.ndarray,
    corner: np.ndarray | None = None,
) -> np.ndarray:
    """Colour of an empty mouth: (…, 3) float32 RGB.

    u: across the mouth (px from its centre, |u| <= half); t: 0 at the upper inner lip, 1 at the
    lower; gap_iod: how wide the opening is. Darkest under the upper lip (its shadow), a little
    lighter toward the lower lip, with a hint of tongue when the mouth is open wide. corner:
    (3,) RGB the outer fifth of the mouth turns toward (the lips' shadowed inner faces where
    they meet; a near-black cavity there showed as dark blots at the corners of a smile).
    """
    s = np.clip(np.abs(u) / max(half, 1e-6), 0.0, 1.0)
    # back and top (under the upper teeth) darkest, the floor of the mouth lit from the front
    shade = (0.66 + 0.6 * _smoothstep((t - 0.1) / 0.85)) * (1.0 - 0.25 * s**3)
    col = base[None, :] * shade[..., None]
    w_tongue = (
        0.75 * _smoothstep((t - 0.42) / 0.45) * (1.0 - s**2) * _smoothstep((gap_iod - 0.06) / 0.16)
    )[..., None]
    col = col * (1.0 - w_tongue) + tongue[None, :] * (shade[..., None] * w_tongue)
    if corner is not None:
        w_c = (0.7 * _smoothstep((s - 0.65) / 0.3))[..., None]
        col = col * (1.0 - w_c) + corner[None, :] * w_c
    return col


def _warm(cavity: np.ndarray, lip: np.ndarray) -> np.ndarray:
    """The cavity colour with ``CAVITY_WARMTH`` of it replaced by a lip-derived dark red of the
    same luminance: (3,) float32 RGB."""
    red = np.asarray(lip, np.float32) * np.array([1.0, 0.62, 0.6], np.float32)
    red *= np.float32(float(_luma(cavity)) / max(float(_luma(red)), 1.0))
    return (cavity * (1.0 - CAVITY_WARMTH) + red * CAVITY_WARMTH).astype(np.float32)


def _estimate_cavity_colour(lip: np.ndarray, lip_y: float) -> tuple[np.ndarray, np.ndarray]:
    """(cavity, tongue) RGB float32: the cavity from the lips' colour (used without a donor),
    the tongue a muted pink at about 60% of the lips' luminance (lipstick must not colour it)."""
    tongue = np.array([0.80, 0.46, 0.44], np.float32) * np.float32(1.1 * lip_y)
    return lip * np.array([0.30, 0.17, 0.17], np.float32), tongue


def render_mouth(
    image: np.ndarray,
    src_points: np.ndarray,
    dst_points: np.ndarray,
    donor: MouthDonor | None,
    style: MouthStyle = "teeth",
) -> np.ndarray:
    """Paint a mouth interior into the inner-lip opening of an already-warped frame.

    image: (H, W, 3) uint8 RGB, the frame after the expression / viseme warp.
    src_points: (478, 3) landmarks before the warp; dst_points: (478, 3) landmarks after it
    (the geometry of ``image``). donor: from :func:`select_donor` (None: shaded cavity only).
    style: ``"teeth"``, ``"lower_teeth"`` or ``"cavity"``.

    Returns a new (H, W, 3) uint8 RGB frame, or ``image`` itself when nothing is drawn: when the
    inner lips are closed in ``dst_points`` (widest gap < ``CLOSED_GAP`` IOD) or the warp left
    them where they were in ``src_points`` (then the frame's own, real interior is kept; the
    replacement grows in with the change, reaching full strength at ``CHANGE_FULL`` IOD).
    Only pixels within a few pixels of the inner-lip polygon of ``dst_points`` change. NaN
    landmarks (no face) also return ``image``. Raises ValueError for an unknown style.
    """
    if style not in ("teeth", "cavity", "lower_teeth"):
        raise ValueError(f"style must be 'teeth', 'cavity' or 'lower_teeth', not {style!r}")
    dst = np.asarray(dst_points, dtype=np.float32)
    src = np.asarray(src_points, dtype=np.float32)
    if not (np.isfinite(dst[:, :2]).all() and np.isfinite(src[:, :2]).all()):
        return image
    iod = _iod(dst)
    if iod <= 1.0:
        return image
    gaps = _pointwise_gap(dst)
    widest = float(gaps.max()) / iod
    change = float(np.abs(gaps - _pointwise_gap(src)).max()) / iod
    strength = float(_smoothstep((widest - CLOSED_GAP) / (OPEN_GAP - CLOSED_GAP))) * float(
        _smoothstep(change / CHANGE_FULL)
    )
    if strength <= 0.0:
        return image

    feather = max(0.6, 0.01 * iod)
    roi = roi_around(dst[_INNER], image.shape, 2.0 * feather + 2.0)
    if roi.empty:
        return image
    h, w = roi.shape
    mf = _MouthFrame.of(dst)
    # pixel grid of the box in mouth coordinates
    ys, xs = np.mgrid[roi.y0 : roi.y1, roi.x0 : roi.x1].astype(np.float32)
    dx, dy = xs - np.float32(mf.origin[0]), ys - np.float32(mf.origin[1])
    u = dx * np.float32(mf.eu[0]) + dy * np.float32(mf.eu[1])
    v = dx * np.float32(mf.ev[0]) + dy * np.float32(mf.ev[1])
    up_v = mf.upper(u).astype(np.float32)
    lo_v = mf.lower(u).astype(np.float32)
    gap_px = np.maximum(lo_v - up_v, 1e-3)
    t = np.clip((v - up_v) / gap_px, 0.0, 1.0)

    crop = image[roi.slices].astype(np.float32)
    lip, lip_y, _ = _lip_stats(image, dst)
    cavity, tongue = _estimate_cavity_colour(lip, lip_y)
    gap_iod = float(inner_gap(dst))
    # a narrow (talking) opening lets little light in and stays dark; a wide one is lit deeper
    lit = float(_smoothstep((gap_iod - LIT_GAP[0]) / (LIT_GAP[1] - LIT_GAP[0])))
    if donor is not None:
        cavity = np.maximum(donor.cavity_colour.astype(np.float32), 1.0)  # black has no hue
        # an opening that is mostly teeth has no truly dark pixels: its "darkest 15%" are the
        # lips' shadowed rims; keep the cavity well below the lips' brightness, but not black
        ref = donor.lip_luma if np.isfinite(donor.lip_luma) else lip_y
        luma = max(float(_luma(cavity)), 1.0)
        lo, hi = lit * CAVITY_MIN_LUMA, DARK_MAX_LUMA + lit * (CAVITY_MAX_LUMA - DARK_MAX_LUMA)
        target = float(np.clip(luma, lo * ref, hi * ref))
        cavity = cavity * np.float32(target / luma)
    cavity = _warm(cavity, lip)
    fill = _shaded_cavity(
        u, t, mf.half, gap_iod, cavity, tongue, corner=np.asarray(lip, np.float32) * 0.5
    )

    use_donor = donor is not None and donor.has_teeth and style != "cavity"
    if use_donor:
        assert donor is not None
        gain = 1.0
        if np.isfinite(donor.lip_luma) and donor.lip_luma > 1.0:
            gain = float(np.clip(lip_y / donor.lip_luma, 0.75, 1.33))
        fill = _donor_fill(
            mf, u, v, up_v, lo_v, iod, donor, fill, gain=gain, lower_only=style == "lower_teeth"
        )

    outline = smooth_closed(dst[_INNER, :2].astype(np.float64)) - roi.offset
    cover = polygon_coverage((h, w), outline)
    sd = signed_distance(cover)
    # near the lips the interior is their shadowed inner face: lighter and warmer, so the
    # opening grades into the lips instead of ending at a hard dark edge
    rim = np.asarray(lip, np.float32) * np.float32(0.55)
    w_rim = (
        (0.15 + 0.35 * lit) * (1.0 - _smoothstep(sd / np.float32(max(1.5, RIM * iod))))
    ).astype(np.float32)
    fill = fill + (rim[None, None, :] - fill) * w_rim[..., None]
    # a soft edge: zero 1.5 feathers outside the outline (as before), full 1.5 feathers inside
    alpha = feathered(sd, 1.5 * feather)
    # toward the corners the opening narrows to nothing: there the lips shade into each other
    # rather than end at a dark dot (the opening's height per image column: robust to any shape)
    height = cover.sum(axis=0)
    alpha *= _smoothstep(height / np.float32(max(2.0, CORNER_FADE * iod))).astype(np.float32)[
        None, :
    ]
    alpha *= np.float32(strength)
    out = crop + (fill - crop) * alpha[..., None]
    result = image.copy()
    result[roi.slices] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return result


def _donor_fill(
    mf: _MouthFrame,
    u: np.ndarray,
    v: np.ndarray,
    up_v: np.ndarray,
    lo_v: np.ndarray,
    iod: float,
    donor: MouthDonor,
    cavity_fill: np.ndarray,
    *,
    gain: float,
    lower_only: bool,
) -> np.ndarray:
    """The donor's mouth re-mapped into the new opening, over ``cavity_fill`` where it has none."""
    dmf = _MouthFrame.of(donor.points)
    k = _iod(donor.points) / iod  # donor pixels per frame pixel
    # Across the mouth the teeth keep the face's scale (a narrower mouth crops them) but a
    # wider one stretches them by up to MAX_STRETCH before the corners show cavity.
    k_u = min(k, max(dmf.half / max(mf.half, 1e-6), k / MAX_STRETCH))
    ud = u * np.float32(k_u)
    d_up = (v - up_v) * np.float32(k)  # distance below the new upper lip, in donor pixels
    d_lo = (lo_v - v) * np.float32(k)  # distance above the new lower lip
    dup_v = dmf.upper(ud).astype(np.float32)
    dlo_v = dmf.lower(ud).astype(np.float32)
    dgap = np.maximum(dlo_v - dup_v, 0.0)
    if donor.split is not None and len(donor.split) > 1:
        su = np.linspace(-dmf.half, dmf.half, len(donor.split) + 2)[1:-1]
        split = np.interp(ud, su, donor.split).astype(np.float32)
    else:
        split = np.float32(0.5)
    # the new opening splits between the rows at the same fraction as the donor's
    upper_half = d_up <= split * (d_up + d_lo)
    vd = np.where(upper_half, dup_v + d_up, dlo_v - d_lo)
    depth = np.where(upper_half, d_up, d_lo)
    room = np.where(upper_half, split, 1.0 - split) * dgap
    # the donor has content at this depth while it stays on its own side of its split and
    # inside its corners; a short ramp hands over to the cavity beyond
    ramp = np.float32(max(1.0, 0.02 * k * iod))
    inside_u = _smoothstep((dmf.half - np.abs(ud)) / ramp)
    valid = _smoothstep((room - depth) / ramp + 0.5) * inside_u
    if lower_only:
        valid = np.where(upper_half, 0.0, valid)
    mx = (dmf.origin[0] + ud * dmf.eu[0] + vd * dmf.ev[0]).astype(np.float32)
    my = (dmf.origin[1] + ud * dmf.eu[1] + vd * dmf.ev[1]).astype(np.float32)
    sample = cv2.remap(
        donor.image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    ).astype(np.float32)
    sample *= np.float32(gain)
    # the donor's own dark gaps (no lower teeth showing, the cavity between the rows) are no
    # darker than the shaded cavity: a plausible floor of the mouth instead of a black slot
    sample = np.maximum(sample, cavity_fill)
    valid = valid.astype(np.float32)[..., None]
    return cavity_fill * (1.0 - valid) + sample * valid
