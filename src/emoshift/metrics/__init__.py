"""Evaluation metrics: pure functions, arrays in, numbers out (see docs/metrics.md).

* :mod:`~emoshift.metrics.edd` - Emotion Distribution Divergence (the paper's metric)
* :mod:`~emoshift.metrics.accuracy` - accuracy tables and confusion matrices (Tables 1-2)
* :mod:`~emoshift.metrics.image` - PSNR, SSIM, CPBD
* :mod:`~emoshift.metrics.frechet` - Frechet distance of features (FFD-FER, not FID)
* :mod:`~emoshift.metrics.motion` - head-motion std, beat-align score, landmark jerk
* :mod:`~emoshift.metrics.sync` - lip sync: mouth opening vs loudness
* :mod:`~emoshift.metrics.text` - word error rate
* :mod:`~emoshift.metrics.audio` - F0 statistics, onsets
"""

from emoshift.metrics.accuracy import AccuracyTable, accuracy_table
from emoshift.metrics.edd import (
    DEFAULT_WINDOW,
    auroc,
    edd,
    edd_from_scores,
    edd_per_class,
    moving_average,
)
from emoshift.metrics.frechet import frechet_distance
from emoshift.metrics.image import cpbd, psnr, ssim
from emoshift.metrics.motion import beat_align_score, head_motion_std, landmark_jerk, motion_beats
from emoshift.metrics.sync import LipSyncResult, inner_lip_gap, lip_sync_score, loudness_per_frame
from emoshift.metrics.text import WerResult, word_error_rate

__all__ = [
    "DEFAULT_WINDOW",
    "AccuracyTable",
    "LipSyncResult",
    "WerResult",
    "accuracy_table",
    "auroc",
    "beat_align_score",
    "cpbd",
    "edd",
    "edd_from_scores",
    "edd_per_class",
    "frechet_distance",
    "head_motion_std",
    "inner_lip_gap",
    "landmark_jerk",
    "lip_sync_score",
    "loudness_per_frame",
    "motion_beats",
    "moving_average",
    "psnr",
    "ssim",
    "word_error_rate",
]
