"""The Emotional Face Animator (EFA): a talking face lip-synced to new speech, keeping the emotion.

Two modes (:class:`AnimateConfig`):

* ``video`` (:func:`animate_video`): the source frames re-timed to the new speech
  (forward, then ping-pong with eased turns: no jump cut; :mod:`emoshift.face.headmotion`).
  Each frame keeps its background, lighting, head pose and upper face; its blinks are
  planned (:func:`emoshift.face.blink.plan_video_blinks`: the source's own kept at a natural
  rate and length, the others hidden with a nearby frame's open eyes, more added); the lower
  face's own talking motion is replaced by the person's closed-mouth rest shape
  (:func:`emoshift.face.lipsync.rest_face`, aligned to the frame's pose from rigid mesh
  points), then driven by the visemes of the new phones (:mod:`emoshift.face.visemes`) and
  carries the target emotion's action-unit displacements throughout
  (:mod:`emoshift.face.expression`). With ``lip_sync=False`` (face-only) the source mouth and
  audio stay and only the emotion is added.
* ``still`` (:func:`animate_still`): one (emotional) still animated with visemes, blinks
  (:mod:`emoshift.face.blink`) and gentle head motion from the speech's loudness, or re-used
  from a source pose track.

Rendering per frame: landmark targets in the face-normalised frame -> pixels with the
frame's pose -> a piecewise-affine warp over a triangulation of the mesh (:class:`MeshWarp`:
exact at every landmark, so lips close crisply; only the face region is touched, with a
smooth interpolation for the skin just outside the face oval) -> the mouth interior where the lips
part (:func:`emoshift.face.mouth.render_mouth`: the subject's own teeth from a donor frame,
or a shaded cavity) -> action-unit shading (video mode) -> H.264 with the new audio muxed.
Frames stream from the decoder to the encoder (each in a background thread, overlapping the
rendering); only the frames a ping-pong turn needs are
cached (in RAM, or a temporary file when large).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from emoshift.emotion import Emotion, EmotionSpec
from emoshift.errors import ConfigError, NoFaceError
from emoshift.face import regions as R
from emoshift.face.au import AUs
from emoshift.face.blink import (
    BlinkConfig,
    blink_displacement,
    blink_schedule,
    closure_track,
    plan_video_blinks,
)
from emoshift.face.expression import ExpressionConfig, FaceFrame
from emoshift.face.headmotion import (
    ProsodyPoseConfig,
    prosody_pose,
    retime_indices,
    retime_pose,
    rotation,
)
from emoshift.face.lipsync import (
    MouthBasis,
    close_mouth,
    mouth_target,
    neutralize_weights,
    rest_face,
    split_emotion,
)
from emoshift.face.render_workers import ForkedRenderer, default_workers, fork_available
from emoshift.face.visemes import JAW, VisemeConfig, loudness_envelope, viseme_tracks
from emoshift.fileio import check_output_path
from emoshift.timing import Timings

log = logging.getLogger(__name__)

N = R.N_POINTS
_JAW_FULL_OPEN = 0.3
"""Viseme jaw opening at and above which the emotion's own lip parting shows in full share."""
_RIGID = np.array(R.RIGID)
_OVAL = np.array(R.FACE_OVAL)


@dataclass(frozen=True)
class AnimateConfig:
    """Settings of :func:`animate_video` / :func:`animate_still`.

    mode: ``"video"`` re-times and edits the source frames; ``"still"`` animates one still
        (in :func:`animate_video`, an emotional still generated from the clip's best frame).
    expression: carry the target emotion's action units (video mode; a still carries its own).
    lip_sync: drive the mouth with the new speech; False keeps the source mouth and audio
        (face-only) in video mode, and a closed mouth in still mode.
    blink: natural blinks: synthetic in still mode; in video mode (with ``lip_sync``) the
        person's own blinks at a natural rate and length, the rest hidden, more added where
        too few (:func:`emoshift.face.blink.plan_video_blinks`).
    head_motion: ``"source"`` re-uses the source's head motion (video frames, or a pose
        track given to :func:`animate_still`), ``"prosody"`` generates it from the speech
        loudness (still mode), ``"none"`` keeps the head still.
    seed: makes blinks and generated head motion repeatable.
    mouth / shading: draw the mouth interior / the AU shading cues.
    talk_open_weight: share of the emotion's own lip opening (AU25/26) kept while talking
        (the visemes decide the rest; P/B/M close it fully).
    crf / preset: H.264 quality and speed. cache_mb: RAM for frames a ping-pong turn
        replays; beyond it they go to a temporary file.
    render_workers: 2 renders every other frame of a video in a forked child process
        (:mod:`emoshift.face.render_workers`; ~10-15 % faster on 2 cores), 1 renders
        in-process; None: :func:`~emoshift.face.render_workers.default_workers`.
    """

    mode: Literal["video", "still"] = "video"
    expression: bool = True
    lip_sync: bool = True
    blink: bool = True
    head_motion: Literal["source", "prosody", "none"] = "source"
    seed: int = 0
    mouth: bool = True
    shading: bool = True
    talk_open_weight: float | None = None
    expression_config: ExpressionConfig = field(default_factory=ExpressionConfig)
    visemes: VisemeConfig = field(default_factory=VisemeConfig)
    blinks: BlinkConfig = field(default_factory=BlinkConfig)
    head: ProsodyPoseConfig = field(default_factory=ProsodyPoseConfig)
    crf: int = 20
    preset: str = "veryfast"
    cache_mb: int = 768
    render_workers: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("video", "still"):
            raise ConfigError(f"mode must be 'video' or 'still', got {self.mode!r}")
        if self.head_motion not in ("source", "prosody", "none"):
            raise ConfigError(
                f"head_motion must be 'source', 'prosody' or 'none', got {self.head_motion!r}"
            )
        if self.talk_open_weight is not None and not 0.0 <= self.talk_open_weight <= 1.0:
            raise ConfigError("talk_open_weight must be in [0, 1] (or None: per emotion)")
        if self.render_workers is not None and self.render_workers not in (1, 2):
            raise ConfigError("render_workers must be 1, 2 or None (automatic)")

    def open_weight(self, spec: EmotionSpec) -> float:
        """The talking share of ``spec``'s lip opening: ``talk_open_weight`` if set, else
        :data:`TALK_OPEN_WEIGHT` of the main emotion (default 0.35)."""
        if self.talk_open_weight is not None:
            return float(self.talk_open_weight)
        main = max(spec.weights, key=spec.weights.__getitem__)
        return TALK_OPEN_WEIGHT.get(main, DEFAULT_TALK_OPEN_WEIGHT)


DEFAULT_TALK_OPEN_WEIGHT = 0.35
TALK_OPEN_WEIGHT: dict[Emotion, float] = {Emotion.FEAR: 1.0}
"""Per-emotion share of the emotion's own lip opening (AU25/26) kept while talking (it grows
with the speech's jaw opening; at 0.35 a smile's parting shows a little as the jaw opens).
Fear's open mouth is one of its two main cues: at 0.35 its stretched, barely open talking
mouth read as a grin to the FER (talk_man_office fear EDD 0.665, fear p 0.079 -> 0.057; at
1.0: EDD 0.244, p -> 0.120; the other talk_* clips unchanged within 0.02)."""


