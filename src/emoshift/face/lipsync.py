"""Viseme parameters -> mouth and jaw landmark displacements, combined with the emotion.

All geometry here lives in the *face-normalised frame* of :class:`emoshift.face.expression.
FaceFrame`: origin between the eyes, x toward the subject's left, y down the face, unit = the
inter-ocular distance (IOD). The caller maps displacements to pixels with the frame's pose
(scale, 3-D rotation, translation), so they turn with the head.

* :func:`rest_face` - the person's closed-mouth rest shape from a track (video mode): the
  source's own talking mouth is replaced by it, so the new words drive the mouth.
* :class:`MouthBasis` - one linear displacement field per viseme parameter (jaw drop, lip
  rounding, lip spread, upper-lip raise for F/V), built once per face.
* :func:`apply_lip_contacts` - the non-linear part: lips close fully for P/B/M (the inner-lip
  gap is scaled by ``1 - close``, whatever opened it, the emotion included), and the lower
  lip rises to the upper teeth for F/V.
* :func:`split_emotion` - the emotion's displacement split into its lip-opening part (AU25,
  AU26) and the rest, so a happy face keeps its smile while talking and the talking jaw,
  not the emotion, decides how far the lips part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emoshift.face import regions as R
from emoshift.face.au import AUs
from emoshift.face.expression import ExpressionConfig, FaceFrame, au_displacements_normalized
from emoshift.face.visemes import CLOSE, JAW, LABIO, ROUND, SPREAD

N = R.N_POINTS
_IN_UP = np.array(R.LIPS_INNER_UPPER[1:-1])
_IN_LO = np.array(R.LIPS_INNER_LOWER[1:-1])
_OUT_UP = np.array(R.LIPS_OUTER_UPPER[1:-1])
_OUT_LO = np.array(R.LIPS_OUTER_LOWER[1:-1])
_CORNERS = np.array(
    [R.MOUTH_CORNER_RIGHT, R.MOUTH_CORNER_LEFT, R.INNER_CORNER_RIGHT, R.INNER_CORNER_LEFT]
)
_UPPER_LIP = np.union1d(_IN_UP, _OUT_UP)
_LOWER_LIP = np.union1d(_IN_LO, _OUT_LO)
_LIPS = np.array(R.LIPS)

JAW_OPEN = 0.30
"""Inner-lip gap (IOD) at jaw = 1 (the 95th percentile of real talking clips is 0.16-0.29)."""
CHIN_FOLLOW = 0.8
"""How far the chin drops relative to the lower lip when the jaw opens."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def to_face(points: np.ndarray) -> tuple[np.ndarray, FaceFrame]:
    """(478, 3) pixel landmarks -> ((478, 3) normalised face coordinates, their FaceFrame)."""
    frame = FaceFrame.of(points)
    return frame.to_face(points), frame


def smooth_field(q: np.ndarray, d: np.ndarray, control: np.ndarray | None = None) -> np.ndarray:
    """Make a (478, 2) displacement ``d`` smooth over the whole mesh of face ``q`` (478, 3).

    Displacement fields defined on named point sets leave neighbouring points behind (which
    a piecewise-affine warp would fold); here every point not in ``control`` (default: the
    expression's control points) takes the value of a thin-plate spline through the control
    points' displacements. The spline is fitted with the mouth held slightly open, so the
    two lips (which touch at rest) may move apart."""
    from emoshift.face.expression import CONTROL
    from emoshift.face.warp import ThinPlateSpline

    ctrl = CONTROL if control is None else np.asarray(control)
    qq = np.asarray(q, dtype=np.float64)[:, :2].copy()
    qq[_LOWER_LIP, 1] += 0.04
    d = np.asarray(d, dtype=np.float64)
    if not np.abs(d).max() > 0:
        return d.copy()
    tps = ThinPlateSpline(qq[ctrl], d[ctrl], unit=1.0, regularization=1e-4)
    out = tps(qq)
    out[ctrl] = d[ctrl]
    out[list(R.RIGHT_IRIS) + list(R.LEFT_IRIS)] = 0.0
    return out


