"""`emoshift speech` end to end on a real clip, and speech_to_speech with a run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoshift.cli import main
from emoshift.emotion import parse_emotion
from emoshift.pipeline import RunFolder
from emoshift.speech.s2s import speakable_text, speech_to_speech


def test_cli_keep_words(talk_clip, tmp_path, capsys):
    out = tmp_path / "sad.wav"
    run_dir = tmp_path / "run"
    code = main(
        [
            "speech",
            str(talk_clip),
            "--emotion",
            "very sad",
            "--keep-words",
            "-o",
            str(out),
            "--run-dir",
            str(run_dir),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["text"] == summary["transcript"] and "help" in summary["text"].lower()
    from emoshift.media import probe, read_audio

    info = probe(out)
    assert info.duration > 6.1  # sadness is slower than the 6.1 s original
    audio = read_audio(out, sr=None)
    assert np.max(np.abs(audio)) > 0.01
    manifest = json.loads((run_dir / "manifest.json").read_text())
    names = [s["name"] for s in manifest["stages"]]
    assert names == ["transcribe", "rewrite", "speech"]
    assert (run_dir / "01_transcribe" / "transcript.json").is_file()
    assert (run_dir / "02_rewrite" / "rewritten.txt").read_text().strip() == summary["text"]
    phones = json.loads((run_dir / "03_speech" / "phones.json").read_text())
    assert phones and phones[-1]["end"] <= info.duration + 0.05


def test_s2s_rewrites_and_speaks_with_piper(talk_clip, tmp_path):
    from emoshift.media import read_audio

    audio = read_audio(talk_clip, sr=16000)
    run = RunFolder(tmp_path / "run", {"t": 1})
    res = speech_to_speech(audio, 16000, parse_emotion("very happy"), synthesizer="piper", run=run)
    assert res.rewritten_text and res.rewritten_text != res.transcript.text
    assert res.sr == 22050 and res.duration > 2.0
    assert res.phones and res.phones[-1].end <= res.duration + 1e-6
    assert {"transcribe", "rewrite", "synthesize", "prosody", "phones"} <= set(res.timings)
    assert (
        tmp_path / "run" / "02_rewrite" / "rewritten.txt"
    ).read_text().strip() == res.rewritten_text
    assert (tmp_path / "run" / "03_speech" / "speech.wav").is_file()
    # a rerun reuses every stage
    run2 = RunFolder(tmp_path / "run", {"t": 1})
    res2 = speech_to_speech(
        audio, 16000, parse_emotion("very happy"), synthesizer="piper", run=run2
    )
    assert all(s.cached for s in run2.stages.values())
    assert np.allclose(res2.audio, res.audio, atol=1e-3)


def test_cli_errors(talk_clip, tmp_path, capsys):
    assert (
        main(["speech", str(talk_clip), "--emotion", "bored", "-o", str(tmp_path / "x.wav")]) == 2
    )
    assert "unknown emotion 'bored'" in capsys.readouterr().err
    args = ["speech", str(talk_clip), "--emotion", "happy", "--max-stretch", "0.3"]
    assert main([*args, "-o", str(tmp_path / "y.wav")]) == 2
    assert "max_stretch must be 0 (no limit) or in 1..10, got 0.3" in capsys.readouterr().err
    assert not (tmp_path / "y.wav").exists()
    assert main(["speech", str(talk_clip), "--emotion", "happy", "-o", str(talk_clip)]) == 2
    assert "overwrite the input" in capsys.readouterr().err
    assert (
        main(["speech", str(talk_clip), "--emotion", "happy", "-o", str(tmp_path / "x.mp3")]) == 2
    )


def test_speakable_text():
    assert speakable_text("I'd like to do better at that. I-") == "I'd like to do better at that."
    assert speakable_text("hello") == "hello"


@pytest.mark.parametrize("argv", [["speech", "--help"]])
def test_help_teaches(argv, capsys):
    with pytest.raises(SystemExit):
        main(argv)
    text = capsys.readouterr().out
    assert "--keep-words" in text and "emoshift speech talk.mp4" in text
