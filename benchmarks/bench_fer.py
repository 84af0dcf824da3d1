"""FER speed: frames per second of classification given 64x64 crops (target >= 250 on 2 cores),
for each backend and with/without flip averaging, plus the crop cost per 700x700 frame.

    .venv/bin/python benchmarks/bench_fer.py

Writes bench-output/bench_fer.json. The machine may be shared: the load average is printed,
and CPU seconds are reported beside wall seconds (fps_cpu = crops / CPU seconds).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "2")

from emoshift.recognize.face import FaceEmotionRecognizer, FerConfig, face_crop

TARGET_FPS = 250.0
OUT = Path(__file__).resolve().parents[1] / "bench-output"


def _crops(n: int) -> np.ndarray:
    """Real face crops when the shared clip is there (repeated to n), else noise."""
    clip = Path(__file__).resolve().parents[2] / "shared" / "media" / "talk_man_office.mp4"
    if clip.exists():
        from emoshift.face.landmarks import track_video
        from emoshift.media import read_video

        frames, fps = read_video(clip, max_frames=32)
        track = track_video(frames, fps)
        crops = np.stack([face_crop(f, p) for f, p in zip(frames, track.points)])
        reps = -(-n // len(crops))
        return np.concatenate([crops] * reps)[:n]
    return np.random.default_rng(0).integers(0, 256, (n, 64, 64), dtype=np.uint8)


def _time(fn, reps: int = 3) -> tuple[float, float]:
    fn()  # warm-up
    best_wall, best_cpu = float("inf"), float("inf")
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best_wall, best_cpu


def main() -> None:
    n = 512
    crops = _crops(n)
    rows = []
    configs = (
        ("litert", True, 1),
        ("litert", False, 1),
        ("litert", True, 16),
        ("numpy", False, 64),
    )
    for backend, flip, batch in configs:
        rec = FaceEmotionRecognizer(FerConfig(backend=backend, flip_tta=flip, batch=batch))
        m = n if backend == "litert" else 128
        wall, cpu = _time(lambda rec=rec, m=m: rec.predict_crops(crops[:m]))
        rows.append(
            {
                "backend": backend,
                "flip_tta": flip,
                "batch": batch,
                "fps_wall": m / wall,
                "fps_cpu": m / max(cpu, 1e-9),
            }
        )
    # cost of cutting one crop from a full frame (landmarks given)
    clip = Path(__file__).resolve().parents[2] / "shared" / "media" / "talk_man_office.mp4"
    crop_ms = None
    if clip.exists():
        from emoshift.face.landmarks import detect_landmarks
        from emoshift.media import read_frames

        frame = read_frames(clip, [10])[0]
        pts = detect_landmarks(frame)
        wall, _ = _time(lambda: [face_crop(frame, pts) for _ in range(100)])
        crop_ms = wall * 10.0
    load = os.getloadavg()[0]
    default = rows[0]  # FerConfig() defaults: litert, flip averaging, batch 1
    print(f"load average (1 min): {load:.1f} on {os.cpu_count()} cores")
    print(f"{'backend':<8} {'flip':<5} {'batch':>5} {'fps (wall)':>11} {'fps (cpu)':>10}  target")
    for r in rows:
        print(
            f"{r['backend']:<8} {r['flip_tta']!s:<5} {r['batch']:>5} {r['fps_wall']:>11.0f} {r['fps_cpu']:>10.0f}  "
            f">= {TARGET_FPS:.0f}"
        )
    if crop_ms is not None:
        print(f"crop from a 700x700 frame: {crop_ms:.2f} ms")
    verdict = "PASS" if default["fps_wall"] >= TARGET_FPS else "FAIL (wall; see load average)"
    print(
        f"default (litert, flip averaging, batch 1): {default['fps_wall']:.0f} frames/s wall, "
        f"{default['fps_cpu']:.0f} per CPU-second -> {verdict}"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_fer.json").write_text(
        json.dumps(
            {
                "target_fps": TARGET_FPS,
                "load_average": load,
                "rows": rows,
                "crop_ms": crop_ms,
                "verdict": verdict,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