def close_mouth(q: np.ndarray, *, round_line: float = 0.7) -> np.ndarray:
    """A copy of normalised landmarks ``q`` (478, 3) with the inner lips brought together:
    the lower lip (inner and outer rows) rises by each column's inner gap.

    round_line in [0, 1]: first the upper inner lip moves that far toward a parabola through
    it and the mouth corners (its outer row by half as much), never below the lower lip. The
    inner upper lip of a parted smile dips to a point at its centre; the closed lips followed
    it and read as a "V" (cartoon) mouth; a closed mouth's line is a smooth curve."""
    out = np.array(q, dtype=np.float64, copy=True)
    r = float(np.clip(round_line, 0.0, 1.0))
    if r > 0.0:
        line = out[list(R.LIPS_INNER_UPPER), :2]
        if np.ptp(line[:, 0]) > 1e-6:
            coef = np.polyfit(line[:, 0], line[:, 1], 2)
            fit = np.polyval(coef, out[_IN_UP, 0])
            target = np.minimum(out[_IN_UP, 1] + r * (fit - out[_IN_UP, 1]), out[_IN_LO, 1])
            shift = np.minimum(
                target - out[_IN_UP, 1], np.maximum(out[_IN_LO, 1] - out[_IN_UP, 1], 0.0)
            )
            out[_IN_UP, 1] += shift
            out[_OUT_UP, 1] += 0.5 * shift
    gap = np.maximum(out[_IN_LO, 1] - out[_IN_UP, 1], 0.0)
    out[_IN_LO, 1] -= gap
    out[_OUT_LO, 1] -= gap
    return out


