"""`emoshift evaluate` speed on pairs of real clips: wall time / clip duration (target < 1.5).

    .venv/bin/python benchmarks/bench_evaluate.py

Runs the real command (`python -m emoshift evaluate ORIGINAL GENERATED --emotion happy`) in a
fresh process, so imports and model loading are counted. Reports wall seconds, CPU seconds
(user + system of the child, all threads) and both divided by the clip duration: the longer of
the two clips ("per clip", the strict reading of the target) and the sum of both. On a shared
machine the wall figure depends on the load (printed); the CPU figure does not.
Writes bench-output/bench_evaluate.json and prints the per-stage breakdown of the last run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"
OUT = REPO / "bench-output"
TARGET = 1.5
PAIRS = [
    ("talk_man_office.mp4", "talk_man_map.mp4"),
    ("talk_woman_blue.mp4", "talk_woman_glasses.mp4"),
]


def _duration(path: Path) -> float:
    from emoshift.media import probe

    info = probe(path, need_video=True)
    return float(info.n_frames or 0) / float(info.fps or 25.0)


def main() -> int:
    if not MEDIA.is_dir():
        print(f"skipped: {MEDIA} is absent")
        return 0
    env = dict(
        os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"), EMOSHIFT_PROGRESS="0"
    )
    rows = []
    last_timings: dict[str, float] = {}
    for a, b in PAIRS:
        pa, pb = MEDIA / a, MEDIA / b
        da, db = _duration(pa), _duration(pb)
        with tempfile.TemporaryDirectory() as tmp:
            load = os.getloadavg()[0]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "emoshift", "evaluate", str(pa), str(pb), "--emotion", "happy", "-o", tmp],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode != 0:
                print(proc.stderr[-2000:])
                return 1
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            data = json.loads((Path(tmp) / "evaluation.json").read_text())
            last_timings = data["timings_s"]
            plot_ok = (Path(tmp) / "edd_curves.png").stat().st_size > 10_000
        longest, total = max(da, db), da + db
        rows.append(
            {
                "original": a, "generated": b, "duration_s": [round(da, 2), round(db, 2)],
                "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_avg_1min": round(load, 1),
                "wall_per_clip_s": round(wall / longest, 3), "wall_per_both_s": round(wall / total, 3),
                "cpu_per_clip_s": round(cpu / longest, 3), "cpu_per_both_s": round(cpu / total, 3),
                "edd": data["metrics"]["edd"], "plot_written": plot_ok,
            }
        )  # fmt: skip
    print(
        f"{'pair':<48} {'dur (s)':>11} {'wall':>6} {'cpu':>6} {'wall/clip':>9} {'wall/both':>9} {'cpu/clip':>8}  target  load"
    )
    for r in rows:
        pair = f"{r['original']} vs {r['generated']}"
        dur = "+".join(f"{d:.1f}" for d in r["duration_s"])
        print(
            f"{pair:<48} {dur:>11} {r['wall_s']:>6.1f} {r['cpu_s']:>6.1f} {r['wall_per_clip_s']:>9.2f} "
            f"{r['wall_per_both_s']:>9.2f} {r['cpu_per_clip_s']:>8.2f}  < {TARGET}  {r['load_avg_1min']:.1f}"
        )
    print("\nstages of the last run (wall seconds; the two videos run in parallel threads):")
    for k, v in sorted(last_timings.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {k:<24} {v:7.2f}")
    ok_wall = all(r["wall_per_clip_s"] < TARGET for r in rows)
    ok_both = all(r["wall_per_both_s"] < TARGET for r in rows)
    ok_cpu = all(r["cpu_per_clip_s"] < TARGET for r in rows)
    print(
        f"\nwall < {TARGET}x the longer clip: {'PASS' if ok_wall else 'FAIL'}; "
        f"< {TARGET}x both clips: {'PASS' if ok_both else 'FAIL'}; "
        f"CPU seconds < {TARGET}x the longer clip: {'PASS' if ok_cpu else 'FAIL'}"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_evaluate.json").write_text(
        json.dumps(
            {
                "target_ratio": TARGET,
                "rows": rows,
                "stages_last_run": last_timings,
                "pass_wall_per_clip": ok_wall,
                "pass_wall_per_both": ok_both,
                "pass_cpu_per_clip": ok_cpu,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
