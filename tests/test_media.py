"""emoshift.media on real files: generated in the test (PyAV, independent of our writer) and
the shared talking clip. Every bad-input case uses a real broken file."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import subprocess
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from emoshift.errors import (
    ConfigError,
    EmptyMediaError,
    MediaTooLongError,
    NoAudioStreamError,
    NotMediaError,
    NoVideoStreamError,
    OutputError,
    UnreadableMediaError,
)
from emoshift.fileio import sha256_file
from emoshift.media import (
    VideoWriter,
    iter_frames,
    mux_audio,
    probe,
    read_audio,
    read_frames,
    read_video,
    write_audio,
    write_video,
)


# --- generating real media with plain PyAV ------------------------------------------------------
def level(i: int) -> int:
    """Grey level of generated frame ``i`` (distinct for neighbouring frames)."""
    return 20 + (i * 37) % 210


def tone(seconds: float, sr: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    a = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.repeat(a[:, None], channels, axis=1) if channels > 1 else a


def make_media(
    path: Path,
    *,
    vcodec: str | None = "libx264",
    acodec: str | None = "aac",
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    seconds: float = 2.0,
    sr: int = 16000,
    channels: int = 1,
    pts: list[int] | None = None,
    rotation: int = 0,
    vopts: dict[str, str] | None = None,
    fmt: str | None = None,
) -> Path:
    """Write a test file with raw PyAV: frame ``i`` is uniform grey ``level(i)`` with a white
    8x8 square in its top-left corner; the audio is a 440 Hz tone. ``pts``: frame timestamps in
    1/fps units (default 0, 1, 2...; gaps make a variable-frame-rate file)."""
    out = av.open(str(path), mode="w", format=fmt)
    n = round(seconds * fps)
    pts = list(range(n)) if pts is None else pts
    vs = as_ = None
    if vcodec:
        vs = out.add_stream(vcodec, rate=fps, options=vopts or {})
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        if rotation:
            vs.set_display_rotation(rotation)
    if acodec:
        as_ = out.add_stream(acodec, rate=sr, layout="mono" if channels == 1 else "stereo")
    if vs is not None:
        w, h = size
        for i, p in enumerate(pts):
            img = np.full((h, w, 3), level(i), np.uint8)
            img[:8, :8] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = p, Fraction(1, fps)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode(None):
            out.mux(packet)
    if as_ is not None:
        a = tone(seconds, sr, channels=channels).reshape(-1, channels)
        step = 4096
        for i in range(0, len(a), step):
            block = np.ascontiguousarray(a[i : i + step].T)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=as_.layout.name)
            frame.sample_rate, frame.pts, frame.time_base = sr, i, Fraction(1, sr)
            for packet in as_.encode(frame):
                out.mux(packet)
        for packet in as_.encode(None):
            out.mux(packet)
    out.close()
    return path


def frame_levels(frames: np.ndarray) -> np.ndarray:
    """Mean grey of each (T, H, W, 3) frame away from the white corner square."""
    return frames[:, 16:, 16:].reshape(len(frames), -1).mean(axis=1)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def av_mp4(media_dir: Path) -> Path:
    """2 s, 64x48, 25 fps H.264 + 16 kHz AAC."""
    return make_media(media_dir / "av.mp4")


@pytest.fixture(scope="module")
def long_gop_mp4(media_dir: Path) -> Path:
    """20 s, 10 fps, a keyframe every 20 frames: for seeking."""
    return make_media(
        media_dir / "gop.mp4",
        fps=10,
        seconds=20.0,
        acodec=None,
        vopts={"g": "20", "keyint_min": "20"},
    )


def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


# --- probe ---------------------------------------------------------------------------------------
def test_probe_real_clip(talk_clip: Path) -> None:
    info = probe(talk_clip, need_video=True, need_audio=True)
    assert (info.width, info.height, info.fps) == (700, 700, 30.0)
    assert info.has_video and info.has_audio
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert info.sample_rate == 44100 and info.channels == 2
    assert 6.0 < info.duration < 6.2
    # variable frame rate: 135 frames stored over 6.13 s, delivered at a constant 30 fps
    assert info.n_frames == 184
    assert info.rotation == 0
    assert info.size_bytes == talk_clip.stat().st_size
    assert any(s.startswith("video #0: h264 700x700") for s in info.streams)
    assert info.to_dict()["path"] == str(talk_clip)


def test_probe_generated(av_mp4: Path) -> None:
    info = probe(av_mp4)
    assert (info.width, info.height, info.fps, info.n_frames) == (64, 48, 25.0, 50)
    assert info.sample_rate == 16000 and info.channels == 1
    assert abs(info.video_duration - 2.0) < 1e-6
    assert abs(info.audio_duration - 2.0) < 0.1


# --- reading -------------------------------------------------------------------------------------
def test_iter_frames_real_clip_is_constant_rate(talk_clip: Path) -> None:
    info = probe(talk_clip)
    n = 0
    for frame in iter_frames(talk_clip):
        assert frame.shape == (700, 700, 3) and frame.dtype == np.uint8
        n += 1
    assert n == info.n_frames == 184  # what `ffmpeg -i clip.mp4 out.mp4` produces (dup=49)


def test_frames_match_ffmpeg_bit_for_bit(talk_clip: Path) -> None:
    """The constant-rate resampling picks the same pictures as the ffmpeg program."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("the ffmpeg program is not installed")
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(talk_clip), "-map", "0:v"]
    cmd += ["-vsync", "cfr", "-r", "30", "-pix_fmt", "rgb24", "-f", "framemd5", "-"]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    theirs = [ln.split(",")[-1].strip() for ln in lines if ln and not ln.startswith("#")]
    ours = [hashlib.md5(f.tobytes()).hexdigest() for f in iter_frames(talk_clip)]
    assert len(ours) == len(theirs) == 184
    assert ours == theirs


