"""``emoshift shift``: the whole EDA pipeline on a video."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAME = "shift"
HELP = "change the emotion of a talking-person video (words, voice and face)"
DESCRIPTION = """\
Change the emotion of a talking-person video: the words are rewritten in the emotion, a voice
speaks them with that emotion, and the face shows it, lip-synced to the new speech.

Examples:
  emoshift shift talk.mp4 --emotion happy -o happy.mp4
  emoshift shift talk.mp4 --emotion sad --intensity 0.4 -o sad.mp4
  emoshift shift talk.mp4 --prompt "Make this text very very very angry" -o angry.mp4
  emoshift shift talk.mp4 --emotion fear --keep-words -o fear.mp4     same words, new prosody
  emoshift shift talk.mp4 --emotion happy --face-only -o smile.mp4    original audio kept
  emoshift shift talk.mp4 --emotion all -o outdir/                     every emotion, one analysis

Every intermediate (transcript, rewritten text, speech, face stills, video) and a
manifest.json (config, versions, timings, model licences) go to the run folder
(--run-dir, default: OUTPUT_FOLDER/.emoshift-runs/NAME-HASH). Re-running the same command
reuses finished stages; an interrupted run resumes where it stopped.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("video", type=Path, help="input video: one talking face, with speech")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--emotion", "-e", help='target emotion ("happy", "very sad", "all", "happy:0.4")'
    )
    target.add_argument("--prompt", help='free prompt, e.g. "Make this text very very very happy"')
    p.add_argument(
        "--intensity", type=float, default=None, help="0..1 (overrides the prompt's intensity)"
    )
    p.add_argument(
        "-o", "--output", type=Path, required=True, help="output .mp4 (a folder with --emotion all)"
    )
    p.add_argument(
        "--mode",
        choices=("video", "still"),
        default="video",
        help="video: re-time the original frames (default); still: animate one emotional still",
    )
    p.add_argument(
        "--keep-words", action="store_true", help="keep the words; change only the voice's prosody"
    )
    only = p.add_mutually_exclusive_group()
    only.add_argument(
        "--speech-only", action="store_true", help="only the new speech (.wav), no video"
    )
    only.add_argument(
        "--face-only", action="store_true", help="keep the original audio; change only the face"
    )
    p.add_argument(
        "--no-expression",
        action="store_true",
        help="lip-sync to the new speech without the emotional face (animation-only baseline)",
    )
    p.add_argument(
        "--stills", type=int, default=5, help="frames sampled for the emotional stills (default 5)"
    )
    p.add_argument(
        "--rewriter", default=None, help="text rewriter backend (default: lexical, offline)"
    )
    p.add_argument(
        "--tts", default=None, help="speech synthesiser backend (default: kokoro, offline)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (runs are deterministic for a seed)"
    )
    p.add_argument(
        "--run-dir", type=Path, default=None, help="run folder for intermediates and manifest.json"
    )
    p.add_argument(
        "--max-duration",
        type=float,
        default=600.0,
        help="longest input accepted, seconds (default 600)",
    )
    p.add_argument(
        "--faces",
        choices=("largest", "error"),
        default="largest",
        help="several faces: use the largest (default) or stop with an error",
    )
    p.add_argument(
        "--max-stretch",
        type=float,
        default=1.3,
        help="the new speech lasts at most this many times the clip (default 1.3): the rewrite "
        "that fits is chosen, long pauses are shortened, and words that still run over are "
        "sped up by at most 10%%; 0 = no limit",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from emoshift.pipeline.eda import ShiftConfig, shift, shift_all

    options = dict(
        mode=args.mode,
        keep_words=args.keep_words,
        speech_only=args.speech_only,
        face_only=args.face_only,
        expression=not args.no_expression,
        n_stills=args.stills,
        rewriter=args.rewriter,
        tts=args.tts,
        seed=args.seed,
        max_duration=args.max_duration,
        multi_face=args.faces,
        max_stretch=args.max_stretch,
    )
    assert set(options) <= set(ShiftConfig.__dataclass_fields__)
    if args.emotion and args.emotion.strip().lower() == "all":
        results = shift_all(args.video, args.output, intensity=args.intensity, **options)
    else:
        results = [
            shift(
                args.video,
                args.emotion or args.prompt,
                args.output,
                intensity=args.intensity,
                run_dir=args.run_dir,
                **options,
            )
        ]
    for r in results:
        if args.json:
            print(
                json.dumps(
                    {
                        "output": str(r.output),
                        "run_dir": str(r.run_dir),
                        "emotion": str(r.emotion),
                        "transcript": r.transcript,
                        "rewritten": r.rewritten,
                        "timings": r.timings,
                        "wall_seconds": r.wall_seconds,
                    }
                )
            )
        else:
            print(r.summary())
    return 0
