"""Action-unit shading: the folds and lines an expression makes, drawn subtly on the skin.

Geometry alone (moving landmarks) cannot make a nasolabial fold deepen or a brow furrow: a
face network reads those as texture. Each active action unit adds soft luminance cues along
curves of the (already warped) face mesh:

=========  =======================================================  =======  ========
AU         cue                                                      sigma    darken
=========  =======================================================  =======  ========
6, 12      nasolabial folds (+ a lateral highlight), cheek raise    0.036    <= 0.22
6, 7       lower-lid line (infraorbital furrow)                     0.014    0.14
4          brow shadow below the lowered brows                      0.06     0.16
4          glabellar ("11") lines between the brows                 0.02     0.16
9          nose-bridge wrinkles (+ deeper nasolabial folds)         0.014    0.13
1, 2       forehead lines (AU1 centre, AU2 sides)                   0.014    0.16
=========  =======================================================  =======  ========

Widths (Gaussian sigma) are in inter-ocular distances (IOD), so cues scale with the face.
Each cue is an anti-aliased polyline, tapered at its ends, blurred; all cues of one width
share one canvas and one blur restricted to their bounding box. The frame's luminance is
multiplied by ``1 - dark + light`` under a skin mask (face oval without eyes and lips, gated
by skin colour), with the summed darkening softly capped at ``max_darken``: summed cues look
painted. Values come from the feasibility trial recorded in DESIGN.md; small faces get the
same cues, only smaller.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import cv2
import numpy as np

from emoshift.face import regions
from emoshift.face.masks import Roi, face_skin_mask, roi_around

_EYE_CORNERS = np.array(regions.RIGHT_EYE_CORNERS + regions.LEFT_EYE_CORNERS)
_SHIFT = 4
_SCALE = float(1 << _SHIFT)
MAX_LIGHTEN = 0.10
"""Soft cap of the summed highlights (fraction of luminance)."""


@dataclass(frozen=True)
class Cue:
    """One stroke: (M, 2) image pixels, (M,) amplitude in [0, 1] per vertex, width in IOD."""

    points: np.ndarray
    amplitude: np.ndarray
    sigma: float
    light: bool = False


# --- geometry helpers --------------------------------------------------------------------------
def _axes(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(ex, ey, iod): unit vector from the subject's right eye to the left (image right on a
    frontal face), the unit vector down the face, and the inter-ocular distance in pixels."""
    c = p[_EYE_CORNERS]
    d = 0.5 * (c[2] + c[3] - c[0] - c[1])
    iod = float(np.hypot(*d))
    ex = d / max(iod, 1e-6)
    ey = np.array([-ex[1], ex[0]])
    return ex, ey, iod


def _resample(poly: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) points evenly spaced along a polyline (a smooth-enough curve for short strokes)."""
    seg = np.hypot(*np.diff(poly, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 1e-9:
        return np.repeat(poly[:1], n, axis=0)
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, poly[:, 0]), np.interp(t, s, poly[:, 1])], axis=1)


def _bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 10) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


@functools.lru_cache(maxsize=64)
def _taper_cached(n: int, start: float, end: float) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)
    a = np.clip(t / max(start, 1e-6), 0, 1)
    b = np.clip((1 - t) / max(end, 1e-6), 0, 1)
    out = (a * a * (3 - 2 * a)) * (b * b * (3 - 2 * b))
    out.flags.writeable = False
    return out


def _taper(n: int, start: float = 0.15, end: float = 0.15) -> np.ndarray:
    """(n,) 0 -> 1 -> 0 profile: smooth rise over the first ``start`` and fall over the last ``end`` fraction."""
    return _taper_cached(n, start, end)


def _au(aus: Mapping[int, float], k: int) -> float:
    return float(np.clip(aus.get(k, 0.0), 0.0, 1.0))


# --- the cues ----------------------------------------------------------------------------------
# Darkening amplitudes and widths (IOD) from the trial in DESIGN.md.
NASOLABIAL = (0.036, 0.22)
NASOLABIAL_LIGHT = (0.05, 0.06)
CHEEK_LIGHT = (0.07, 0.05)
LOWER_LID = (0.014, 0.14)
BROW_SHADOW = (0.06, 0.16)
GLABELLAR = (0.02, 0.16)
NOSE_WRINKLE = (0.014, 0.13)
FOREHEAD = (0.014, 0.16)


WRINKLE_HIGHLIGHT = 0.35
"""A fine wrinkle's highlight (the skin rolled up on its far side), relative to its shadow."""


