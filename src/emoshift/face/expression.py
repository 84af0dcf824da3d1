"""Action units -> landmark displacements (the geometry of the Emotional Face Generator).

Every action unit (AU, see :mod:`emoshift.face.au`) is a hand-designed displacement field over
the 478-point mesh, defined in a *face-normalised frame*: origin between the eye centres, x
along the eye line (toward the subject's left = image right for a frontal face), y down the
face, z into the image, unit = the 3-D inter-ocular distance (IOD). A field is evaluated on the
source face's own normalised landmarks (so it follows that face's shape), summed over AUs with
their intensities, soft-capped per region (so a strong brow never runs into glasses rims), then
rotated back with the head pose and scaled to pixels.

Magnitudes are FACS-plausible movements, strengthened where a face-emotion recogniser looks
(feasibility trials, see docs/face.md): brow lowering/knitting x1.7, lid tightening x1.4,
lip pressing x1.6, upper-lid raising x1.6, jaw drop x1.5.

The identity points (face oval and nose bridge, :data:`emoshift.face.regions.IDENTITY`) never
move, so the face's outline and nose stay the subject's.

``neutral`` relaxes the source's expression: :func:`estimate_aus` measures how far a face's
brows, lids, lip corners, lips and jaw are from a neutral reference (the person's own median
face when a video is available, else population norms measured on frontal talking faces),
solves for the AU intensities that explain it (non-negative least squares over the same
fields), and the EFG applies them negated.

An optional, research-licensed alternative for the fields, py-feat's AU->mesh PLS model, is
NOT used (its training data, BP4D / DISFA+ / EmotioNet, is research-only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from emoshift.face import regions as R
from emoshift.face.au import AU_IDS, AUs
from emoshift.face.landmarks import face_axes

N = R.N_POINTS


# --- the face-normalised frame ---------------------------------------------------------------------
@dataclass(frozen=True)
class FaceFrame:
    """Similarity frame of a face: ``p_pixels = origin + scale * rot @ q_normalised``.

    origin: (3,) pixels, the midpoint of the eye centres; rot: (3, 3), columns = the face's
    x, y, z axes in camera coordinates (:func:`emoshift.face.landmarks.face_axes`); scale:
    the 3-D inter-ocular distance in pixels.
    """

    origin: np.ndarray
    rot: np.ndarray
    scale: float

    @staticmethod
    def of(points: np.ndarray) -> FaceFrame:
        p = np.asarray(points, dtype=np.float64)
        r = p[list(R.RIGHT_EYE_CORNERS)].mean(axis=0)
        le = p[list(R.LEFT_EYE_CORNERS)].mean(axis=0)
        return FaceFrame(
            origin=(r + le) / 2.0, rot=face_axes(p), scale=float(np.linalg.norm(le - r))
        )

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) pixels -> (N, 3) normalised face coordinates."""
        return (np.asarray(points, dtype=np.float64) - self.origin) @ self.rot / self.scale

    def displacement_to_image(self, d: np.ndarray) -> np.ndarray:
        """(N, 2 or 3) normalised displacements -> (N, 2) pixel displacements (x, y)."""
        d3 = np.zeros((d.shape[0], 3))
        d3[:, : d.shape[1]] = d
        return (d3 @ self.rot.T)[:, :2] * self.scale


# --- helpers over the normalised mesh ----------------------------------------------------------------
def _idx(*groups: tuple[int, ...] | int) -> np.ndarray:
    out: set[int] = set()
    for g in groups:
        out |= {g} if isinstance(g, int) else set(g)
    return np.array(sorted(out), dtype=np.int64)


