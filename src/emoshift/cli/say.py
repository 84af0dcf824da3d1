"""``emoshift say``: a face image speaks a text with an emotion (talking avatar)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "say"
HELP = "make a face image say a text with an emotion (talking avatar, no video needed)"
DESCRIPTION = """\
Make a face image say a text with an emotion: the face gets the emotional expression, the text
is spoken with emotional prosody, and the face is animated with lip sync, blinks and head motion.

Examples:
  emoshift say face.png --text "Your order has shipped." --emotion happy -o reply.mp4
  emoshift say face.png --text "I'm sorry to hear that." --emotion "very sad" -o sorry.mp4
  emoshift say face.png --text "Watch out!" --emotion fear --rewrite -o warn.mp4
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("face", type=Path, help="a photo with one face (PNG/JPEG)")
    p.add_argument("--text", "-t", required=True, help="what the face says")
    p.add_argument(
        "--emotion", "-e", required=True, help='emotion ("happy", "very sad", "anger:0.5")'
    )
    p.add_argument("--intensity", type=float, default=None, help="0..1 (overrides the emotion's)")
    p.add_argument("-o", "--output", type=Path, required=True, help="output .mp4")
    p.add_argument(
        "--rewrite", action="store_true", help="rewrite the text in the emotion before speaking"
    )
    p.add_argument("--tts", default=None, help="speech synthesiser backend (default: kokoro)")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate of the video (default 25)")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (blinks, head motion, rewriting)"
    )
    p.add_argument(
        "--run-dir", type=Path, default=None, help="run folder for intermediates and manifest.json"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from emoshift.pipeline.eda import say

    r = say(
        args.face,
        args.text,
        args.emotion,
        args.output,
        intensity=args.intensity,
        run_dir=args.run_dir,
        tts=args.tts,
        fps=args.fps,
        seed=args.seed,
        rewrite=args.rewrite,
    )
    if args.json:
        print(
            json.dumps(
                {
                    "output": str(r.output),
                    "run_dir": str(r.run_dir),
                    "text": r.rewritten,
                    "timings": r.timings,
                    "wall_seconds": r.wall_seconds,
                }
            )
        )
    else:
        print(r.summary())
    return 0
