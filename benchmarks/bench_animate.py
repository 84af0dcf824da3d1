"""Benchmark of the Emotional Face Animator (issue 4): lip sync, closures, blinks, head motion,
jerk, emotion kept, A/V format and speed, on the four real talk_* clips.

New speech: espeak-ng speaking a sentence rich in bilabials, phones from the forced aligner.
Every output is re-detected with the face mesh (the same tracker as the inputs) and measured
with the project's metrics. Run: ``.venv/bin/python benchmarks/bench_animate.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MEDIA = Path(os.environ.get("EMOSHIFT_SHARED", REPO.parent / "shared")) / "media"
CLIPS = ("talk_man_office", "talk_man_map", "talk_woman_blue", "talk_woman_glasses")
TEXT = "Please buy me a map. We will move back to the big mountain, before the bus is full."
EMOTION = "happiness"


def _speech(tmp: Path) -> tuple[Path, list[dict]]:
    from emoshift.media import read_audio
    from emoshift.speech.align import align_phones

    wav = tmp / "speech.wav"
    subprocess.run(
        [
            shutil.which("espeak-ng") or "espeak-ng",
            "-v",
            "en-us",
            "-s",
            "150",
            "-w",
            str(wav),
            TEXT,
        ],
        check=True,
    )
    a = read_audio(wav, sr=16000)
    return wav, [p.to_dict() for p in align_phones(a, 16000, TEXT)]


def _track(path: Path):
    from emoshift.face.landmarks import track_video
    from emoshift.media import iter_frames, probe

    return track_video(iter_frames(path), probe(path).fps or 25.0)


def _jerk_windows(points: np.ndarray, fps: float) -> np.ndarray:
    """Per-window landmark jerk (mean over points, IOD/s^3), windows of 4 face frames."""
    from emoshift.face.landmarks import inter_ocular

    p = (
        np.asarray(points, dtype=np.float64)[..., :2]
        / np.asarray(inter_ocular(points))[:, None, None]
    )
    j = np.linalg.norm(p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3], axis=-1).mean(axis=1) * fps**3
    return j[np.isfinite(j)]


def _measure(path: Path, phones: list[dict] | None, audio_path: Path) -> dict:
    from emoshift.face.blink import blink_events
    from emoshift.face.landmarks import eye_openness
    from emoshift.face.visemes import closure_centres
    from emoshift.media import probe, read_audio
    from emoshift.metrics.motion import head_motion_std
    from emoshift.metrics.sync import inner_lip_gap, lip_sync_score, loudness_per_frame

    info = probe(path)
    tr = _track(path)
    fps = float(info.fps or 25.0)
    audio = read_audio(audio_path, sr=16000)
    gap = inner_lip_gap(tr.points)
    sync = lip_sync_score(gap, loudness_per_frame(audio, 16000, fps, len(tr)), fps)
    out = {
        "frames": len(tr),
        "fps": fps,
        "size": list(info.size or (0, 0)),
        "video_s": info.video_duration,
        "audio_s": info.audio_duration,
        "sync_r": sync.r,
        "sync_lag": sync.lag_frames,
        "pose_std": head_motion_std(tr.pose)["mean"],
        "jerk_mean": float(np.mean(_jerk_windows(tr.points, fps))),
        "jerk_p95": float(np.percentile(_jerk_windows(tr.points, fps), 95)),
    }
    ear = eye_openness(tr.points).mean(axis=-1)
    ev = blink_events(ear, fps)
    out["blinks_per_min"] = len(ev) / (len(tr) / fps) * 60.0
    out["blink_ms"] = [round((e - s) / fps * 1000) for s, e in ev]
    if phones:
        frames = np.clip(np.round(closure_centres(phones) * fps).astype(int), 0, len(gap) - 1)
        out["pbm_closed"] = float(np.mean(gap[frames] <= 0.2 * np.nanmax(gap)))
        out["pbm_n"] = len(frames)
    out["points"] = tr.points
    return out


def _fer_target(frames, points, label: str) -> float:
    from emoshift.recognize.face import load_face_recognizer

    probs = load_face_recognizer().predict_video(frames, points)
    return float(np.nanmean(probs.column(label)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="two clips only")
    ap.add_argument(
        "--clips",
        default="",
        help=f"comma-separated clip names to run (default all: {','.join(CLIPS)})",
    )
    args = ap.parse_args()
    if not MEDIA.is_dir():
        print(f"skipped: {MEDIA} is absent")
        return 0
    from emoshift.emotion import parse_emotion
    from emoshift.face.animate import AnimateConfig, animate_video
    from emoshift.face.generate import generate_still
    from emoshift.face.sampling import sample_frames
    from emoshift.face.trackio import save_track
    from emoshift.media import iter_frames, read_frames, write_video

    spec = parse_emotion(EMOTION, 1.0)
    clips = CLIPS[2:] if args.quick else CLIPS
    if args.clips:
        clips = tuple(c.strip() for c in args.clips.split(",") if c.strip())
        unknown = [c for c in clips if c not in CLIPS]
        if unknown:
            ap.error(f"unknown clip(s) {unknown}; choose from {', '.join(CLIPS)}")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-animate-") as tmpd:
        tmp = Path(tmpd)
        wav, phones = _speech(tmp)
        # the reference (real head-pose spread, jerk) is always all four real clips, also
        # when only some are animated (--quick, --clips): two clips gave a narrower pose
        # range (2.33-3.82 deg instead of 1.22-3.82) and failed still mode spuriously
        reals: dict[str, dict] = {}
        real_jerk: list[np.ndarray] = []
        for name in CLIPS:
            real = _measure(MEDIA / f"{name}.mp4", None, MEDIA / f"{name}.mp4")
            real_jerk.append(_jerk_windows(real.pop("points"), real["fps"]))
            reals[name] = real
        for name in clips:
            clip = MEDIA / f"{name}.mp4"
            track = _track(clip)
            track_path = save_track(track, tmp / f"{name}.npz")
            real = reals[name]
            row: dict = {"real": real}
            # the emotional stills (the pipeline's N = 5) and their FER target probability
            idx = sample_frames(track, 5, seed=0)
            frames = read_frames(clip, idx)
            stills, still_pts = zip(
                *(
                    generate_still(f, track.points[i], spec)
                    for f, i in zip(frames, idx, strict=True)
                ),
                strict=True,
            )
            row["fer_still"] = _fer_target(list(stills), np.stack(still_pts), EMOTION)
            for mode in ("video", "still"):
                out = tmp / f"{name}_{mode}.mp4"
                t0 = time.perf_counter()
                c0 = time.process_time()
                res = animate_video(
                    clip,
                    track_path,
                    wav,
                    phones,
                    spec,
                    out,
                    config=AnimateConfig(
                        mode=mode, head_motion="source" if mode == "video" else "prosody"
                    ),
                )
                wall = time.perf_counter() - t0
                cpu = time.process_time() - c0  # all threads (decoder, encoder) included
                m = _measure(out, phones, wav)
                pts = m.pop("points")
                m["fer"] = _fer_target(iter_frames(out), pts, EMOTION)
                m["render_fps"] = res.render_fps
                m["wall_s"] = wall
                m["cpu_s"] = cpu
                m["cpu_fps"] = res.n_frames / cpu  # frames per CPU-second, setup included
                m["timings"] = res.timings
                m["folds"] = res.max_folded_triangles
                if mode == "video":  # the blink plan (source blinks kept / hidden, added)
                    m["blinks_kept"] = res.info.get("blinks_kept", [])
                    m["blinks_added"] = res.info.get("blinks_added", [])
                    m["blink_frames_hidden"] = res.info.get("blink_frames_suppressed", 0)
                if mode == "still":  # what was rendered (lids shut > half way), for comparison
                    from emoshift.face.blink import blink_events

                    ev = blink_events(1.0 - res.blink, res.fps, rel_threshold=0.5)
                    m["rendered_blinks_per_min"] = len(ev) / (res.n_frames / res.fps) * 60.0
                    m["rendered_blink_ms"] = [round((e - b) / res.fps * 1000) for b, e in ev]
                row[mode] = m
            # baseline: a plain decode + encode of the same number of frames
            t0 = time.perf_counter()
            n = row["video"]["frames"]
            write_video(
                tmp / "base.mp4",
                (f for _, f in zip(range(n), iter_frames(clip), strict=False)),
                real["fps"],
            )
            row["baseline_fps"] = n / (time.perf_counter() - t0)
            rows[name] = row
            print(f"done {name}", file=sys.stderr, flush=True)
        jerk_p95_real = float(np.percentile(np.concatenate(real_jerk), 95))

    real_sync = {k: r["real"]["sync_r"] for k, r in rows.items()}
    pose_lo = min(r["pose_std"] for r in reals.values())
    pose_hi = max(r["pose_std"] for r in reals.values())
    print(
        f"\nEFA benchmark: speech = espeak-ng '{TEXT}' ({len(phones)} phones); emotion {EMOTION} 1.0"
    )
    print(
        f"real clips: lip-sync r {', '.join(f'{k}={v:.3f}' for k, v in real_sync.items())}; head-pose std range {pose_lo:.2f}-{pose_hi:.2f} deg; jerk p95 {jerk_p95_real:.0f} IOD/s^3\n"
    )
    hdr = f"{'clip':<20}{'mode':<7}{'sync r (real)':>15}{'lag':>5}{'pbm closed':>11}{'blinks/min':>11}{'blink ms':>14}{'pose std':>9}{'jerk mean/p95':>15}{'FER anim/still':>16}{'size fps':>14}{'A-V s':>7}{'fps (base)':>12}"
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for name, row in rows.items():
        for mode in ("video", "still"):
            m = row[mode]
            bm = f"{min(m['blink_ms'], default=0)}-{max(m['blink_ms'], default=0)}"
            ok = {
                "sync": m["sync_r"] >= real_sync[name] and abs(m["sync_lag"]) <= 2,
                "pbm": m.get("pbm_closed", 0) >= 0.9,
                "blinks": 8 <= m["blinks_per_min"] <= 30
                and all(100 <= b <= 400 for b in m["blink_ms"]),
                "pose": pose_lo <= m["pose_std"] <= pose_hi,
                "jerk": m["jerk_mean"] <= jerk_p95_real,
                "fer": m["fer"] >= 0.8 * row["fer_still"],
                "format": abs(m["video_s"] - m["audio_s"]) <= 1.0 / m["fps"],
                "speed": m["render_fps"] >= 25.0,
            }
            summary.append({"clip": name, "mode": mode, **{f"pass_{k}": v for k, v in ok.items()}})
            print(
                f"{name:<20}{mode:<7}{m['sync_r']:>8.3f} ({real_sync[name]:.3f}){m['sync_lag']:>5d}"
                f"{m.get('pbm_closed', 0):>8.2f}/{m.get('pbm_n', 0):<2d}{m['blinks_per_min']:>11.1f}{bm:>14}"
                f"{m['pose_std']:>9.2f}{m['jerk_mean']:>8.0f}/{m['jerk_p95']:<6.0f}"
                f"{m['fer']:>9.3f}/{row['fer_still']:.3f}{m['size'][0]:>6d}x{m['size'][1]:<4d}{m['fps']:>4.0f}"
                f"{m['video_s'] - m['audio_s']:>7.3f}{m['render_fps']:>6.1f} ({row['baseline_fps']:.0f})"
            )
            print(
                f"{'':<27}CPU: {1000 * m['cpu_s'] / m['frames']:.1f} ms/frame, all threads, setup "
                f"included ({m['cpu_fps']:.1f} frames per CPU-second; wall {m['render_fps']:.1f} fps "
                f"rendering on the shared machine)"
            )
            if mode == "video":
                print(
                    f"{'':<27}blinks: source {row['real']['blinks_per_min']:.1f}/min; kept "
                    f"{len(m['blinks_kept'])}, added {len(m['blinks_added'])}, "
                    f"{m['blink_frames_hidden']} frames of source blinks hidden"
                )
            if mode == "still":
                print(
                    f"{'':<27}rendered blinks (lids > half shut): "
                    f"{m['rendered_blinks_per_min']:.1f}/min, {m['rendered_blink_ms']} ms; "
                    "the row above is what the face mesh re-detects"
                )
            print(
                f"{'':<27}passes: "
                + ", ".join(k for k, v in ok.items() if v)
                + " | fails: "
                + (", ".join(k for k, v in ok.items() if not v) or "-")
            )
    print(
        "\ntargets: sync r >= the source clip's own, |lag| <= 2 frames; p/b/m closed >= 0.90; blinks 8-30/min, 100-400 ms;"
    )
    print(
        "pose std within the real clips' range; jerk mean <= real p95; FER >= 0.8 x still; |A-V| <= 1 frame; >= 25 fps rendered."
    )
    print(
        "Speed is measured on a shared machine; 'base' = plain decode+encode fps of the same frames in the same run;"
    )
    print(
        "CPU time (process_time, every thread) is what a frame costs whatever the machine's load."
    )
    out_dir = REPO / "bench-output"
    out_dir.mkdir(exist_ok=True)
    payload = {
        "text": TEXT,
        "emotion": EMOTION,
        "real_jerk_p95": jerk_p95_real,
        "real_pose_std_range": [pose_lo, pose_hi],
        "clips": {k: {kk: vv for kk, vv in v.items()} for k, v in rows.items()},
        "summary": summary,
    }
    (out_dir / "bench_animate.json").write_text(json.dumps(payload, indent=1, default=float))
    print(f"\nwrote {out_dir / 'bench_animate.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
