"""Compare an original and a generated talking-face video: how far did the emotion move, and
what did it cost in quality? The paper's evaluation (EDD, CPBD, PSNR, "FID", head motion, beat
align) plus lip sync, as one function and one report.

    result = evaluate_videos("talk.mp4", "talk_happy.mp4", "happy")
    print(result.to_markdown())
    write_report(result, "eval/")        # evaluation.json, evaluation.md, edd_curves.png

Each video is decoded once (streamed; only a few sampled frames are kept), the face mesh is
tracked once per video, and the FER network runs batched on all face crops. The per-stage
wall-clock times are in ``result.timings``.

Frame pairing for PSNR / SSIM: when both videos have the same frame count and size, frames
``i`` and ``i`` are compared; otherwise ``quality_frames`` time points spread evenly over the
shorter video are taken, the nearest frame of each video at that time is used, and the
generated frame is resized (area interpolation) to the original's size. Either way at most
``quality_frames`` pairs are compared (evenly spaced), as PSNR/SSIM over every frame costs more
than the rest of the evaluation together and changes the mean very little.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.emotion import FER7, Emotion, to_emotion
from emoshift.errors import ConfigError, NoAudioStreamError, NoFaceError
from emoshift.fileio import check_output_dir, write_json_atomic, write_text_atomic
from emoshift.licences import licences_for
from emoshift.metrics.edd import DEFAULT_WINDOW, edd_from_scores, edd_per_class, moving_average
from emoshift.recognize.face import FaceEmotionRecognizer, FerConfig
from emoshift.timing import Timings

log = logging.getLogger(__name__)

AUDIO_SR = 16000


@dataclass(frozen=True)
class EvaluateConfig:
    """Settings of :func:`evaluate_videos`.

    Attributes:
        window: EDD moving-average window in frames (:data:`~emoshift.metrics.edd.DEFAULT_WINDOW`).
        quality_frames: frame pairs for PSNR / SSIM, and frames per video for CPBD.
        lip_sync_max_lag_s: lags searched by the lip-sync score, +- seconds.
        beat_sigma_frames: sigma of the beat-align score, frames (Bailando: 3).
        parallel: analyse the two videos in two threads (decoding, the mesh and the FER
            network release the GIL for most of their work).
        fer: the face recogniser's settings.
    """

    window: int = DEFAULT_WINDOW
    quality_frames: int = 6
    lip_sync_max_lag_s: float = 0.2
    beat_sigma_frames: float = 3.0
    parallel: bool = True
    fer: FerConfig = field(default_factory=FerConfig)


@dataclass
class VideoAnalysis:
    """What one pass over a video yields.

    Attributes:
        path: the file.
        fps: frames per second; n_frames: T; size: (H, W); duration: seconds (T / fps).
        probs: (T, 7) float32 FER probabilities in FER7 order, NaN rows where no face.
        features: (T, 128) float32 FER penultimate features, NaN rows where no face.
        points: (T, 478, 3) float32 landmarks (zero-phase smoothed within runs of face frames),
            NaN rows where no face.
        pose: (T, 3) float32 yaw, pitch, roll in degrees.
        samples: {frame index: (H, W, 3) uint8 RGB} of the frames kept for quality metrics.
        audio: (N,) float32 mono at 16 kHz, or None if the file has no audio.
    """

    path: Path
    fps: float
    n_frames: int
    size: tuple[int, int]
    probs: np.ndarray
    features: np.ndarray
    points: np.ndarray
    pose: np.ndarray
    samples: dict[int, np.ndarray]
    audio: np.ndarray | None

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def face_fraction(self) -> float:
        return float(np.isfinite(self.probs).all(axis=1).mean()) if self.n_frames else 0.0


LICENCE_KEYS: tuple[str, ...] = (
    "emoshift",
    "mediapipe-facemesh",
    *FaceEmotionRecognizer.licence_keys,
)
"""What an evaluation runs: the face mesh and the face emotion recogniser (in its JSON)."""


@dataclass
class EvaluationResult:
    """Everything :func:`evaluate_videos` measured. ``metrics`` is JSON-ready; ``curves`` holds
    the smoothed target-probability curves (for the plot); ``timings`` seconds per stage."""

    original: Path
    generated: Path
    emotion: Emotion
    window: int
    metrics: dict[str, Any]
    curves: dict[str, np.ndarray]
    fps: dict[str, float]
    timings: dict[str, float]

    @property
    def edd(self) -> float:
        return float(self.metrics["edd"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": str(self.original),
            "generated": str(self.generated),
            "emotion": self.emotion.value,
            "window_frames": self.window,
            "metrics": self.metrics,
            "timings_s": self.timings,
            "licences": licences_for(LICENCE_KEYS),
        }

    def to_markdown(self) -> str:
        return render_markdown(self)


# --- analysis of one video --------------------------------------------------------------------
def _sample_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spread frame indices of a T = n clip (centres of k equal parts)."""
    if n <= 0 or k <= 0:
        return []
    k = min(k, n)
    return sorted({int((i + 0.5) * n / k) for i in range(k)})