def _wrinkle(
    cues: list[Cue],
    curve: np.ndarray,
    amp: np.ndarray,
    sigma: float,
    iod: float,
    toward_light: np.ndarray,
) -> None:
    """A fine crease: a dark line and, 1.5 widths toward the light (above), a fainter highlight."""
    cues.append(Cue(curve, amp, sigma))
    cues.append(
        Cue(curve + 1.5 * sigma * iod * toward_light, WRINKLE_HIGHLIGHT * amp, sigma, light=True)
    )


def au_cues(points: np.ndarray, aus: Mapping[int, float]) -> list[Cue]:
    """The strokes for a face: (478, 3) pixel landmarks and {AU number: intensity 0..1}.

    Returns only the cues with a non-zero amplitude (an empty list when no shaded AU is active).
    """
    p = np.asarray(points, dtype=np.float64)[:, :2]
    ex, ey, iod = _axes(p)
    au1, au2, au4, au6, au7 = (_au(aus, k) for k in (1, 2, 4, 6, 7))
    au9, au10, au12 = (_au(aus, k) for k in (9, 10, 12))
    cues: list[Cue] = []

    # nasolabial folds: from the nose wing down and out to beside the mouth corner
    w_nl = min(1.0, au12 + 0.5 * au6 + 0.6 * au9 + 0.6 * au10)
    if w_nl > 0:
        for ala, mid, corner, side in ((129, 206, 61, -1.0), (358, 426, 291, 1.0)):
            p0 = p[ala] - 0.03 * iod * ey
            p2 = p[corner] + side * 0.12 * iod * ex + 0.05 * iod * ey
            p1 = p[mid] + side * 0.02 * iod * ex
            curve = _bezier(p0, p1, p2)
            prof = _taper(len(curve), 0.25, 0.35)
            cues.append(Cue(curve, NASOLABIAL[1] * w_nl * prof, NASOLABIAL[0]))
            cues.append(
                Cue(
                    curve + side * 0.06 * iod * ex,
                    NASOLABIAL_LIGHT[1] * w_nl * prof,
                    NASOLABIAL_LIGHT[0],
                    light=True,
                )
            )
    # cheek raise: a soft highlight on the malar apex
    if au6 > 0:
        for a, b in ((118, 101), (347, 330)):
            seg = np.stack([p[a], p[b]])
            cues.append(Cue(seg, np.full(2, CHEEK_LIGHT[1] * au6), CHEEK_LIGHT[0], light=True))
    # lower-lid line: the crease a cheek raise / lid tightening pushes up under the eye
    w_lid = max(au6, au7)
    if w_lid > 0:
        for skin in (regions.RIGHT_LOWER_LID_SKIN, regions.LEFT_LOWER_LID_SKIN):
            curve = _resample(p[list(skin)] + 0.03 * iod * ey, 9)
            cues.append(
                Cue(curve, LOWER_LID[1] * w_lid * _taper(len(curve), 0.3, 0.3), LOWER_LID[0])
            )
    # AU4: shadow under the lowered brows (deeper at the inner end) and vertical glabellar lines
    if au4 > 0:
        for lower in (regions.RIGHT_BROW_LOWER, regions.LEFT_BROW_LOWER):  # outer -> inner
            curve = _resample(p[list(lower)] + 0.05 * iod * ey, 8)
            prof = np.linspace(0.45, 1.0, len(curve)) * _taper(len(curve), 0.2, 0.1)
            cues.append(Cue(curve, BROW_SHADOW[1] * au4 * prof, BROW_SHADOW[0]))
        mid_up = 0.5 * (p[107] + p[336])
        mid_lo = 0.5 * (p[55] + p[285])
        for up, lo, side in ((107, 55, -1.0), (336, 285, 1.0)):
            top = mid_up + 0.35 * (p[up] - mid_up) - 0.06 * iod * ey
            bottom = mid_lo + 0.25 * (p[lo] - mid_lo) + 0.10 * iod * ey
            ctrl = 0.5 * (top + bottom) + side * 0.015 * iod * ex
            curve = _bezier(top, ctrl, bottom, 8)
            cues.append(Cue(curve, GLABELLAR[1] * au4 * _taper(len(curve), 0.3, 0.3), GLABELLAR[0]))
    # AU9: short creases across the root of the nose, each with a highlight on its upper lip
    if au9 > 0:
        for f, a in ((0.3, 0.8), (0.65, 1.0), (1.0, 0.7)):
            c = p[168] + f * (p[6] - p[168])
            half = (0.07 + 0.02 * f) * iod
            curve = _bezier(
                c - half * ex + 0.025 * iod * ey,
                c - 0.01 * iod * ey,
                c + half * ex + 0.025 * iod * ey,
                7,
            )
            _wrinkle(
                cues,
                curve,
                NOSE_WRINKLE[1] * au9 * a * _taper(len(curve), 0.35, 0.35),
                NOSE_WRINKLE[0],
                iod,
                -ey,
            )
    # AU1 / AU2: forehead lines following the brows' arch, flattened, slightly irregular
    if au1 > 0 or au2 > 0:
        brow = p[list(regions.RIGHT_BROW_UPPER) + list(reversed(regions.LEFT_BROW_UPPER))]
        centre = 0.5 * (p[107] + p[336])
        height = float(np.dot(centre - p[10], ey))  # brow to top of the forehead, pixels
        x = (brow - centre) @ ex / iod  # across the face, IOD from the midline
        base = centre + np.outer(x * iod, ex)  # the brow line flattened onto the face's x axis
        arch = brow - base
        for f, a, phase, span in (
            (0.30, 1.0, 0.3, 1.0),
            (0.47, 0.8, 1.9, 0.9),
            (0.64, 0.55, 4.1, 0.7),
        ):
            line = _resample(base + 0.5 * arch - f * height * ey, 12)
            xs = (line - centre) @ ex / iod
            inner = np.exp(-0.5 * (xs / 0.35) ** 2)
            outer = np.clip((np.abs(xs) - 0.15) / 0.35, 0, 1)
            prof = np.clip(au1 * inner + au2 * outer, 0, 1) * np.clip(
                (span * 0.75 - np.abs(xs)) / 0.15, 0, 1
            )
            # no ruler-straight lines
            line = line + np.outer(0.008 * iod * np.sin(7.0 * xs + phase), ey)
            _wrinkle(
                cues,
                line,
                FOREHEAD[1] * a * prof * _taper(len(line), 0.12, 0.12),
                FOREHEAD[0],
                iod,
                -ey,
            )
    return [c for c in cues if float(np.max(c.amplitude)) > 1e-4]


