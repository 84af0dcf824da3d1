import json
import os
from pathlib import Path

import pytest

from emoshift.errors import OutputError
from emoshift.fileio import atomic_path, check_output_path
from emoshift.pipeline import RunFolder


def _writer(text: str, calls: list[str]):
    def fn(folder: Path):
        calls.append(text)
        (folder / "out.txt").write_text(text)
        return {"out": "out.txt"}, {"len": len(text)}

    return fn


def test_stage_cached_on_rerun(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOSHIFT_CACHE", str(tmp_path / "cache"))
    inp = tmp_path / "in.txt"
    inp.write_text("hello")
    calls: list[str] = []
    run = RunFolder(tmp_path / "run", {"a": 1}, {"video": inp})
    res = run.stage("first", {"x": 1}, _writer("one", calls))
    assert res.path("out").read_text() == "one" and not res.cached
    run2 = RunFolder(tmp_path / "run", {"a": 1}, {"video": inp})
    res2 = run2.stage("first", {"x": 1}, _writer("one", calls))
    assert res2.cached and calls == ["one"]
    # a changed key recomputes
    run3 = RunFolder(tmp_path / "run", {"a": 1}, {"video": inp})
    res3 = run3.stage("first", {"x": 2}, _writer("two", calls))
    assert not res3.cached and res3.path("out").read_text() == "two"
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["stages"][0]["name"] == "first"
    assert manifest["inputs"]["video"]["sha256"]
    assert "emoshift" in manifest["versions"]
    assert inp.read_text() == "hello"


def test_shared_cache_reused_across_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOSHIFT_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    RunFolder(tmp_path / "r1").stage("track", {"k": 1}, _writer("t", calls), shareable=True)
    res = RunFolder(tmp_path / "r2").stage("track", {"k": 1}, _writer("t", calls), shareable=True)
    assert res.cached and calls == ["t"]
    assert res.path("out").read_text() == "t"


def test_crash_mid_stage_keeps_earlier_stages(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOSHIFT_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    run = RunFolder(tmp_path / "run")
    run.stage("a", {}, _writer("A", calls))

    def boom(folder: Path):
        (folder / "half.txt").write_text("partial")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run.stage("b", {}, boom)
    assert not (tmp_path / "run" / "02_b").exists()
    run2 = RunFolder(tmp_path / "run")
    assert run2.stage("a", {}, _writer("A", calls)).cached
    res_b = run2.stage("b", {}, _writer("B", calls))
    assert res_b.path("out").read_text() == "B"
    assert not (tmp_path / "run" / "02_b.tmp").exists()


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    dest = tmp_path / "x.txt"
    dest.write_text("old")
    with pytest.raises(ValueError), atomic_path(dest) as tmp:
        tmp.write_text("new")
        raise ValueError
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_output_checks(tmp_path):
    inp = tmp_path / "in.mp4"
    inp.write_bytes(b"x")
    with pytest.raises(OutputError, match="overwrite the input"):
        check_output_path(inp, [inp])
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        # root ignores permission bits; /sys refuses new files even to root
        target = ro if not _ignores_permissions(ro) else Path("/sys")
        with pytest.raises(OutputError, match="not writable"):
            check_output_path(target / "out.mp4")
        with pytest.raises(OutputError, match="not writable"):
            RunFolder(target)
    finally:
        os.chmod(ro, 0o700)


def _ignores_permissions(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_atomic_files_get_normal_permissions(tmp_path):
    from emoshift.fileio import FILE_MODE, write_text_atomic

    path = write_text_atomic(tmp_path / "r.md", "report")
    assert path.stat().st_mode & 0o777 == FILE_MODE
    assert FILE_MODE & 0o044  # readable by group/others under the usual umask


def test_concurrent_stages_keep_their_folders(tmp_path, monkeypatch):
    """Stages run in two threads get the folders they ask for and are reused on a re-run,
    whichever thread finished first."""
    import threading
    import time

    monkeypatch.setenv("EMOSHIFT_CACHE", str(tmp_path / "cache"))

    def slow(text: str, delay: float, calls: list[str]):
        def fn(folder: Path):
            time.sleep(delay)
            return _writer(text, calls)(folder)

        return fn

    for attempt, (d_main, d_side) in enumerate([(0.2, 0.0), (0.0, 0.2)]):
        calls: list[str] = []
        run = RunFolder(tmp_path / "run")
        side = threading.Thread(
            target=run.stage,
            args=("face", {"k": 1}, slow("f", d_side, calls)),
            kwargs={"order": 5},
        )
        side.start()
        a = run.stage("speech_a", {"k": 1}, slow("a", d_main, calls))
        b = run.stage("speech_b", {"k": 1}, slow("b", 0.0, calls))
        side.join()
        assert (a.folder.name, b.folder.name) == ("01_speech_a", "02_speech_b")
        assert run.stages["face"].folder.name == "05_face"
        if attempt == 0:
            assert sorted(calls) == ["a", "b", "f"]
        else:  # the other finishing order reuses everything
            assert calls == [] and all(s.cached for s in run.stages.values())
        manifest = json.loads((run.root / "manifest.json").read_text())
        assert [s["folder"] for s in manifest["stages"]] == [
            "01_speech_a",
            "02_speech_b",
            "05_face",
        ]
