"""``emoshift evaluate ORIGINAL GENERATED --emotion E``: EDD and the paper's metrics."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "evaluate"
HELP = "measure how far the emotion moved between two videos (EDD, quality, motion, lip sync)"
DESCRIPTION = """\
Compare an original talking-face video with a generated one: the Emotion Distribution
Divergence (EDD) of the target emotion from a face emotion recogniser run on every frame, the
EDD of every FER class, mean target probability, FER class shares, CPBD sharpness, PSNR/SSIM,
a Frechet distance of FER features (FFD-FER; not FID), head-motion spread, beat-align score,
landmark jerk and a lip-sync score (mouth opening vs loudness).

EDD = 0.5 means no change; 0 means every generated frame shows the target emotion more than
every original frame; above 0.5 the target went down. See docs/edd.md and docs/metrics.md.

Writes DIR/evaluation.json, DIR/evaluation.md and DIR/edd_curves.png (the smoothed per-frame
target probability of both videos over time) and prints the report.

Examples:
  emoshift evaluate talk.mp4 talk_happy.mp4 --emotion happy
  emoshift evaluate talk.mp4 talk_sad.mp4 --emotion sad -o eval_sad --window 30
  emoshift evaluate talk.mp4 talk_sad.mp4 --emotion sad --json > eval.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from emoshift.metrics.edd import DEFAULT_WINDOW

    p.add_argument("original", type=Path, help="the source video")
    p.add_argument("generated", type=Path, help="the generated (emotion-changed) video")
    p.add_argument(
        "--emotion",
        "-e",
        required=True,
        help="target emotion (happy, sad, angry, ...; not contempt)",
    )
    p.add_argument(
        "-o", "--output", type=Path, default=None, metavar="DIR",
        help="folder for the JSON, Markdown and PNG (default: GENERATED's name + '.eval' in the current folder)",
    )  # fmt: skip
    p.add_argument(
        "--window", type=int, default=DEFAULT_WINDOW, metavar="N",
        help=f"EDD moving-average window in frames (default {DEFAULT_WINDOW})",
    )  # fmt: skip
    p.add_argument(
        "--quality-frames", type=int, default=6, metavar="K",
        help="frame pairs for PSNR/SSIM and frames per video for CPBD (default 6)",
    )  # fmt: skip
    p.add_argument(
        "--serial", action="store_true", help="analyse the videos one after the other (less memory)"
    )
    p.add_argument(
        "--json", action="store_true", help="print the JSON result instead of the Markdown report"
    )


def run(args: argparse.Namespace) -> int:
    from emoshift.emotion import parse_emotion
    from emoshift.errors import ConfigError
    from emoshift.evaluate import EvaluateConfig, evaluate_videos, write_report
    from emoshift.fileio import check_output_dir
    from emoshift.timing import Timings

    emo = parse_emotion(args.emotion).label
    for path in (args.original, args.generated):
        if not path.exists():
            raise ConfigError(f"{path} does not exist; give the path of a video file")
    out = args.output if args.output is not None else Path(f"{args.generated.stem}.eval")
    check_output_dir(out)
    config = EvaluateConfig(
        window=args.window, quality_frames=args.quality_frames, parallel=not args.serial
    )
    timings = Timings()
    result = evaluate_videos(args.original, args.generated, emo, config, timings)
    paths = write_report(result, out)
    if args.json:
        print(paths["json"].read_text(encoding="utf-8"), end="")
    else:
        print(result.to_markdown(), end="")
        print(f"\nwritten: {paths['json']}, {paths['markdown']}, {paths['plot']}", file=sys.stderr)
    return 0