def analyse_video(
    path: str | Path,
    sample_times: list[float] | None = None,
    sample_indices: list[int] | None = None,
    config: EvaluateConfig = EvaluateConfig(),
    timings: Timings | None = None,
    label: str = "",
) -> VideoAnalysis:
    """Decode ``path`` once: track the face, crop and classify every frame, keep sampled frames.

    Args:
        path: a video file.
        sample_times: seconds at which to keep the nearest frame (for quality metrics), or
        sample_indices: frame indices to keep (used when given).
        config: settings; timings: stage times are added under ``"<label>:<stage>"``.

    Raises:
        NoFaceError: if no frame shows a face.
    """
    from emoshift.face.landmarks import FaceMeshTracker, head_pose, smooth_track
    from emoshift.media import iter_frames, probe, read_audio
    from emoshift.recognize.face import CROP_SIZE, face_crop, load_face_recognizer

    tm = timings if timings is not None else Timings()
    pre = f"{label}:" if label else ""
    path = Path(path)
    with tm.stage(pre + "probe"):
        info = probe(path, need_video=True)
    fps = float(info.fps or 25.0)
    n_hint = int(info.n_frames or 0)
    if sample_indices is not None:
        keep = {max(0, min(int(i), max(n_hint - 1, 0))) for i in sample_indices}
    elif sample_times is not None:
        keep = {max(0, min(round(t * fps), max(n_hint - 1, 0))) for t in sample_times}
    else:
        keep = set()
    recognizer = load_face_recognizer(config.fer)
    rows: list[np.ndarray | None] = []
    crops: list[np.ndarray] = []
    samples: dict[int, np.ndarray] = {}
    size = (int(info.height or 0), int(info.width or 0))
    mesh_s = crop_s = 0.0
    t_start = time.perf_counter()
    with FaceMeshTracker(static_image_mode=False) as tracker:
        for i, frame in enumerate(iter_frames(path)):
            if i == 0:
                size = (int(frame.shape[0]), int(frame.shape[1]))
            if i in keep:
                samples[i] = frame
            t0 = time.perf_counter()
            pts = tracker(frame)
            t1 = time.perf_counter()
            rows.append(pts)
            if pts is None:
                crops.append(np.zeros((CROP_SIZE, CROP_SIZE), dtype=np.uint8))
            else:
                crops.append(face_crop(frame, pts, config.fer.crop))
            t2 = time.perf_counter()
            mesh_s += t1 - t0
            crop_s += t2 - t1
    total = time.perf_counter() - t_start
    tm.add(pre + "face mesh", mesh_s)
    tm.add(pre + "crop", crop_s)
    tm.add(pre + "decode", max(0.0, total - mesh_s - crop_s))
    t = len(rows)
    if t == 0:
        raise NoFaceError(f"{path}: the video has no frames")
    detected = np.array([r is not None for r in rows])
    if not detected.any():
        raise NoFaceError(
            f"{path}: no face found in any of {t} frames; evaluation needs a visible face"
        )
    raw = np.full((t, 478, 3), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            raw[i] = r
    with tm.stage(pre + "FER"):
        probs = np.full((t, 7), np.nan, dtype=np.float32)
        feats = np.full((t, 128), np.nan, dtype=np.float32)
        pr, f = recognizer.predict_crops_with_features(np.stack(crops)[detected])
        probs[detected] = pr.p
        feats[detected] = f
    with tm.stage(pre + "landmarks"):
        pts = smooth_track(raw, detected, fps)
        pose = head_pose(pts).astype(np.float32)
    audio = None
    if info.has_audio:
        with tm.stage(pre + "audio"):
            try:
                audio = read_audio(path, AUDIO_SR)
            except NoAudioStreamError:
                audio = None
    return VideoAnalysis(path, fps, t, size, probs, feats, pts, pose, samples, audio)


# --- the comparison ---------------------------------------------------------------------------
def evaluate_videos(
    original: str | Path,
    generated: str | Path,
    emotion: Emotion | str,
    config: EvaluateConfig = EvaluateConfig(),
    timings: Timings | None = None,
) -> EvaluationResult:
    """Measure how the target ``emotion`` moved from ``original`` to ``generated`` and what the
    generated video looks like (see docs/metrics.md for every metric).

    Args:
        original, generated: video files (any format emoshift.media reads).
        emotion: the target emotion (name or alias). Contempt cannot be measured (the FER has
            no contempt class): raises :class:`ConfigError`.
        config: :class:`EvaluateConfig`.
        timings: a :class:`Timings` to add stage times to (a new one if None).

    Returns:
        :class:`EvaluationResult`.
    """
    emo = check_target(emotion, config)
    tm = timings if timings is not None else Timings()
    same_grid, kw = plan_samples(original, generated, config, tm)
    kw_o, kw_g = kw, kw
    jobs = [(original, kw_o, "original"), (generated, kw_g, "generated")]
    sub = [Timings(), Timings()]
    if config.parallel:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futs = [
                pool.submit(analyse_video, p, config=config, timings=sub[i], label=lab, **kw)
                for i, (p, kw, lab) in enumerate(jobs)
            ]
            a_o, a_g = (f.result() for f in futs)
    else:
        a_o = analyse_video(original, config=config, timings=sub[0], label="original", **kw_o)
        a_g = analyse_video(generated, config=config, timings=sub[1], label="generated", **kw_g)
    for s in sub:
        for k_, v in s.seconds.items():
            tm.add(k_, v)
    return finish_evaluation(original, generated, emo, config, a_o, a_g, same_grid, tm)


def check_target(emotion: Emotion | str, config: EvaluateConfig) -> Emotion:
    """The target as an :class:`Emotion`; :class:`ConfigError` if the FER cannot score it or
    the smoothing window is not positive."""
    emo = to_emotion(emotion)
    if emo not in FER7:
        raise ConfigError(
            f"the face recogniser has no {emo.value} class (it knows {', '.join(e.value for e in FER7)}); "
            "choose one of those as the evaluation target"
        )
    if config.window < 1:
        raise ConfigError(f"--window must be >= 1 frame, got {config.window}")
    return emo


def plan_samples(
    original: str | Path, generated: str | Path, config: EvaluateConfig, tm: Timings
) -> tuple[bool, dict[str, Any]]:
    """Probe both videos and choose the frames the quality metrics compare.

    Returns ``(same_grid, kw)``: ``same_grid`` when both have the same frame count and size
    (pairs by index, ``kw = {"sample_indices": [...]}``); otherwise pairs at equal times
    (``kw = {"sample_times": [...]}`` in seconds). ``kw`` goes to :func:`analyse_video`.
    """
    from emoshift.media import probe

    with tm.stage("probe"):
        io = probe(original, need_video=True)
        ig = probe(generated, need_video=True)
    same_grid = io.n_frames == ig.n_frames and io.width == ig.width and io.height == ig.height
    if same_grid:
        return True, {
            "sample_indices": _sample_indices(int(io.n_frames or 0), config.quality_frames)
        }
    dur = min(io.video_duration or io.duration, ig.video_duration or ig.duration)
    k = max(1, config.quality_frames)
    return False, {"sample_times": [(i + 0.5) * dur / k for i in range(k)]}


def finish_evaluation(
    original: str | Path,
    generated: str | Path,
    emo: Emotion,
    config: EvaluateConfig,
    a_o: VideoAnalysis,
    a_g: VideoAnalysis,
    same_grid: bool,
    tm: Timings,
) -> EvaluationResult:
    """Compare two analysed videos (:func:`compare`) into an :class:`EvaluationResult`."""
    with tm.stage("metrics"):
        metrics, curves = compare(a_o, a_g, emo, config, same_grid, tm)
    return EvaluationResult(
        original=Path(original),
        generated=Path(generated),
        emotion=emo,
        window=config.window,
        metrics=metrics,
        curves=curves,
        fps={"original": a_o.fps, "generated": a_g.fps},
        timings=tm.as_dict(),
    )


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def _distribution(probs: np.ndarray) -> dict[str, Any]:
    ok = np.isfinite(probs).all(axis=1)
    p = probs[ok]
    if p.shape[0] == 0:
        return {"mean": {}, "top_fraction": {}}
    top = np.bincount(p.argmax(axis=1), minlength=len(FER7)) / p.shape[0]
    return {
        "mean": {e.value: round(float(v), 5) for e, v in zip(FER7, p.mean(axis=0))},
        "top_fraction": {e.value: round(float(v), 5) for e, v in zip(FER7, top)},
    }


def _pairs(
    a_o: VideoAnalysis, a_g: VideoAnalysis, same_grid: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    import cv2

    so = [a_o.samples[k] for k in sorted(a_o.samples)]
    sg = [a_g.samples[k] for k in sorted(a_g.samples)]
    out = []
    for fo, fg in zip(so, sg):
        if fg.shape != fo.shape:
            fg = cv2.resize(fg, (fo.shape[1], fo.shape[0]), interpolation=cv2.INTER_AREA)
        out.append((fo, fg))
    return out


def compare(
    a_o: VideoAnalysis,
    a_g: VideoAnalysis,
    emotion: Emotion,
    config: EvaluateConfig,
    same_grid: bool,
    timings: Timings | None = None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """All metrics from two analysed videos. Returns (metrics dict, smoothed curves)."""
    from emoshift.face.landmarks import inter_ocular
    from emoshift.metrics.audio import has_sound, onset_times
    from emoshift.metrics.frechet import frechet_distance
    from emoshift.metrics.image import cpbd, psnr, ssim
    from emoshift.metrics.motion import (
        beat_align_score,
        head_motion_std,
        landmark_jerk,
        motion_beats,
    )
    from emoshift.metrics.sync import inner_lip_gap, lip_sync_score, loudness_per_frame

    tm = timings if timings is not None else Timings()
    col = FER7.index(emotion)
    with tm.stage("EDD"):
        so = moving_average(a_o.probs[:, col], config.window)
        sg = moving_average(a_g.probs[:, col], config.window)
        edd_value = edd_from_scores(so, sg)
        per_class = edd_per_class(a_o.probs, a_g.probs, FER7, config.window)
    m: dict[str, Any] = {
        "edd": edd_value,
        "edd_per_class": {e.value: v for e, v in per_class.items()},
        "target_mean_prob": {
            "original": _finite(float(np.nanmean(a_o.probs[:, col]))),
            "generated": _finite(float(np.nanmean(a_g.probs[:, col]))),
        },
        "fer_distribution": {
            "original": _distribution(a_o.probs),
            "generated": _distribution(a_g.probs),
        },
        "frames": {"original": a_o.n_frames, "generated": a_g.n_frames},
        "fps": {"original": a_o.fps, "generated": a_g.fps},
        "face_fraction": {"original": a_o.face_fraction, "generated": a_g.face_fraction},
    }
    with tm.stage("quality"):
        pairs = _pairs(a_o, a_g, same_grid)
        ps = [psnr(a, b) for a, b in pairs]
        ss = [ssim(a, b) for a, b in pairs]
        finite_ps = [p for p in ps if np.isfinite(p)]
        m["psnr_db"] = float(np.mean(finite_ps)) if finite_ps else (float("inf") if ps else None)
        m["ssim"] = float(np.mean(ss)) if ss else None
        m["quality_pairs"] = {
            "n": len(pairs),
            "aligned": "frame index" if same_grid else "time (resampled)",
        }
        m["cpbd"] = {
            "original": _finite(
                float(np.nanmean([cpbd(f) for f in a_o.samples.values()] or [np.nan]))
            ),
            "generated": _finite(
                float(np.nanmean([cpbd(f) for f in a_g.samples.values()] or [np.nan]))
            ),
        }
    with tm.stage("FFD-FER"):
        try:
            m["ffd_fer"] = frechet_distance(a_o.features, a_g.features)
        except ConfigError:
            m["ffd_fer"] = None
    with tm.stage("motion"):
        m["head_motion_std_deg"] = {
            "original": head_motion_std(a_o.pose),
            "generated": head_motion_std(a_g.pose),
        }
        m["landmark_jerk_iod_s3"] = {
            "original": _finite(landmark_jerk(a_o.points, a_o.fps, inter_ocular(a_o.points))),
            "generated": _finite(landmark_jerk(a_g.points, a_g.fps, inter_ocular(a_g.points))),
        }
    with tm.stage("audio-visual"):
        for key, a in (("original", a_o), ("generated", a_g)):
            if a.audio is None or not has_sound(a.audio, AUDIO_SR):
                m.setdefault("beat_align", {})[key] = None
                m.setdefault("lip_sync", {})[key] = None
                continue
            onsets = onset_times(a.audio, AUDIO_SR) * a.fps
            beats = motion_beats(a.pose, a.fps)
            m.setdefault("beat_align", {})[key] = _finite(
                beat_align_score(onsets, beats, config.beat_sigma_frames)
            )
            loud = loudness_per_frame(a.audio, AUDIO_SR, a.fps, a.n_frames)
            ls = lip_sync_score(inner_lip_gap(a.points), loud, a.fps, config.lip_sync_max_lag_s)
            m.setdefault("lip_sync", {})[key] = {
                k: (_finite(v) if isinstance(v, float) else v) for k, v in ls.to_dict().items()
            }
    return m, {"original": so, "generated": sg}


# --- report -----------------------------------------------------------------------------------
def _fmt(v: Any, nd: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if not np.isfinite(v):
            return "inf" if v > 0 else "-"
        return f"{v:.{nd}f}"
    return str(v)


def render_markdown(r: EvaluationResult) -> str:
    """The Markdown report of an evaluation."""
    m = r.metrics
    e = r.emotion.value

    def both(key: str, sub: str | None = None, nd: int = 4) -> tuple[str, str]:
        d = m.get(key) or {}
        o, g = d.get("original"), d.get("generated")
        if sub is not None:
            o = o.get(sub) if isinstance(o, dict) else None
            g = g.get(sub) if isinstance(g, dict) else None
        return _fmt(o, nd), _fmt(g, nd)

    lines = [
        f"# Emotion evaluation: {e}",
        "",
        f"- original: `{r.original}` ({m['frames']['original']} frames at {m['fps']['original']:g} fps, "
        f"face in {100 * m['face_fraction']['original']:.0f}%)",
        f"- generated: `{r.generated}` ({m['frames']['generated']} frames at {m['fps']['generated']:g} fps, "
        f"face in {100 * m['face_fraction']['generated']:.0f}%)",
        f"- EDD smoothing window: {r.window} frames",
        "",
        f"**EDD ({e}) = {m['edd']:.4f}** (0.5 = no change, 0 = every generated frame shows more {e} "
        f"than every original frame, > 0.5 = {e} went down)",
        "",
        "| metric | original | generated |",
        "|---|---|---|",
        "| mean P({}) (FER) | {} | {} |".format(e, *both("target_mean_prob")),
        "| CPBD (sharpness, higher = sharper) | {} | {} |".format(*both("cpbd")),
        "| head motion std, mean of yaw/pitch/roll (deg) | {} | {} |".format(
            *both("head_motion_std_deg", "mean", 2)
        ),
        "| landmark jerk (IOD/s^3) | {} | {} |".format(*both("landmark_jerk_iod_s3", nd=1)),
        "| beat-align score | {} | {} |".format(*both("beat_align")),
        "| lip sync r (mouth opening vs loudness, best lag) | {} | {} |".format(
            *both("lip_sync", "r", 3)
        ),
        "| lip sync lag (s, + = mouth after sound) | {} | {} |".format(
            *both("lip_sync", "lag_s", 3)
        ),
        "",
        "| metric (generated vs original) | value |",
        "|---|---|",
        f"| PSNR (dB) | {_fmt(m.get('psnr_db'), 2)} |",
        f"| SSIM | {_fmt(m.get('ssim'))} |",
        f"| FFD-FER (Frechet distance of FER features; not FID) | {_fmt(m.get('ffd_fer'), 3)} |",
        f"| frame pairs for PSNR/SSIM | {m['quality_pairs']['n']} (aligned by {m['quality_pairs']['aligned']}) |",
        "",
        "## EDD per FER class (like the paper's Table 4; lower = that class went up)",
        "",
        "| " + " | ".join(m["edd_per_class"]) + " |",
        "|" + "---|" * len(m["edd_per_class"]),
        "| " + " | ".join(f"{v:.4f}" for v in m["edd_per_class"].values()) + " |",
        "",
        "## FER class distribution (mean probability / share of frames where it is the top class)",
        "",
        "| class | original mean | generated mean | original top | generated top |",
        "|---|---|---|---|---|",
    ]
    do, dg = m["fer_distribution"]["original"], m["fer_distribution"]["generated"]
    for emo in FER7:
        k = emo.value
        lines.append(
            f"| {k} | {_fmt(do['mean'].get(k), 3)} | {_fmt(dg['mean'].get(k), 3)} | "
            f"{_fmt(do['top_fraction'].get(k), 3)} | {_fmt(dg['top_fraction'].get(k), 3)} |"
        )
    lines += ["", "## Timings (s)", "", "| stage | seconds |", "|---|---|"]
    for k, v in sorted(r.timings.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {k} | {v:.3f} |")
    return "\n".join(lines) + "\n"


def plot_curves(r: EvaluationResult, dest: str | Path) -> Path:
    """PNG of the smoothed per-frame target-emotion probability of both videos over time (the
    paper's Fig. 5), EDD in the legend. Written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from emoshift.fileio import atomic_path

    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    e = r.emotion.value
    for key, colour in (("original", "tab:blue"), ("generated", "tab:red")):
        y = r.curves[key]
        t = np.arange(y.size) / r.fps[key]
        ax.plot(
            t,
            y,
            color=colour,
            lw=1.8,
            label=f"{key} ({r.original.name if key == 'original' else r.generated.name})",
        )
    ax.plot([], [], " ", label=f"EDD = {r.edd:.4f} (0.5 = no change)")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"P({e}), moving average of {r.window} frames")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"FER probability of {e}: original vs generated")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    dest = Path(dest)
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png")
    return dest


def write_report(
    r: EvaluationResult, out_dir: str | Path, stem: str = "evaluation"
) -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>.md`` and ``edd_curves.png`` into ``out_dir`` (atomic)."""
    d = check_output_dir(out_dir)
    paths = {"json": d / f"{stem}.json", "markdown": d / f"{stem}.md", "plot": d / "edd_curves.png"}
    payload = r.to_dict()
    payload["curves"] = {
        k: [None if not np.isfinite(v) else round(float(v), 5) for v in c]
        for k, c in r.curves.items()
    }
    write_json_atomic(paths["json"], _jsonable(payload))
    write_text_atomic(
        paths["markdown"], r.to_markdown() + f"\n![EDD curves]({paths['plot'].name})\n"
    )
    plot_curves(r, paths["plot"])
    return paths


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x
