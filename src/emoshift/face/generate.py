"""The Emotional Face Generator (EFG): a still of the subject showing a target emotion.

Pipeline for one frame (arrays in, arrays out):

1. emotion x intensity -> action units (:mod:`emoshift.face.au`); for ``neutral`` (and the
   neutral share of a mixture) the source's own AUs are estimated and undone;
2. AUs -> landmark displacements in the face-normalised frame
   (:mod:`emoshift.face.expression`) -> ``dst_points``;
3. a fold-free thin-plate-spline warp of the face region (:mod:`emoshift.face.warp`);
4. the mouth interior where the lips part (``mouth.render_mouth``: the subject's own teeth
   from a donor frame, else a shaded cavity); where a closed-mouth expression shut a talking
   mouth, what is left of its opening is filled from the lips (``shading.lip_seam``);
5. the AU shading cues (``shading.apply_shading``: nasolabial folds, brow furrow...).

Steps 4 and 5 are optional modules; if they are missing or fail, the still is geometry only
and a warning is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from emoshift.emotion import Emotion, EmotionSpec
from emoshift.errors import ConfigError, NoFaceError
from emoshift.face.au import AUs, neutral_weight, spec_aus
from emoshift.face.expression import CONTROL, ExpressionConfig, au_displacements, estimate_aus
from emoshift.face.warp import WarpConfig, warp_face

log = logging.getLogger(__name__)

MouthStyle = Literal["teeth", "cavity", "lower_teeth"]

MOUTH_STYLE: dict[Emotion, MouthStyle] = {
    Emotion.HAPPINESS: "teeth",
    Emotion.DISGUST: "teeth",
    Emotion.SURPRISE: "lower_teeth",
    Emotion.FEAR: "lower_teeth",
    Emotion.ANGER: "teeth",
    Emotion.SADNESS: "cavity",
    Emotion.CONTEMPT: "cavity",
    Emotion.NEUTRAL: "teeth",
}
"""What shows inside a parted mouth per emotion (visible upper teeth pushed surprise to fear;
lower teeth only raised surprise's FER top-1 from 0.80 to 0.88 over the cavity on the tuning
frames, seeds 1 and 2). Anger shuts the mouth at full intensity (:data:`CLOSED_MOUTH`), but
below it a talking mouth is still partly open and a dark cavity there replaced the subject's
own teeth: anger's FER probability *fell* from intensity 0 to 0.25 (benchmark frames 0.161 ->
0.150). With the teeth kept, the tuning frames' mean anger probability over intensities 0 /
.25 / .5 / .75 / 1 went 0.151 / 0.173 / 0.255 / 0.400 / 0.481 -> 0.151 / 0.300 / 0.385 /
0.454 / 0.505 (top-1 at 1.0 0.65 -> 0.68): bared, clenched teeth are part of anger."""

CLOSED_MOUTH: dict[Emotion, float] = {
    Emotion.ANGER: 1.0,
    Emotion.SADNESS: 1.0,
    Emotion.CONTEMPT: 1.0,
}
"""Share of a talking mouth's inner-lip gap each emotion shuts at intensity 1 (times the
squared intensity and the emotion's mixture weight, see :func:`closing`): pressed-lip anger
(AU23 + 24) is a closed-mouth expression; for sadness the FER is indifferent (top-1 0.50 either
way on the tuning frames, seeds 1 and 2) but a talking slit bent down by AU15 was painted as
dark crescents at the mouth corners. Contempt (a unilateral smirk, a closed-mouth expression)
on a talking frame otherwise kept the source's open mouth, drawn as a tongue-coloured cavity
pulled sideways."""


def closing(spec: EmotionSpec) -> float:
    """Share of the inner-lip gap to close for ``spec``: weight x intensity^2, in 0..1.

    Squared like the relaxing of the source's own expression (:func:`target_aus`): shutting the
    talking mouth must not outpace the new expression at low intensity (it took away the
    source's own mouth cue first). Continuous and non-decreasing in the intensity.
    """
    w = sum(float(v) * CLOSED_MOUTH.get(e, 0.0) for e, v in spec.weights.items())
    k = float(spec.intensity)
    return float(min(1.0, max(0.0, w * k * k)))


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of :func:`generate_still`.

    expression / warp: geometry settings. mouth / shading: use the texture modules when they
    are installed. relax_source: for a non-neutral target, also undo this share of the
    source's own expression (times the intensity) before adding the new one.
    """

    expression: ExpressionConfig = field(default_factory=ExpressionConfig)
    warp: WarpConfig = field(default_factory=WarpConfig)
    mouth: bool = True
    shading: bool = True
    relax_source: float = 1.0


@dataclass(frozen=True)
class StillInfo:
    """What :func:`generate_still_info` did: the AUs applied, the warp's fold check and scale,
    which texture steps ran."""

    aus: AUs
    jacobian_min: float
    warp_scale: float
    roi: tuple[int, int, int, int]
    mouth: bool
    shading: bool


_warned: set[str] = set()


def _texture_module(name: str) -> Any | None:
    try:
        if name == "mouth":
            from emoshift.face import mouth as mod
        else:
            from emoshift.face import shading as mod
    except Exception as exc:
        if name not in _warned:
            log.warning("face texture module %r unavailable (%s): geometry only", name, exc)
            _warned.add(name)
        return None
    return mod


def target_aus(
    points: np.ndarray,
    spec: EmotionSpec,
    *,
    reference: np.ndarray | None = None,
    relax_source: float = 1.0,
) -> tuple[AUs, AUs]:
    """(AUs to add, AUs to undo) for a face with landmarks ``points`` and target ``spec``.

    The first is the target's pattern (:func:`emoshift.face.au.spec_aus`); the second the
    source's own estimated AUs (:func:`emoshift.face.expression.estimate_aus`) times the
    neutral share of the target times the intensity, plus ``relax_source`` times the rest of
    the mixture times the intensity squared, leaving out the AUs the target uses itself.
    """
    aus = spec_aus(spec)
    share = float(spec.weights.get(Emotion.NEUTRAL, 0.0))
    k = neutral_weight(spec)
    # the source's own expression is undone at the intensity for neutral, and at its square for
    # other targets: removing the old expression must not outpace adding the new one
    relax = share * k + (1.0 - share) * relax_source * k * k
    if relax <= 0.0:
        return aus, AUs()
    own = estimate_aus(points, reference).scaled(relax)
    # AUs the target itself uses are kept (the source's brow furrow is already part of anger)
    undo = AUs(
        {k: v for k, v in own.right.items() if aus.right.get(k, 0.0) <= 0.0},
        {k: v for k, v in own.left.items() if aus.left.get(k, 0.0) <= 0.0},
    )
    return aus, undo


def generate_still_info(
    image: np.ndarray,
    points: np.ndarray,
    spec: EmotionSpec,
    *,
    donor: Any | None = None,
    reference: np.ndarray | None = None,
    config: GenerateConfig = GenerateConfig(),
) -> tuple[np.ndarray, np.ndarray, StillInfo]:
    """:func:`generate_still` plus a :class:`StillInfo` about what was done."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ConfigError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    src = np.asarray(points, dtype=np.float32)
    if src.shape != (478, 3) or not np.isfinite(src).all():
        raise NoFaceError(
            "the frame has no (complete) face landmarks; pick a frame with a visible face"
        )
    add, undo = target_aus(src, spec, reference=reference, relax_source=config.relax_source)
    aus = add + undo.scaled(-1.0)
    if add.is_zero() and undo.is_zero():
        return image.copy(), src.copy(), StillInfo(aus, 1.0, 1.0, (0, 0, 0, 0), False, False)
    disp = au_displacements(src, add, config.expression, undo=undo, close=closing(spec))
    dst = src.copy()
    dst[:, :2] += disp
    res = warp_face(image, src, dst, control=CONTROL, config=config.warp)
    out, dst = res.image, res.dst_points
    did_mouth = did_shading = False
    if config.mouth:
        mouth = _texture_module("mouth")
        if mouth is not None:
            try:
                out = mouth.render_mouth(out, src, dst, donor, MOUTH_STYLE.get(spec.label, "teeth"))
                did_mouth = True
            except Exception as exc:  # keep the geometry if the texture step breaks
                log.warning("mouth interior failed (%s): geometry only", exc)
    close = closing(spec)
    if config.mouth and close > 0.0:
        shading = _texture_module("shading")
        if shading is not None:
            try:
                out = shading.lip_seam(out, dst, close)
            except Exception as exc:
                log.warning("closed-lip seam failed (%s): skipped", exc)
    if config.shading:
        shading = _texture_module("shading")
        if shading is not None:
            try:
                shade_aus = {k: max(0.0, v) for k, v in aus.bilateral().items()}
                out = shading.apply_shading(out, dst, shade_aus)
                did_shading = True
            except Exception as exc:
                log.warning("AU shading failed (%s): skipped", exc)
    return out, dst, StillInfo(aus, res.jacobian_min, res.scale, res.roi, did_mouth, did_shading)


def generate_still(
    image: np.ndarray,
    points: np.ndarray,
    spec: EmotionSpec,
    *,
    donor: Any | None = None,
    reference: np.ndarray | None = None,
    config: GenerateConfig = GenerateConfig(),
) -> tuple[np.ndarray, np.ndarray]:
    """Put the emotion ``spec`` on the face in ``image``.

    Args:
        image: (H, W, 3) uint8 RGB frame of the subject.
        points: (478, 3) float32 landmarks of that frame (:mod:`emoshift.face.landmarks`).
        spec: target emotion and intensity (0 = unchanged .. 1 = strongest).
        donor: the subject's own open mouth (``mouth.select_donor`` over their video) for a
            real mouth interior; None draws a shaded cavity.
        reference: (478, 3) the subject's rest face (``expression.neutral_reference`` of the
            video's track), used to estimate what to undo for ``neutral``; None = population norms.
        config: :class:`GenerateConfig`.

    Returns:
        (image_out (H, W, 3) uint8 RGB, points_out (478, 3) float32 landmarks of the new face).
        Only the face region changes; the face outline and nose bridge stay in place.
    """
    out, dst, _ = generate_still_info(
        image, points, spec, donor=donor, reference=reference, config=config
    )
    return out, dst
