"""``emoshift animate``: make a face (a photo or a talking video) speak given speech (the EFA)."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

NAME = "animate"
HELP = "animate a face image or a talking video with new speech (lip sync, emotion, blinks, head motion)"
DESCRIPTION = """\
Animate a face with a speech recording: the mouth follows the speech's phones (visemes with
coarticulation, lips closing on p/b/m), the target emotion stays on the face while it talks,
and the head and eyes move naturally.

* A video: its frames are re-timed to the speech (ping-pong when the speech is longer, no jump
  cut), the person's own talking mouth is replaced by the new one, background, lighting and
  head motion are kept. --mode still animates one emotional still of the video instead.
* An image: the emotional still is made from it and animated with blinks and gentle head
  motion from the speech's loudness.

The phones come from forced alignment of --text (what the speech says); without --text the
speech is transcribed first (Whisper), and if that fails the mouth follows the loudness only.

Examples:
  emoshift animate talk.mp4 new_speech.wav --emotion happy --text "We leave at nine." -o out.mp4
  emoshift animate portrait.jpg hello.wav --emotion "very sad" -o avatar.mp4
  emoshift animate talk.mp4 talk_audio.wav --emotion angry --face-only -o angry.mp4
"""

log = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("face", type=Path, help="a face image (png, jpg) or a talking video (mp4...)")
    p.add_argument(
        "speech", type=Path, help="the speech to lip-sync (wav, or any audio/video file)"
    )
    p.add_argument(
        "-e",
        "--emotion",
        default="neutral",
        help='target emotion ("happy", "very sad", "anger:0.5")',
    )
    p.add_argument(
        "-i", "--intensity", type=float, default=None, help="0..1 (overrides the emotion's)"
    )
    p.add_argument("-t", "--text", default=None, help="what the speech says (for phone alignment)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.add_argument(
        "--mode",
        choices=("video", "still"),
        default=None,
        help="for a video input: re-time the video (default) or animate one still",
    )
    p.add_argument(
        "--fps", type=float, default=25.0, help="frame rate for an image input (default 25)"
    )
    p.add_argument(
        "--face-only",
        action="store_true",
        help="video input: keep the source mouth and audio, only add the emotion",
    )
    p.add_argument(
        "--no-expression", action="store_true", help="animate without the emotional expression"
    )
    p.add_argument("--no-blink", action="store_true", help="no synthetic blinks (still mode)")
    p.add_argument(
        "--head-motion",
        choices=("source", "prosody", "none"),
        default=None,
        help="head motion (default: source for a video, prosody for an image)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (blinks, head motion)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _phones(speech: Path, text: str | None) -> list[dict[str, float | str]] | None:
    from emoshift.errors import EmoshiftError
    from emoshift.media import read_audio
    from emoshift.speech.align import align_phones

    audio = read_audio(speech, sr=16000)
    if not text:
        try:
            from emoshift.speech.transcribe import transcribe

            text = transcribe(audio, 16000).text
        except Exception as exc:  # no speech recogniser: loudness only
            log.warning(
                "could not transcribe the speech (%s); the mouth follows the loudness only", exc
            )
            return None
    if not text or not text.strip():
        log.warning("no words found in the speech; the mouth follows the loudness only")
        return None
    try:
        return [
            {"label": p.label, "start": p.start, "end": p.end}
            for p in align_phones(audio, 16000, text)
        ]
    except EmoshiftError as exc:
        log.warning("phone alignment failed (%s); the mouth follows the loudness only", exc)
        return None


def run(args: argparse.Namespace) -> int:
    from emoshift.emotion import parse_emotion
    from emoshift.face.animate import AnimateConfig, animate_still, animate_video
    from emoshift.fileio import check_output_path
    from emoshift.media import is_image_path, read_audio

    spec = parse_emotion(args.emotion, args.intensity)
    out = check_output_path(args.output, [args.face, args.speech])
    phones = None if args.face_only else _phones(args.speech, args.text)
    image_input = is_image_path(args.face)
    head = args.head_motion or ("prosody" if image_input else "source")
    mode = "still" if image_input else (args.mode or "video")
    cfg = AnimateConfig(
        mode=mode,
        expression=not args.no_expression,
        lip_sync=not args.face_only,
        blink=not args.no_blink,
        head_motion=head,
        seed=args.seed,
    )
    if image_input:
        from emoshift.face.animate import still_config
        from emoshift.face.generate import generate_still
        from emoshift.face.landmarks import detect_landmarks
        from emoshift.media import probe
        from emoshift.media.image import read_image

        image = read_image(args.face)
        points = detect_landmarks(image)
        if cfg.expression:
            image, points = generate_still(image, points, spec, config=still_config(cfg))
        sr = int(probe(args.speech, need_audio=True).sample_rate or 16000)
        audio = read_audio(args.speech, sr=sr)
        res = animate_still(image, points, audio, sr, phones, spec, out, fps=args.fps, config=cfg)
    else:
        from emoshift.face.landmarks import track_video
        from emoshift.face.trackio import save_track
        from emoshift.media import iter_frames, probe

        info = probe(args.face, need_video=True)
        with tempfile.TemporaryDirectory(prefix="emoshift-animate-") as tmp:
            track = track_video(iter_frames(args.face), info.fps or 25.0)
            track_path = save_track(track, Path(tmp) / "track.npz")
            res = animate_video(args.face, track_path, args.speech, phones, spec, out, config=cfg)
    summary = {
        "output": str(res.out_path),
        "frames": res.n_frames,
        "fps": res.fps,
        "size": list(res.size),
        "duration_s": round(res.duration_s, 3),
        "phones": len(phones) if phones else 0,
        "render_fps": round(res.render_fps, 2),
        "timings": res.timings,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"wrote {res.out_path} ({res.n_frames} frames, {res.size[0]}x{res.size[1]} at {res.fps:g} fps, "
            f"{res.duration_s:.2f} s; {summary['phones']} phones; {res.render_fps:.1f} frames/s rendered)"
        )
    return 0