def test_read_video_and_levels(av_mp4: Path) -> None:
    frames, fps = read_video(av_mp4)
    assert fps == 25.0 and frames.shape == (50, 48, 64, 3)
    np.testing.assert_allclose(frame_levels(frames), [level(i) for i in range(50)], atol=4)
    assert frames[0, :8, :8].mean() > 240  # white corner top-left: not flipped
    first, _ = read_video(av_mp4, max_frames=7)
    assert first.shape[0] == 7
    np.testing.assert_array_equal(first, frames[:7])


def test_iter_frames_start_end_every(av_mp4: Path) -> None:
    frames = np.stack(list(iter_frames(av_mp4, start=0.4, end=1.2, every=3)))
    # frames i with i/25 in [0.4, 1.2): 10..29, every third
    expect = list(range(10, 30, 3))
    assert len(frames) == len(expect)
    np.testing.assert_allclose(frame_levels(frames), [level(i) for i in expect], atol=4)
    with pytest.raises(ConfigError):
        next(iter_frames(av_mp4, every=0))


def test_read_frames_seeks_and_matches_linear_decode(long_gop_mp4: Path) -> None:
    all_frames, fps = read_video(long_gop_mp4)
    assert fps == 10.0 and len(all_frames) == 200
    idx = [150, 5, 199, 30, 150, -1, 61, 0]
    got = read_frames(long_gop_mp4, idx)
    assert got.shape == (len(idx), 48, 64, 3)
    for g, i in zip(got, idx):
        np.testing.assert_array_equal(g, all_frames[i])
    with pytest.raises(ConfigError, match="out of range"):
        read_frames(long_gop_mp4, [200])
    # a late start seeks instead of decoding everything before it
    late = list(iter_frames(long_gop_mp4, start=17.0))
    assert len(late) == 30
    np.testing.assert_array_equal(late[0], all_frames[170])


def test_variable_frame_rate_is_resampled(media_dir: Path) -> None:
    pts = [0, 1, 2, 5, 6, 7, 8, 12, 13, 14]  # gaps at 3-4 and 9-11
    path = make_media(media_dir / "vfr.mp4", fps=25, pts=pts, acodec=None)
    frames, fps = read_video(path)
    assert fps == 25.0 and len(frames) == 15
    # slot j shows the last stored frame with pts <= j (gaps repeat the previous frame)
    src = [max(i for i, p in enumerate(pts) if p <= j) for j in range(15)]
    np.testing.assert_allclose(frame_levels(frames), [level(i) for i in src], atol=4)


def test_raw_stream_without_duration_or_index(media_dir: Path) -> None:
    """A raw H.264 stream: no duration in any header (packets are counted), cannot seek."""
    path = make_media(media_dir / "raw.h264", fmt="h264", acodec=None, seconds=4.0)
    info = probe(path)
    assert info.n_frames == 100 and abs(info.duration - 4.0) < 0.05
    frames, _ = read_video(path)
    assert len(frames) == 100
    np.testing.assert_allclose(frame_levels(frames), [level(i) for i in range(100)], atol=4)
    got = read_frames(path, [90, 3, 99])
    for g, i in zip(got, [90, 3, 99]):
        np.testing.assert_array_equal(g, frames[i])
    assert len(list(iter_frames(path, start=3.0))) == 25