def rest_face(points: np.ndarray, *, quantile: float = 0.2) -> np.ndarray:
    """The person's closed-mouth rest shape from a track: (T, 478, 3) pixels -> (478, 3)
    normalised coordinates (float64).

    The median, in each frame's own face frame, of the frames whose inner-lip gap is in the
    lowest ``quantile`` (the mouth at rest between words), then closed fully
    (:func:`close_mouth`). NaN rows are ignored; raises ValueError without any face.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 2:
        p = p[None]
    valid = np.isfinite(p).all(axis=(1, 2))
    if not valid.any():
        raise ValueError("no frame with a face to take the rest face from")
    qs = np.stack([FaceFrame.of(pi).to_face(pi) for pi in p[valid]])
    gap = (qs[:, _IN_LO, 1] - qs[:, _IN_UP, 1]).mean(axis=1)
    keep = gap <= np.quantile(gap, quantile) + 1e-9
    return close_mouth(np.median(qs[keep], axis=0), round_line=0.0)


def neutralize_weights(q: np.ndarray) -> np.ndarray:
    """(478,) weights in [0, 1] of the points whose motion the talking mouth owns: 1 below the
    nose base (lips, chin, lower cheeks), easing to 0 at 0.15 IOD above it, and to 0 toward the
    sides of the face (0.55 to 0.9 IOD from the mouth's centre line)."""
    qq = np.asarray(q, dtype=np.float64)
    y = qq[:, 1]
    y0 = float(qq[R.PHILTRUM[-1], 1])  # point 2, the nose base
    cx = 0.5 * (qq[R.MOUTH_CORNER_LEFT, 0] + qq[R.MOUTH_CORNER_RIGHT, 0])
    w = _smoothstep((y - (y0 - 0.15)) / 0.15)
    # the sides of the face (jaw angle, outer cheeks) keep their own motion
    w *= 1.0 - _smoothstep((np.abs(qq[:, 0] - cx) - 0.55) / 0.35)
    w[list(R.RIGHT_IRIS) + list(R.LEFT_IRIS)] = 0.0
    return w


@dataclass(frozen=True)
class MouthBasis:
    """Linear viseme displacement fields of one face: ``fields`` (K, 478, 2) float64 in IOD
    per unit of each parameter (columns as :data:`emoshift.face.visemes.VISEME_PARAMS`; the
    ``close`` field is a slight lip press, the ``labiodental`` field an upper-lip raise; both
    also act non-linearly through :func:`apply_lip_contacts`)."""

    fields: np.ndarray

    @staticmethod
    def of(q: np.ndarray) -> MouthBasis:
        """Build the fields on normalised landmarks ``q`` (478, 3) (the rest face)."""
        q = np.asarray(q, dtype=np.float64)
        x, y = q[:, 0], q[:, 1]
        cx = 0.5 * (x[R.MOUTH_CORNER_LEFT] + x[R.MOUTH_CORNER_RIGHT])
        seam = float(np.mean(0.5 * (y[_IN_UP] + y[_IN_LO])))
        hw = max(0.5 * abs(x[R.MOUTH_CORNER_LEFT] - x[R.MOUTH_CORNER_RIGHT]), 1e-3)
        lat = np.clip(np.abs(x - cx) / hw, 0.0, 1.5)
        central = np.clip(1.0 - np.minimum(lat, 1.0) ** 2, 0.0, 1.0)
        out = np.sign(x - cx)
        near = np.exp(
            -0.5 * (np.hypot((x - cx) / 1.2, (y - seam)) / 0.35) ** 2
        )  # skin round the mouth
        f = np.zeros((5, N, 2))

        # jaw: everything below the lip seam drops, the lower lip fully at the centre (less
        # toward the corners), the chin about as much, the jaw angle far less (near the hinge);
        # the upper lip stays. Positional, so neighbouring points move alike (no folds).
        seam_x = np.concatenate([x[_IN_UP], x[[R.INNER_CORNER_RIGHT, R.INNER_CORNER_LEFT]]])
        seam_y = np.concatenate([y[_IN_UP], y[[R.INNER_CORNER_RIGHT, R.INNER_CORNER_LEFT]]])
        o = np.argsort(seam_x)
        seam_at = np.interp(x, seam_x[o], seam_y[o])
        depth = y - seam_at  # how far below the seam
        lip_w = 0.35 + 0.65 * central
        chin_w = CHIN_FOLLOW * (1.0 - 0.7 * _smoothstep((np.abs(x - cx) - 0.4) / 0.6))
        jaw = np.where(depth > 0, lip_w + (chin_w - lip_w) * _smoothstep((depth - 0.1) / 0.25), 0.0)
        jaw *= _smoothstep(depth / 0.01 + 1.0) * (1.0 - _smoothstep((np.abs(x - cx) - 1.0) / 0.3))
        jaw[_IN_LO] = lip_w[_IN_LO]
        jaw[_UPPER_LIP] = 0.0
        jaw[_CORNERS] = 0.45
        f[JAW, :, 1] = JAW_OPEN * jaw
        f[JAW, _CORNERS, 0] = -0.03 * out[_CORNERS]  # an open jaw narrows the mouth a little
        f[JAW, _UPPER_LIP, 1] = -0.01 * central[_UPPER_LIP]
        f[JAW, list(R.RIGHT_IRIS) + list(R.LEFT_IRIS)] = 0.0

        # rounding: corners in, lips pushed into an "O"
        lips = np.zeros(N)
        lips[_LIPS] = 1.0
        f[ROUND, :, 0] = -0.11 * out * np.minimum(lat, 1.0) * lips
        f[ROUND, _CORNERS, 0] = -0.11 * out[_CORNERS]
        f[ROUND, _IN_UP, 1] -= 0.012 * central[_IN_UP]
        f[ROUND, _OUT_UP, 1] -= 0.02 * central[_OUT_UP]
        f[ROUND, _IN_LO, 1] += 0.02 * central[_IN_LO]
        f[ROUND, _OUT_LO, 1] += 0.03 * central[_OUT_LO]
        skin = (1.0 - lips) * near
        f[ROUND, :, 0] += -0.05 * out * np.minimum(lat, 1.0) * skin

        # spread: corners out and slightly up, lips thinned
        f[SPREAD, :, 0] = 0.07 * out * np.minimum(lat, 1.0) * lips
        f[SPREAD, _CORNERS, 0] = 0.07 * out[_CORNERS]
        f[SPREAD, _CORNERS, 1] = -0.012
        f[SPREAD, _OUT_UP, 1] += 0.01 * central[_OUT_UP]
        f[SPREAD, _OUT_LO, 1] -= 0.012 * central[_OUT_LO]
        f[SPREAD, :, 0] += 0.03 * out * np.minimum(lat, 1.0) * skin

        # close: a slight press of the lips toward the seam (the closing itself is non-linear)
        f[CLOSE, _OUT_UP, 1] = 0.008 * central[_OUT_UP]
        f[CLOSE, _OUT_LO, 1] = -0.012 * central[_OUT_LO]

        # labiodental: the upper lip lifts off the upper teeth
        f[LABIO, _IN_UP, 1] = -0.022 * (0.4 + 0.6 * central[_IN_UP])
        f[LABIO, _OUT_UP, 1] = -0.012 * (0.4 + 0.6 * central[_OUT_UP])
        for k in (ROUND, SPREAD, CLOSE, LABIO):  # the jaw field is smooth by construction
            f[k] = smooth_field(q, f[k])
        return MouthBasis(f)

    def displacement(self, params: np.ndarray) -> np.ndarray:
        """(478, 2) IOD displacement for one frame's parameters (K,)."""
        return np.tensordot(np.asarray(params, dtype=np.float64), self.fields, axes=1)


LABIO_GAP = 0.015
"""Inner-lip gap (IOD) left between the lower lip and the upper teeth/lip for F/V."""


def apply_lip_contacts(q: np.ndarray, close: float, labio: float) -> np.ndarray:
    """Enforce lip contacts on target face coordinates ``q`` (478, >=2), in place, returned.

    ``close`` in [0, 1]: every inner-lip column's gap is scaled by ``1 - close`` (the lower lip
    rises by 3/4 of the change, the upper lip drops by 1/4; each lip's outer row moves with
    its inner row), so P/B/M shut the mouth even where the emotion parts the lips.
    ``labio`` in [0, 1]: the lower lip rises toward :data:`LABIO_GAP` below the upper lip.
    Finally the lower inner lip is kept at or below the upper one.
    """
    y = q[:, 1]
    gap = np.maximum(y[_IN_LO] - y[_IN_UP], 0.0)
    c = float(np.clip(close, 0.0, 1.0))
    if c > 0.0:
        d = gap * c
        y[_IN_LO] -= 0.75 * d
        y[_OUT_LO] -= 0.75 * d
        y[_IN_UP] += 0.25 * d
        y[_OUT_UP] += 0.25 * d
        gap = gap - d
    a = float(np.clip(labio, 0.0, 1.0))
    if a > 0.0:
        d = np.maximum(gap - LABIO_GAP, 0.0) * a
        y[_IN_LO] -= d
        y[_OUT_LO] -= d
    bad = y[_IN_LO] < y[_IN_UP]
    if bad.any():
        y[_IN_LO[bad]] = y[_IN_UP[bad]]
    return q


OPEN_AUS: tuple[int, ...] = (25, 26)
"""Action units that part the lips / drop the jaw: while talking, visemes own them."""


def split_emotion(
    q: np.ndarray, add: AUs, undo: AUs | None, config: ExpressionConfig | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The emotion's displacement on face ``q`` (478, 3), split in two (478, 2) IOD arrays:
    (everything but the lip opening, the lip-opening part of AU25/AU26).

    Their sum is :func:`emoshift.face.expression.au_displacements_normalized` of the full
    pattern (on its control points; :func:`smooth_field` elsewhere); the second part is
    what AU25/26 add to the rest of ``add``.
    """
    config = config or ExpressionConfig()
    full = au_displacements_normalized(q, add, config, undo=undo)
    keep = AUs(
        {k: v for k, v in add.right.items() if k not in OPEN_AUS},
        {k: v for k, v in add.left.items() if k not in OPEN_AUS},
    )
    shape = smooth_field(q, au_displacements_normalized(q, keep, config, undo=undo))
    return round_lip_line(q, shape), smooth_field(q, full - shape)


_LIP_ROWS = (R.LIPS_INNER_UPPER, R.LIPS_INNER_LOWER, R.LIPS_OUTER_UPPER, R.LIPS_OUTER_LOWER)


def round_lip_line(q: np.ndarray, d: np.ndarray, strength: float = 0.5) -> np.ndarray:
    """Displacement ``d`` (478, 2) IOD on face ``q`` (478, 3) with each lip row's vertical
    part moved ``strength`` (0..1) of the way to a smooth curve across the mouth: the line
    through the two corners' values plus the least-squares parabola that vanishes at the
    corners (fitted per row). The corners keep their motion; the skin round the lips follows
    the change (thin-plate spline). (Half way: fully smoothed lips, on a rolled head, were
    read as parted by the face mesh more often.)

    A strong smile lifts the corners far more than the lips' centre, and a per-point field
    then bends the closed lip line into a "V" whose stretched upper-lip texture the face mesh
    reads as a parted mouth; real lips curve smoothly (a "U")."""
    qq = np.asarray(q, dtype=np.float64)
    out = np.array(d, dtype=np.float64, copy=True)
    delta = np.zeros_like(out)
    for row in _LIP_ROWS:
        idx = np.array(row)
        x = qq[idx, 0]
        y = out[idx, 1]
        xl, xr = x[0], x[-1]
        if abs(xr - xl) < 1e-6:
            continue
        u = (x - xl) / (xr - xl)
        lin = y[0] + u * (y[-1] - y[0])
        bump = u * (1.0 - u)
        c = float(np.dot(bump, y - lin) / max(np.dot(bump, bump), 1e-12))
        delta[idx[1:-1], 1] = strength * (lin + c * bump - y)[1:-1]
    if not np.abs(delta).max() > 0:
        return out
    from emoshift.face.expression import CONTROL

    # lip rows carry the change; the other control points stay: the skin round the lips
    # follows smoothly
    fixed = np.setdiff1d(CONTROL, _LIPS)
    ctrl = np.concatenate([fixed, _LIPS])
    return out + smooth_field(qq, delta, control=ctrl)


def mouth_target(
    q_base: np.ndarray,
    basis: MouthBasis,
    params: np.ndarray,
    emotion_shape: np.ndarray,
    emotion_open: np.ndarray,
    open_weight: float,
    extra: np.ndarray | None = None,
) -> np.ndarray:
    """Target face coordinates (478, 3) of one frame.

    q_base: (478, 3) normalised landmarks with the mouth at rest; params: (K,) viseme
    parameters; emotion_shape / emotion_open: from :func:`split_emotion`; open_weight: how
    much of the emotion's lip opening shows (1 in silence, less while talking); extra:
    optional (478, 2) more displacement (blinks). Lip contacts are applied last.
    """
    p = np.asarray(params, dtype=np.float64)
    d = emotion_shape + open_weight * emotion_open + basis.displacement(p)
    if extra is not None:
        d = d + extra
    out = np.array(q_base, dtype=np.float64, copy=True)
    out[:, :2] += d
    return apply_lip_contacts(out, float(p[CLOSE]), float(p[LABIO]))
