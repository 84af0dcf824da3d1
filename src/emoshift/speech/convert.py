"""Keep-words mode: emotional voice conversion of the ORIGINAL recording.

Same words, same voice, new prosody: the speaker's own audio is re-synthesised with WORLD
with the emotion's F0 level and range, speaking rate, pauses, loudness and voice quality
(:func:`emoshift.speech.prosody.targets_for`). For users who must not change what was said.
"""

from __future__ import annotations

import numpy as np

from emoshift.emotion import EmotionSpec
from emoshift.speech.prosody import ProsodyTargets, apply_prosody, targets_for


def convert_targets(target: EmotionSpec, *, rate: bool = True) -> ProsodyTargets:
    """The prosody targets used for conversion; ``rate=False`` keeps the original timing
    (e.g. when the video must stay in sync without re-timing the face)."""
    t = targets_for(target)
    if not rate:
        from dataclasses import replace

        t = replace(t, rate=1.0, pause_factor=1.0)
    return t


def convert_emotion(
    audio: np.ndarray, sr: int, target: EmotionSpec, *, keep_timing: bool = False
) -> np.ndarray:
    """(N,) float32 speech in [-1, 1] at ``sr`` -> (M,) float32 at ``sr`` spoken with
    ``target``'s prosody. ``keep_timing`` keeps M == N (no rate or pause change)."""
    return apply_prosody(audio, sr, convert_targets(target, rate=not keep_timing))