# --- rendering ---------------------------------------------------------------------------------
def _draw(
    strokes: list[tuple[np.ndarray, np.ndarray]], sigma_px: float, bounds: Roi
) -> tuple[np.ndarray, Roi]:
    """Draw strokes (points in image pixels, per-vertex amplitude) as anti-aliased lines whose
    blurred peak equals the amplitude. Returns the blurred float32 patch and the box of the
    image it covers (the strokes' box grown by 3 sigma, clipped to ``bounds``). Wide cues
    (sigma > 3 px) are drawn and blurred at half resolution, then scaled up: they are smooth."""
    allpts = np.concatenate([s[0] for s in strokes])
    box = roi_around(allpts, (bounds.y1, bounds.x1), 3.0 * sigma_px + max(1.0, sigma_px) + 2)
    box = Roi(max(box.x0, bounds.x0), max(box.y0, bounds.y0), box.x1, box.y1)
    if box.empty:
        return np.zeros((0, 0), np.float32), box
    scale = 0.5 if sigma_px > 3.0 else 1.0
    sig = sigma_px * scale
    thick = max(1, round(sig))
    # peak of a line of width `thick` after a Gaussian blur of sig
    peak = math.erf(thick / (2.0 * math.sqrt(2.0) * sig)) if sig > 0.3 else 1.0
    gain = 255.0 / max(peak, 1e-3)
    h, w = box.shape
    shape = (h, w) if scale == 1.0 else ((h + 1) // 2, (w + 1) // 2)
    canvas = np.zeros(shape, dtype=np.uint8)
    off = box.offset.astype(np.float64)
    for pts, amp in strokes:
        q = np.round(((pts - off + 0.5) * scale - 0.5) * _SCALE).astype(np.int32)
        seg = zip(
            q[:-1].tolist(), q[1:].tolist(), (0.5 * (amp[:-1] + amp[1:]) * gain + 0.5).tolist()
        )
        for a, b, val in seg:  # a handful of segments per stroke
            if val >= 1.0:
                cv2.line(canvas, a, b, min(int(val), 255), thick, cv2.LINE_AA, _SHIFT)
    patch = canvas.astype(np.float32) * np.float32(1.0 / 255.0)
    if sig > 0.3:
        patch = cv2.GaussianBlur(patch, (0, 0), sig)
    if scale != 1.0:
        patch = cv2.resize(patch, (w, h), interpolation=cv2.INTER_LINEAR)
    return patch, box


def shading_maps(
    points: np.ndarray, aus: Mapping[int, float], bounds: Roi
) -> tuple[np.ndarray, np.ndarray, Roi] | None:
    """(dark, light, box): summed cue amplitudes (float32, uncapped) over ``box``, the part of
    ``bounds`` (a box of the image) that the cues reach; None when no cue is active.
    points: (478, 3) pixel landmarks of the frame."""
    p = np.asarray(points, dtype=np.float64)
    cues = au_cues(p, aus)
    if not cues:
        return None
    iod = _axes(p[:, :2])[2]
    groups: dict[tuple[float, bool], list[tuple[np.ndarray, np.ndarray]]] = {}
    for c in cues:
        groups.setdefault((c.sigma, c.light), []).append((c.points, c.amplitude))
    patches = [
        (*_draw(strokes, sigma * iod, bounds), light) for (sigma, light), strokes in groups.items()
    ]
    patches = [x for x in patches if not x[1].empty]
    if not patches:
        return None
    box = Roi(
        min(b.x0 for _, b, _ in patches),
        min(b.y0 for _, b, _ in patches),
        max(b.x1 for _, b, _ in patches),
        max(b.y1 for _, b, _ in patches),
    )
    dark = np.zeros(box.shape, np.float32)
    light = np.zeros(box.shape, np.float32)
    for patch, b, is_light in patches:
        target = light if is_light else dark
        target[b.y0 - box.y0 : b.y1 - box.y0, b.x0 - box.x0 : b.x1 - box.x0] += patch
    return dark, light, box


def apply_shading(
    image: np.ndarray, points: np.ndarray, aus: Mapping[int, float], *, max_darken: float = 0.35
) -> np.ndarray:
    """Add the shading cues of active action units to a face.

    image: (H, W, 3) uint8 RGB (normally after the expression warp); points: its (478, 3)
    landmarks; aus: {FACS AU number: intensity} (missing AUs are 0; AUs without a cue are
    ignored; values are clipped to [0, 1], so an exaggerated AU such as surprise's AU2 at 1.7
    shades like a full one). max_darken: cap (fraction of luminance, 0..1) of the summed darkening.

    Returns a new (H, W, 3) uint8 RGB frame, or ``image`` itself when no cue is active (all
    relevant AUs zero) or the landmarks are missing. Only skin pixels inside the face oval
    change, each by a factor in [1 - max_darken, 1 + MAX_LIGHTEN] of its value.
    """
    if not 0.0 <= max_darken <= 1.0:
        raise ValueError(f"max_darken must be in [0, 1], got {max_darken}")
    aus = {k: float(np.clip(v, 0.0, 1.0)) for k, v in aus.items()}
    p = np.asarray(points, dtype=np.float32)
    if p.shape != (regions.N_POINTS, 3) or not np.isfinite(p[:, :2]).all():
        return image
    iod = _axes(p[:, :2].astype(np.float64))[2]
    if iod < 4.0:
        return image
    face = roi_around(p[list(regions.FACE_OVAL)], image.shape, 2)
    if face.empty:
        return image
    maps = shading_maps(p, aus, face)
    if maps is None:
        return image
    dark, light, box = maps
    # soft caps: slope 1 for faint cues, never beyond the cap however many cues overlap
    cap = np.float32(max(max_darken, 1e-6))
    shade = np.float32(MAX_LIGHTEN) * (1.0 - np.exp(light * np.float32(-1.0 / MAX_LIGHTEN)))
    if max_darken > 0:
        shade -= cap * (1.0 - np.exp(dark * (-1.0 / cap)))
    shade *= face_skin_mask(image, p, box, iod=iod)
    shade += 1.0
    out = image.copy()
    # uint8 x float32 -> uint8, rounded and saturated by OpenCV
    out[box.slices] = cv2.multiply(
        image[box.slices], cv2.merge([shade, shade, shade]), dtype=cv2.CV_8U
    )
    return out


# --- closed lips -------------------------------------------------------------------------------
SEAM_BAND = (0.012, 0.035)
"""How far (IOD) above and below the closed lips' midline to look for what the warp left of
the source's open mouth (a talking frame's landmarks sit inside the visible opening, and the
lower teeth often show below the inner lower lip)."""
SEAM_TOLERANCE = 35.0
"""Colour distance (L + 1.5 x chroma, OpenCV 8-bit Lab units) from the lips' median colour
beyond which a band pixel is mouth interior (dark cavity or teeth), not lip."""
SEAM_DARKEN = 0.2
"""Peak darkening of the thin line drawn where closed lips meet."""


def lip_seam(image: np.ndarray, points: np.ndarray, amount: float) -> np.ndarray:
    """Make lips that a closed-mouth expression shut look shut.

    image: (H, W, 3) uint8 RGB after the warp; points: its (478, 3) pixel landmarks (the new,
    closed mouth); amount: 0..1, how much of the mouth was closed (the blend weight, so the
    result is continuous in the expression's intensity; 0 returns ``image`` itself).

    Closing a talking mouth squeezes the source's opening into a strip along the lips' meeting
    line, which showed as a dark notch or a line of teeth (read as a grimace by a person and as
    fear by the FER). Within a band round the inner-lip midline (:data:`SEAM_BAND`), pixels
    whose colour is far from the lips' own (:data:`SEAM_TOLERANCE`) are filled from the lips
    round them (OpenCV's Telea inpainting), and a faint line is drawn where the lips meet.
    Only the box round the lips changes. Returns a new array (or ``image`` when nothing is done).
    """
    a = float(np.clip(amount, 0.0, 1.0))
    p = np.asarray(points, dtype=np.float64)
    if a <= 0.0 or p.shape != (regions.N_POINTS, 3) or not np.isfinite(p[:, :2]).all():
        return image
    _ex, ey, iod = _axes(p[:, :2])
    if iod < 8.0:
        return image
    outer = p[list(regions.LIPS_OUTER), :2]
    box = roi_around(outer, image.shape, 0.05 * iod + 4)
    if box.empty:
        return image
    off = box.offset.astype(np.float64)
    mid = 0.5 * (p[list(regions.LIPS_INNER_UPPER), :2] + p[list(regions.LIPS_INNER_LOWER), :2])
    mid = mid - off
    above = mid - SEAM_BAND[0] * iod * ey
    below = mid + SEAM_BAND[1] * iod * ey
    zone = np.zeros(box.shape, np.uint8)
    cv2.fillPoly(zone, [np.round(np.vstack([above, below[::-1]]) * _SCALE).astype(np.int32)], 1,
                 cv2.LINE_8, _SHIFT)  # fmt: skip
    lips = np.zeros(box.shape, np.uint8)
    cv2.fillPoly(lips, [np.round((outer - off) * _SCALE).astype(np.int32)], 1, cv2.LINE_8, _SHIFT)
    patch = image[box.slices]
    lab = cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).astype(np.float32)
    ref_px = lab[(lips > 0) & (zone == 0)]
    if len(ref_px) < 12:
        return image
    ref = np.median(ref_px, axis=0)
    dist = np.abs(lab[..., 0] - ref[0]) + 1.5 * np.hypot(lab[..., 1] - ref[1], lab[..., 2] - ref[2])
    bad = ((zone > 0) & (dist > SEAM_TOLERANCE)).astype(np.uint8)
    out = image.copy()
    res = patch.astype(np.float32)
    if bad.any():
        bad = cv2.dilate(bad, np.ones((3, 3), np.uint8))
        fill = cv2.inpaint(patch, bad, 3, cv2.INPAINT_TELEA).astype(np.float32)
        w = cv2.GaussianBlur(bad.astype(np.float32), (0, 0), 1.0) * np.float32(a)
        res += (fill - res) * w[..., None]
    line = np.zeros(box.shape, np.float32)
    cv2.polylines(line, [np.round(mid * _SCALE).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA,
                  _SHIFT)  # fmt: skip
    line = cv2.GaussianBlur(line, (0, 0), max(0.6, 0.006 * iod)) * np.float32(SEAM_DARKEN * a)
    res *= 1.0 - np.minimum(line, 1.0)[..., None]
    out[box.slices] = np.clip(res + 0.5, 0, 255).astype(np.uint8)
    return out
