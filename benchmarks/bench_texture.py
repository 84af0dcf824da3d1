"""Speed of the face texture stage at 512x512 on one core (issue 3, texture).

Targets: :func:`emoshift.face.mouth.render_mouth` <= 10 ms and
:func:`emoshift.face.shading.apply_shading` <= 10 ms per 512x512 frame on one core (the
animator calls them per frame beside the warp, at >= 25 frames/s). Also reported: the one-off
:func:`select_donor` cost per clip (it looks at the whole clip once), and
:func:`emoshift.face.shading.lip_seam` on the clip's most open mouth (held to the shading
target: it runs in the still generator beside them).

For each ../shared/media/talk_* clip: the frames are tracked, a donor mouth is chosen, the
clip's most closed-mouth frame is scaled to 512x512, its jaw "opened" by moving the lower lip
landmarks down 0.25 IOD (render_mouth only reads the geometry), and each call is timed many
times after a warm-up (median wall and CPU milliseconds). The machine may be shared: the load
average is printed, and CPU time is steadier than wall time then.

    .venv/bin/python benchmarks/bench_texture.py [--reps 40]

Writes bench-output/bench_texture.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from emoshift.face import regions  # noqa: E402
from emoshift.face.landmarks import inter_ocular, track_video  # noqa: E402
from emoshift.face.mouth import inner_gap, render_mouth, select_donor  # noqa: E402
from emoshift.face.shading import apply_shading, lip_seam  # noqa: E402
from emoshift.fileio import write_json_atomic  # noqa: E402
from emoshift.media import read_video  # noqa: E402

MEDIA = REPO.parent / "shared" / "media"
OUT = REPO / "bench-output" / "bench_texture.json"
TARGET_MOUTH_MS = 10.0
TARGET_SHADING_MS = 10.0
SIZE = 512
AU_SETS = {
    "happiness": {6: 1.0, 12: 1.0},
    "anger": {4: 1.0, 5: 1.0, 7: 1.0, 23: 1.0},
    "all cues": {1: 1.0, 2: 1.0, 4: 1.0, 6: 1.0, 7: 1.0, 9: 1.0, 10: 1.0, 12: 1.0},
}


def opened(points: np.ndarray, amount: float) -> np.ndarray:
    """Landmarks with the lower lip and chin moved down by ``amount`` IOD, lens-shaped."""
    p = points.copy()
    iod = inter_ocular(points)
    c0, c1 = points[regions.INNER_CORNER_RIGHT, 0], points[regions.INNER_CORNER_LEFT, 0]
    mid, half = 0.5 * (c0 + c1), 0.5 * abs(c1 - c0)
    lower = sorted(
        set(regions.LIPS_INNER_LOWER[1:-1])
        | set(regions.LIPS_OUTER_LOWER[1:-1])
        | set(regions.CHIN)
    )
    s = np.clip(np.abs(points[lower, 0] - mid) / half, 0, 1)
    p[lower, 1] += amount * iod * (1 - s**2) ** 0.6
    return p


def timed(fn: Callable[[], object], reps: int) -> tuple[float, float, float]:
    """Median wall, median CPU and least CPU milliseconds of ``fn`` over ``reps`` calls after
    two warm-ups (the least is the best estimate of the cost on an idle core)."""
    fn()
    fn()
    wall, cpu = [], []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu), 1e3 * min(cpu)


def measure_clip(clip: Path, reps: int) -> dict[str, object]:
    """Track one clip, choose its donor, and time the texture calls on a 512x512 frame of it."""
    frames, fps = read_video(clip)
    pts = track_video(frames, fps).points
    t0 = time.perf_counter()
    donor = select_donor(frames, pts)
    t_donor = 1e3 * (time.perf_counter() - t0)
    i = int(np.nanargmin(inner_gap(pts)))
    h, w = frames.shape[1:3]
    image = cv2.resize(frames[i], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    p = pts[i].copy()
    p[:, 0] *= SIZE / w
    p[:, 1] *= SIZE / h
    dst = opened(p, 0.25)
    mouth = timed(lambda: render_mouth(image, p, dst, donor, "teeth"), reps)
    mouth_none = timed(lambda: render_mouth(image, p, dst, None), reps)
    row: dict[str, object] = {
        "clip": clip.name,
        "frames": len(frames),
        "iod_px_512": round(float(inter_ocular(p)), 1),
        "select_donor_ms": round(t_donor, 1),
        "donor_has_teeth": bool(donor is not None and donor.has_teeth),
        "render_mouth_ms": [round(x, 2) for x in mouth],
        "render_mouth_no_donor_ms": [round(x, 2) for x in mouth_none],
    }
    for name, aus in AU_SETS.items():
        t = timed(lambda aus=aus: apply_shading(image, dst, aus), reps)
        row[f"shading_{name}_ms"] = [round(x, 2) for x in t]
    # the closed-lip seam on the clip's most open mouth, as if an expression had shut it
    j = int(np.nanargmax(inner_gap(pts)))
    seam_img = cv2.resize(frames[j], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    q = pts[j].copy()
    q[:, 0] *= SIZE / w
    q[:, 1] *= SIZE / h
    row["lip_seam_ms"] = [round(x, 2) for x in timed(lambda: lip_seam(seam_img, q, 1.0), reps)]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--reps", type=int, default=40)
    args = ap.parse_args(argv)
    clips = sorted(MEDIA.glob("talk_*.mp4"))
    if not clips:
        print(f"skipped: no talk_*.mp4 under {MEDIA}", file=sys.stderr)
        return 0
    cv2.setNumThreads(1)
    load = os.getloadavg()
    print(
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores shared); one thread; {SIZE}x{SIZE}"
    )
    rows = [measure_clip(clip, args.reps) for clip in clips]

    def worst(key: str, k: int) -> float:
        return max(float(r[key][k]) for r in rows)  # type: ignore[index]

    print()
    print(
        f"{'clip':24s} {'IOD':>5s} {'donor':>9s} {'mouth ms':>13s} {'cavity ms':>13s} "
        + " ".join(f"{'shade ' + n:>18s}" for n in AU_SETS)
    )
    print(
        f"{'':24s} {'px':>5s} {'select ms':>9s} {'wall / cpu':>13s} {'wall / cpu':>13s} "
        + " ".join(f"{'wall / cpu':>18s}" for _ in AU_SETS)
    )
    for r in rows:
        m, c = r["render_mouth_ms"], r["render_mouth_no_donor_ms"]
        shade = " ".join(
            f"{r[f'shading_{n}_ms'][0]:8.1f} / {r[f'shading_{n}_ms'][1]:6.1f}" for n in AU_SETS
        )  # type: ignore[index]
        print(
            f"{r['clip']:24s} {r['iod_px_512']:5.0f} {r['select_donor_ms']:9.0f} {m[0]:6.1f} / {m[1]:4.1f} {c[0]:6.1f} / {c[1]:4.1f} {shade}"
        )  # type: ignore[index]
    summary = {
        name: {
            "wall": worst(key, 0),
            "cpu": worst(key, 1),
            "cpu_min": worst(key, 2),
            "target": target,
        }
        for name, key, target in (
            ("render_mouth (teeth)", "render_mouth_ms", TARGET_MOUTH_MS),
            ("apply_shading (happiness)", "shading_happiness_ms", TARGET_SHADING_MS),
            ("apply_shading (all cues)", "shading_all cues_ms", TARGET_SHADING_MS),
            ("lip_seam (closed mouth)", "lip_seam_ms", TARGET_SHADING_MS),
        )
    }
    print()
    print("worst clip, 512x512, 1 thread; medians (and the least CPU time of the runs)")
    print(f"{'figure':28s} {'wall ms':>8s} {'cpu ms':>8s} {'min cpu':>8s} {'target':>8s}  verdict")
    for name, v in summary.items():
        ok = (
            "ok"
            if v["cpu"] <= v["target"]
            else ("ok idle" if v["cpu_min"] <= v["target"] else "MISSED")
        )
        print(
            f"{name:28s} {v['wall']:8.1f} {v['cpu']:8.1f} {v['cpu_min']:8.1f} "
            f"{'<= ' + format(v['target'], '.0f'):>8s}  {ok}"
        )
    print("verdict: ok = median CPU time meets the target; ok idle = only the least run does")
    write_json_atomic(
        OUT,
        {"load_average": load, "size": SIZE, "reps": args.reps, "clips": rows, "summary": summary},
    )
    print(f"\nwrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
