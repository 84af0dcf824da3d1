"""``emoshift face``: put an emotion on the face in an image or a video frame (the EFG)."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec, parse_emotion
from emoshift.errors import ConfigError, NoFaceError, NotMediaError
from emoshift.fileio import atomic_path, check_output_path

log = logging.getLogger(__name__)

NAME = "face"
HELP = (
    "put an emotion on the face in an image or video frame (a still), or a contact sheet of all 8"
)
DESCRIPTION = """\
Put an emotion on the face of an image, or of a frame of a video, and write the still as an
image. The face's action units are moved (FACS prototypes of each emotion), the face region is
warped without folds (the background stays untouched), a parted mouth gets the subject's own
teeth when a video provides an open-mouthed frame, and the expression's shading is added.

Examples:
  emoshift face portrait.jpg --emotion happy -o happy.png
  emoshift face talk.mp4 --emotion "very sad" -o sad.png          a good frame is chosen
  emoshift face talk.mp4 --emotion angry --intensity 0.5 --frame 40 -o angry.png
  emoshift face talk.mp4 --sheet -o sheet.png                      all 8 emotions side by side
  emoshift face talk.mp4 --emotion neutral -o calm.png             relax the face's own expression

From a video the still's frame is drawn at random (--seed) among frames with open eyes and a
frontal pose, unless --frame is given.
"""

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
MAX_VIDEO_FRAMES = 900
"""At most this many frames of a video are read (for tracking and the mouth donor)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input", type=Path, help="an image (png, jpg...) or a video (mp4, mov...) with one face"
    )
    p.add_argument(
        "-e",
        "--emotion",
        default=None,
        help="target emotion or prompt: happy, 'very sad', angry:0.6...",
    )
    p.add_argument(
        "-i",
        "--intensity",
        type=float,
        default=None,
        help="0..1 (overrides any intensity in --emotion; default 1.0)",
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output image (.png or .jpg)")
    p.add_argument(
        "--sheet", action="store_true", help="write a contact sheet: the source and all 8 emotions"
    )
    p.add_argument(
        "--frame",
        type=int,
        default=None,
        help="video frame index to use (default: a random good frame)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the random frame choice (default 0)"
    )
    p.add_argument(
        "--multi-face",
        choices=("largest", "error"),
        default="largest",
        help="several faces: use the largest (default) or fail",
    )
    p.add_argument(
        "--no-texture", action="store_true", help="geometry only: no mouth interior, no shading"
    )


@dataclass
class Source:
    """A frame to edit and what the EFG can use from its video."""

    image: np.ndarray
    points: np.ndarray
    donor: Any | None
    reference: np.ndarray | None
    frame: int | None


def load_source(
    path: Path, *, frame: int | None = None, seed: int = 0, multi_face: str = "largest"
) -> Source:
    """Read an image or pick a frame of a video, with landmarks, mouth donor and rest face."""
    if not path.exists():
        raise NotMediaError(f"{path} does not exist")
    if path.suffix.lower() in IMAGE_EXTS:
        import cv2

        from emoshift.face.landmarks import detect_landmarks

        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise NotMediaError(f"{path} is not a readable image; use PNG or JPEG")
        image = np.ascontiguousarray(bgr[:, :, ::-1])
        return Source(image, detect_landmarks(image, multi_face=multi_face), None, None, None)  # type: ignore[arg-type]
    from emoshift.face import mouth
    from emoshift.face.expression import neutral_reference
    from emoshift.face.landmarks import track_video
    from emoshift.face.sampling import sample_frames
    from emoshift.media import read_video

    frames, fps = read_video(path, max_frames=MAX_VIDEO_FRAMES)
    track = track_video(frames, fps, multi_face=multi_face)  # type: ignore[arg-type]
    if frame is None:
        idx = int(sample_frames(track, 1, seed=seed)[0])
    else:
        if not -len(frames) <= frame < len(frames):
            raise ConfigError(f"--frame {frame} is out of range: read {len(frames)} frames")
        idx = frame % len(frames)
        if not track.found[idx]:
            raise NoFaceError(f"frame {idx} has no face; choose another --frame or leave it out")
    donor = mouth.select_donor(frames, track.points)
    ref = neutral_reference(track.points)
    return Source(np.ascontiguousarray(frames[idx]), track.points[idx], donor, ref, idx)


def contact_sheet(
    tiles: list[np.ndarray], labels: list[str], *, height: int = 256, columns: int = 3
) -> np.ndarray:
    """Side-by-side (H, W, 3) uint8 RGB sheet of equally tall tiles with a caption strip each."""
    import cv2

    cells = []
    for tile, text in zip(tiles, labels, strict=True):
        h, w = tile.shape[:2]
        t = cv2.resize(tile, (max(1, round(w * height / h)), height), interpolation=cv2.INTER_AREA)
        cap = np.full((22, t.shape[1], 3), 255, np.uint8)
        cv2.putText(cap, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cells.append(np.vstack([t, cap]))
    width = max(c.shape[1] for c in cells)
    cells = [
        np.pad(c, ((0, 0), (0, width - c.shape[1]), (0, 0)), constant_values=255) for c in cells
    ]
    rows = [np.hstack(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    full = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, full - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.vstack(rows)


def face_crop_box(
    points: np.ndarray, shape: tuple[int, ...], margin: float = 0.35
) -> tuple[int, int, int, int]:
    """A square-ish box round the face (for sheets), clipped to the image."""
    from emoshift.face.landmarks import face_box

    return face_box(points, margin=margin, size=(int(shape[0]), int(shape[1])))


def emotion_sheet(src: Source, intensity: float = 1.0, *, texture: bool = True) -> np.ndarray:
    """Contact sheet of the source face and every emotion at ``intensity``."""
    from emoshift.face.generate import GenerateConfig, generate_still

    cfg = GenerateConfig(mouth=texture, shading=texture)
    x0, y0, x1, y1 = face_crop_box(src.points, src.image.shape)
    tiles, labels = [src.image[y0:y1, x0:x1]], ["source"]
    for emo in ALL_EMOTIONS:
        out, _ = generate_still(
            src.image,
            src.points,
            EmotionSpec(emo, intensity),
            donor=src.donor,
            reference=src.reference,
            config=cfg,
        )
        tiles.append(out[y0:y1, x0:x1])
        labels.append(f"{emo.value} {intensity:g}")
    return contact_sheet(tiles, labels)


def write_image(path: Path, image: np.ndarray) -> None:
    import cv2

    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(image[:, :, ::-1])):
            raise ConfigError(f"cannot write {path}: use a .png or .jpg name")


def run(args: argparse.Namespace) -> int:
    from emoshift.face.generate import GenerateConfig, generate_still_info

    out = check_output_path(args.output, [args.input])
    if out.suffix.lower() not in {".png", ".jpg", ".jpeg", ".bmp", ".webp"}:
        raise ConfigError(f"output {out} must be an image (.png or .jpg)")
    if not args.sheet and not args.emotion:
        raise ConfigError("give --emotion (e.g. --emotion happy) or --sheet for all emotions")
    if args.intensity is not None and not 0.0 <= args.intensity <= 1.0:
        raise ConfigError(f"--intensity must be in [0, 1], got {args.intensity}")
    src = load_source(args.input, frame=args.frame, seed=args.seed, multi_face=args.multi_face)
    if args.sheet:
        level = 1.0 if args.intensity is None else args.intensity
        write_image(out, emotion_sheet(src, level, texture=not args.no_texture))
        print(
            f"wrote {out} (source frame {src.frame if src.frame is not None else '-'}, intensity {level:g})"
        )
        return 0
    spec = parse_emotion(args.emotion, args.intensity)
    if args.intensity is None and args.emotion.strip().lower() in _plain_names():
        spec = EmotionSpec(spec.label, 1.0, spec.mixture)  # a bare name means full strength here
    cfg = GenerateConfig(mouth=not args.no_texture, shading=not args.no_texture)
    image, _, info = generate_still_info(
        src.image, src.points, spec, donor=src.donor, reference=src.reference, config=cfg
    )
    write_image(out, image)
    where = f"frame {src.frame}" if src.frame is not None else "image"
    print(
        f"wrote {out}: {spec} on {where} (warp scale {info.warp_scale:.2f}, min Jacobian {info.jacobian_min:.2f})"
    )
    return 0


def _plain_names() -> set[str]:
    from emoshift.emotion import ALIASES

    return set(ALIASES) | {e.value for e in Emotion}
