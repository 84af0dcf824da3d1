"""Run every benchmark (``make bench``): each in its own process, one after another, so that
the timed ones do not compete with each other for the two cores.

Each script prints its own table of measured figures against the issue's targets and writes
JSON to ``bench-output/``. This runner streams their output, keeps going when one fails, and
ends with a summary: exit code, wall time and the verdict lines (PASS / FAIL / not met) of
each. Needs ``../shared/media`` and ``../shared/data`` (the scripts say "skipped" without).

    .venv/bin/python benchmarks/run_all.py                 # everything (about an hour)
    .venv/bin/python benchmarks/run_all.py --quick         # smaller samples (~20 min)
    .venv/bin/python benchmarks/run_all.py --only face fer # some of them
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "bench-output"

# name -> (arguments, arguments with --quick); in order: cheap foundation checks first, the
# whole pipeline and the experiment runner last
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "media": ([], ["--reps", "1"]),
    "fer": ([], []),
    "evaluate": ([], []),
    "text_emotion": ([], ["--rows", "1000"]),
    "speech_emotion": ([], ["--skip-synth"]),
    "ser_transfer": ([], ["--weights", "1,0.25", "--cs", "0.01,0.1"]),
    "etg": ([], ["--quick"]),
    "speech": ([], ["--quick"]),
    "face": ([], ["--skip", "neutral"]),
    "fer_limits": ([], ["--skip", "gain"]),
    "texture": ([], ["--reps", "1"]),
    "animate": ([], ["--quick"]),
    "pipeline": ([], ["--clips", "talk_woman_glasses", "talk_man_office"]),
    "experiment": ([], ["--videos", "2", "--no-kill"]),
}
VERDICT = re.compile(r"\b(PASS|FAIL|not met|met)\b", re.IGNORECASE)


def run_one(name: str, args: list[str]) -> dict:
    """Run ``bench_<name>.py args``, streaming its output; -> summary record."""
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *args]
    print(f"\n{'=' * 100}\n$ {' '.join(cmd[1:])}\n{'=' * 100}", flush=True)
    t0 = time.perf_counter()
    verdicts: list[str] = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            if VERDICT.search(line) and len(line) < 200:
                verdicts.append(line.strip())
        code = proc.wait()
    return {
        "bench": name,
        "exit": code,
        "seconds": round(time.perf_counter() - t0, 1),
        "verdicts": verdicts,
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="smaller samples where a script has them")
    ap.add_argument("--only", nargs="*", choices=sorted(BENCHES), help="run only these")
    args = ap.parse_args()
    names = args.only or list(BENCHES)
    records = [run_one(n, BENCHES[n][1 if args.quick else 0]) for n in names]

    print(f"\n{'=' * 100}\nsummary\n{'=' * 100}")
    print(f"{'benchmark':16s} {'exit':>4s} {'seconds':>8s}  verdicts")
    for r in records:
        lines = r["verdicts"] or ["(see its table above)"]
        print(f"{r['bench']:16s} {r['exit']:>4d} {r['seconds']:>8.1f}  {lines[0]}")
        for v in lines[1:]:
            print(f"{'':31s}{v}")
    OUT.mkdir(exist_ok=True)
    (OUT / "run_all.json").write_text(json.dumps(records, indent=2))
    print(f"\nwrote {OUT / 'run_all.json'}")
    return 0 if all(r["exit"] == 0 for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
