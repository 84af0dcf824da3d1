"""`make demo`: the whole pipeline on media that every fresh install has.

1. A public-domain face photo shipped with scikit-image (astronaut Eileen Collins, NASA) is
   given a voice with `say` (talking-avatar mode), neutral.
2. That talking video is `shift`ed into sadness (video mode: words rewritten, new voice,
   emotional face lip-synced to it).
3. `evaluate` measures how far the emotion moved (EDD, quality metrics, the curve plot).
4. A contact sheet of all 8 emotions on the face.

Everything lands in the output folder (default ./demo-output), with each run's intermediates
and manifest.json under demo-output/.emoshift-runs/.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

TEXT = (
    "Hello, I am the mission specialist on this flight. "
    "Today we will check the new module and report back to the ground team."
)


def astronaut_face(dest: Path) -> Path:
    """The scikit-image astronaut photo (public domain), written as PNG."""
    from skimage import data

    from emoshift.media.image import write_image

    return write_image(dest, data.astronaut())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=Path("demo-output"))
    ap.add_argument(
        "--emotion", default="very sad", help="emotion to shift the talking avatar into"
    )
    args = ap.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    import emoshift
    from emoshift.evaluate import evaluate_videos, write_report

    t0 = time.perf_counter()
    face = astronaut_face(out / "face.png")
    print(f"[1/4] face photo: {face}")

    avatar = emoshift.say(face, TEXT, "neutral", out / "avatar_neutral.mp4")
    print(f"[2/4] talking avatar (say, neutral): {avatar.output}")
    print("      " + avatar.summary().replace("\n", "\n      "))

    label = emoshift.parse_emotion(args.emotion).label.value
    shifted = emoshift.shift(avatar.output, args.emotion, out / f"avatar_{label}.mp4")
    print(f"[3/4] shifted to {args.emotion}: {shifted.output}")
    print("      " + shifted.summary().replace("\n", "\n      "))

    result = evaluate_videos(avatar.output, shifted.output, label)
    paths = write_report(result, out / "evaluation")
    print(f"[4/4] evaluation: EDD = {result.edd:.3f} (0.5 = no change, lower = more {label})")
    print(f"      report {paths['markdown']}, plot {paths['plot']}")

    from emoshift.cli.face import emotion_sheet, load_source
    from emoshift.media import write_image

    sheet = write_image(out / "emotions_sheet.png", emotion_sheet(load_source(face), 1.0))
    print(f"      contact sheet of every emotion on the face: {sheet}")
    print(f"done in {time.perf_counter() - t0:.1f} s; results in {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
