"""The ``emoshift`` command line. One module per subcommand in this package; each defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from types import ModuleType

from emoshift import __version__
from emoshift.errors import EmoshiftError

# Subcommands in the order --help lists them (module names inside emoshift.cli).
COMMANDS: tuple[str, ...] = (
    "shift",
    "say",
    "speech",
    "face",
    "animate",
    "info",
    "recognize",
    "evaluate",
    "experiment",
)

DESCRIPTION = """\
emoshift changes the emotion of a talking-person video -- the words, the voice and the face --
offline on a CPU, and measures how far the emotion moved.

Typical use:
  emoshift info talk.mp4                       what is in a file (streams, duration, faces)
  emoshift shift talk.mp4 --emotion happy -o happy.mp4
  emoshift shift talk.mp4 --prompt "Make this text very very sad" --keep-words -o sad.mp4
  emoshift evaluate talk.mp4 happy.mp4 --emotion happy   EDD, quality metrics, plot

Emotions: anger, contempt, disgust, fear, happiness, neutral, sadness, surprise (aliases such
as happy, sad, angry, scared, surprised work; "very very sad" sets the intensity).
Run `emoshift COMMAND --help` for each command's options.
"""


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"emoshift.cli.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emoshift",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emoshift {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _load(name)
        p = sub.add_parser(
            mod.NAME,
            help=mod.HELP,
            description=getattr(mod, "DESCRIPTION", mod.HELP),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 1
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.quiet:
        os.environ["EMOSHIFT_PROGRESS"] = "0"
    try:
        return int(args._run(args) or 0)
    except EmoshiftError as exc:
        print(f"emoshift {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished stages are kept in the run folder", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
