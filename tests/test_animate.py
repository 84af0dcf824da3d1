"""The Emotional Face Animator on real inputs: a real talking clip, real synthetic speech
(espeak-ng) with its phones from the forced aligner, the real face mesh to re-detect."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emoshift.emotion import parse_emotion
from emoshift.face.animate import AnimateConfig, MeshWarp, animate_still, animate_video
from emoshift.face.blink import blink_events
from emoshift.face.landmarks import eye_openness, track_video
from emoshift.face.trackio import save_track
from emoshift.face.visemes import closure_centres
from emoshift.media import iter_frames, probe, read_audio, read_frames
from emoshift.metrics.sync import inner_lip_gap

CLIP = "talk_woman_glasses.mp4"  # 524x524, 25 fps, 4.9 s
TEXT = "Bob bought my map and a pen."


@pytest.fixture(scope="module")
def clip(shared_media: Path) -> Path:
    return shared_media / CLIP


@pytest.fixture(scope="module")
def track_file(clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    info = probe(clip)
    track = track_video(iter_frames(clip, end=2.0), info.fps or 25.0)
    return save_track(track, tmp_path_factory.mktemp("track") / "track.npz")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run(
        [exe, "-v", "en-us", "-s", "150", "-w", str(path), TEXT], check=True, capture_output=True
    )
    from emoshift.speech.align import align_phones

    audio = read_audio(path, sr=16000)
    phones = [p.to_dict() for p in align_phones(audio, 16000, TEXT)]
    assert sum(p["label"] in ("P", "B", "M") for p in phones) >= 5
    return path, phones


def _redetect(path: Path) -> tuple[np.ndarray, float]:
    info = probe(path)
    return track_video(iter_frames(path), info.fps or 25.0).points, float(info.fps or 25.0)


def test_video_mode_lip_sync_durations_and_closures(
    clip: Path, track_file: Path, speech: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    wav, phones = speech
    out = tmp_path / "out.mp4"
    res = animate_video(clip, track_file, wav, phones, parse_emotion("happy", 0.8), out)
    src, got = probe(clip), probe(out)
    assert (got.width, got.height) == (src.width, src.height)
    assert got.fps == pytest.approx(src.fps)
    speech_s = probe(wav).duration
    assert abs(got.video_duration - speech_s) <= 1.0 / src.fps + 1e-6
    assert abs(got.video_duration - got.audio_duration) <= 1.0 / src.fps + 1e-6
    assert res.n_frames == got.n_frames
    # the speech (~2.3 s) is longer than the 2 s tracked: the playback turned round, no jump
    assert np.abs(np.diff(res.source_index)).max() <= 1
    # re-detect the mouth: closed at the bilabials' centres, open on the vowels
    pts, fps = _redetect(out)
    gap = inner_lip_gap(pts)
    frames = np.clip(np.round(closure_centres(phones) * fps).astype(int), 0, len(gap) - 1)
    closed = gap[frames] <= 0.2 * np.nanmax(gap)
    assert closed.mean() >= 0.8, (gap[frames] / np.nanmax(gap)).round(2)
    assert np.nanmax(gap) > 0.1  # and it does open
    # the source blinks twice in 0.4 s (a fast double blink): one is kept, the other hidden,
    # so the re-detected output blinks once, 100-400 ms
    assert len(res.info["blinks_kept"]) + len(res.info["blinks_added"]) == 1, res.info
    assert res.info["blink_frames_suppressed"] > 0
    events = blink_events(eye_openness(pts).mean(axis=-1), fps)
    assert len(events) == 1, events
    assert all(0.1 <= (e - s) / fps <= 0.4 for s, e in events), events
    # pixels far from the face are the source's (background kept)
    a = read_frames(out, [0])[0].astype(int)
    b = read_frames(clip, [0])[0].astype(int)
    assert np.abs(a[:40] - b[:40]).mean() < 3.0


def test_still_mode_blinks_and_moves(
    clip: Path, track_file: Path, speech: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    from emoshift.face.trackio import load_track

    wav, phones = speech
    track = load_track(track_file)
    gap = inner_lip_gap(track.points)
    i = int(np.nanargmin(gap))
    frame = read_frames(clip, [i])[0]
    audio = read_audio(wav, sr=16000)
    audio = np.concatenate([audio, np.zeros(16000, np.float32)])  # ~3.3 s: room for a blink
    out = tmp_path / "still.mp4"
    res = animate_still(
        frame, track.points[i], audio, 16000, phones, parse_emotion("neutral"), out, fps=25.0,
        config=AnimateConfig(mode="still", head_motion="prosody", seed=1),
    )  # fmt: skip
    got = probe(out)
    assert (got.width, got.height) == (frame.shape[1], frame.shape[0]) and got.fps == 25.0
    assert abs(got.video_duration - audio.size / 16000) <= 1.0 / 25 + 1e-6
    assert res.blink.max() > 0.95
    pts, fps = _redetect(out)
    ear = eye_openness(pts).mean(axis=-1)
    events = blink_events(ear, fps)
    assert len(events) >= 1, ear.round(3)
    pose_std = np.nanstd(track_video(iter_frames(out), fps).pose, axis=0)
    assert pose_std.max() > 0.3  # the head moves


def test_face_only_keeps_length_and_audio(clip: Path, track_file: Path, tmp_path: Path) -> None:
    from emoshift.face.trackio import load_track
    from emoshift.media import write_audio

    track = load_track(track_file)
    audio = read_audio(clip, sr=16000, end=len(track) / track.fps)
    wav = write_audio(tmp_path / "orig.wav", audio, 16000)
    out = tmp_path / "face_only.mp4"
    res = animate_video(
        clip, track_file, wav, None, parse_emotion("sad"), out, config=AnimateConfig(lip_sync=False)
    )
    assert res.n_frames == len(track)
    assert list(res.source_index) == list(range(len(track)))


def test_mesh_warp_identity_and_locality(clip: Path, track_file: Path) -> None:
    from emoshift.face.lipsync import to_face
    from emoshift.face.trackio import load_track

    track = load_track(track_file)
    p = track.points[0]
    frame = read_frames(clip, [0])[0]
    warp = MeshWarp(to_face(p)[0])
    same, _, folds = warp(frame, p[:, :2], p[:, :2], iod=100.0)
    assert np.array_equal(same, frame) and folds == 0
    dst = p[:, :2].copy()
    column = [14, 15, 16, 17, 18, 200, 199, 175]  # the lower lip's centre line to the chin
    dst[column, 1] += 4.0
    moved, _, folds = warp(frame, p[:, :2], dst, iod=100.0)
    diff = np.abs(moved.astype(int) - frame.astype(int)).sum(axis=2) > 0
    ys, xs = np.nonzero(diff)
    assert diff.any() and folds == 0
    assert np.hypot(xs - p[14, 0], ys - p[14, 1]).max() < 80  # only around the lip


def _outline_dark_dots(warp_cls: type, p: np.ndarray, n: int = 30) -> int:
    """Dark pixels inside the warped face outline over ``n`` frames of random talking mouths
    and head turns, when the source is bright inside its own outline (grown by 0.05 IOD) and
    black outside: a pixel the warp leaves uncovered or maps far outside its triangle shows."""
    import cv2

    from emoshift.face import regions
    from emoshift.face.animate import _PIVOT, _iod_px
    from emoshift.face.expression import FaceFrame
    from emoshift.face.headmotion import rotation
    from emoshift.face.lipsync import MouthBasis, close_mouth, mouth_target

    iod = _iod_px(p)
    oval = list(regions.FACE_OVAL)
    size = int(p[:, :2].max() + iod) + 1
    frame = np.zeros((size, size, 3), np.uint8)
    poly = np.round(p[oval, :2] * 16).astype(np.int32)
    cv2.fillPoly(frame, [poly], (200, 170, 150), shift=4)
    frame = cv2.dilate(frame, np.ones((3, 3), np.uint8), iterations=max(2, round(0.05 * iod)))
    fr = FaceFrame.of(p)
    q = fr.to_face(p)
    q_rest = close_mouth(q)
    basis = MouthBasis.of(q_rest)
    warp = warp_cls(q)
    zero = np.zeros((len(p), 2))
    pivot = fr.origin + fr.scale * fr.rot @ _PIVOT
    cam = p.astype(np.float64)
    v = cam[warp.hull, :2] - cam[:468, :2].mean(axis=0)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ring3 = cam[warp.hull].copy()
    ring3[:, :2] += v * 0.6 * iod
    rng = np.random.default_rng(0)
    total = 0
    for _ in range(n):
        par = np.array([rng.uniform(0, 1), rng.uniform(0, 0.6), rng.uniform(0, 0.6), 0, 0])
        q_t = mouth_target(q_rest, basis, par.astype(np.float32), zero, zero, 0.0)
        rh = rotation(*rng.normal(0.0, 2.5, 3))
        p3 = pivot + (fr.origin + fr.scale * q_t @ fr.rot.T - pivot) @ rh.T
        shift = ((pivot + (ring3 - pivot) @ rh.T) - ring3)[:, :2]
        out, used, _ = warp(
            frame, p[:, :2], p3[:, :2].astype(np.float32), iod=iod, ring_shift=shift, ring=0.6
        )
        face = np.zeros(out.shape[:2], np.uint8)
        cv2.fillPoly(face, [np.round(used[oval] * 16).astype(np.int32)], 1, shift=4)
        face = cv2.erode(face, np.ones((3, 3), np.uint8), iterations=3)
        total += int(((out.max(axis=2) < 100) & (face > 0)).sum())
    return total


def test_mesh_warp_leaves_no_dark_dots_on_the_outline(track_file: Path) -> None:
    """The jaw line and chin of a talking, turning face stay clean: no pixel the warp leaves
    uncovered or maps far outside its triangle (these showed as dark dots on the outline)."""
    from emoshift.face.trackio import load_track

    track = load_track(track_file)
    i = int(np.nanargmin(inner_lip_gap(track.points)))
    assert _outline_dark_dots(MeshWarp, track.points[i]) == 0


def test_talk_open_weight_is_per_emotion_unless_set():
    from emoshift.emotion import Emotion, EmotionSpec
    from emoshift.face.animate import DEFAULT_TALK_OPEN_WEIGHT

    fear, happy = EmotionSpec(Emotion.FEAR, 1.0), EmotionSpec(Emotion.HAPPINESS, 1.0)
    cfg = AnimateConfig()
    # fear keeps its whole open mouth while talking; others a share
    assert cfg.open_weight(fear) == 1.0
    assert cfg.open_weight(happy) == DEFAULT_TALK_OPEN_WEIGHT < 1.0
    assert AnimateConfig(talk_open_weight=0.5).open_weight(fear) == 0.5


def test_per_clip_analysis_is_done_once_and_follows_the_track(clip: Path, track_file: Path):
    from dataclasses import replace

    from emoshift.face.animate import prepare_video
    from emoshift.face.trackio import load_track

    track = load_track(track_file)
    first = prepare_video(clip, track)
    assert first.closed_mouth is not None
    frame, pts = first.closed_mouth
    assert frame.shape[:2] == track.size and pts.shape == (478, 3)
    assert prepare_video(clip, track) is first  # reused: every emotion of a clip shares it
    moved = replace(track, points=track.points + 1.0)
    assert prepare_video(clip, moved) is not first  # another track is another analysis


def test_render_in_a_forked_child_gives_the_same_video(
    clip: Path, track_file: Path, speech: tuple[Path, list[dict]], tmp_path: Path
) -> None:
    """Every other frame rendered by the forked child: the same frames, in order. Encoded
    losslessly (crf 0), so that what is compared is the rendered frames, not the encoder's
    choices."""
    from emoshift.face.render_workers import fork_available

    if not fork_available():
        pytest.skip("no fork on this platform")
    wav, phones = speech
    spec = parse_emotion("sad", 0.9)
    one = animate_video(
        clip,
        track_file,
        wav,
        phones,
        spec,
        tmp_path / "one.mp4",
        config=AnimateConfig(render_workers=1, crf=0),
    )
    two = animate_video(
        clip,
        track_file,
        wav,
        phones,
        spec,
        tmp_path / "two.mp4",
        config=AnimateConfig(render_workers=2, crf=0),
    )
    assert "child" in two.timings and "child" not in one.timings
    assert one.max_folded_triangles == two.max_folded_triangles
    a, b = list(iter_frames(tmp_path / "one.mp4")), list(iter_frames(tmp_path / "two.mp4"))
    assert len(a) == len(b) == one.n_frames
    assert max(int(np.abs(x.astype(int) - y).max()) for x, y in zip(a, b)) == 0


def test_a_failing_render_child_is_reported() -> None:
    from emoshift.face.render_workers import ForkedRenderer, RenderWorkerError, fork_available

    if not fork_available():
        pytest.skip("no fork on this platform")

    def render(j: int, frame: np.ndarray) -> tuple[np.ndarray, int]:
        if j == 5:
            raise ValueError("frame five is broken")
        return frame + np.uint8(j), 0

    frames = lambda: (np.zeros((8, 8, 3), np.uint8) for _ in range(10))  # noqa: E731
    with ForkedRenderer(render, range(10), frames, (8, 8), slots=2) as child:
        got = [int(child.get()[0, 0, 0]) for _ in range(5)]
        assert got == [0, 1, 2, 3, 4]
        with pytest.raises(RenderWorkerError, match="frame five is broken"):
            child.get()


def test_render_workers_default_follows_the_environment(monkeypatch) -> None:
    from emoshift.errors import ConfigError
    from emoshift.face.render_workers import default_workers, fork_available

    monkeypatch.setenv("EMOSHIFT_RENDER_WORKERS", "1")
    assert default_workers() == 1
    monkeypatch.delenv("EMOSHIFT_RENDER_WORKERS")
    assert default_workers() == (2 if fork_available() else 1)
    with pytest.raises(ConfigError, match="render_workers"):
        AnimateConfig(render_workers=3)
