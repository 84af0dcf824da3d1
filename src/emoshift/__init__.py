"""emoshift: change the emotion of a talking-person video (words, voice, face) and measure it.

Implements the Emotion-Driven Animation framework of Mobbs et al. (SPIE 2025), offline and
CPU-first. See README.md and docs/.
"""

from __future__ import annotations

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
# MediaPipe / TFLite log chatter on stderr is noise for users; errors still show.
_os.environ.setdefault("GLOG_minloglevel", "2")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec, parse_emotion

__all__ = [
    "ALL_EMOTIONS",
    "Emotion",
    "EmotionSpec",
    "__version__",
    "parse_emotion",
    "say",
    "shift",
    "shift_all",
]


def __getattr__(name: str):  # lazy: `import emoshift` stays light
    if name in ("shift", "say", "shift_all"):
        from emoshift.pipeline import eda

        return getattr(eda, name)
    raise AttributeError(f"module 'emoshift' has no attribute {name!r}")