def test_rotation_is_applied(media_dir: Path) -> None:
    path = make_media(media_dir / "rot.mp4", size=(64, 32), rotation=90, acodec=None, seconds=0.4)
    info = probe(path)
    assert info.rotation == 90 and (info.width, info.height) == (32, 64)
    frame = next(iter_frames(path))
    assert frame.shape == (64, 32, 3)
    # 90 deg counter-clockwise (as ffmpeg displays it): the top-left corner goes bottom-left
    assert frame[-8:, :8].mean() > 240 and frame[:8, :8].mean() < 200


def test_read_audio(av_mp4: Path) -> None:
    a = read_audio(av_mp4)  # 16 kHz mono
    assert a.dtype == np.float32 and a.ndim == 1
    assert abs(len(a) / 16000 - 2.0) < 0.05
    assert np.abs(a).max() <= 1.0
    assert corr(a[2000:30000], tone(2.0, 16000)[2000:30000]) > 0.95
    up = read_audio(av_mp4, sr=8000)
    assert abs(len(up) - len(a) / 2) <= 2
    part = read_audio(av_mp4, start=0.5, end=1.0)
    assert len(part) == 8000
    np.testing.assert_allclose(part, a[8000:16000], atol=1e-3)


def test_read_audio_real_clip(talk_clip: Path) -> None:
    a = read_audio(talk_clip, sr=16000)
    assert abs(len(a) / 16000 - 6.107) < 0.01
    assert 0.02 < float(np.sqrt(np.mean(a**2))) < 0.5  # speech, not silence
    st = read_audio(talk_clip, sr=None, mono=False)
    assert st.shape[1] == 2 and abs(len(st) / 44100 - 6.107) < 0.01
    part = read_audio(talk_clip, sr=16000, start=3.0, end=4.5)  # seeks
    assert len(part) == 24000
    assert corr(part[100:], a[48100:72000]) > 0.99


FORMATS = [
    # (file name, container format, video codec, audio codec, audio rate)
    ("clip.mkv", "matroska", "libx264", "aac", 16000),
    ("clip.webm", "webm", "libvpx-vp9", "libopus", 48000),
    ("clip.mov", "mov", "libx264", "aac", 44100),
    ("clip.flv", "flv", "flv", "libmp3lame", 22050),
    ("clip.mp3", "mp3", None, "libmp3lame", 44100),
    ("clip.wav", "wav", None, "pcm_s16le", 16000),
]


@pytest.mark.parametrize(("name", "fmt", "vcodec", "acodec", "sr"), FORMATS)
def test_formats(
    media_dir: Path, name: str, fmt: str, vcodec: str | None, acodec: str, sr: int
) -> None:
    path = make_media(media_dir / name, fmt=fmt, vcodec=vcodec, acodec=acodec, sr=sr, seconds=1.6)
    info = probe(path)
    assert info.has_audio and info.sample_rate == sr
    assert abs(info.duration - 1.6) < 0.15
    a = read_audio(path, sr=16000)
    assert abs(len(a) / 16000 - 1.6) < 0.15
    lag = 2000  # skip codec start-up (mp3 / opus pre-roll)
    assert corr(a[lag:20000], tone(1.6, 16000)[lag:20000]) > 0.9
    if vcodec is None:
        assert not info.has_video
        with pytest.raises(NoVideoStreamError):
            next(iter_frames(path))
        return
    frames, fps = read_video(path)
    assert fps == 25.0 and frames.shape[1:] == (48, 64, 3)
    # FLV stores the video 50 ms after the audio: on the file's timeline the first picture is
    # shown from t=0 (held), one frame more than stored
    assert len(frames) == info.n_frames == (41 if fmt == "flv" else 40)
    np.testing.assert_allclose(frame_levels(frames[-40:]), [level(i) for i in range(40)], atol=6)


# --- bad inputs ----------------------------------------------------------------------------------
def test_truncated_mp4_without_index(av_mp4: Path, tmp_path: Path) -> None:
    data = av_mp4.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # PyAV writes the index (moov) last: it is gone
    with pytest.raises(UnreadableMediaError, match="truncated or damaged"):
        probe(cut)
    with pytest.raises(UnreadableMediaError):
        next(iter_frames(cut))


