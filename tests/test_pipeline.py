"""The whole EDA pipeline (`emoshift shift` / `say`) on short real inputs, and every bad input
ending in a clear message, a non-zero exit and nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emoshift.cli import main
from emoshift.media import probe, read_audio, read_video, write_video

FFMPEG = "/usr/bin/ffmpeg"


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory, shared_media: Path) -> Path:
    """The first 3.2 s of a real talking clip (face + speech), re-encoded by emoshift.media."""
    src = shared_media / "talk_woman_glasses.mp4"
    info = probe(src)
    frames, fps = read_video(src, max_frames=int(3.2 * info.fps))
    audio = read_audio(src, sr=16000)[: int(len(frames) / fps * 16000)]
    out = tmp_path_factory.mktemp("clip") / "short.mp4"
    return write_video(out, frames, fps, audio=audio, sr=16000)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_shift_end_to_end_and_cached_rerun(short_clip: Path, tmp_path: Path, capsys):
    out = tmp_path / "out" / "happy.mp4"
    code = main(
        [
            "shift",
            str(short_clip),
            "--emotion",
            "very happy",
            "-o",
            str(out),
            "--seed",
            "3",
            "--json",
        ]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    src, dst = probe(short_clip), probe(out)
    assert (dst.width, dst.height) == (src.width, src.height)
    assert dst.fps == pytest.approx(src.fps, rel=1e-3)
    assert dst.has_audio
    assert abs(dst.video_duration - dst.audio_duration) <= 1.0 / dst.fps + 1e-3
    run = Path(res["run_dir"])
    manifest = json.loads((run / "manifest.json").read_text())
    names = [s["name"] for s in manifest["stages"]]
    for stage in ("audio", "transcribe", "rewrite", "speech", "track", "stills", "animate"):
        assert stage in names
    assert manifest["config"]["emotion"]["label"] == "happiness"
    # every model and data set the run used, the research-only lexicon of the rewriter included
    assert {lic["key"] for lic in manifest["licences"]} >= {
        "whisper-base",
        "mediapipe-facemesh",
        "kokoro-82m",
        "espeak-ng",
        "nrc-emolex",
        "emoshift-ter",
        "minilm-l6-v2",
    }
    assert res["rewritten"] != res["transcript"]
    stills = list(run.glob("*_stills/still_*.png"))
    assert len(stills) == 5
    # a re-run reuses every stage and gives the same output
    first = out.read_bytes()
    assert (
        main(
            [
                "shift",
                str(short_clip),
                "--emotion",
                "very happy",
                "-o",
                str(out),
                "--seed",
                "3",
                "--json",
            ]
        )
        == 0
    )
    manifest = json.loads((run / "manifest.json").read_text())
    assert all(s["cached"] for s in manifest["stages"])
    assert out.read_bytes() == first


def test_shift_is_deterministic_for_a_seed(short_clip: Path, tmp_path: Path):
    """Two runs with the same seed in separate run folders (nothing emotion-dependent is
    reused: rewrite, speech, stills and animation run again) give the same file, bit for bit
    (on one machine: x264's output depends on its thread count)."""
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name / "sad.mp4"
        args = ["shift", str(short_clip), "--emotion", "sad", "-o", str(out), "--seed", "5"]
        assert main(args) == 0
        outs.append(out)
    runs = [next((o.parent / ".emoshift-runs").iterdir()) for o in outs]
    assert runs[0] != runs[1]
    manifest = json.loads((runs[1] / "manifest.json").read_text())
    fresh = {s["name"] for s in manifest["stages"] if not s["cached"]}
    assert {"rewrite", "speech", "stills", "animate"} <= fresh
    # every intermediate (text, audio, phones, stills) but the timing records
    timings = {"stage.json", "speech.json"}
    for stage in ("rewrite", "speech", "stills"):
        a = sorted(runs[0].glob(f"*_{stage}/*"))
        b = sorted(runs[1].glob(f"*_{stage}/*"))
        assert len(a) > 1 and [x.name for x in a] == [x.name for x in b]
        for x, y in zip(a, b, strict=True):
            if x.name not in timings:
                assert x.read_bytes() == y.read_bytes(), x.name
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_say_avatar(tmp_path: Path):
    from skimage import data

    from emoshift.media import write_image

    face = write_image(tmp_path / "face.png", data.astronaut())
    out = tmp_path / "avatar.mp4"
    assert (
        main(
            [
                "say",
                str(face),
                "--text",
                "Good morning. The weather is fine today.",
                "--emotion",
                "sad",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    info = probe(out)
    assert (info.width, info.height) == (512, 512) and info.has_audio
    assert abs(info.video_duration - info.audio_duration) <= 1.0 / info.fps + 1e-3
    assert info.duration > 1.5


# --- bad inputs ---------------------------------------------------------------------------------
def _run_fails(args: list[str], capsys, expect: str) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0, err
    assert expect.lower() in err.lower(), err
    return err


def test_text_file_named_mp4(tmp_path: Path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    out = tmp_path / "o" / "x.mp4"
    _run_fails(["shift", str(bad), "--emotion", "happy", "-o", str(out)], capsys, "not")
    assert not out.exists()
    assert bad.read_text().startswith("this is not a video")


def test_unknown_emotion(short_clip: Path, tmp_path: Path, capsys):
    err = _run_fails(
        ["shift", str(short_clip), "--emotion", "hungry", "-o", str(tmp_path / "x.mp4")],
        capsys,
        "unknown emotion",
    )
    assert "happiness" in err
    assert not (tmp_path / "x.mp4").exists()


def test_audio_only_input(tmp_path: Path, capsys, shared_media: Path):
    wav = shared_media / "speech_man_news.wav"
    _run_fails(
        ["shift", str(wav), "--emotion", "sad", "-o", str(tmp_path / "x.mp4")], capsys, "video"
    )
    assert not (tmp_path / "x.mp4").exists()


def test_video_without_face(tmp_path: Path, capsys, shared_media: Path):
    frames = (
        np.zeros((50, 128, 128, 3), np.uint8) + np.arange(128, dtype=np.uint8)[None, None, :, None]
    )
    audio = read_audio(shared_media / "speech_man_news.wav", sr=16000)[: 2 * 16000]
    clip = write_video(tmp_path / "noface.mp4", frames, 25, audio=audio, sr=16000)
    out = tmp_path / "x.mp4"
    _run_fails(
        ["shift", str(clip), "--emotion", "happy", "--face-only", "-o", str(out)], capsys, "no face"
    )
    assert not out.exists()


def test_silent_video(short_clip: Path, tmp_path: Path, capsys):
    frames, fps = read_video(short_clip, max_frames=50)
    clip = write_video(
        tmp_path / "silent.mp4", frames, fps, audio=np.zeros(32000, np.float32), sr=16000
    )
    out = tmp_path / "x.mp4"
    _run_fails(["shift", str(clip), "--emotion", "happy", "-o", str(out)], capsys, "silent")
    assert not out.exists()


def test_two_hour_file_refused_fast(tmp_path: Path, capsys):
    long = tmp_path / "long.mp4"
    subprocess.run(
        [
            FFMPEG,
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=size=16x16:rate=1",
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=8000:cl=mono",
            "-t",
            "7200",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            str(long),
        ],
        check=True,
    )
    _run_fails(
        ["shift", str(long), "--emotion", "happy", "-o", str(tmp_path / "x.mp4")], capsys, "long"
    )


def test_refuses_to_overwrite_input(short_clip: Path, capsys):
    before = short_clip.read_bytes()
    _run_fails(
        ["shift", str(short_clip), "--emotion", "happy", "-o", str(short_clip)], capsys, "overwrite"
    )
    assert short_clip.read_bytes() == before


def test_read_only_output_folder(short_clip: Path, capsys):
    target = Path("/sys/emoshift-out.mp4") if os.geteuid() == 0 else Path("/proc/emoshift-out.mp4")
    _run_fails(
        ["shift", str(short_clip), "--emotion", "happy", "-o", str(target)], capsys, "writable"
    )