_BROWS = _idx(R.RIGHT_BROW, R.LEFT_BROW)
_UPPER_LID = _idx(R.RIGHT_EYE_UPPER[1:-1], R.LEFT_EYE_UPPER[1:-1])
_LOWER_LID = _idx(R.RIGHT_EYE_LOWER[1:-1], R.LEFT_EYE_LOWER[1:-1])
_LID_FOLD = _idx(R.RIGHT_UPPER_LID_FOLD[1:-1], R.LEFT_UPPER_LID_FOLD[1:-1])
_LOWER_SKIN = _idx(R.RIGHT_LOWER_LID_SKIN[1:-1], R.LEFT_LOWER_LID_SKIN[1:-1])
_IDENTITY = _idx(R.IDENTITY)
_FOREHEAD = np.setdiff1d(_idx(R.FOREHEAD, R.GLABELLA), np.union1d(_IDENTITY, _BROWS))
_CORNERS = _idx(
    R.MOUTH_CORNER_RIGHT, R.MOUTH_CORNER_LEFT, R.INNER_CORNER_RIGHT, R.INNER_CORNER_LEFT
)
_UPPER_OUTER = np.setdiff1d(_idx(R.LIPS_OUTER_UPPER), _CORNERS)
_UPPER_INNER = np.setdiff1d(_idx(R.LIPS_INNER_UPPER), _CORNERS)
_LOWER_OUTER = np.setdiff1d(_idx(R.LIPS_OUTER_LOWER), _CORNERS)
_LOWER_INNER = np.setdiff1d(_idx(R.LIPS_INNER_LOWER), _CORNERS)
_UPPER_LIP = np.union1d(_UPPER_OUTER, _UPPER_INNER)
_LOWER_LIP = np.union1d(_LOWER_OUTER, _LOWER_INNER)
_LIPS = _idx(R.LIPS)
_LIP_BODY = np.setdiff1d(_LIPS, _CORNERS)  # lips without the four corner points
_PHILTRUM = np.setdiff1d(_idx(R.PHILTRUM), _LIPS)
_CHIN = np.setdiff1d(_idx(R.CHIN), np.union1d(_IDENTITY, _LIPS))
_CHEEKS = np.setdiff1d(_idx(R.RIGHT_CHEEK, R.LEFT_CHEEK), _IDENTITY)
_NASOLABIAL = np.setdiff1d(_idx(R.NASOLABIAL_LEFT, R.NASOLABIAL_RIGHT), _LIPS)
_ALAE = _idx(R.ALA_RIGHT, R.ALA_LEFT)
_NOSE_SIDES = np.setdiff1d(_idx(R.NOSE_SIDE_RIGHT, R.NOSE_SIDE_LEFT, R.NOSE_WRINKLE), _IDENTITY)
_NOSE_TIP = np.setdiff1d(_idx(1, 2, 19, 94, 4), _IDENTITY)
_IRISES = _idx(R.RIGHT_IRIS, R.LEFT_IRIS)

CONTROL: np.ndarray = _idx(
    R.IDENTITY, R.RIGHT_BROW, R.LEFT_BROW, R.RIGHT_EYE, R.LEFT_EYE, R.RIGHT_IRIS_CENTER,
    R.LEFT_IRIS_CENTER, R.RIGHT_UPPER_LID_FOLD[1:-1:2], R.LEFT_UPPER_LID_FOLD[1:-1:2],
    R.RIGHT_LOWER_LID_SKIN[1:-1:2], R.LEFT_LOWER_LID_SKIN[1:-1:2], R.LIPS, (164, 167, 393),
    (18, 200, 32, 262, 208, 428, 171, 396), R.RIGHT_CHEEK[::2], R.LEFT_CHEEK[::2],
    R.NASOLABIAL_LEFT, R.NASOLABIAL_RIGHT, (64, 98, 129, 294, 327, 358), (122, 196, 351, 419, 3, 248),
    (9, 151, 69, 104, 299, 333, 108, 337), (1, 2, 19, 94),
)  # fmt: skip
"""Mesh points that drive the image warp (all moved regions plus the fixed identity points)."""

# Lid profiles: weight along each lid (0 at the corners, 1 mid-lid).
_LID_PROFILE = np.zeros(N)
for _seq in (R.RIGHT_EYE_UPPER, R.RIGHT_EYE_LOWER, R.LEFT_EYE_UPPER, R.LEFT_EYE_LOWER):
    _t = np.linspace(0.0, 1.0, len(_seq))
    _LID_PROFILE[list(_seq)] = np.maximum(_LID_PROFILE[list(_seq)], np.sin(np.pi * _t))
for _seq in (
    R.RIGHT_UPPER_LID_FOLD,
    R.LEFT_UPPER_LID_FOLD,
    R.RIGHT_LOWER_LID_SKIN,
    R.LEFT_LOWER_LID_SKIN,
):
    _t = np.linspace(0.0, 1.0, len(_seq))
    _LID_PROFILE[list(_seq)] = np.maximum(_LID_PROFILE[list(_seq)], 0.3 + 0.7 * np.sin(np.pi * _t))


class _Field:
    """Accumulates one AU's (478, 2) displacement over normalised points ``q`` (478, 3)."""

    def __init__(self, q: np.ndarray) -> None:
        self.q = q
        self.x = q[:, 0]
        self.y = q[:, 1]
        self.out = np.sign(self.x)  # lateral outward direction of each point
        self.d = np.zeros((N, 2))

    def add(
        self,
        idx: np.ndarray,
        dx: np.ndarray | float,
        dy: np.ndarray | float,
        w: np.ndarray | float = 1.0,
    ) -> None:
        wv = np.broadcast_to(np.asarray(w, dtype=np.float64), (N,))[idx] if np.ndim(w) else float(w)
        dxv = (
            np.broadcast_to(np.asarray(dx, dtype=np.float64), (N,))[idx]
            if np.ndim(dx)
            else float(dx)
        )
        dyv = (
            np.broadcast_to(np.asarray(dy, dtype=np.float64), (N,))[idx]
            if np.ndim(dy)
            else float(dy)
        )
        self.d[idx, 0] += dxv * wv
        self.d[idx, 1] += dyv * wv

    def near(self, center: np.ndarray, sigma: float) -> np.ndarray:
        """(478,) Gaussian weight of each point's distance (x, y) to the nearest of ``center`` points."""
        c = self.q[center, :2]
        d2 = ((self.q[:, None, :2] - c[None]) ** 2).sum(-1).min(axis=1)
        return np.exp(-0.5 * d2 / sigma**2)


