"""The experiment runner: plan, failure isolation, resume, executors, report, CLI.

Real components on tiny real inputs: a 1.2 s cut of a real talking clip (made with
emoshift.media), a text file named .mp4 as the bad input, the real evaluation (``null`` arm:
the source against itself, EDD exactly 0.5) and the real ``speech_only`` pipeline arm.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from emoshift.emotion import Emotion
from emoshift.errors import ConfigError, OutputError, UnknownEmotionError
from emoshift.experiment import (
    ExperimentConfig,
    ExperimentStore,
    RunnerOptions,
    make_plan,
    parse_arms,
    parse_emotions,
    run_experiment,
    write_report,
)

QUIET = None  # no progress lines in the test log


@pytest.fixture(scope="module")
def clip(talk_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.2 s of the real clip, 256x256, with its audio."""
    import cv2

    from emoshift.media import read_audio, read_video, write_video

    frames, fps = read_video(talk_clip, max_frames=36)
    small = [cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA) for f in frames]
    audio = read_audio(talk_clip, 16000, end=len(frames) / fps)
    out = tmp_path_factory.mktemp("clip") / "talk_cut.mp4"
    return write_video(out, small, fps, audio=audio, sr=16000)


@pytest.fixture(scope="module")
def bad_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    p = tmp_path_factory.mktemp("bad") / "broken.mp4"
    p.write_text("this is a text file, not a video\n")
    return p


# --- plan ---------------------------------------------------------------------------------------
def test_parse_emotions_and_arms() -> None:
    allv = parse_emotions("all")
    assert len(allv) == 7 and Emotion.CONTEMPT not in allv and Emotion.SURPRISE in allv
    paper = parse_emotions("paper")
    assert len(paper) == 7 and Emotion.CONTEMPT in paper and Emotion.SURPRISE not in paper
    assert parse_emotions("sad,happy,happiness") == (Emotion.HAPPINESS, Emotion.SADNESS)
    assert len(parse_emotions("all8")) == 8
    with pytest.raises(UnknownEmotionError):
        parse_emotions("happy,grumpy")
    assert parse_arms("speech_only,eda") == ("eda", "speech_only")
    assert parse_arms("anim-only") == ("anim_only",)
    with pytest.raises(ConfigError, match="unknown arm"):
        parse_arms("eda,sadtalker")


def test_plan_items_groups_and_hashes(clip: Path, bad_video: Path, tmp_path: Path) -> None:
    cfg = ExperimentConfig(emotions=("happy", "sad"), arms=("eda", "anim_only", "speech_only"))
    plan = make_plan([clip, bad_video, clip], cfg)  # the same file twice counts once
    assert len(plan.videos) == 2
    assert len(plan.items) == 2 * 2 * 3
    assert len({it.id for it in plan.items}) == len(plan.items)
    groups = plan.groups()
    assert len(groups) == 4 and all(len(g) == 3 for g in groups)
    assert [it.arm for it in groups[0]] == ["eda", "anim_only", "speech_only"]
    assert plan.items[0].id == "talk_cut/happiness/eda"
    # an item's hash depends on its own settings only, not on which other items are planned
    other = make_plan([clip], ExperimentConfig(emotions=("happy",), arms=("eda",)))
    assert other.items[0].config_hash == plan.items[0].config_hash
    seeded = make_plan([clip], ExperimentConfig(emotions=("happy",), arms=("eda",), seed=3))
    assert seeded.items[0].config_hash != plan.items[0].config_hash
    stronger = make_plan(
        [clip], ExperimentConfig(emotions=("happy",), arms=("eda",), intensity=0.9)
    )
    assert stronger.items[0].config_hash != plan.items[0].config_hash
    # two different files with the same name get different keys
    twin = tmp_path / "talk_cut.mp4"
    twin.write_bytes(clip.read_bytes() + b"\0")
    keys = [v.key for v in make_plan([clip, twin], cfg).videos]
    assert keys[0] == "talk_cut" and keys[1].startswith("talk_cut-") and len(set(keys)) == 2
    with pytest.raises(ConfigError, match="does not exist"):
        make_plan([tmp_path / "missing.mp4"], cfg)
    with pytest.raises(ConfigError, match="intensity"):
        ExperimentConfig(intensity=1.5)