def test_truncated_mp4_with_index_first(media_dir: Path, tmp_path: Path) -> None:
    src = make_media(media_dir / "fast.mp4", seconds=4.0)
    fast = write_video(
        tmp_path / "fast.mp4", iter_frames(src), 25, read_audio(src, sr=16000), 16000
    )
    data = fast.read_bytes()  # +faststart: the index is at the front, the media data is cut
    cut = tmp_path / "cut_fast.mp4"
    cut.write_bytes(data[: len(data) // 2])
    info = probe(cut)  # the header is intact
    assert info.n_frames == 100
    with pytest.raises(UnreadableMediaError, match="truncated"):
        for _ in iter_frames(cut):
            pass
    with pytest.raises(UnreadableMediaError):
        read_audio(cut)


def test_text_file_renamed_mp4(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("These are meeting notes, not a video.\n" * 20)
    with pytest.raises(NotMediaError, match="not a video or audio file"):
        probe(fake)
    with pytest.raises(NotMediaError):
        read_audio(fake)


def test_zero_byte_and_missing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    with pytest.raises(EmptyMediaError, match="0 bytes"):
        probe(empty)
    with pytest.raises(NotMediaError, match="does not exist"):
        probe(tmp_path / "nope.mp4")
    with pytest.raises(NotMediaError, match="folder"):
        probe(tmp_path)


def test_audio_stream_without_samples(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    with pytest.raises(EmptyMediaError):
        probe(path)
    with pytest.raises(EmptyMediaError):
        read_audio(path)


def test_audio_only_file(media_dir: Path) -> None:
    path = make_media(media_dir / "speech.wav", vcodec=None, acodec="pcm_s16le")
    assert not probe(path).has_video
    with pytest.raises(NoVideoStreamError, match="no video stream"):
        probe(path, need_video=True)
    with pytest.raises(NoVideoStreamError):
        read_video(path)


def test_video_only_file(media_dir: Path) -> None:
    path = make_media(media_dir / "silent.mp4", acodec=None)
    assert not probe(path).has_audio
    with pytest.raises(NoAudioStreamError, match="no audio stream"):
        probe(path, need_audio=True)
    with pytest.raises(NoAudioStreamError):
        read_audio(path)


@pytest.fixture(scope="module")
def two_hour_mp4(media_dir: Path) -> Path:
    """7200 s of 16x16 frames at 1 fps (~100 kB, ~1 s to encode)."""
    return make_media(
        media_dir / "two_hours.mp4", size=(16, 16), fps=1, seconds=7200, acodec=None,
        vopts={"preset": "ultrafast", "g": "600"},
    )  # fmt: skip


def test_too_long(two_hour_mp4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMOSHIFT_MAX_DURATION", raising=False)
    with pytest.raises(MediaTooLongError, match=r"2\.00 h .* limit of 10\.0 min"):
        probe(two_hour_mp4)
    with pytest.raises(MediaTooLongError):
        probe(two_hour_mp4, max_duration=3600)
    assert probe(two_hour_mp4, max_duration=None).duration == 7200
    assert probe(two_hour_mp4, max_duration=7300).n_frames == 7200
    monkeypatch.setenv("EMOSHIFT_MAX_DURATION", "8000")
    assert probe(two_hour_mp4).duration == 7200
    monkeypatch.setenv("EMOSHIFT_MAX_DURATION", "0")
    assert probe(two_hour_mp4).duration == 7200
    monkeypatch.setenv("EMOSHIFT_MAX_DURATION", "100")
    with pytest.raises(MediaTooLongError, match=r"limit of 1\.7 min"):
        probe(two_hour_mp4)
    monkeypatch.setenv("EMOSHIFT_MAX_DURATION", "ten minutes")
    with pytest.raises(ConfigError, match="EMOSHIFT_MAX_DURATION"):
        probe(two_hour_mp4)


# --- writing -------------------------------------------------------------------------------------
def test_round_trip_video_and_audio(av_mp4: Path, tmp_path: Path) -> None:
    frames, fps = read_video(av_mp4)
    sr = 16000
    audio = tone(len(frames) / fps, sr)  # exactly the video's length
    out = write_video(tmp_path / "rt.mp4", frames, fps, audio, sr)
    info = probe(out, need_video=True, need_audio=True)
    assert (info.width, info.height, info.fps, info.n_frames) == (64, 48, 25.0, 50)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and info.pix_fmt == "yuv420p"
    assert abs(info.video_duration - info.audio_duration) <= 1 / fps
    back, fps2 = read_video(out)
    assert fps2 == fps and back.shape == frames.shape
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 2.0
    a = read_audio(out, sr=sr)
    assert abs(len(a) - len(audio)) <= sr / fps
    assert corr(a[1000:-1000], audio[1000 : len(a) - 1000]) > 0.98
    # faststart: the index (moov) comes before the media data
    head = out.read_bytes()[:4096]
    assert 0 <= head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head


def test_audio_is_in_sync(tmp_path: Path) -> None:
    sr, fps, n = 48000, 30, 90
    audio = np.zeros(round(n / fps * sr), np.float32)
    click = round(1.0 * sr)
    audio[click : click + 240] = 0.8 * np.sin(np.arange(240) / 3.0)
    frames = np.zeros((n, 32, 32, 3), np.uint8)
    out = write_video(tmp_path / "sync.mp4", frames, fps, audio, sr)
    a = read_audio(out, sr=sr)
    onset = int(np.argmax(np.abs(a) > 0.3))
    assert abs(onset - click) / sr < 0.003  # AAC priming delay compensated
    info = probe(out)
    assert abs(info.audio_duration - n / fps) <= 1 / fps


def test_stereo_audio_at_source_rate(talk_clip: Path, tmp_path: Path) -> None:
    audio = read_audio(talk_clip, sr=None, mono=False)
    with VideoWriter(tmp_path / "st.mp4", 30, audio=audio, sr=44100) as w:
        for frame in iter_frames(talk_clip, end=2.0):
            w.write(frame)
    info = probe(tmp_path / "st.mp4")
    assert info.channels == 2 and info.sample_rate == 44100 and info.n_frames == 60
    assert abs(info.audio_duration - 2.0) <= 1 / 30


def test_audio_length_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    sr, fps = 16000, 25
    frames = np.zeros((25, 32, 32, 3), np.uint8)  # 1.0 s of video
    with caplog.at_level(logging.WARNING):
        out = write_video(tmp_path / "long_audio.mp4", frames, fps, tone(3.0, sr), sr)
    assert "trimming 2.000 s" in caplog.text
    assert abs(len(read_audio(out, sr=sr)) / sr - 1.0) <= 1 / fps
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        out = write_video(tmp_path / "short_audio.mp4", frames, fps, tone(0.5, sr), sr)
    assert "padding with silence 0.500 s" in caplog.text
    a = read_audio(out, sr=sr)
    assert abs(len(a) / sr - 1.0) <= 1 / fps and np.abs(a[int(0.6 * sr) :]).max() < 0.01
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # within one frame: fitted quietly
        write_video(tmp_path / "ok.mp4", frames, fps, tone(1.0 + 0.5 / fps, sr), sr)
    assert caplog.text == ""
    with pytest.raises(ConfigError, match=r"audio lasts 3\.000 s"):
        write_video(tmp_path / "strict.mp4", frames, fps, tone(3.0, sr), sr, audio_policy="strict")
    assert not (tmp_path / "strict.mp4").exists()


def test_odd_sizes_are_padded_not_scaled(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 255, (1, 25, 33, 1), dtype=np.uint8)  # luma keeps full resolution
    frames = np.repeat(np.repeat(grey, 3, axis=3), 5, axis=0)
    frames[:, :, -1] = (250, 10, 10)  # last column red: the padding repeats it
    frames[:, -1, :] = (10, 10, 250)  # last row blue
    w = VideoWriter(tmp_path / "odd.mp4", 10, crf=0, preset="ultrafast")
    with w:
        for f in frames:
            w.write(f)
    assert w.output_size == (34, 26)
    back, _ = read_video(tmp_path / "odd.mp4")
    assert back.shape == (5, 26, 34, 3)
    # same pixels where they were (no scaling: a scaled noise image would not match)
    assert np.abs(back[:, :24, :32].astype(int) - frames[:, :24, :32]).mean() < 3
    assert back[0, :24, 33, 0].mean() > 200 and back[0, :24, 33, 2].mean() < 60
    assert back[0, 25, :32, 2].mean() > 200


def test_writer_validates_frames(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="uint8"), VideoWriter(tmp_path / "bad.mp4", 25) as w:
        w.write(np.zeros((16, 16, 3), np.float32))
    with pytest.raises(ConfigError, match="one size"), VideoWriter(tmp_path / "bad.mp4", 25) as w:
        w.write(np.zeros((16, 16, 3), np.uint8))
        w.write(np.zeros((16, 18, 3), np.uint8))
    with pytest.raises(EmptyMediaError), VideoWriter(tmp_path / "bad.mp4", 25):
        pass
    with pytest.raises(ConfigError, match="use one of"):
        VideoWriter(tmp_path / "bad.avi", 25)
    with pytest.raises(ConfigError, match="AAC cannot store"):
        VideoWriter(tmp_path / "bad.mp4", 25, audio=np.zeros(100, np.float32), sr=11111)
    assert list(tmp_path.iterdir()) == []  # nothing left behind, not even temp files


def test_failure_leaves_destination_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "out.mp4"
    dest.write_bytes(b"previous result")
    with pytest.raises(RuntimeError), VideoWriter(dest, 25) as w:
        for i in range(10):
            w.write(np.full((16, 16, 3), i, np.uint8))
        raise RuntimeError("the pipeline failed")
    assert dest.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_refuses_to_overwrite_input(av_mp4: Path, media_dir: Path) -> None:
    before = sha256_file(av_mp4)
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        VideoWriter(av_mp4, 25, inputs=[av_mp4])
    with pytest.raises(OutputError, match="refusing to overwrite the input"):
        mux_audio(av_mp4, tone(2.0, 16000), 16000, av_mp4)
    with pytest.raises(OutputError):
        write_audio(
            media_dir / "speech.wav", tone(1.0, 16000), 16000, inputs=[media_dir / "speech.wav"]
        )
    assert sha256_file(av_mp4) == before


def _ignores_permissions(folder: Path) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_read_only_output(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, stat.S_IRUSR | stat.S_IXUSR)
    try:
        # root ignores permission bits; /sys refuses new files even to root
        target = ro if not _ignores_permissions(ro) else Path("/sys")
        with pytest.raises(OutputError, match="not writable"):
            VideoWriter(target / "out.mp4", 25)
        with pytest.raises(OutputError, match="not writable"):
            write_audio(target / "out.wav", tone(0.1, 16000), 16000)
    finally:
        os.chmod(ro, stat.S_IRWXU)


def test_write_audio_round_trip(tmp_path: Path) -> None:
    a = tone(1.0, 22050)
    out = write_audio(tmp_path / "a.wav", a, 22050)
    info = probe(out)
    assert info.sample_rate == 22050 and info.channels == 1 and info.audio_codec == "pcm_s16le"
    np.testing.assert_allclose(read_audio(out, sr=None), a, atol=1 / 16000)
    st = write_audio(tmp_path / "s.wav", tone(0.5, 16000, channels=2), 16000)
    assert read_audio(st, sr=None, mono=False).shape == (8000, 2)
    with pytest.raises(ConfigError, match="WAV"):
        write_audio(tmp_path / "a.mp3", a, 22050)


def test_mux_audio_copies_video(talk_clip: Path, tmp_path: Path) -> None:
    before = sha256_file(talk_clip)
    info = probe(talk_clip)
    sr = 24000
    new = tone(info.n_frames / info.fps, sr, freq=300.0)
    out = mux_audio(talk_clip, new, sr, tmp_path / "dub.mp4")
    oinfo = probe(out, need_audio=True)
    assert oinfo.n_frames == info.n_frames and oinfo.sample_rate == sr and oinfo.channels == 1
    assert abs(oinfo.video_duration - oinfo.audio_duration) <= 1 / info.fps
    # the video stream is copied: the very same decoded pictures
    idx = [0, 60, 183]
    np.testing.assert_array_equal(read_frames(out, idx), read_frames(talk_clip, idx))
    a = read_audio(out, sr=sr)
    assert corr(a[2000:-2000], new[2000 : len(a) - 2000]) > 0.98
    assert sha256_file(talk_clip) == before


def test_inputs_never_modified(av_mp4: Path, tmp_path: Path) -> None:
    digest = {p: sha256_file(p) for p in [av_mp4]}
    mtime = av_mp4.stat().st_mtime_ns
    frames = list(iter_frames(av_mp4))
    write_video(tmp_path / "copy.mp4", frames, 25, read_audio(av_mp4), 16000, inputs=[av_mp4])
    read_frames(av_mp4, [3, 40])
    probe(av_mp4)
    assert {p: sha256_file(p) for p in digest} == digest
    assert av_mp4.stat().st_mtime_ns == mtime
