"""``emoshift experiment VIDEO... --out DIR``: the paper's evaluation on any set of videos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "experiment"
HELP = "run the paper's evaluation (Tables 1-4, Figs. 3-5) on videos x emotions x arms"
DESCRIPTION = """\
Reproduce the paper's evaluation on your own videos. For every video x emotion, each arm
produces an output: eda (the full pipeline), anim_only (the same animation without the
emotional face: the paper's SadTalker baseline), speech_only (only the new speech); null (the
source against itself, a calibration control) on request. Every output is recognised (text
and speech emotion) and evaluated against its source (EDD, CPBD, PSNR, FFD-FER, head motion,
beat align, lip sync).

OUT/report/ gets report.md, a self-contained report.html, the figures and a CSV of every
number; OUT/items/VIDEO/EMOTION/ARM/ holds each output with its result.json (or error.json
with the traceback when it failed: the other items go on); OUT/manifest.json the run's
settings, versions and timings.

Runs in parallel (--workers processes, or Ray tasks with --executor ray). Interrupted? Run the
same command with --resume: finished items are kept, the rest run.

Emotions: "all" = the 7 the face recogniser can score (every emotion but contempt); "paper" =
the paper's Table 4 set (with contempt, whose EDD cannot be measured here); or a list.

Examples:
  emoshift experiment talk1.mp4 talk2.mp4 --emotions all --out exp/
  emoshift experiment clips/*.mp4 --emotions happy,sad --arms eda,anim_only --workers 2 --out exp/
  emoshift experiment clips/*.mp4 --out exp/ --resume
  emoshift experiment clips/*.mp4 --out /shared/exp --executor ray --address auto
  emoshift experiment --report-only --out exp/            re-render the report
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("videos", nargs="*", type=Path, help="source videos (one talking face each)")
    p.add_argument(
        "--emotions", default="all", help='"all", "paper", "all8" or a list: happy,sad,angry'
    )
    p.add_argument("--out", "-o", type=Path, required=True, help="experiment folder")
    p.add_argument(
        "--arms", default="eda,anim_only,speech_only",
        help="comma list of eda, anim_only, speech_only, null (default: the first three)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=int, default=2, help="parallel workers (default 2; 1 core each)"
    )
    p.add_argument(
        "--executor", choices=("process", "ray", "serial"), default="process",
        help="process pool (default), Ray tasks, or one after the other in this process",
    )  # fmt: skip
    p.add_argument(
        "--address", default=None,
        help="Ray cluster address (e.g. auto, ray://head:10001); default: a local Ray instance",
    )  # fmt: skip
    p.add_argument(
        "--resume", action="store_true", help="continue an experiment: keep finished items"
    )
    p.add_argument("--intensity", type=float, default=None, help="target intensity 0..1")
    p.add_argument("--seed", type=int, default=0, help="random seed for the pipeline")
    p.add_argument(
        "--window", type=int, default=None, metavar="N", help="EDD smoothing window in frames"
    )
    p.add_argument(
        "--threads", type=int, default=None, help="math threads per worker (default cores/workers)"
    )
    p.add_argument(
        "--report-only", action="store_true",
        help="only re-render OUT/report/ from the stored results",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from emoshift.errors import ConfigError
    from emoshift.experiment import (
        ExperimentConfig,
        RunnerOptions,
        parse_arms,
        parse_emotions,
        run_experiment,
        write_report,
    )

    if args.report_only:
        if not (args.out / "items").is_dir():
            raise ConfigError(f"{args.out} holds no experiment results (no items/ folder)")
        paths = write_report(args.out)
        print(f"report: {paths['markdown']}\nhtml:   {paths['html']}")
        return 0
    if not args.videos:
        raise ConfigError("give at least one video (or --report-only)")
    config = ExperimentConfig(
        emotions=parse_emotions(args.emotions),
        arms=parse_arms(args.arms),
        intensity=args.intensity,
        seed=args.seed,
        window=args.window,
    )
    options = RunnerOptions(
        executor=args.executor,
        workers=args.workers,
        address=args.address,
        resume=args.resume,
        threads=args.threads,
    )
    summary = run_experiment(args.videos, args.out, config, options)
    print(summary.text())
    sys.stdout.flush()
    return 1 if summary.count("failed") else 0