# --- serial run: failure isolation, resume, report -------------------------------------------------
@pytest.fixture(scope="module")
def serial_run(clip: Path, bad_video: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("exp") / "serial"
    cfg = ExperimentConfig(emotions=("happy",), arms=("null",))
    summary = run_experiment(
        [clip, bad_video], out, cfg, RunnerOptions(executor="serial"), on_outcome=QUIET
    )
    return out, cfg, summary


def test_failing_item_is_recorded_and_the_rest_go_on(serial_run) -> None:
    out, _, summary = serial_run
    status = {o.id: o.status for o in summary.outcomes}
    assert status == {"talk_cut/happiness/null": "done", "broken/happiness/null": "failed"}
    err = json.loads((out / "items/broken/happiness/null/error.json").read_text())
    assert err["error_type"] == "NotMediaError" and err["user_error"] is True
    assert "Traceback" in err["traceback"] and "broken.mp4" in err["message"]
    assert not (out / "items/broken/happiness/null/result.json").exists()
    res = json.loads((out / "items/talk_cut/happiness/null/result.json").read_text())
    assert res["status"] == "done" and res["config_hash"] == res["item"]["config_hash"]
    # the source against itself: no change, by definition
    assert res["evaluation"]["metrics"]["edd"] == pytest.approx(0.5, abs=1e-12)
    assert res["evaluation"]["metrics"]["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert (out / "items/talk_cut/happiness/null/evaluation.json").is_file()
    man = json.loads((out / "manifest.json").read_text())
    assert man["counts"] == {"done": 1, "partial": 0, "failed": 1, "skipped": 0}
    assert man["items"]["talk_cut/happiness/null"]["seconds"] > 0
    assert summary.median_item_seconds is not None and summary.median_item_seconds > 0


def test_report_is_complete_and_self_contained(serial_run) -> None:
    out = serial_run[0]
    rep = out / "report"
    html = (rep / "report.html").read_text()
    assert "data:image/png;base64," in html  # Fig. 5 of the null control, embedded
    assert "src='http" not in html and 'src="http' not in html and "<link" not in html
    md = (rep / "report.md").read_text()
    for title in ("Table 1", "Table 2", "Table 3", "Table 4", "Failed items"):
        assert title in md and title in html
    assert "paper (EmoFAN FER)" in md and "ours (mini-XCEPTION FER)" in md
    assert "0.0314" in md  # the paper's EDA happiness figure beside ours
    assert (rep / "fig5_edd_curves.png").stat().st_size > 1000
    rows = (rep / "items.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("item,video,emotion,arm,status")
    edd_rows = (rep / "table4_edd.csv").read_text().splitlines()
    assert any(r.startswith("ours (mini-XCEPTION FER): null") and "0.5" in r for r in edd_rows)
    assert "NotMediaError" in (rep / "failures.csv").read_text()


def test_resume_skips_finished_items_and_retries_failed_ones(serial_run, clip, bad_video) -> None:
    out, cfg, _ = serial_run
    done = out / "items/talk_cut/happiness/null/result.json"
    before = (done.stat().st_mtime_ns, done.read_text())
    with pytest.raises(OutputError, match="--resume"):
        run_experiment([clip, bad_video], out, cfg, RunnerOptions(executor="serial"), QUIET)
    again = run_experiment(
        [clip, bad_video], out, cfg, RunnerOptions(executor="serial", resume=True), QUIET
    )
    status = {o.id: o.status for o in again.outcomes}
    assert status == {"talk_cut/happiness/null": "skipped", "broken/happiness/null": "failed"}
    assert (done.stat().st_mtime_ns, done.read_text()) == before
    # other settings -> other config hash -> the stored result is not reused
    seeded = ExperimentConfig(emotions=("happy",), arms=("null",), seed=7)
    third = run_experiment(
        [clip], out, seeded, RunnerOptions(executor="serial", resume=True), QUIET
    )
    assert [o.status for o in third.outcomes] == ["done"]
    assert (
        json.loads(done.read_text())["item"]["config_hash"]
        != json.loads(before[1])["item"]["config_hash"]
    )


def test_a_second_runner_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    store = ExperimentStore(tmp_path / "exp")
    store.lock()
    try:
        with pytest.raises(OutputError, match="another"):
            ExperimentStore(tmp_path / "exp").lock()
    finally:
        store.unlock()
    ExperimentStore(tmp_path / "exp").lock()  # free again


# --- parallel executors ---------------------------------------------------------------------------
def test_process_executor_runs_groups_in_worker_processes(clip: Path, tmp_path: Path) -> None:
    cfg = ExperimentConfig(emotions=("happy", "sad"), arms=("null",))
    s = run_experiment(
        [clip], tmp_path / "exp", cfg, RunnerOptions(executor="process", workers=2), QUIET
    )
    assert sorted(o.status for o in s.outcomes) == ["done", "done"]
    pids = {o.record["worker"]["pid"] for o in s.outcomes}
    assert os.getpid() not in pids
    for o in s.outcomes:
        assert o.record["evaluation"]["metrics"]["edd"] == pytest.approx(0.5, abs=1e-12)
    assert (tmp_path / "exp/report/report.html").is_file()


def test_ray_executor_on_a_local_instance(clip: Path, bad_video: Path, tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="ray is not installed (requirements/dev.txt)")
    try:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    except Exception as exc:  # pragma: no cover - depends on the sandbox
        pytest.skip(f"a local Ray instance cannot start here: {exc}")
    try:
        cfg = ExperimentConfig(emotions=("happy",), arms=("null",))
        s = run_experiment(
            [clip, bad_video],
            tmp_path / "exp",
            cfg,
            RunnerOptions(executor="ray", workers=1),
            QUIET,
        )
        assert ray.is_initialized()  # the runner leaves an instance it did not start running
    finally:
        ray.shutdown()
    status = {o.id: o.status for o in s.outcomes}
    assert status == {"talk_cut/happiness/null": "done", "broken/happiness/null": "failed"}
    done = next(o for o in s.outcomes if o.status == "done")
    assert done.record["worker"]["pid"] != os.getpid()
    assert done.record["evaluation"]["metrics"]["edd"] == pytest.approx(0.5, abs=1e-12)
    assert (tmp_path / "exp/items/broken/happiness/null/error.json").is_file()


# --- a real pipeline arm -------------------------------------------------------------------------
def test_speech_only_arm_rewrites_speaks_and_recognises(clip: Path, tmp_path: Path) -> None:
    cfg = ExperimentConfig(emotions=("sad",), arms=("speech_only",))
    s = run_experiment([clip], tmp_path / "exp", cfg, RunnerOptions(executor="serial"), QUIET)
    (o,) = s.outcomes
    assert o.status in ("done", "partial"), o.message
    rec = o.record
    wav = tmp_path / "exp" / rec["output"]
    assert wav.suffix == ".wav" and wav.stat().st_size > 10_000
    assert rec["rewritten"].strip()
    te = rec["text_emotion"]
    assert set(te["probs"]) >= {"sadness", "happiness"} and te["top"] in te["probs"]
    assert abs(sum(te["probs"].values()) - 1.0) < 1e-3
    assert "evaluation" not in rec  # no video to evaluate
    assert (tmp_path / "exp/items/talk_cut/sadness/speech_only/pipeline_manifest.json").is_file()
    if o.status == "done":
        se = rec["speech_emotion"]
        assert se["classes"] == 4 and len(se["probs"]) == 4
    md = (tmp_path / "exp/report/report.md").read_text()
    assert "| ours | - | - | - | - | - | - | " in md or "| ours |" in md


# --- CLI ----------------------------------------------------------------------------------------
def test_cli_report_only_and_errors(serial_run, tmp_path: Path, capsys) -> None:
    from emoshift.cli import build_parser, main

    out, _, _ = serial_run
    help_text = build_parser()._subparsers._group_actions[0].choices["experiment"].format_help()
    for flag in ("--emotions", "--arms", "--workers", "--executor", "--address", "--resume"):
        assert flag in help_text
    (out / "report" / "report.html").unlink()
    assert main(["experiment", "--report-only", "--out", str(out)]) == 0
    assert (out / "report" / "report.html").is_file()
    assert main(["experiment", "--out", str(tmp_path / "x")]) == 2
    assert "at least one video" in capsys.readouterr().err
    assert main(["experiment", "nope.mp4", "--out", str(tmp_path / "x")]) == 2
    assert main(["experiment", "--report-only", "--out", str(tmp_path / "empty")]) == 2
    paths = write_report(out)
    assert paths["html"].is_file() and paths["csv:table4_edd"].is_file()


# --- evaluation with the source's analysis cached ------------------------------------------------
@pytest.mark.parametrize("same_grid", [True, False])
def test_cached_source_evaluation_equals_evaluate_videos(
    clip: Path, tmp_path: Path, same_grid: bool
) -> None:
    import cv2
    import numpy as np

    from emoshift.evaluate import EvaluateConfig, evaluate_videos
    from emoshift.experiment.evaluation import evaluate_against_source
    from emoshift.fileio import sha256_file
    from emoshift.media import read_audio, read_video, write_video

    frames, fps = read_video(clip)
    # a real "generated" video: mirrored and darker; resized and shorter for the time-aligned path
    gen = [np.ascontiguousarray(f[:, ::-1] * 0.8).astype(np.uint8) for f in frames]
    if not same_grid:
        gen = [cv2.resize(f, (200, 200), interpolation=cv2.INTER_AREA) for f in gen[:30]]
    out = write_video(tmp_path / "gen.mp4", gen, fps, audio=read_audio(clip, 16000), sr=16000)
    cfg = EvaluateConfig(quality_frames=3, parallel=False)
    ref = evaluate_videos(clip, out, "happy", cfg)
    got = evaluate_against_source(clip, sha256_file(clip), out, "happy", cfg)
    again = evaluate_against_source(clip, sha256_file(clip), out, "happy", cfg)  # cached source
    for r in (got, again):
        assert r.metrics["quality_pairs"] == ref.metrics["quality_pairs"]
        for key in ("edd", "psnr_db", "ssim", "ffd_fer"):
            assert r.metrics[key] == pytest.approx(ref.metrics[key], rel=1e-6, abs=1e-9), key
        assert r.metrics["cpbd"] == pytest.approx(ref.metrics["cpbd"], rel=1e-6)
        assert r.metrics["edd_per_class"] == pytest.approx(ref.metrics["edd_per_class"])
        assert np.allclose(r.curves["original"], ref.curves["original"], equal_nan=True)
    assert ref.metrics["edd"] != 0.5  # the comparison is not trivially equal


def test_recogniser_adapters_on_real_text_and_speech(clip: Path) -> None:
    from emoshift.experiment.runner import _speech_emotion, _text_emotion

    te = _text_emotion("I am so sad and lonely, everything I loved is lost.")
    assert te["top"] == "sadness" and len(te["probs"]) == 8
    se = _speech_emotion(clip, 4)  # the clip's real speech
    assert set(se["probs"]) == {"anger", "happiness", "neutral", "sadness"}
    assert abs(sum(se["probs"].values()) - 1.0) < 1e-3 and se["top"] in se["probs"]


def test_one_core_workers_render_in_process(monkeypatch):
    import os

    from emoshift.experiment import runner
    from emoshift.face.render_workers import default_workers

    for var in (
        *runner._THREAD_VARS,
        "EMOSHIFT_RENDER_WORKERS",
        "EMOSHIFT_PROGRESS",
        "HF_HUB_OFFLINE",
    ):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # restored after the test
    runner._set_threads(1)
    assert os.environ["EMOSHIFT_RENDER_WORKERS"] == "1" and default_workers() == 1
