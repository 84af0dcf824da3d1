"""Media I/O with PyAV: probe, read frames / audio, write H.264/AAC video and WAV audio.

Frames are (H, W, 3) uint8 RGB at a constant ``fps`` (frame ``i`` at ``i / fps`` s); audio is
float32 in [-1, 1] with its sample rate passed alongside. Bad files raise the typed errors of
:mod:`emoshift.errors` (see docs/media.md). Outputs are written atomically.
"""

from __future__ import annotations

from emoshift.media.image import IMAGE_SUFFIXES, is_image_path, read_image, write_image
from emoshift.media.probe import (
    DEFAULT_MAX_DURATION,
    ENV_MAX_DURATION,
    MediaInfo,
    max_duration_limit,
    probe,
)
from emoshift.media.read import iter_frames, read_audio, read_frames, read_video
from emoshift.media.write import (
    VIDEO_FORMATS,
    VideoWriter,
    mux_audio,
    write_audio,
    write_video,
)

__all__ = [
    "DEFAULT_MAX_DURATION",
    "ENV_MAX_DURATION",
    "IMAGE_SUFFIXES",
    "VIDEO_FORMATS",
    "MediaInfo",
    "VideoWriter",
    "is_image_path",
    "iter_frames",
    "max_duration_limit",
    "mux_audio",
    "probe",
    "read_audio",
    "read_frames",
    "read_image",
    "read_video",
    "write_audio",
    "write_image",
    "write_video",
]
