"""Evaluate many outputs of the same source without re-analysing the source each time.

An experiment compares every output of a video (each emotion, each arm) with the same
original. :func:`emoshift.evaluate.evaluate_videos` decodes, tracks and classifies both videos
every time; here the original's analysis (face mesh, FER probabilities and features, pose,
audio) is kept per worker process and only its few quality-sample frames are read again. The
numbers are those of :func:`~emoshift.evaluate.evaluate_videos` (same analysis, same
:func:`~emoshift.evaluate.compare`; tested against it).
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from emoshift.emotion import Emotion
from emoshift.evaluate import EvaluateConfig, EvaluationResult, VideoAnalysis
from emoshift.timing import Timings


def _sample_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spread frame indices of an ``n``-frame clip (centres of k equal parts)."""
    if n <= 0 or k <= 0:
        return []
    k = min(k, n)
    return sorted({int((i + 0.5) * n / k) for i in range(k)})


@functools.lru_cache(maxsize=4)
def _source_analysis(path: str, sha256: str, config: EvaluateConfig) -> VideoAnalysis:
    """The analysis of a source video without sample frames (cached per process; ``sha256``
    makes a changed file a new key)."""
    from emoshift.evaluate import analyse_video

    return analyse_video(path, sample_indices=[], config=config, label="original")


def evaluate_against_source(
    original: Path,
    original_sha256: str,
    generated: Path,
    emotion: Emotion | str,
    config: EvaluateConfig | None = None,
) -> EvaluationResult:
    """:func:`~emoshift.evaluate.evaluate_videos` with the original's analysis cached.

    Args:
        original: the source video; original_sha256: its content hash (cache key).
        generated: the output to judge. emotion: the target (not contempt).
        config: evaluation settings (default :class:`EvaluateConfig`; its ``parallel`` flag is
            not used: only the generated video is analysed).

    Raises:
        ConfigError: for a target the face recogniser cannot score, or a bad window.
        NoFaceError / media errors: as :func:`~emoshift.evaluate.evaluate_videos`.
    """
    from emoshift.evaluate import analyse_video, check_target, finish_evaluation, plan_samples
    from emoshift.media import probe, read_frames

    config = config if config is not None else EvaluateConfig()
    emo = check_target(emotion, config)
    tm = Timings()
    same_grid, kw = plan_samples(original, generated, config, tm)
    if same_grid:
        keep = list(kw["sample_indices"])
    else:
        info = probe(original)
        n_o, fps_o = int(info.n_frames or 0), float(info.fps or 25.0)
        keep = sorted({max(0, min(round(t * fps_o), max(n_o - 1, 0))) for t in kw["sample_times"]})
    with tm.stage("original (cached analysis)"):
        base = _source_analysis(str(original), original_sha256, config)
        frames = read_frames(original, keep) if keep else []
        a_o = dataclasses.replace(base, samples=dict(zip(keep, frames)))
    a_g = analyse_video(generated, config=config, timings=tm, label="generated", **kw)
    return finish_evaluation(original, generated, emo, config, a_o, a_g, same_grid, tm)
