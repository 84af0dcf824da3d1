"""``emoshift info FILE``: what is in a media file (streams, duration, fps, size, faces)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.media.probe import MediaInfo

NAME = "info"
HELP = "show what is in a video or audio file: streams, duration, fps, size, faces"
DESCRIPTION = """\
Show what is in a video or audio file: its streams, duration, frame rate, frame size,
audio rate and channels, and how many faces appear (the face detector runs on a few frames
spread over the clip). Nothing is written.

Examples:
  emoshift info talk.mp4
  emoshift info talk.mp4 --json            machine-readable
  emoshift info talk.mp4 --faces 0         skip face detection (faster)
  emoshift info speech.wav

Files longer than the duration limit (600 s, or $EMOSHIFT_MAX_DURATION) are described
anyway, with a note: the other commands refuse them.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="video or audio file (mp4, mov, mkv, webm, wav, mp3...)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--faces",
        type=int,
        default=5,
        metavar="N",
        help="run the face detector on N frames spread over the clip (default 5; 0 = skip)",
    )


def face_summary(info: MediaInfo, n_samples: int) -> dict[str, Any]:
    """Detect faces on ``n_samples`` frames spread evenly over the video of ``info``.

    Returns ``{"frames_sampled", "frames_with_face", "max_faces", "per_frame": [{"frame",
    "time", "faces", "boxes": [[x0, y0, x1, y1, score], ...]}]}`` (pixels, seconds)."""
    from emoshift.face.detect import detect_faces
    from emoshift.media import read_frames

    n_frames, fps = info.n_frames or 1, info.fps or 25.0
    k = max(1, min(n_samples, n_frames))
    idx = sorted({int(i) for i in (np.arange(k) + 0.5) * n_frames / k})
    frames = read_frames(info.path, idx)
    per_frame = []
    for i, frame in zip(idx, frames):
        faces = detect_faces(frame)
        per_frame.append(
            {
                "frame": i,
                "time": round(i / fps, 3),
                "faces": len(faces),
                "boxes": [
                    [round(v, 1) for v in (f.x0, f.y0, f.x1, f.y1)] + [round(f.score, 3)]
                    for f in faces
                ],
            }
        )
    return {
        "frames_sampled": len(per_frame),
        "frames_with_face": sum(1 for r in per_frame if r["faces"] > 0),
        "max_faces": max((r["faces"] for r in per_frame), default=0),
        "per_frame": per_frame,
    }


def _human_size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def run(args: argparse.Namespace) -> int:
    from emoshift.media import max_duration_limit, probe

    info = probe(args.file, max_duration=None)
    limit = max_duration_limit()
    result: dict[str, Any] = info.to_dict()
    result["max_duration"] = limit
    result["too_long"] = limit is not None and info.duration > limit
    if args.faces < 0:
        from emoshift.errors import ConfigError

        raise ConfigError(f"--faces must be >= 0 (got {args.faces})")
    if info.has_video and args.faces > 0 and info.n_frames:
        result["faces"] = face_summary(info, args.faces)
    else:
        result["faces"] = None

    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lines = [f"{info.path}"]
    rate = f", {info.bit_rate / 1000:.0f} kb/s" if info.bit_rate else ""
    lines.append(f"  container: {info.format_name} ({_human_size(info.size_bytes)}{rate})")
    lines.append(f"  duration:  {info.duration:.3f} s")
    if info.has_video:
        rot = f", rotated {info.rotation} deg (applied)" if info.rotation else ""
        lines.append(
            f"  video:     {info.video_codec} {info.width}x{info.height}, {info.fps:g} fps, "
            f"{info.n_frames} frames, {info.pix_fmt}{rot}"
        )
    else:
        lines.append("  video:     none")
    if info.has_audio:
        lines.append(f"  audio:     {info.audio_codec} {info.sample_rate} Hz, {info.channels} ch")
    else:
        lines.append("  audio:     none")
    lines.append("  streams:   " + "; ".join(info.streams))
    faces = result["faces"]
    if faces is not None:
        lines.append(
            f"  faces:     {faces['max_faces']} found (most in one frame); a face in "
            f"{faces['frames_with_face']} of {faces['frames_sampled']} sampled frames"
        )
    if result["too_long"]:
        lines.append(
            f"  note:      longer than the {limit:g} s limit: other commands refuse it "
            "(set EMOSHIFT_MAX_DURATION to raise the limit)"
        )
    print("\n".join(lines))
    return 0
