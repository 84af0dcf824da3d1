"""Acceptance run of `emoshift experiment` (issue 7): the 4 ../shared/media/talk_* clips x 7
emotions x the three arms, killed halfway and resumed.

    .venv/bin/python benchmarks/bench_experiment.py                  # the acceptance run
    .venv/bin/python benchmarks/bench_experiment.py --emotions happy,sad --videos 1 --arms null

1. Starts the real command (`python -m emoshift experiment ... --workers N`) as a subprocess in
   its own process group and, once at least --kill-after items have ended (result.json or
   error.json; default: half of them), kills the whole group with SIGKILL (a hard crash, not a polite stop).
2. Records every finished result.json (bytes and mtime), re-runs the same command with
   --resume and checks that none of them was rewritten and that the resumed run skipped
   exactly those items.
3. Prints the wall time of the whole run (first part + resumed part), the per-item median, the
   EDA vs animation-only EDD comparison (target: EDA lower on >= 5 of 7 emotions) and where the
   report is. Writes bench-output/bench_experiment.json (bench_experiment_subset.json when
   run on fewer videos, emotions or arms).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
OUT = REPO / "bench-output"
CLIPS = ("talk_man_office.mp4", "talk_man_map.mp4", "talk_woman_blue.mp4", "talk_woman_glasses.mp4")


def _results(out: Path) -> dict[str, tuple[int, bytes]]:
    items = out / "items"
    if not items.is_dir():
        return {}
    found = {}
    for p in items.glob("*/*/*/result.json"):
        try:
            found[str(p.parent.relative_to(items))] = (p.stat().st_mtime_ns, p.read_bytes())
        except OSError:
            continue
    return found


def _n_records(out: Path) -> int:
    """Items that ended (a result.json or an error.json)."""
    items = out / "items"
    return len(list(items.glob("*/*/*/result.json")) + list(items.glob("*/*/*/error.json")))


def _cmd(videos: list[Path], out: Path, args: argparse.Namespace, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "emoshift", "-q", "experiment", *map(str, videos)]
    cmd += ["--emotions", args.emotions, "--arms", args.arms, "--out", str(out)]
    cmd += ["--workers", str(args.workers), "--executor", args.executor]
    return cmd + (["--resume"] if resume else [])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--videos", type=int, default=4, help="how many talk_* clips (default 4)")
    ap.add_argument("--emotions", default="all")
    ap.add_argument("--arms", default="eda,anim_only,speech_only")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", default="process")
    ap.add_argument(
        "--kill-after", type=int, default=None, help="items done before the kill (default: half)"
    )
    ap.add_argument("--no-kill", action="store_true", help="one uninterrupted run")
    ap.add_argument("--out", type=Path, default=OUT / "experiment")
    args = ap.parse_args()
    if not MEDIA.is_dir():
        print(f"skipped: {MEDIA} is absent")
        return 0
    from emoshift.experiment.plan import parse_arms, parse_emotions

    videos = [MEDIA / c for c in CLIPS[: args.videos]]
    n_items = len(videos) * len(parse_emotions(args.emotions)) * len(parse_arms(args.arms))
    kill_after = args.kill_after if args.kill_after is not None else max(1, n_items // 2)
    out = args.out
    if out.exists():
        import shutil

        shutil.rmtree(out)
    env = dict(os.environ, EMOSHIFT_PROGRESS="0", HF_HUB_OFFLINE="1")
    log1 = OUT / "bench_experiment_run1.log"
    OUT.mkdir(exist_ok=True)
    print(
        f"{n_items} items ({len(videos)} videos x {args.emotions} x {args.arms}); load {os.getloadavg()[0]:.1f}"
    )

    # -- part 1: run, then kill the whole process group halfway ------------------------------------
    t0 = time.perf_counter()
    with open(log1, "w") as log:
        proc = subprocess.Popen(
            _cmd(videos, out, args, resume=False), env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        killed = False
        while proc.poll() is None:
            time.sleep(1.0)
            if not args.no_kill and _n_records(out) >= kill_after:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                killed = True
                break
    wall1 = time.perf_counter() - t0
    before = _results(out)
    print(f"part 1: {'killed (SIGKILL to the process group)' if killed else f'exited {proc.returncode}'} "
          f"after {wall1:.1f} s with {len(before)} of {n_items} items finished")  # fmt: skip

    # -- part 2: resume ----------------------------------------------------------------------------
    wall2 = 0.0
    resumed: dict = {}
    if killed:
        t1 = time.perf_counter()
        r = subprocess.run(
            _cmd(videos, out, args, resume=True), env=env, capture_output=True, text=True
        )
        wall2 = time.perf_counter() - t1
        (OUT / "bench_experiment_run2.log").write_text(r.stdout + r.stderr)
        print(r.stdout.strip())
        man = json.loads((out / "manifest.json").read_text())
        after = _results(out)
        rewritten = [k for k, v in before.items() if after.get(k) != v]
        skipped = sorted(k for k, v in man["items"].items() if v["status"] == "skipped")
        resumed = {
            "exit_code": r.returncode,
            "finished_before_kill": len(before),
            "skipped_by_resume": len(skipped),
            "skipped_equals_finished": set(skipped) == set(before),
            "finished_results_rewritten": rewritten,
            "computed_after_resume": n_items - len(skipped),
            "counts": man["counts"],
        }
    after = _results(out)
    secs = [json.loads(b).get("seconds") for _, b in after.values()]
    secs = [s for s in secs if isinstance(s, (int, float))]
    median = statistics.median(secs) if secs else None
    comp_path = out / "report" / "edd_comparison.json"
    comp = json.loads(comp_path.read_text()) if comp_path.is_file() else {}
    errors = sorted(
        p.parent.relative_to(out / "items").as_posix()
        for p in (out / "items").glob("*/*/*/error.json")
    )
    total_wall = wall1 + wall2

    rows = [
        ("items", f"{len(after)} done / {n_items}", "all"),
        ("failed items", str(len(errors)), "0"),
        ("wall time, whole run (s)", f"{total_wall:.1f} (part 1 {wall1:.1f} + resumed {wall2:.1f})", "printed"),
        ("per-item median (s)", "-" if median is None else f"{median:.1f}", "printed"),
        ("EDA < anim_only on mean EDD", f"{comp.get('count', '-')} of {comp.get('compared', '-')}", ">= 5 of 7"),
    ]  # fmt: skip
    if resumed:
        rows += [
            ("finished before kill", str(resumed["finished_before_kill"]), ">= 1"),
            ("skipped by --resume", str(resumed["skipped_by_resume"]), "= finished before kill"),
            ("finished results rewritten by resume", str(len(resumed["finished_results_rewritten"])), "0"),
        ]  # fmt: skip
    w = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{w}}  {'measured':<40}  target")
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:<40}  {target}")
    if errors:
        print("\nfailed items (see their error.json):")
        for e in errors[:20]:
            err = json.loads((out / "items" / e / "error.json").read_text())
            print(f"  {e}: {err.get('error_type')}: {err.get('message', '')[:160]}")
    print(f"\nreport: {out / 'report' / 'report.html'}")
    result = {
        "n_items": n_items,
        "videos": [v.name for v in videos],
        "emotions": args.emotions,
        "arms": args.arms,
        "workers": args.workers,
        "executor": args.executor,
        "wall_seconds_total": total_wall,
        "wall_seconds_part1": wall1,
        "wall_seconds_resumed": wall2,
        "killed": killed,
        "per_item_median_seconds": median,
        "items_done": len(after),
        "items_failed": errors,
        "edd_comparison": comp,
        "resume": resumed,
        "load_average_end": os.getloadavg()[0],
    }
    acceptance = (args.videos, args.emotions, args.arms) == (4, "all", "eda,anim_only,speech_only")
    name = "bench_experiment.json" if acceptance else "bench_experiment_subset.json"
    (OUT / name).write_text(json.dumps(result, indent=2))
    print(f"written: {OUT / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