def _mouth_geometry(f: _Field) -> tuple[np.ndarray, float]:
    """(corner-proximity weight (478,), mouth half-width) from the mouth corners."""
    half = 0.5 * abs(f.x[R.MOUTH_CORNER_LEFT] - f.x[R.MOUTH_CORNER_RIGHT])
    cx = 0.5 * (f.x[R.MOUTH_CORNER_LEFT] + f.x[R.MOUTH_CORNER_RIGHT])
    lat = np.clip(np.abs(f.x - cx) / max(half, 1e-3), 0.0, 1.0)
    return lat, half


def _au_field(au: int, q: np.ndarray) -> np.ndarray:
    """(478, 2) displacement in IOD for AU ``au`` at intensity 1 on BOTH sides, on face ``q``."""
    f = _Field(q)
    x, out = f.x, f.out
    lat, _half = _mouth_geometry(f)
    central = 1.0 - lat**2  # 1 at the lip centre, 0 at the corners
    brow_in = np.clip(1.0 - (np.abs(x) - 0.15) / 0.55, 0.0, 1.0)  # 1 at the inner brow end
    brow_out = 1.0 - brow_in
    lid = _LID_PROFILE
    if au == 1:  # inner brow raiser (frontalis, pars medialis)
        f.add(_BROWS, -out * 0.01, -0.085, brow_in**1.5)
        f.add(_FOREHEAD, 0.0, -0.04, f.near(_BROWS, 0.2) * np.clip(1.0 - np.abs(x) / 0.6, 0, 1))
        f.add(_LID_FOLD, 0.0, -0.025, brow_in * lid)
    elif au == 2:  # outer brow raiser (frontalis, pars lateralis)
        f.add(_BROWS, 0.0, -0.085, 0.25 + 0.75 * brow_out)
        f.add(_FOREHEAD, 0.0, -0.035, f.near(_BROWS, 0.2) * np.clip(np.abs(x) / 0.6, 0, 1))
        f.add(_LID_FOLD, 0.0, -0.025, brow_out * lid)
    elif au == 4:  # brow lowerer (corrugator, depressor supercilii, procerus): x1.7
        f.add(_BROWS, -out * 0.05 * brow_in, 0.075, 0.45 + 0.55 * brow_in)
        f.add(_FOREHEAD, -out * 0.02, 0.03, f.near(_BROWS, 0.18))
        f.add(_LID_FOLD, 0.0, 0.03, lid)
        f.add(_UPPER_LID, 0.0, 0.008, lid)
    elif au == 5:  # upper lid raiser (levator palpebrae): x1.6
        f.add(_UPPER_LID, 0.0, -0.06, lid)
        f.add(_LID_FOLD, 0.0, -0.03, lid)
        f.add(_LOWER_LID, 0.0, 0.008, lid)
        f.add(_BROWS, 0.0, -0.01, 1.0)
    elif au == 6:  # cheek raiser (orbicularis oculi, pars orbitalis)
        f.add(_CHEEKS, out * 0.006, -0.05, f.near(_LOWER_SKIN, 0.3))
        f.add(_LOWER_SKIN, 0.0, -0.035, 1.0)
        f.add(_LOWER_LID, 0.0, -0.022, lid)
        f.add(_NASOLABIAL, out * 0.01, -0.02, 1.0)
        f.add(_idx(33, 263), 0.0, -0.008, 1.0)
    elif au == 7:  # lid tightener (orbicularis oculi, pars palpebralis): x1.4
        f.add(_LOWER_LID, 0.0, -0.038, lid)
        f.add(_LOWER_SKIN, 0.0, -0.018, lid)
        f.add(_UPPER_LID, 0.0, 0.014, lid)
    elif au == 41:  # lid droop (relaxed levator)
        f.add(_UPPER_LID, 0.0, 0.04, lid)
        f.add(_LID_FOLD, 0.0, 0.02, lid)
    elif au == 9:  # nose wrinkler (levator labii superioris alaeque nasi)
        f.add(_ALAE, 0.0, -0.045, 1.0)
        f.add(_NOSE_SIDES, 0.0, -0.03, 1.0)
        f.add(_NOSE_TIP, 0.0, -0.015, 1.0)
        f.add(_UPPER_LIP, 0.0, -0.03, 0.5 + 0.5 * central)
        f.add(_PHILTRUM, 0.0, -0.03, 1.0)
        f.add(_NASOLABIAL, 0.0, -0.03, 1.0)
        f.add(_CHEEKS, 0.0, -0.025, f.near(_ALAE, 0.25))
        f.add(_BROWS, -out * 0.015, 0.04, brow_in)
        f.add(_FOREHEAD, 0.0, 0.015, f.near(_idx(9, 8), 0.15))
        f.add(_LOWER_LID, 0.0, -0.015, lid)
        f.add(_LOWER_SKIN, 0.0, -0.02, lid)
    elif au == 10:  # upper lip raiser (levator labii superioris)
        w = np.exp(-0.5 * ((lat - 0.4) / 0.3) ** 2)
        f.add(_UPPER_LIP, 0.0, -0.07, w)
        f.add(_PHILTRUM, 0.0, -0.04, 1.0)
        f.add(_CORNERS, 0.0, -0.02, 1.0)
        f.add(_ALAE, 0.0, -0.02, 1.0)
        f.add(_NASOLABIAL, out * 0.005, -0.03, 1.0)
    elif au == 12:  # lip corner puller (zygomaticus major)
        w = lat**2
        f.add(_CORNERS, out * 0.075, -0.085, 1.0)
        f.add(
            _UPPER_LIP, out * 0.07 * w, -0.085 * lat, 1.0
        )  # linear in height: corners never overtake the lip
        f.add(_LOWER_LIP, out * 0.07 * w, -0.085 * lat, 1.0)
        f.add(_LOWER_LIP, 0.0, 0.012, central)  # the lower lip curves into a U
        f.add(_CHEEKS, out * 0.03, -0.04, f.near(_CORNERS, 0.3))
        f.add(_NASOLABIAL, out * 0.025, -0.03, 1.0)
        f.add(_CHIN, out * 0.015, -0.015, f.near(_CORNERS, 0.25))
    elif au == 14:  # dimpler (buccinator)
        w = lat**2
        f.add(_CORNERS, -out * 0.025, -0.015, 1.0)
        f.add(_LIP_BODY, -out * 0.02, -0.01, w)
        f.add(_CHEEKS, -out * 0.01, 0.0, f.near(_CORNERS, 0.2))
    elif au == 15:  # lip corner depressor (depressor anguli oris)
        f.add(_CORNERS, out * 0.01, 0.075, 1.0)
        f.add(_LIP_BODY, out * 0.008 * lat, 0.075 * lat, 1.0)
        f.add(_CHIN, 0.0, 0.02, f.near(_CORNERS, 0.25))
        f.add(_CHEEKS, 0.0, 0.012, f.near(_CORNERS, 0.25))
    elif au == 16:  # lower lip depressor
        f.add(_LOWER_LIP, out * 0.01 * lat, 0.06, 0.3 + 0.7 * central)
        f.add(_CHIN, 0.0, 0.02, f.near(_LOWER_OUTER, 0.2))
    elif au == 17:  # chin raiser (mentalis)
        f.add(_LOWER_LIP, 0.0, -0.035, 0.3 + 0.7 * central)
        f.add(_CHIN, 0.0, -0.04, f.near(_LOWER_OUTER, 0.25))
        f.add(_CORNERS, 0.0, 0.012, 1.0)
    elif au == 20:  # lip stretcher (risorius)
        w = lat**1.5
        f.add(_CORNERS, out * 0.08, 0.02, 1.0)
        f.add(_LIP_BODY, out * 0.075, 0.015, w)
        f.add(_UPPER_OUTER, 0.0, 0.012, central)
        f.add(_LOWER_OUTER, 0.0, -0.012, central)
        f.add(_CHEEKS, out * 0.025, 0.0, f.near(_CORNERS, 0.25))
        f.add(_CHIN, out * 0.015, 0.0, f.near(_CORNERS, 0.2))
    elif au == 23:  # lip tightener (orbicularis oris): x1.6
        w = lat**2
        f.add(_CORNERS, -out * 0.035, 0.0, 1.0)
        f.add(_LIP_BODY, -out * 0.03, 0.0, w)
        f.add(_UPPER_OUTER, 0.0, 0.03, central)
        f.add(_LOWER_OUTER, 0.0, -0.03, central)
    elif au == 24:  # lip presser (orbicularis oris): x1.6
        f.add(_UPPER_OUTER, 0.0, 0.02, 0.5 + 0.5 * central)
        f.add(_LOWER_OUTER, 0.0, -0.035, 0.5 + 0.5 * central)
        f.add(_UPPER_INNER, 0.0, 0.012, 1.0)
        f.add(_LOWER_INNER, 0.0, -0.02, 1.0)
        f.add(_CORNERS, -out * 0.012, 0.0, 1.0)
        f.add(_CHIN, 0.0, -0.015, f.near(_LOWER_OUTER, 0.2))
    elif au == 25:  # lips part
        f.add(_UPPER_INNER, 0.0, -0.015, 0.3 + 0.7 * central)
        f.add(_LOWER_INNER, 0.0, 0.045, 0.3 + 0.7 * central)
        f.add(_LOWER_OUTER, 0.0, 0.03, 0.3 + 0.7 * central)
        f.add(_CHIN, 0.0, 0.01, f.near(_LOWER_OUTER, 0.2))
    elif au == 26:  # jaw drop: x1.5 (the chin outline stays: identity)
        wl = 0.2 + 0.8 * central**1.5  # tapered toward the corners: no hourglass sides
        f.add(_LOWER_INNER, 0.0, 0.16, wl)
        f.add(_LOWER_OUTER, 0.0, 0.14, wl)
        f.add(_CORNERS, -out * 0.03, 0.04, 1.0)  # a dropped jaw narrows the mouth
        f.add(_LIP_BODY, -out * 0.03 * lat**2, 0.0, 1.0)
        f.add(_CHIN, 0.0, 0.075, f.near(_LOWER_OUTER, 0.2))
        f.add(_CHEEKS, 0.0, 0.02, f.near(_CORNERS, 0.25))
    else:
        raise KeyError(f"no displacement field for AU{au}; known: {AU_IDS}")
    f.d[_IDENTITY] = 0.0
    f.d[_IRISES] = 0.0
    return f.d


