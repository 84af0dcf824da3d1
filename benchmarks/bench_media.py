"""Benchmark: read + re-encode a real clip through emoshift.media vs a plain ffmpeg command.

Issue 2 acceptance: decoding ../shared/media/talk_man_office.mp4 with
:func:`emoshift.media.iter_frames` and re-encoding it with :class:`emoshift.media.VideoWriter`
(its audio read with :func:`read_audio` at the source rate and channels, muxed back) takes at
most 1.5x the time of ``ffmpeg -y -i in.mp4 -c:v libx264 -c:a aac out.mp4``, in one run.

Both sides run alternately, several repetitions each, after one untimed warm-up; the figure is
the ratio of medians. Wall-clock and CPU time (user + sys, all threads) are both reported: CPU
time is steadier on a shared machine. A second, informational ffmpeg run uses the same x264
settings as emoshift (preset veryfast, crf 20) for an apples-to-apples view.

    .venv/bin/python benchmarks/bench_media.py [--clip PATH] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from emoshift.media import VideoWriter, iter_frames, probe, read_audio  # noqa: E402

TARGET_RATIO = 1.5
OURS_SETTINGS = {
    "video": "libx264 preset=veryfast crf=20 yuv420p threads=auto (VideoWriter defaults)",
    "audio": "aac 128 kb/s, source rate and channels (read_audio(sr=None, mono=False))",
    "container": "mp4 +faststart",
    "decode": "PyAV threaded decode (thread_type=AUTO), to_ndarray rgb24, constant 30 fps",
}


def ffmpeg_cmd(src: Path, out: Path, same_settings: bool) -> list[str]:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-c:v", "libx264"]
    if same_settings:
        cmd += ["-preset", "veryfast", "-crf", "20", "-movflags", "+faststart"]
    return [*cmd, "-c:a", "aac", str(out)]


def encode_ours(src: Path, out: Path) -> None:
    info = probe(src, need_video=True, need_audio=True)
    audio = read_audio(src, sr=None, mono=False)
    with VideoWriter(out, info.fps or 25, audio=audio, sr=info.sample_rate) as writer:
        for frame in iter_frames(src):
            writer.write(frame)


def decode_only(src: Path, out: Path) -> None:
    for _ in iter_frames(src):
        pass


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], None], child: bool) -> tuple[float, float]:
    cpu = _cpu_children if child else _cpu_self
    c0, t0 = cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, cpu() - c0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--clip", type=Path, default=REPO.parent / "shared" / "media" / "talk_man_office.mp4"
    )
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", type=Path, default=REPO / "bench-output" / "bench_media.json")
    args = ap.parse_args()
    if not args.clip.exists():
        print(f"skipped: {args.clip} is absent (needs ../shared/media)")
        return 0
    if shutil.which("ffmpeg") is None:
        print("skipped: the ffmpeg program is not installed (make env installs it)")
        return 0
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout.split(
        "\n"
    )[0]
    src = args.clip
    info = probe(src)

    with tempfile.TemporaryDirectory(prefix="bench_media.") as tmpd:
        tmp = Path(tmpd)
        methods: dict[str, tuple[Callable[[], None], bool]] = {
            "emoshift": (lambda: encode_ours(src, tmp / "ours.mp4"), False),
            "ffmpeg_plain": (
                lambda: subprocess.run(ffmpeg_cmd(src, tmp / "plain.mp4", False), check=True),
                True,
            ),
            "ffmpeg_same_settings": (
                lambda: subprocess.run(ffmpeg_cmd(src, tmp / "same.mp4", True), check=True),
                True,
            ),
            "emoshift_decode_only": (lambda: decode_only(src, tmp / "x"), False),
        }
        for fn, _ in methods.values():  # warm-up: imports, page cache, codec set-up
            fn()
        wall: dict[str, list[float]] = {k: [] for k in methods}
        cpu: dict[str, list[float]] = {k: [] for k in methods}
        for _ in range(args.reps):
            for name, (fn, child) in methods.items():
                w, c = timed(fn, child)
                wall[name].append(w)
                cpu[name].append(c)
        outputs = {
            name: probe(tmp / f"{stem}.mp4")
            for name, stem in (
                ("emoshift", "ours"),
                ("ffmpeg_plain", "plain"),
                ("ffmpeg_same_settings", "same"),
            )
        }
        sizes = {k: v.size_bytes for k, v in outputs.items()}

    med_w = {k: statistics.median(v) for k, v in wall.items()}
    med_c = {k: statistics.median(v) for k, v in cpu.items()}
    ratio = med_w["emoshift"] / med_w["ffmpeg_plain"]
    ratio_cpu = med_c["emoshift"] / med_c["ffmpeg_plain"]
    ratio_same = med_w["emoshift"] / med_w["ffmpeg_same_settings"]
    ratio_same_cpu = med_c["emoshift"] / med_c["ffmpeg_same_settings"]
    load = os.getloadavg()

    print(
        f"clip: {src.name}  {info.width}x{info.height}  {info.fps:g} fps  {info.duration:.2f} s  "
        f"({info.n_frames} frames)  reps={args.reps}  load avg {load[0]:.1f}  cores {os.cpu_count()}"
    )
    print(f"ffmpeg program: {version}")
    print("encoder settings:")
    print(
        f"  emoshift:              {OURS_SETTINGS['video']}; {OURS_SETTINGS['audio']}; "
        f"{OURS_SETTINGS['container']}; {OURS_SETTINGS['decode']}"
    )
    print(
        f"  ffmpeg_plain:          {' '.join(ffmpeg_cmd(Path('in.mp4'), Path('out.mp4'), False))}"
        "  (x264 defaults: preset medium, crf 23; aac 128 kb/s; threads auto)"
    )
    print(f"  ffmpeg_same_settings:  {' '.join(ffmpeg_cmd(Path('in.mp4'), Path('out.mp4'), True))}")
    print()
    print(f"{'method':<24}{'wall median s':>14}{'cpu median s':>14}{'frames':>8}{'size kB':>9}")
    for name in methods:
        o = outputs.get(name)
        frames = str(o.n_frames) if o else "-"
        size = f"{sizes[name] / 1000:.0f}" if name in sizes else "-"
        print(f"{name:<24}{med_w[name]:>14.3f}{med_c[name]:>14.3f}{frames:>8}{size:>9}")
    print()
    print(f"{'figure':<44}{'measured':>10}{'target':>10}  verdict")
    rows = [
        ("wall ratio emoshift / ffmpeg_plain", ratio, TARGET_RATIO),
        ("cpu ratio emoshift / ffmpeg_plain", ratio_cpu, None),
        ("wall ratio emoshift / ffmpeg_same_settings", ratio_same, None),
        ("cpu ratio emoshift / ffmpeg_same_settings", ratio_same_cpu, None),
    ]
    for label, value, target in rows:
        verdict = ("PASS" if value <= target else "FAIL") if target else "info"
        tgt = f"<= {target:g}" if target else "-"
        print(f"{label:<44}{value:>10.3f}{tgt:>10}  {verdict}")

    result = {
        "clip": str(src),
        "reps": args.reps,
        "load_avg_1min": load[0],
        "cpu_count": os.cpu_count(),
        "ffmpeg_version": version,
        "settings": {
            "emoshift": OURS_SETTINGS,
            "ffmpeg_plain": " ".join(ffmpeg_cmd(Path("in.mp4"), Path("out.mp4"), False)),
            "ffmpeg_same_settings": " ".join(ffmpeg_cmd(Path("in.mp4"), Path("out.mp4"), True)),
        },
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "wall_median": med_w,
        "cpu_median": med_c,
        "output_frames": {k: v.n_frames for k, v in outputs.items()},
        "output_bytes": sizes,
        "ratio_wall_vs_plain": ratio,
        "ratio_cpu_vs_plain": ratio_cpu,
        "ratio_wall_vs_same_settings": ratio_same,
        "ratio_cpu_vs_same_settings": ratio_same_cpu,
        "target_ratio": TARGET_RATIO,
        "pass": ratio <= TARGET_RATIO,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
