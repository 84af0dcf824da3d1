"""`emoshift info` through emoshift.cli.main on real files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emoshift.cli import main
from emoshift.media import write_audio


def test_info_text(talk_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(talk_clip)]) == 0
    out = capsys.readouterr().out
    assert "h264 700x700, 30 fps, 184 frames" in out
    assert "aac 44100 Hz, 2 ch" in out
    assert "duration:  6.133 s" in out
    assert "faces:     1 found (most in one frame); a face in 5 of 5 sampled frames" in out


def test_info_json(talk_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(talk_clip), "--json", "--faces", "3"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["width"], d["height"], d["fps"], d["n_frames"]) == (700, 700, 30.0, 184)
    assert d["has_audio"] and d["sample_rate"] == 44100
    assert d["faces"]["frames_sampled"] == 3 and d["faces"]["frames_with_face"] == 3
    assert d["faces"]["max_faces"] == 1
    assert [r["frame"] for r in d["faces"]["per_frame"]] == [30, 92, 153]
    assert d["too_long"] is False


def test_info_audio_file_and_no_faces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wav = write_audio(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    assert main(["info", str(wav)]) == 0
    out = capsys.readouterr().out
    assert "video:     none" in out and "pcm_s16le 16000 Hz, 1 ch" in out and "faces" not in out
    assert main(["info", str(wav), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faces"] is None


def test_info_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    assert main(["info", str(fake)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emoshift info: error:") and "fake.mp4" in err


def test_info_too_long_note(
    talk_clip: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMOSHIFT_MAX_DURATION", "5")
    assert main(["info", str(talk_clip), "--faces", "0"]) == 0
    out = capsys.readouterr().out
    assert "longer than the 5 s limit" in out and "faces" not in out


def test_help_teaches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["info", "--help"])
    out = capsys.readouterr().out
    assert "emoshift info talk.mp4 --json" in out and "--faces N" in out