@dataclass
class AnimationResult:
    """What an animation produced.

    out_path: the mp4; n_frames / fps / size (width, height): of the video; duration_s:
    n_frames / fps; audio_duration_s: of the speech before fitting; timings: seconds per
    stage (decode, pose, warp, mouth, shading, encode, setup); params: (T, K) viseme
    parameters; blink: (T,) lid closure; pose: (T, 3) added head pose (still mode) or the
    source pose re-timed (video); source_index: (T,) source frame per output frame (video);
    donor_frame: source frame the mouth interior came from (-1: none); max_folded_triangles:
    the most mesh triangles any frame's warp folded (0 = none).
    """

    out_path: Path
    n_frames: int
    fps: float
    size: tuple[int, int]
    duration_s: float
    audio_duration_s: float
    timings: dict[str, float]
    params: np.ndarray
    blink: np.ndarray
    pose: np.ndarray
    source_index: np.ndarray | None = None
    donor_frame: int = -1
    max_folded_triangles: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def render_fps(self) -> float:
        """Frames rendered per second of wall time (setup excluded)."""
        t = sum(v for k, v in self.timings.items() if k != "setup")
        return self.n_frames / t if t > 0 else float("inf")


# --- the warp ----------------------------------------------------------------------------------
def _smoothstep(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class MeshWarp:
    """Piecewise-affine image warp over a fixed triangulation of the 468 mesh points.

    Built once per face from normalised landmarks ``q`` (478, 3) (Delaunay triangulation of
    the face with mouth and eyes held shut, so the openings are strips of triangles from the
    upper to the lower lip / lid that collapse when they close), plus two bands of triangles
    outside the face: from its outline (convex hull) to a ring of anchors ``ring`` IOD out,
    and from there to a fixed ring ``margin`` IOD further. :meth:`__call__` maps an image so
    landmarks ``src`` go to ``dst``: each destination triangle samples its source triangle
    (clamped barycentric coordinates, ``cv2.remap``); the whole map is continuous, with no
    holes, and nothing beyond the outer ring changes. ``map_step``: the map is computed every
    that many pixels (at least; ``step_iod``: at most one sample per 1/``step_iod`` of the
    inter-ocular distance, so large faces get a coarser grid in pixels and the same one
    relative to the face: 2 px up to an IOD of ~107 px, 3 px for talk_man_map's 129 px) and
    upsampled (exact inside triangles; the triangles round the mouth and eye openings are
    mapped at every pixel). ``smooth``: blur (IOD) of the bands' displacement, so straight
    edges there do not bend at triangle edges.
    """

    def __init__(
        self,
        q: np.ndarray,
        *,
        ring: float = 0.35,
        margin: float = 0.25,
        map_step: int = 2,
        step_iod: float = 43.0,
        smooth: float = 0.1,
    ) -> None:
        from scipy.spatial import ConvexHull, Delaunay

        # Delaunay over the face with the mouth a little open; then the mouth and eye openings
        # are re-triangulated as strips joining the upper to the lower lip / lid, so when they
        # close the opening's content (teeth, eyes) collapses completely.
        qq = np.asarray(q, dtype=np.float64)[:468, :2].copy()
        qq[np.array(R.LIPS_INNER_LOWER[1:-1] + R.LIPS_OUTER_LOWER[1:-1]), 1] += 0.04
        tri = Delaunay(qq).simplices.astype(np.int64)
        keep = np.ones(len(tri), bool)
        strips = []
        for up, lo in (
            (R.LIPS_INNER_UPPER, R.LIPS_INNER_LOWER),
            (R.RIGHT_EYE_UPPER, R.RIGHT_EYE_LOWER),
            (R.LEFT_EYE_UPPER, R.LEFT_EYE_LOWER),
        ):
            loop = np.array(up + tuple(reversed(lo[1:-1])))
            on_ring = np.isin(tri, loop).all(axis=1)
            cen = qq[tri].mean(axis=1).astype(np.float32)
            poly = qq[loop].astype(np.float32).reshape(-1, 1, 2)
            inside = np.array(
                [cv2.pointPolygonTest(poly, (float(c[0]), float(c[1])), False) >= 0 for c in cen]
            )
            keep &= ~(on_ring & inside)
            for k in range(len(up) - 1):
                for t in ((up[k], up[k + 1], lo[k + 1]), (up[k], lo[k + 1], lo[k])):
                    if len(set(t)) == 3:
                        strips.append(t)
        tri = np.vstack([tri[keep], np.array(strips, dtype=np.int64)])
        neg = _signed_area(qq[tri]) < 0
        tri[neg] = tri[neg][:, ::-1]  # every triangle counter-clockwise (in image axes) at rest
        self.triangles = tri
        self.hull = ConvexHull(qq).vertices.astype(np.int64)  # counter-clockwise
        self.ring = float(ring)
        self.margin = float(margin)
        self.map_step = max(1, int(map_step))
        self.step_iod = float(step_iod)
        self.smooth = float(smooth)
        self._grids: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        # the outer bands: hull -> anchor ring (points 468 + k) -> fixed outer ring
        # (468 + M + k), two triangles per hull edge and band
        m = len(self.hull)
        k = np.arange(m)
        k1 = (k + 1) % m
        h0, h1 = self.hull[k], self.hull[k1]
        a0, a1 = 468 + k, 468 + k1
        b0, b1 = 468 + m + k, 468 + m + k1
        band = np.concatenate(
            [
                np.stack([h0, h1, a1], 1),
                np.stack([h0, a1, a0], 1),
                np.stack([a0, a1, b1], 1),
                np.stack([a0, b1, b0], 1),
            ]
        )
        self._all_triangles = np.vstack([tri, band])
        # triangles touching the mouth and eye openings (where the map jumps when they close)
        loops = np.array(
            R.LIPS_INNER_UPPER
            + R.LIPS_INNER_LOWER
            + R.RIGHT_EYE_UPPER
            + R.RIGHT_EYE_LOWER
            + R.LEFT_EYE_UPPER
            + R.LEFT_EYE_LOWER
        )
        self._seam = np.isin(tri, loops).any(axis=1)

    def _grid(self, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        g = self._grids.get((h, w))
        if g is None:
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            g = (xs, ys)
            self._grids[(h, w)] = g
        return g

    def flipped(self, src: np.ndarray, dst: np.ndarray, tol: float = 1.0) -> np.ndarray:
        """(F,) bool: triangles whose orientation in ``dst`` differs from ``src`` (both larger
        than ``tol`` square pixels), i.e. where the map would fold."""
        t = self.triangles
        a_src = _signed_area(src[t])
        a_dst = _signed_area(dst[t])
        return (np.sign(a_dst) != np.sign(a_src)) & (np.abs(a_dst) > tol) & (np.abs(a_src) > tol)

    def bands(self, src: np.ndarray, iod: float, ring: float) -> tuple[np.ndarray, np.ndarray]:
        """The two rings of the outer bands for landmarks ``src`` (478+, 2) pixels: (ring1 (M, 2):
        the hull pushed ``ring`` IOD out from the face centre, ring2 (M, 2): ``margin`` IOD
        further, the warp's fixed outer border)."""
        hull_s = src[self.hull]
        v = hull_s - src[:468].mean(axis=0)
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
        r1 = hull_s + v * ring * iod
        return r1, r1 + v * self.margin * iod

    def __call__(
        self,
        image: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        *,
        iod: float,
        ring_shift: np.ndarray | None = None,
        ring: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Warp ``image`` ((H, W, 3) uint8) so ``src`` (478, 2) pixels go to ``dst``.

        iod: face size in pixels. ring_shift: (M, 2) forward motion of the anchor ring (one
        anchor per hull point, ``ring`` IOD outside it), e.g. the head's rigid motion; None =
        anchors fixed. Returns (new image, dst (478, 2), number of folded face triangles).

        The map is one continuous piecewise-affine field: the face mesh, a band of triangles
        from its outline (hull) to the anchor ring and a band from the ring to a fixed outer
        ring (``margin`` IOD further), beyond which nothing moves. Each destination pixel takes
        its triangle's barycentric coordinates clamped to the triangle, so a rasterised pixel
        just outside a sliver triangle (or a degenerate one) samples that triangle's source
        area rather than an extrapolation far away (the cause of dark dots on the face
        outline), and every pixel the mesh does not cover keeps the identity map.
        """
        src = np.asarray(src, dtype=np.float64)[:, :2]
        dst0 = np.asarray(dst, dtype=np.float64)[:, :2]
        dst = dst0[:468]
        flip = self.flipped(src[:468], dst)
        n_flip = int(flip.sum())
        ring_iod = self.ring if ring is None else float(ring)
        r1_s, r2_s = self.bands(src, iod, ring_iod)
        hull_v = r1_s - src[self.hull]
        hull_v /= np.maximum(np.linalg.norm(hull_v, axis=1, keepdims=True), 1e-6)
        r1_d = r1_s if ring_shift is None else r1_s + np.asarray(ring_shift, np.float64)
        # an outline point pushed close to (or past) its anchor pushes the anchor out too:
        # the band never folds
        gap = ((r1_d - dst[self.hull]) * hull_v).sum(axis=1)
        need = 0.3 * ring_iod * iod
        r1_d = r1_d + hull_v * np.maximum(need - gap, 0.0)[:, None]
        all_s = np.vstack([src[:468], r1_s, r2_s])
        all_d = np.vstack([dst, r1_d, r2_s])
        d = all_d - all_s
        moved = np.abs(d).max(axis=1) > 0.02
        tris = self._all_triangles
        active = moved[tris].any(axis=1)
        h_img, w_img = image.shape[:2]
        if not active.any():
            return image, np.vstack([dst, dst0[468:]]), n_flip
        used = np.unique(tris[active])
        pts = np.vstack([all_s[used], all_d[used]])
        x0 = max(0, int(np.floor(pts[:, 0].min())) - 1)
        y0 = max(0, int(np.floor(pts[:, 1].min())) - 1)
        x1 = min(w_img, int(np.ceil(pts[:, 0].max())) + 2)
        y1 = min(h_img, int(np.ceil(pts[:, 1].max())) + 2)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return image, np.vstack([dst, dst0[468:]]), n_flip
        h, w = y1 - y0, x1 - x0
        off = np.array([x0, y0], dtype=np.float64)
        # The backward displacement is computed every `st` pixels (piecewise affine and
        # continuous, so bilinear upsampling is exact inside triangles and within a fraction
        # of a pixel at their edges) and added to the identity at full resolution.
        st = max(self.map_step, round(iod / self.step_iod)) if self.step_iod > 0 else self.map_step
        h2, w2 = -(-h // st), -(-w // st)
        c = 0.5 * (st - 1)  # map sample (i, j) sits at ROI pixel (st * i + c, st * j + c)
        # folded face triangles first, so their correctly oriented neighbours cover the overlap
        order = np.flatnonzero(active)
        fl = np.zeros(len(tris), bool)
        fl[: len(flip)] = flip
        order = order[np.argsort(~fl[order], kind="stable")]
        tri = tris[order]
        flat, k, l1, l2 = _rasterize((all_d[tri] - off - c) / st, h2, w2)
        disp_x = np.zeros(h2 * w2, np.float32)
        disp_y = np.zeros(h2 * w2, np.float32)
        inside = np.zeros(h2 * w2, bool)
        face = np.zeros(h2 * w2, bool)
        if flat.size:
            xi = (flat % w2).astype(np.float32) * np.float32(st) + np.float32(c)
            yi = (flat // w2).astype(np.float32) * np.float32(st) + np.float32(c)
            mx, my = _clamped_source((all_s[tri] - off).astype(np.float32), k, l1, l2)
            # repeated samples (shared edges, folds): the later triangle wins
            disp_x[flat] = mx - xi
            disp_y[flat] = my - yi
            inside[flat] = True
            face[flat] = order[k] < len(self.triangles)
        disp_x = disp_x.reshape(h2, w2)
        disp_y = disp_y.reshape(h2, w2)
        inside = inside.reshape(h2, w2)
        if flat.size:
            self._smooth_bands(disp_x, disp_y, inside, face.reshape(h2, w2), iod / st)
        if st > 1:
            size = (w2 * st, h2 * st)
            disp_x = cv2.resize(disp_x, size, interpolation=cv2.INTER_LINEAR)[:h, :w]
            disp_y = cv2.resize(disp_y, size, interpolation=cv2.INTER_LINEAR)[:h, :w]
            # where lips or lids close, the map jumps across the collapsed opening; upsampling
            # would blend the two sides and show what lies between (teeth, eyes) as a streak:
            # the triangles round the openings are mapped at every pixel
            sel = self._seam & active[: len(self.triangles)]
            if sel.any():
                stri = self.triangles[sel]
                stri = stri[np.argsort(~flip[sel], kind="stable")]
                flat, k, l1, l2 = _rasterize(dst[stri] - off, h, w)
                if flat.size:
                    mx, my = _clamped_source((src[stri] - off).astype(np.float32), k, l1, l2)
                    yi, xi = np.divmod(flat, w)
                    disp_x[yi, xi] = mx - xi
                    disp_y[yi, xi] = my - yi
        gx, gy = self._grid(h, w)
        map_x = disp_x + gx
        map_x += np.float32(x0)
        map_y = disp_y + gy
        map_y += np.float32(y0)
        out = image.copy()
        out[y0:y1, x0:x1] = cv2.remap(
            image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return out, np.vstack([dst, dst0[468:]]), n_flip

    def _smooth_bands(
        self,
        disp_x: np.ndarray,
        disp_y: np.ndarray,
        inside: np.ndarray,
        face: np.ndarray,
        iod: float,
    ) -> None:
        """Smooth the outer bands' displacement in place (it is piecewise affine there, which
        bends straight edges such as a collar at the triangle edges): a Gaussian-blurred field
        blended in away from the face mesh and from the bands' fixed outer border, so the map
        stays exactly continuous with the mesh and with the untouched image. ``iod`` in map
        samples; arrays (h, w) on the map grid."""
        band = inside & ~face
        if self.smooth <= 0 or not band.any():
            return
        sig = max(1.0, self.smooth * iod)
        fade = max(1.0, 1.5 * self.smooth * iod)
        d_face = cv2.distanceTransform((~face).astype(np.uint8), cv2.DIST_L2, 3)
        d_out = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
        w = (_smoothstep(d_face[band] / fade) * _smoothstep(d_out[band] / fade)).astype(np.float32)
        for dsp in (disp_x, disp_y):
            blur = cv2.GaussianBlur(dsp, (0, 0), sig)
            dsp[band] += w * (blur[band] - dsp[band])

    def patch(
        self,
        image: np.ndarray,
        src: np.ndarray,
        dst: np.ndarray,
        select: np.ndarray,
        *,
        feather: float,
    ) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]] | None:
        """The triangles ``select`` ((F,) bool) of ``image`` (landmarks ``src`` (478, 2)) moved to
        ``dst``: (patch (h, w, 3) uint8, alpha (h, w) float32 in [0, 1] fading in over
        ``feather`` pixels inside the region's edge, roi (x0, y0, x1, y1)); None if empty."""
        src = np.asarray(src, dtype=np.float64)[:468, :2]
        dst = np.asarray(dst, dtype=np.float64)[:468, :2]
        tri = self.triangles[select]
        if not len(tri):
            return None
        h_img, w_img = image.shape[:2]
        pts = dst[np.unique(tri)]
        pad = 2
        x0 = max(0, int(np.floor(pts[:, 0].min())) - pad)
        y0 = max(0, int(np.floor(pts[:, 1].min())) - pad)
        x1 = min(w_img, int(np.ceil(pts[:, 0].max())) + pad + 1)
        y1 = min(h_img, int(np.ceil(pts[:, 1].max())) + pad + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        h, w = y1 - y0, x1 - x0
        off = np.array([x0, y0], dtype=np.float64)
        flip = self.flipped(src, dst)[select]
        tri = tri[np.argsort(~flip, kind="stable")]
        flat, k, l1, l2 = _rasterize(dst[tri] - off, h, w)
        if not flat.size:
            return None
        mx, my = _clamped_source(src[tri].astype(np.float32), k, l1, l2)
        map_x = np.zeros(h * w, np.float32)
        map_y = np.zeros(h * w, np.float32)
        inside = np.zeros(h * w, bool)
        map_x[flat], map_y[flat], inside[flat] = mx, my, True
        map_x, map_y, inside = map_x.reshape(h, w), map_y.reshape(h, w), inside.reshape(h, w)
        out = cv2.remap(
            image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
        alpha = _smoothstep(dist / max(feather, 1.0)).astype(np.float32)
        return out, alpha, (x0, y0, x1, y1)


def _blend_patch(
    img: np.ndarray, got: tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]
) -> np.ndarray:
    """Blend a :meth:`MeshWarp.patch` result (patch, alpha, roi) into ``img`` ((H, W, 3)
    uint8, changed in place and returned)."""
    pimg, alpha, (x0, y0, x1, y1) = got
    region = img[y0:y1, x0:x1].astype(np.float32)
    region += (pimg.astype(np.float32) - region) * alpha[..., None]
    img[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return img


def _rasterize(
    d: np.ndarray, h: int, w: int, eps: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The samples of an (h, w) grid inside triangles ``d`` ((F, 3, 2) float, grid units: x =
    column, y = row), vectorised (no per-triangle Python loop).

    Returns (flat (M,) int64 sample indices ``y * w + x``, k (M,) triangle of each, l1, l2 (M,)
    float32 barycentric coordinates of the sample in it), in triangle order (a sample in
    several triangles, e.g. on a shared edge, appears once per triangle). Samples on an edge
    (within ``eps``) count as inside, so the union of the triangles has no holes; degenerate
    (zero-area) triangles cover nothing."""
    d = np.asarray(d, dtype=np.float64)
    x0, y0 = d[:, 0, 0], d[:, 0, 1]
    ex1, ey1 = d[:, 1, 0] - x0, d[:, 1, 1] - y0
    ex2, ey2 = d[:, 2, 0] - x0, d[:, 2, 1] - y0
    det = ex1 * ey2 - ex2 * ey1
    ok = np.abs(det) > 1e-9
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    lo = np.maximum(np.ceil(d.min(axis=1) - eps), 0).astype(np.int64)
    hi = np.floor(d.max(axis=1) + eps).astype(np.int64)
    hi[:, 0] = np.minimum(hi[:, 0], w - 1)
    hi[:, 1] = np.minimum(hi[:, 1], h - 1)
    nx = hi[:, 0] - lo[:, 0] + 1
    ny = hi[:, 1] - lo[:, 1] + 1
    n = np.where(ok & (nx > 0) & (ny > 0), nx * ny, 0)
    total = int(n.sum())
    empty = np.zeros(0, np.float32)
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), empty, empty
    n32 = n.astype(np.int32)
    t = np.repeat(np.arange(len(d), dtype=np.int32), n32)
    local = np.arange(total, dtype=np.int32) - np.repeat((np.cumsum(n) - n).astype(np.int32), n32)
    ly, lx = np.divmod(local, nx.astype(np.int32)[t])
    # per-triangle affine coefficients of (l1, l2) in the local box coordinates (float32)
    bx0 = (lo[:, 0] - x0).astype(np.float32)
    by0 = (lo[:, 1] - y0).astype(np.float32)
    a1x, a1y = (ey2 * inv).astype(np.float32), (-ex2 * inv).astype(np.float32)
    a2x, a2y = (-ey1 * inv).astype(np.float32), (ex1 * inv).astype(np.float32)
    c1 = a1x * bx0 + a1y * by0
    c2 = a2x * bx0 + a2y * by0
    fx = lx.astype(np.float32)
    fy = ly.astype(np.float32)
    l1 = a1x[t] * fx + a1y[t] * fy + c1[t]
    l2 = a2x[t] * fx + a2y[t] * fy + c2[t]
    e = np.float32(eps)
    keep = (l1 >= -e) & (l2 >= -e) & (l1 + l2 <= 1.0 + e)
    t = t[keep]
    flat = (ly[keep] + lo[t, 1].astype(np.int32)).astype(np.int64) * w + (
        lx[keep] + lo[t, 0].astype(np.int32)
    )
    return flat, t.astype(np.int64), l1[keep], l2[keep]


def _clamped_source(
    src_tri: np.ndarray, k: np.ndarray, l1: np.ndarray, l2: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Source positions (x, y), (M,) float32, of samples with barycentric coordinates
    (l1, l2) (M,) in triangles ``k`` (M,) whose source corners are ``src_tri`` (F, 3, 2).
    The coordinates are clamped to the triangle first (no negative weight), so a sample never
    maps outside its source triangle (a sliver's affine extrapolated far away showed as dark
    dots on the face outline)."""
    l1 = np.maximum(l1, 0.0)
    l2 = np.maximum(l2, 0.0)
    s = l1 + l2
    over = s > 1.0
    l1[over] /= s[over]
    l2[over] /= s[over]
    st = src_tri[k]
    mx = st[:, 0, 0] + l1 * (st[:, 1, 0] - st[:, 0, 0]) + l2 * (st[:, 2, 0] - st[:, 0, 0])
    my = st[:, 0, 1] + l1 * (st[:, 1, 1] - st[:, 0, 1]) + l2 * (st[:, 2, 1] - st[:, 0, 1])
    return mx, my


def _signed_area(tri: np.ndarray) -> np.ndarray:
    """(F,) signed areas of (F, 3, 2) triangles."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    return 0.5 * (
        (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    )


def fit_similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity b ~ s * R @ a + t of (n, 3) point sets (Umeyama 1991).

    Returns (s, R (3, 3) proper rotation, t (3,))."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    ac, bc = a - ma, b - mb
    cov = bc.T @ ac / len(a)
    u, sv, vt = np.linalg.svd(cov)
    dfix = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        dfix[2, 2] = -1.0
    rot = u @ dfix @ vt
    var_a = (ac**2).sum() / len(a)
    s = float(np.trace(np.diag(sv) @ dfix) / max(var_a, 1e-12))
    return s, rot, mb - s * rot @ ma


# --- shared helpers ----------------------------------------------------------------------------
def _phones_or_none(phones: Any) -> list[Any] | None:
    if phones is None:
        return None
    ph = list(phones)
    return ph or None


def _iod_px(points: np.ndarray) -> float:
    from emoshift.face.landmarks import inter_ocular

    return float(inter_ocular(points))


def _mouth_style(spec: EmotionSpec) -> str:
    """Interior of a TALKING mouth: the speaker's own teeth in every emotion (people show
    their teeth while speaking whatever they feel; a dark cavity reads as a hole). The
    per-emotion styles of :data:`emoshift.face.generate.MOUTH_STYLE` are for held stills."""
    del spec
    return "teeth"


def _shade_aus(add: AUs, undo: AUs) -> dict[int, float]:
    return {k: max(0.0, v) for k, v in (add + undo.scaled(-1.0)).bilateral().items()}


class _FrameFeed:
    """Frames of ``video`` in the order ``indices`` asks, decoding once (plus a cache of the
    frames that the ping-pong turns replay: RAM up to ``cache_mb``, else a temporary file)."""

    def __init__(
        self, video: Path, indices: np.ndarray, n_src: int, size_hw: tuple[int, int], cache_mb: int
    ) -> None:
        self.video = video
        self.idx = np.asarray(indices, dtype=np.int64)
        self.n_src = n_src
        turns = np.flatnonzero(np.diff(self.idx) < 0)
        self.first_back = int(turns[0]) + 1 if turns.size else len(self.idx)
        self.cache_from = int(self.idx[self.first_back :].min()) if turns.size else n_src
        n_cache = max(0, n_src - self.cache_from)
        h, w = size_hw
        self._stack = contextlib.ExitStack()
        self.cache: np.ndarray | None = None
        if n_cache:
            nbytes = n_cache * h * w * 3
            if nbytes <= cache_mb * 2**20:
                self.cache = np.empty((n_cache, h, w, 3), np.uint8)
            else:
                tmp = self._stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="emoshift-frames-")
                )
                self.cache = np.lib.format.open_memmap(
                    Path(tmp) / "frames.npy", mode="w+", dtype=np.uint8, shape=(n_cache, h, w, 3)
                )

    def __iter__(self) -> Iterator[np.ndarray]:
        from emoshift.media import iter_frames

        try:
            dec = iter_frames(self.video)
            pos = -1
            cur: np.ndarray | None = None
            for j, i in enumerate(self.idx):
                if j < self.first_back:
                    while pos < i:
                        nxt = next(dec, None)
                        if nxt is None:
                            break
                        cur = nxt
                        pos += 1
                        if self.cache is not None and pos >= self.cache_from:
                            self.cache[pos - self.cache_from] = cur
                    assert cur is not None
                    yield cur
                else:
                    assert self.cache is not None
                    k = min(int(i), pos) - self.cache_from
                    yield np.asarray(self.cache[max(k, 0)])
        finally:
            self.close()

    def close(self) -> None:
        self.cache = None
        self._stack.close()


class _Prefetch:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (the decoder releases
    the GIL, so decoding overlaps the rendering). Use as a context manager; exceptions of the
    producer re-raise in the consumer."""

    _END = object()

    def __init__(self, items: Any, depth: int = 4) -> None:
        self._q: queue.Queue[Any] = queue.Queue(depth)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True)
        self._thread.start()

    def _run(self, items: Any) -> None:
        it = iter(items)
        try:
            for x in it:
                while not self._stop.is_set():
                    try:
                        self._q.put(x, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer
            self._error = exc
        finally:
            close = getattr(it, "close", None)  # a generator's own clean-up
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
            while not self._stop.is_set():
                try:
                    self._q.put(self._END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    def __iter__(self) -> _Prefetch:
        return self

    def __next__(self) -> Any:
        x = self._q.get()
        if x is self._END:
            if self._error is not None:
                raise self._error
            raise StopIteration
        return x

    def __enter__(self) -> _Prefetch:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._q.get_nowait()
        self._thread.join(timeout=5.0)


class _AsyncWriter:
    """``writer.write`` in a background thread (the H.264 encoder releases the GIL, so
    encoding overlaps the rendering of the next frames); at most ``depth`` frames queued."""

    def __init__(self, writer: Any, depth: int = 3) -> None:
        self._writer = writer
        self._q: queue.Queue[np.ndarray | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            img = self._q.get()
            if img is None:
                return
            if self.error is None:
                try:
                    self._writer.write(img)
                except BaseException as exc:  # re-raised by write() / the context exit
                    self.error = exc

    def write(self, img: np.ndarray) -> None:
        """Queue one (H, W, 3) uint8 frame (not modified afterwards by the caller)."""
        if self.error is not None:
            raise self.error
        self._q.put(img)

    def join(self) -> None:
        self._q.put(None)
        self._thread.join()


@contextlib.contextmanager
def _background_writer(writer: Any, timings: Timings) -> Iterator[_AsyncWriter]:
    """An :class:`_AsyncWriter` over ``writer`` (a ``VideoWriter``); on a normal exit the
    queued frames are encoded and the file finished, timed as the ``encode`` stage (so the
    frames/s figures include the encoder's tail)."""
    aw = _AsyncWriter(writer)
    try:
        yield aw
    except BaseException:
        aw.join()
        raise
    with timings.stage("encode"):
        aw.join()
        if aw.error is not None:
            raise aw.error
        writer.close()


def _read_speech(path: str | Path) -> tuple[np.ndarray, int]:
    from emoshift.media import probe, read_audio

    info = probe(path, need_audio=True)
    sr = int(info.sample_rate or 16000)
    sr = min(max(sr, 8000), 48000)
    return read_audio(path, sr=sr), sr


# --- video mode --------------------------------------------------------------------------------
def animate_video(
    video_path: str | Path,
    track_path: str | Path,
    speech_path: str | Path,
    phones: list[dict[str, Any]] | list[Any] | None,
    spec: EmotionSpec,
    out_path: str | Path,
    *,
    config: AnimateConfig = AnimateConfig(),
) -> AnimationResult:
    """Animate a talking-person video with new speech, keeping the target emotion.

    Args:
        video_path: the source video (its frames; its audio is not used).
        track_path: the face track of that video (``.npz`` from
            :func:`emoshift.face.trackio.save_track`).
        speech_path: the new speech (any audio file); with ``lip_sync=False`` the original
            audio to keep.
        phones: ARPAbet phones of the speech with start/end seconds (dicts
            ``{"label", "start", "end"}`` or ``speech.align.Phone``); None drives the mouth
            from loudness alone.
        spec: target emotion and intensity.
        out_path: the .mp4 to write (atomically).
        config: :class:`AnimateConfig` (``mode="still"`` animates one emotional still).

    Returns:
        :class:`AnimationResult`. The video has the source's resolution and frame rate and
        lasts as long as the speech (within one frame).
    """
    from emoshift.face.trackio import load_track
    from emoshift.media import probe

    timings = Timings()
    video_path, track_path, speech_path = Path(video_path), Path(track_path), Path(speech_path)
    out = check_output_path(out_path, [video_path, speech_path])
    with timings.stage("setup"):
        info = probe(video_path, need_video=True)
        track = load_track(track_path)
        fps = float(track.fps or info.fps or 25.0)
        h, w = track.size
        valid = np.isfinite(track.points).all(axis=(1, 2))
        if not valid.any():
            raise NoFaceError(
                f"{video_path}: the face track has no face; track a clip that shows the speaker's face"
            )
        audio, sr = _read_speech(speech_path)
    if config.mode == "still":
        return _video_still_mode(video_path, track, audio, sr, phones, spec, out, config, timings)

    with timings.stage("setup"):
        n_src = len(track)
        n_out = max(1, round(audio.size / sr * fps)) if config.lip_sync else n_src
        idx = retime_indices(n_src, n_out) if config.lip_sync else np.arange(n_src)
        ph = _phones_or_none(phones)
        loud = loudness_envelope(audio, sr, fps, n_out)
        params = (
            viseme_tracks(ph, n_out, fps, loud, config.visemes)
            if config.lip_sync
            else np.zeros((n_out, 5), np.float32)
        )
        # the emotion's own lip parting shows while the jaw opens (a share of it, rising with
        # the viseme jaw opening): were it shown in the pauses, the mouth would open when the
        # voice stops (and be more open in silence than at the bilabials)
        open_w = config.open_weight(spec) * np.clip(params[:, JAW] / _JAW_FULL_OPEN, 0.0, 1.0)
        rest = rest_face(track.points[valid])
        ref_frame = FaceFrame.of(track.points[np.flatnonzero(valid)[0]])
        rest_px = (ref_frame.origin + ref_frame.scale * rest @ ref_frame.rot.T).astype(np.float32)
        add = undo = AUs()
        emo_shape = emo_open = np.zeros((N, 2))
        if config.expression:
            from emoshift.face.generate import target_aus

            add, undo = target_aus(rest_px, spec)
            emo_shape, emo_open = split_emotion(rest, add, undo, config.expression_config)
        weights = neutralize_weights(rest) if config.lip_sync else np.zeros(N)
        basis = MouthBasis.of(rest)
        warp = MeshWarp(rest)
        prep = prepare_video(video_path, track)
        ref = prep.closed_mouth if config.lip_sync else None
        patch_tris = _mouth_zone(rest)[warp.triangles].all(axis=1) if ref is not None else None
        donor = prep.donor if config.mouth else None
        style = _mouth_style(spec)
        shade = _shade_aus(add, undo) if (config.shading and config.expression) else {}
        blinks = _video_blinks(video_path, track, idx, fps, config) if config.lip_sync else None
        eye_zone = _eye_zone(rest)
        eye_tris = eye_zone[warp.triangles].all(axis=1)
    from emoshift.face.mouth import render_mouth
    from emoshift.face.shading import apply_shading
    from emoshift.media import VideoWriter

    def render(j: int, frame: np.ndarray) -> tuple[np.ndarray, int]:
        """Output frame ``j`` from its source ``frame``: (image, folded triangles)."""
        i = int(idx[j])
        p = track.points[i]
        if not valid[i]:
            return frame, 0
        with timings.stage("pose"):
            s, rot, t = fit_similarity(rest[_RIGID], p[_RIGID])
            q_i = ((p.astype(np.float64) - t) @ rot) / s
            q_base = q_i + weights[:, None] * (rest - q_i)
            eyes = None  # (image, landmarks) of open eyes replacing a source blink
            extra = None
            if blinks is not None:
                k = int(blinks.plan.eye_donor[j])
                if k in blinks.frames:
                    pk = track.points[k]
                    sk, rk, tk = fit_similarity(rest[_RIGID], pk[_RIGID])
                    q_k = ((pk.astype(np.float64) - tk) @ rk) / sk
                    q_base[eye_zone] = q_k[eye_zone]
                    eyes = (blinks.frames[k], pk)
                elif blinks.plan.closure[j] > 0:
                    extra = blink_displacement(q_i, float(blinks.plan.closure[j]))
            if config.lip_sync:
                q_t = mouth_target(
                    q_base, basis, params[j], emo_shape, emo_open, float(open_w[j]), extra
                )
            else:
                q_t = q_base.copy()
                q_t[:, :2] += emo_shape + emo_open
            dst = (s * q_t @ rot.T + t).astype(np.float32)
            dst[468:] = p[468:]
            iod = _iod_px(p)
        with timings.stage("warp"):
            img, used, sc = warp(frame, p[:, :2], dst[:, :2], iod=iod)
            dst3 = dst.copy()
            dst3[:, :2] = used
            mouth_src = p
            if ref is not None and patch_tris is not None:
                # the lips come from the closed-mouth reference frame: the source's own
                # talking mouth (its teeth, its tracking errors) never shows through
                got = warp.patch(ref[0], ref[1], used, patch_tris, feather=0.08 * iod)
                if got is not None:
                    img = _blend_patch(img.copy() if img is frame else img, got)
                    mouth_src = ref[1]
            if eyes is not None:
                # a suppressed source blink: the open eyes of a nearby source frame
                got = warp.patch(eyes[0], eyes[1], used, eye_tris, feather=0.06 * iod)
                if got is not None:
                    img = _blend_patch(img.copy() if img is frame else img, got)
        if config.mouth:
            with timings.stage("mouth"):
                img = render_mouth(img, mouth_src, dst3, donor, style)  # type: ignore[arg-type]
        if shade:
            with timings.stage("shading"):
                img = apply_shading(img, dst3, shade)
        return img, sc

    max_folds = 0

    with (
        VideoWriter(
            out,
            fps,
            audio=audio,
            sr=sr,
            crf=config.crf,
            preset=config.preset,
            inputs=[video_path, speech_path],
            threads=2,
        ) as video_writer,
        _background_writer(video_writer, timings) as writer,
    ):
        workers = config.render_workers or default_workers()
        if n_out < 8 or not fork_available():
            workers = 1
        if workers >= 2:
            # every other frame is rendered by a forked child (see render_workers)
            mine, theirs = idx[0::2], np.arange(1, n_out, 2)
            child = ForkedRenderer(
                render,
                theirs,
                lambda: _FrameFeed(video_path, idx[1::2], n_src, (h, w), config.cache_mb),
                (h, w),
            )
        else:
            mine, child = idx, None
        with (
            child if child is not None else contextlib.nullcontext(),
            _Prefetch(_FrameFeed(video_path, mine, n_src, (h, w), config.cache_mb)) as frames,
        ):
            for j in range(n_out):
                if child is not None and j % 2:
                    with timings.stage("child"):
                        img = child.get()
                else:
                    with timings.stage("decode"):
                        frame = next(frames)
                    img, folds = render(j, frame)
                    max_folds = max(max_folds, folds)
                with timings.stage("encode"):
                    writer.write(img)
            if child is not None:
                max_folds = max(max_folds, child.max_folds)
    return AnimationResult(
        out_path=out,
        n_frames=n_out,
        fps=fps,
        size=(w, h),
        duration_s=n_out / fps,
        audio_duration_s=audio.size / sr,
        timings=timings.as_dict(),
        params=params,
        blink=blinks.plan.closure if blinks is not None else np.zeros(n_out, np.float32),
        pose=retime_pose(track.pose, n_out) if config.lip_sync else track.pose.astype(np.float32),
        source_index=idx,
        donor_frame=int(donor.frame_index) if donor is not None else -1,
        max_folded_triangles=max_folds,
        info={
            "aus": add.bilateral(),
            "undo": undo.bilateral(),
            "style": style,
            "blinks_kept": blinks.plan.kept if blinks is not None else [],
            "blinks_added": blinks.plan.added if blinks is not None else [],
            "blink_frames_suppressed": blinks.plan.suppressed if blinks is not None else 0,
        },
    )


@dataclass
class _Blinks:
    plan: Any
    frames: dict[int, np.ndarray]


def _video_blinks(
    video: Path, track: Any, idx: np.ndarray, fps: float, config: AnimateConfig
) -> _Blinks | None:
    """The blink plan of a re-timed video (:func:`emoshift.face.blink.plan_video_blinks`:
    the source's own blinks kept at a natural rate and duration, the rest replaced by open
    eyes, synthetic blinks added where too few) and the open-eye source frames it needs."""
    from emoshift.face.landmarks import eye_openness
    from emoshift.media import read_frames

    if not config.blink:
        return None
    plan = plan_video_blinks(
        eye_openness(track.points).mean(axis=-1), idx, fps, seed=config.seed, config=config.blinks
    )
    need = sorted({int(k) for k in plan.eye_donor[plan.eye_donor >= 0]})
    frames = dict(zip(need, read_frames(video, need), strict=True)) if need else {}
    return _Blinks(plan, frames)


def _eye_zone(q: np.ndarray) -> np.ndarray:
    """(478,) bool: points of the eyes, lids and the skin round them (an ellipse 0.36 x 0.2
    IOD about each eye's centre), whose texture a suppressed blink takes from an open-eye
    frame."""
    qq = np.asarray(q, dtype=np.float64)
    inside = np.zeros(len(qq), bool)
    for corners in (R.RIGHT_EYE_CORNERS, R.LEFT_EYE_CORNERS):
        c = qq[list(corners), :2].mean(axis=0)
        inside |= ((qq[:, 0] - c[0]) / 0.36) ** 2 + ((qq[:, 1] - c[1]) / 0.2) ** 2 <= 1.0
    inside[468:] = False
    return inside


@dataclass(frozen=True)
class VideoPrep:
    """What animating a clip needs from the clip alone, whatever the emotion: the frame with
    the most closed mouth and its landmarks (None: no face), and the mouth donor (None)."""

    closed_mouth: tuple[np.ndarray, np.ndarray] | None
    donor: Any


_PREP: OrderedDict[tuple[Any, ...], VideoPrep] = OrderedDict()
_PREP_LOCK = threading.Lock()
_PREP_KEEP = 4


def prepare_video(video: str | Path, track: Any) -> VideoPrep:
    """The :class:`VideoPrep` of ``video`` (with its face ``track``), worked out once per
    process (~0.6 s of decoding and scoring at 844x844) and reused while the file and the
    track are the same: every emotion of ``shift --emotion all`` shares it, and the pipeline
    computes it in the face thread while the speech is made. The last few clips are kept."""
    import hashlib

    video = Path(video)
    st = video.stat()
    digest = hashlib.sha1(np.ascontiguousarray(track.points).tobytes()).hexdigest()
    key = (str(video.resolve()), st.st_size, st.st_mtime_ns, digest)
    with _PREP_LOCK:
        got = _PREP.get(key)
        if got is not None:
            _PREP.move_to_end(key)
            return got
    prep = VideoPrep(_closed_mouth_frame(video, track), _video_donor(video, track))
    with _PREP_LOCK:
        _PREP[key] = prep
        while len(_PREP) > _PREP_KEEP:
            _PREP.popitem(last=False)
    return prep


def _closed_mouth_frame(video: Path, track: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(frame, landmarks) of the clip's most closed mouth among frames with a face (frontal
    frames preferred)."""
    from emoshift.face.landmarks import head_pose
    from emoshift.face.mouth import inner_gap
    from emoshift.media import read_frames

    pts = track.points
    valid = np.isfinite(pts).all(axis=(1, 2))
    if not valid.any():
        return None
    gap = np.full(len(pts), np.inf)
    gap[valid] = inner_gap(pts[valid])
    with np.errstate(invalid="ignore"):
        turn = np.nan_to_num(np.abs(head_pose(pts)[:, :2]).max(axis=1), nan=90.0)
    score = gap + 0.004 * turn  # 10 degrees of turn weigh as much as 0.04 IOD of opening
    i = int(np.argmin(score))
    return read_frames(video, [i])[0], pts[i].astype(np.float32)


def _mouth_zone(q: np.ndarray) -> np.ndarray:
    """(478,) bool: points of the lips and the skin round them (to 0.22 IOD beyond the outer
    lips, below the nose base), whose texture comes from the closed-mouth frame."""
    qq = np.asarray(q, dtype=np.float64)
    lips = qq[list(R.LIPS_OUTER), :2]
    cx = lips[:, 0].mean()
    hw = 0.5 * (lips[:, 0].max() - lips[:, 0].min()) + 0.22
    top = float(qq[R.PHILTRUM[-1], 1]) + 0.03
    bottom = float(lips[:, 1].max()) + 0.22
    cy, hh = 0.5 * (top + bottom), 0.5 * (bottom - top)
    inside = ((qq[:, 0] - cx) / hw) ** 2 + ((qq[:, 1] - cy) / hh) ** 2 <= 1.0
    inside[468:] = False
    return inside


def _video_donor(video: Path, track: Any) -> Any:
    """The subject's best open mouth (teeth) from up to 40 frames of the clip, or None."""
    from emoshift.face.mouth import select_donor
    from emoshift.face.sampling import sample_frames
    from emoshift.media import read_frames

    try:
        idx = sample_frames(track, 40, seed=0)
        donor = select_donor(read_frames(video, idx), track.points[idx])
    except Exception as exc:  # a clip without an open mouth still animates (shaded cavity)
        log.warning("no mouth donor (%s): shaded cavity", exc)
        return None
    if donor is not None:
        donor = _with_frame_index(
            donor, int(idx[donor.frame_index]) if donor.frame_index >= 0 else -1
        )
    return donor


def _with_frame_index(donor: Any, index: int) -> Any:
    from dataclasses import replace

    return replace(donor, frame_index=index)


def _video_still_mode(
    video: Path,
    track: Any,
    audio: np.ndarray,
    sr: int,
    phones: Any,
    spec: EmotionSpec,
    out: Path,
    config: AnimateConfig,
    timings: Timings,
) -> AnimationResult:
    """Video input, still mode: the emotional still of the clip's most closed-mouth frontal
    frame, animated."""
    from emoshift.face.generate import generate_still

    with timings.stage("setup"):
        prep = prepare_video(video, track)
        got = prep.closed_mouth  # a closed mouth animates cleanly
        if got is None:
            raise NoFaceError(f"{video}: the face track has no face")
        frame, p = got
        i = int(np.argmin(np.abs(track.points - p[None]).sum(axis=(1, 2))))
        donor = prep.donor if config.mouth else None
        # the still's mouth interior is drawn per frame by the animator (a painted interior
        # would show at the edges of closed lips)
        gcfg = still_config(config)
        still, pts = (
            generate_still(frame, p, spec, donor=donor, config=gcfg)
            if config.expression
            else (frame, p)
        )
    pose = track.pose if config.head_motion == "source" else None
    res = animate_still(
        still,
        pts,
        audio,
        sr,
        phones,
        spec,
        out,
        fps=float(track.fps),
        config=config,
        pose_track=pose,
        donor=donor,
        _timings=timings,
    )
    res.info["still_frame"] = i
    return res


# --- still mode --------------------------------------------------------------------------------
def still_config(config: AnimateConfig = AnimateConfig()) -> Any:
    """The :class:`emoshift.face.generate.GenerateConfig` for a still that will be animated:
    lips kept closed (no AU25/26 opening: the speech opens the mouth) and no painted mouth
    interior (the animator draws it per frame; a painted one shows at the edges of closed lips)."""
    from dataclasses import replace

    from emoshift.face.generate import GenerateConfig

    gains = dict(config.expression_config.au_gain)
    gains.update({25: 0.0, 26: 0.0})
    return GenerateConfig(expression=replace(config.expression_config, au_gain=gains), mouth=False)


_PIVOT = np.array([0.0, 1.1, 1.3])
"""Head rotation centre in face coordinates (IOD): below and behind the eyes, near the neck."""


def animate_still(
    image: np.ndarray,
    points: np.ndarray,
    speech_audio: np.ndarray,
    sr: int,
    phones: list[dict[str, Any]] | list[Any] | None,
    spec: EmotionSpec,
    out_path: str | Path,
    *,
    fps: float = 25.0,
    config: AnimateConfig = AnimateConfig(mode="still"),
    pose_track: np.ndarray | None = None,
    donor: Any | None = None,
    _timings: Timings | None = None,
) -> AnimationResult:
    """Animate one still (normally the emotional still of the EFG) with speech.

    Args:
        image: (H, W, 3) uint8 RGB still; points: its (478, 3) float32 landmarks.
        speech_audio: (N,) float32 mono in [-1, 1] at ``sr`` Hz (muxed into the video).
        phones: phones of the speech (as :func:`animate_video`), or None (loudness only).
        spec: the target emotion (chooses what shows inside the mouth; the still carries the
            expression itself, which persists: the visemes move the still's own mouth).
        out_path: the .mp4 to write. fps: frame rate of the video.
        config: blinks, head motion (``"prosody"``; ``"source"`` with ``pose_track``, else
            prosody; ``"none"``), lip sync, seed.
        pose_track: (T, 3) head pose (degrees) of a source video to re-use (re-timed).
        donor: a :class:`emoshift.face.mouth.MouthDonor`; None takes the still's own mouth
            when it shows teeth, else a shaded cavity is drawn.

    Returns:
        :class:`AnimationResult` (video of the still's size, ``len(audio) / sr`` long).
    """
    from emoshift.face.mouth import render_mouth, select_donor
    from emoshift.media import VideoWriter

    timings = _timings or Timings()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    pts = np.asarray(points, dtype=np.float32)
    if pts.shape != (N, 3) or not np.isfinite(pts).all():
        raise NoFaceError(
            "the still has no (complete) face landmarks; use an image with a clearly visible face"
        )
    audio = np.asarray(speech_audio, dtype=np.float32).ravel()
    if audio.size == 0:
        raise ConfigError("the speech is empty: give some audio to animate to")
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    out = check_output_path(out_path)
    h, w = image.shape[:2]
    with timings.stage("setup"):
        n_out = max(1, round(audio.size / sr * fps))
        ph = _phones_or_none(phones)
        loud = loudness_envelope(audio, sr, fps, n_out)
        params = (
            viseme_tracks(ph, n_out, fps, loud, config.visemes)
            if config.lip_sync
            else np.zeros((n_out, 5), np.float32)
        )
        blink = (
            closure_track(blink_schedule(n_out / fps, config.seed, config.blinks), n_out, fps)
            if config.blink
            else np.zeros(n_out, np.float32)
        )
        if config.head_motion == "none":
            pose = np.zeros((n_out, 3), np.float32)
        elif (
            config.head_motion == "source"
            and pose_track is not None
            and np.isfinite(pose_track).any()
        ):
            src_pose = retime_pose(pose_track, n_out).astype(np.float64)
            pose = (src_pose - np.nanmean(src_pose, axis=0)).astype(np.float32)
            ramp = np.clip(np.arange(n_out) / max(1.0, 0.5 * fps), 0.0, 1.0)[:, None]
            pose = (pose - pose[:1] * (1.0 - ramp)).astype(np.float32)
        else:
            pose = prosody_pose(loud, fps, seed=config.seed, config=config.head)
        frame = FaceFrame.of(pts)
        q = frame.to_face(pts)
        # the still's own lip parting is closed at rest: the speech decides how far it opens
        q_rest = close_mouth(q) if config.lip_sync else q
        basis = MouthBasis.of(q_rest)
        # the mouth interior is measured against the closed rest mouth, so every opening the
        # speech makes gets a fully rendered interior (never the still's stretched lips)
        pts_rest = (frame.origin + frame.scale * q_rest @ frame.rot.T).astype(np.float32)
        zero = np.zeros((N, 2))
        warp = MeshWarp(q)
        iod = _iod_px(pts)
        if donor is None and config.mouth:
            donor = select_donor(image[None], pts[None])
        style = _mouth_style(spec)
        pivot = frame.origin + frame.scale * frame.rot @ _PIVOT
        cam = pts.astype(np.float64)
        # anchor ring (hair, ears) moves with the head
        hull_s = cam[warp.hull]
        ctr = cam[:468, :2].mean(axis=0)
        v = hull_s[:, :2] - ctr
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)
        ring3 = hull_s.copy()
        ring3[:, :2] += v * 0.6 * iod
        ring3[:, 2] = np.median(cam[:468, 2])
    max_folds = 0
    with (
        VideoWriter(
            out, fps, audio=audio, sr=sr, crf=config.crf, preset=config.preset, threads=2
        ) as video_writer,
        _background_writer(video_writer, timings) as writer,
    ):
        for j in range(n_out):
            with timings.stage("pose"):
                extra = blink_displacement(q, float(blink[j])) if blink[j] > 0 else None
                q_t = mouth_target(q_rest, basis, params[j], zero, zero, 0.0, extra=extra)
                p3 = frame.origin + frame.scale * q_t @ frame.rot.T
                rh = rotation(*pose[j])
                p3 = pivot + (p3 - pivot) @ rh.T
                dst = p3.astype(np.float32)
                ring_shift = None
                if np.abs(pose[j]).max() > 1e-3:
                    ring_shift = ((pivot + (ring3 - pivot) @ rh.T) - ring3)[:, :2]
                # irises ride with their eyes
                for iris, corners in (
                    (R.RIGHT_IRIS, R.RIGHT_EYE_CORNERS),
                    (R.LEFT_IRIS, R.LEFT_EYE_CORNERS),
                ):
                    shift = dst[list(corners), :2].mean(axis=0) - pts[list(corners), :2].mean(
                        axis=0
                    )
                    dst[list(iris), :2] = pts[list(iris), :2] + shift
            with timings.stage("warp"):
                img, used, sc = warp(
                    image, pts[:, :2], dst[:, :2], iod=iod, ring_shift=ring_shift, ring=0.6
                )
                max_folds = max(max_folds, sc)
                dst3 = dst.copy()
                dst3[:, :2] = used
            if config.mouth and config.lip_sync:
                with timings.stage("mouth"):
                    img = render_mouth(img, pts_rest, dst3, donor, style)  # type: ignore[arg-type]
            with timings.stage("encode"):
                writer.write(img)
    return AnimationResult(
        out_path=out,
        n_frames=n_out,
        fps=float(fps),
        size=(w, h),
        duration_s=n_out / fps,
        audio_duration_s=audio.size / sr,
        timings=timings.as_dict(),
        params=params,
        blink=blink,
        pose=pose,
        donor_frame=int(getattr(donor, "frame_index", -1)) if donor is not None else -1,
        max_folded_triangles=max_folds,
        info={"style": style},
    )