# Soft caps per region (IOD): the summed displacement's length is compressed toward these.
REGION_CAPS: dict[str, float] = {
    "brows": 0.2,
    "forehead": 0.2,
    "lids": 0.2,
    "cheeks": 0.2,
    "nose": 0.15,
    "lips": 0.65,
    "chin": 0.3,
}
_REGION_OF: dict[str, np.ndarray] = {
    "brows": _BROWS,
    "forehead": _FOREHEAD,
    "lids": _idx(_UPPER_LID, _LOWER_LID, _LID_FOLD, _LOWER_SKIN),
    "cheeks": np.union1d(_CHEEKS, _NASOLABIAL),
    "nose": np.union1d(_ALAE, np.union1d(_NOSE_SIDES, _NOSE_TIP)),
    "lips": np.union1d(_LIPS, _PHILTRUM),
    "chin": _CHIN,
}


def _side_weights(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(478,) weights of the subject's right and left halves (smooth across the midline)."""
    wr = 1.0 / (1.0 + np.exp(np.clip(q[:, 0] / 0.04, -50, 50)))
    return wr, 1.0 - wr


def soft_cap(d: np.ndarray, cap: float) -> np.ndarray:
    """Compress (N, 2) displacement lengths smoothly toward ``cap`` (tanh): monotonic, <= cap."""
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    scale = np.where(n > 1e-12, cap * np.tanh(n / cap) / np.maximum(n, 1e-12), 1.0)
    return d * scale


@dataclass(frozen=True)
class ExpressionConfig:
    """Geometry settings of the EFG.

    gain: global multiplier of every AU field. The fields are FACS-plausible movements
        (1.0); the default 2.0 is what a 64x64 face-emotion recogniser needed to read them
        (tuned on talk_* frames other than the benchmark's). Undoing the source's own AUs
        always uses 1.0.
    au_gain: per-AU multipliers on top (e.g. {4: 1.2} for stronger brows).
    caps: per-region soft caps in IOD (see :data:`REGION_CAPS`).
    """

    gain: float = 2.0
    au_gain: Mapping[int, float] = field(default_factory=dict)
    caps: Mapping[str, float] = field(default_factory=lambda: dict(REGION_CAPS))


def au_displacements_normalized(
    q: np.ndarray,
    aus: AUs,
    config: ExpressionConfig = ExpressionConfig(),
    *,
    undo: AUs | None = None,
    close: float = 0.0,
) -> np.ndarray:
    """(478, 2) displacement in IOD units (face frame) for AU intensities ``aus`` on face ``q``.

    q: (478, 3) normalised landmarks (:meth:`FaceFrame.to_face`). ``undo``: AU intensities
    to remove (e.g. the source's own, from :func:`estimate_aus`, times the relax share);
    they are applied negated at the fields' unit gain (as they were estimated), whatever
    ``config.gain``. ``close`` in [0, 1]: the share of the remaining inner-lip gap to close
    afterwards (a talking mouth shut for a closed-mouth expression; see :func:`close_lips`).
    Caps apply per region, then lips are kept from crossing and the skin round the lips
    follows them.
    """
    wr, wl = _side_weights(q)
    d = np.zeros((N, 2))
    terms: list[tuple[int, float, float, float]] = []
    for au in sorted(set(aus.right) | set(aus.left)):
        g = config.gain * float(config.au_gain.get(au, 1.0))
        terms.append((au, g * float(aus.right.get(au, 0.0)), g * float(aus.left.get(au, 0.0)), 1.0))
    if undo is not None:
        for au in sorted(set(undo.right) | set(undo.left)):
            terms.append((au, -float(undo.right.get(au, 0.0)), -float(undo.left.get(au, 0.0)), 1.0))
    cache: dict[int, np.ndarray] = {}
    for au, a_r, a_l, _ in terms:
        if a_r == 0.0 and a_l == 0.0:
            continue
        if au not in cache:
            cache[au] = _au_field(au, q)
        d += cache[au] * (a_r * wr + a_l * wl)[:, None]
    for name, idx in _REGION_OF.items():
        cap = config.caps.get(name)
        if cap:
            d[idx] = soft_cap(d[idx], cap)
    if close > 0.0:
        d = close_lips(q, d, close)
    d = _corner_continuity(q, d)
    d = _drag_skin(q, d)
    d = _keep_lip_order(q, d)
    d[_IDENTITY] = 0.0
    d[_IRISES] = 0.0
    return d


CLOSED_GAP = 0.006
"""Inner-lip gap (IOD) left by :func:`close_lips` at ``amount`` 1: lips touching."""


def close_lips(q: np.ndarray, d: np.ndarray, amount: float) -> np.ndarray:
    """Shut a parted mouth by ``amount`` in [0, 1] of its remaining inner-lip gap.

    q: (478, 3) normalised landmarks; d: (478, 2) displacements so far (IOD). The gap left
    after ``d`` (face-frame y, per inner-lip pair, beyond :data:`CLOSED_GAP`) closes by
    ``amount``: the lower lip (the jaw) rises by 75% of it, the upper lip comes down by 25%;
    each outer lip point follows its inner partner and the chin follows the lower lip. The gap is measured on the face itself, so
    the closure is exact whatever the source's mouth opening; ``amount`` is linear (monotonic).
    """
    a = float(min(1.0, max(0.0, amount)))
    if a <= 0.0:
        return d
    out = d.copy()
    y = q[:, 1] + d[:, 1]
    up, lo = _INNER_PAIRS
    shut = a * np.maximum(y[lo] - y[up] - CLOSED_GAP, 0.0)
    outer_u, inner_u = _OUTER_UPPER_PAIRS
    outer_l, inner_l = _OUTER_LOWER_PAIRS
    out[inner_u, 1] += 0.25 * shut
    out[outer_u, 1] += 0.25 * shut
    out[inner_l, 1] -= 0.75 * shut
    out[outer_l, 1] -= 0.75 * shut
    # the chin rides up with the jaw (fading with the distance from the lower lip)
    lip = q[outer_l, :2]
    d2 = ((q[_CHIN, None, :2] - lip[None]) ** 2).sum(-1)
    w = np.exp(-0.5 * d2 / 0.2**2)
    out[_CHIN, 1] -= 0.75 * (w @ shut) / np.maximum(w.sum(axis=1), 1e-9) * w.max(axis=1)
    return out


_CORNER_PAIRS = (
    (R.MOUTH_CORNER_RIGHT, R.INNER_CORNER_RIGHT),
    (R.MOUTH_CORNER_LEFT, R.INNER_CORNER_LEFT),
)
CORNER_SIGMA = 0.06
"""Reach (IOD, Gaussian sigma) of a mouth corner's pull on the lip points next to it."""


def _corner_continuity(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Lips next to a mouth corner move with it: each lip point's displacement is blended toward
    its side's corner displacement (mean of the outer and inner corner) by a Gaussian of its
    distance to that corner (sigma :data:`CORNER_SIGMA`). Without it, a corner pulled down
    (AU15) or undone more than its neighbours (a talking source's estimated AU12/25/26) left a
    step of ~0.1 IOD within 0.05 IOD of the corner, which the warp drew as a dark notch of the
    source's open mouth beside a closed one."""
    out = d.copy()
    pts = q[_LIP_BODY, :2]
    for outer, inner in _CORNER_PAIRS:
        c = 0.5 * (q[outer, :2] + q[inner, :2])
        dc = 0.5 * (d[outer] + d[inner])
        w = np.exp(-0.5 * ((pts - c) ** 2).sum(-1) / CORNER_SIGMA**2)
        out[_LIP_BODY] += w[:, None] * (dc - out[_LIP_BODY])
    return out


_DRAG_SKIN = np.setdiff1d(_idx(_CHEEKS, _NASOLABIAL, _CHIN, _PHILTRUM), _IDENTITY)
_DRAG_SIGMA = 0.15


def _drag_skin(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Skin next to the lips follows them: each skin point's displacement is blended toward the
    proximity-weighted mean of the lip displacements (weight = the nearest lip point's
    Gaussian proximity, sigma 0.15 IOD), so a lip corner never runs over a still cheek point
    (which would fold the warp)."""
    lip = q[_LIPS, :2]
    skin = q[_DRAG_SKIN, :2]
    d2 = ((skin[:, None, :] - lip[None, :, :]) ** 2).sum(-1)
    w = np.exp(-0.5 * d2 / _DRAG_SIGMA**2)
    m = w.max(axis=1, keepdims=True)
    mean = (w @ d[_LIPS]) / np.maximum(w.sum(axis=1, keepdims=True), 1e-9)
    out = d.copy()
    out[_DRAG_SKIN] = (1.0 - m) * d[_DRAG_SKIN] + m * mean
    return out


_INNER_PAIRS = np.array([R.LIPS_INNER_UPPER[1:-1], R.LIPS_INNER_LOWER[1:-1]])
_OUTER_UPPER_PAIRS = np.array([R.LIPS_OUTER_UPPER[1:-1], R.LIPS_INNER_UPPER[1:-1]])
_OUTER_LOWER_PAIRS = np.array([R.LIPS_OUTER_LOWER[1:-1], R.LIPS_INNER_LOWER[1:-1]])
MIN_LIP_THICKNESS = 0.45
"""A lip may thin to this fraction of its source thickness, no further."""
MAX_LIP_THICKNESS = 1.2
"""A lip may thicken to this multiple of its source thickness, no further (the outer edge
follows the inner one: undoing a talking jaw drop raised the inner lower lip more than the
outer and stretched the lipstick into a thick pink band)."""


def _keep_lip_order(q: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Stop lips crossing: the inner lower lip stays below the inner upper lip, and each lip
    keeps between :data:`MIN_LIP_THICKNESS` and :data:`MAX_LIP_THICKNESS` of its thickness
    (face-frame y, IOD units; the outer edge moves)."""
    y = q[:, 1] + d[:, 1]
    out = d.copy()
    up, lo = _INNER_PAIRS
    gap = y[lo] - y[up]
    bad = gap < 0.004
    if bad.any():
        mid = 0.5 * (y[lo] + y[up])
        out[up[bad], 1] = mid[bad] - 0.002 - q[up[bad], 1]
        out[lo[bad], 1] = mid[bad] + 0.002 - q[lo[bad], 1]
        y = q[:, 1] + out[:, 1]
    for outer, inner, sign in ((*_OUTER_UPPER_PAIRS, -1.0), (*_OUTER_LOWER_PAIRS, 1.0)):
        thick0 = np.abs(q[outer, 1] - q[inner, 1])
        thick = sign * (y[outer] - y[inner])
        need = MIN_LIP_THICKNESS * thick0
        short = thick < need
        if short.any():
            out[outer[short], 1] = y[inner[short]] + sign * need[short] - q[outer[short], 1]
        most = MAX_LIP_THICKNESS * thick0
        fat = thick > most
        if fat.any():
            out[outer[fat], 1] = y[inner[fat]] + sign * most[fat] - q[outer[fat], 1]
    return out


def au_displacements(
    points: np.ndarray,
    aus: AUs,
    config: ExpressionConfig = ExpressionConfig(),
    *,
    undo: AUs | None = None,
    close: float = 0.0,
) -> np.ndarray:
    """Pixel displacements (478, 2) float32 (dx, dy) of the landmarks for AU intensities ``aus``.

    points: (478, 3) float32 pixel landmarks of the source face. The fields are built in the
    face-normalised frame (scaled by the IOD, rotated with the head pose) and mapped back.
    ``undo``: AU intensities to remove; ``close``: share of the inner-lip gap to shut (see
    :func:`au_displacements_normalized`).
    """
    frame = FaceFrame.of(points)
    d = au_displacements_normalized(frame.to_face(points), aus, config, undo=undo, close=close)
    return frame.displacement_to_image(d).astype(np.float32)


# --- estimating a face's own AUs (for neutral) --------------------------------------------------------
def _features(q: np.ndarray) -> np.ndarray:
    """Expression features of normalised face(s) q (..., 478, 3) -> (..., F) in IOD units.

    Per side (right, left): inner-brow height, outer-brow height, eye opening, lower-lid
    height, mouth-corner height, mouth-corner lateral position; then brow gap, lip gap, lower
    lip drop, upper lip to nose, upper/lower lip thickness, ala height.
    """
    y = q[..., 1]
    x = q[..., 0]
    feats = []
    for brow_in, brow_out, corner_in, corner_out, top, bot, mc in (
        ((55, 65), (46, 53), 133, 33, 159, 145, 61),
        ((285, 295), (276, 283), 362, 263, 386, 374, 291),
    ):
        eye_y = 0.5 * (y[..., corner_in] + y[..., corner_out])
        feats.append(y[..., corner_in] - y[..., list(brow_in)].mean(-1))
        feats.append(y[..., corner_out] - y[..., list(brow_out)].mean(-1))
        feats.append(y[..., bot] - y[..., top])
        feats.append(eye_y - y[..., bot])
        lip_mid = 0.5 * (y[..., 0] + y[..., 17])
        feats.append(lip_mid - y[..., mc])
        feats.append(np.abs(x[..., mc] - x[..., 2]))
    feats.append(x[..., 285] - x[..., 55])
    feats.append(y[..., 14] - y[..., 13])
    feats.append(y[..., 17] - y[..., 2])
    feats.append(y[..., 0] - y[..., 2])
    feats.append(y[..., 13] - y[..., 0])
    feats.append(y[..., 17] - y[..., 14])
    feats.append(y[..., 2] - 0.5 * (y[..., 64] + y[..., 294]))
    return np.stack(feats, axis=-1)


FEATURE_NAMES: tuple[str, ...] = tuple(
    [
        f"{s}_{n}"
        for s in ("right", "left")
        for n in ("inner_brow", "outer_brow", "eye_open", "lower_lid", "corner_up", "corner_out")
    ]
    + [
        "brow_gap",
        "lip_gap",
        "lower_lip_drop",
        "upper_lip_to_nose",
        "upper_lip",
        "lower_lip",
        "ala_height",
    ]
)

# Population medians of the features (IOD units) on frontal, at-rest talking faces: the
# reference when no video of the person is available. Lip gap is set to closed.
POPULATION_NEUTRAL: np.ndarray = np.array(
    [0.30, 0.24, 0.125, -0.045, 0.02, 0.42] * 2 + [0.39, 0.0, 0.50, 0.235, 0.10, 0.16, 0.083]
)

_ESTIMATED_AUS: tuple[int, ...] = (1, 2, 4, 5, 7, 12, 15, 16, 20, 23, 25, 26, 10, 17)
# Features whose reference is not the person's median: the mouth is closed at rest.
_GAP = FEATURE_NAMES.index("lip_gap")


def estimate_aus(
    points: np.ndarray,
    reference: np.ndarray | None = None,
    *,
    max_intensity: float = 1.5,
) -> AUs:
    """Estimate the AU intensities a face shows, relative to a neutral reference.

    points: (478, 3) pixel landmarks. reference: (478, 3) landmarks of the same person at rest
    (e.g. :func:`neutral_reference` of their video); None uses :data:`POPULATION_NEUTRAL`.
    The feature deviations are explained by non-negative AU intensities per side (projected
    gradient least squares over the Jacobian of :func:`_features` with respect to each AU
    field), capped at ``max_intensity``. Talking mouths count as AU25/26 (lips part / jaw drop).
    """
    frame = FaceFrame.of(points)
    q = frame.to_face(points)
    f_src = _features(q)
    if reference is not None:
        fr = FaceFrame.of(reference)
        f_ref = _features(fr.to_face(reference))
        f_ref[_GAP] = min(f_ref[_GAP], 0.0)
        # the person's own rest face, but with lips closed
        f_ref[FEATURE_NAMES.index("lower_lip_drop")] -= max(
            _features(fr.to_face(reference))[_GAP], 0.0
        )
    else:
        f_ref = POPULATION_NEUTRAL.copy()
    delta = f_src - f_ref
    cols = []
    names = []
    wr, wl = _side_weights(q)
    for au in _ESTIMATED_AUS:
        base = _au_field(au, q)
        for side, w in (("r", wr), ("l", wl)):
            qq = q.copy()
            qq[:, :2] += base * w[:, None]
            cols.append(_features(qq) - f_src)
            names.append((au, side))
    jac = np.stack(cols, axis=1)  # (F, K)
    a = _nnls_box(jac, delta, max_intensity)
    right = {au: float(v) for (au, s), v in zip(names, a, strict=True) if s == "r" and v > 1e-3}
    left = {au: float(v) for (au, s), v in zip(names, a, strict=True) if s == "l" and v > 1e-3}
    return AUs(right, left)


def _nnls_box(
    a: np.ndarray, b: np.ndarray, hi: float, iters: int = 400, ridge: float = 1e-3
) -> np.ndarray:
    """argmin ||A x - b||^2 + ridge ||x||^2 subject to 0 <= x <= hi (projected gradient)."""
    ata = a.T @ a + ridge * np.eye(a.shape[1])
    atb = a.T @ b
    step = 1.0 / max(float(np.linalg.eigvalsh(ata).max()), 1e-9)
    x = np.zeros(a.shape[1])
    for _ in range(iters):
        x = np.clip(x - step * (ata @ x - atb), 0.0, hi)
    return x


def neutral_reference(points: np.ndarray) -> np.ndarray:
    """A person's rest face from a track (T, 478, 3): the per-point median of the frames after
    aligning each to the first valid frame's face frame (NaN rows ignored). Returns (478, 3)
    pixel landmarks in the first valid frame's position."""
    p = np.asarray(points, dtype=np.float64)
    valid = np.isfinite(p).all(axis=(1, 2))
    if not valid.any():
        raise ValueError("no valid frames to take a neutral reference from")
    first = FaceFrame.of(p[np.flatnonzero(valid)[0]])
    qs = np.stack([FaceFrame.of(pi).to_face(pi) for pi in p[valid]])
    med = np.median(qs, axis=0)
    return (first.origin + first.scale * med @ first.rot.T).astype(np.float32)
