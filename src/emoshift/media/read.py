"""Reading frames and audio with PyAV (FFmpeg inside the wheel; no system ffmpeg needed).

Frames are (H, W, 3) uint8 RGB at the constant rate ``MediaInfo.fps``: frame ``i`` is the
picture shown at ``i / fps`` seconds from the start of the file. Variable-frame-rate files
(phones, screen recorders) are resampled to that rate the way ``ffmpeg`` does for mp4 output:
a frame is repeated to fill a gap and dropped when two land on one slot, so frame counts and
durations agree with the audio. Rotation metadata (phone videos) is applied. Audio is float32
in [-1, 1] on the same timeline: sample ``j`` is at ``j / sr`` seconds (silence is inserted
when the audio stream starts after the video).

Decoding is threaded (``thread_type = "AUTO"``) and streamed: :func:`iter_frames` holds one
frame at a time. A file that ends well before its header says (truncated) raises
:class:`~emoshift.errors.UnreadableMediaError` once the reader reaches the break.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from emoshift.errors import ConfigError, EmptyMediaError, UnreadableMediaError
from emoshift.media.probe import (
    MediaInfo,
    _Layout,
    audio_stream,
    open_container,
    open_media,
    video_stream,
)

# How far ahead (seconds) the next wanted frame must be before seeking beats decoding forward.
SEEK_AHEAD_SECONDS = 2.0
# A stream may end this much (seconds, or this fraction of its length) before its header says
# without being called truncated (headers round; encoders drop a trailing frame).
_TRUNC_SECONDS = 0.5
_TRUNC_FRACTION = 0.05
# Decoded audio longer than the header by at most this (s) is the last codec frame's padding.
_END_PAD_SECONDS = 0.1


def _setup_decoder(stream: av.stream.Stream) -> None:
    cc = stream.codec_context
    cc.thread_type = "AUTO"
    cc.thread_count = 0  # one thread per core


def _rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a decoded frame, rotated upright (counter-clockwise degrees)."""
    arr = frame.to_ndarray(format="rgb24")
    if rotation:
        arr = np.ascontiguousarray(np.rot90(arr, k=rotation // 90))
    return arr


def _truncated(path: Path, what: str, got_end: float, expected_end: float) -> UnreadableMediaError:
    return UnreadableMediaError(
        f"{path}: the {what} stops at {got_end:.2f} s but the file header says {expected_end:.2f} s; "
        "the file is truncated or damaged; re-export or re-download it"
    )


def _is_short(got: float, expected: float) -> bool:
    return expected - got > max(_TRUNC_SECONDS, _TRUNC_FRACTION * expected)


def _iter_slots(
    path: str | Path, make_targets: Callable[[MediaInfo], Iterable[int]]
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(slot, frame)`` for the ascending, unique slot indices ``make_targets(info)``
    chooses, where slot ``i`` is the constant-rate frame shown at ``i / fps`` s.

    Seeks (to the keyframe before) when the next wanted slot is more than
    :data:`SEEK_AHEAD_SECONDS` ahead; falls back to decoding from the start if a seek lands
    past its target (containers without an index)."""
    path = Path(path)
    with open_media(path, need_video=True) as (container, info, lay):
        yield from _slots_in(path, container, info, lay, make_targets(info))


def _slots_in(
    path: Path,
    container: av.container.InputContainer,
    info: MediaInfo,
    lay: _Layout,
    targets: Iterable[int],
) -> Iterator[tuple[int, np.ndarray]]:
    assert lay.fps is not None and lay.n_frames is not None and lay.video_end is not None
    fps, t0, rot = lay.fps, lay.t0, lay.rotation
    it = iter(targets)
    cur = next(it, None)
    if cur is None:
        return
    seek_gap = max(1, round(SEEK_AHEAD_SECONDS * fps))
    owned = contextlib.ExitStack()  # containers reopened here (closed at the end)
    vs = video_stream(container)
    assert vs is not None
    _setup_decoder(vs)
    prev: av.VideoFrame | None = None
    last_k, last_t = -1, None
    can_seek, seeked_for, just_seeked = True, -1, False
    frames: Iterator[av.VideoFrame] = container.decode(vs)
    restart = "seek" if cur > seek_gap else None
    try:
        while True:
            if restart == "seek":
                sought = _seek(container, vs, t0, fps, cur)
                if sought is None:  # cannot seek (raw stream): decode from the start
                    restart = "linear"
                else:
                    frames, seeked_for, just_seeked, prev = sought, cur, True, None
            if restart == "linear":
                container = owned.enter_context(open_container(path))
                vs = video_stream(container)
                assert vs is not None
                _setup_decoder(vs)
                frames, can_seek, prev, last_k, last_t = container.decode(vs), False, None, -1, None
                just_seeked = False
            restart = None
            try:
                for frame in frames:
                    t = frame.time
                    if t is None:
                        t = last_t + 1.0 / float(fps) if last_t is not None else t0
                    k = round((t - t0) * fps)
                    if just_seeked:
                        just_seeked = False
                        if k > cur:  # the seek overshot: no usable index, decode linearly
                            restart = "linear"
                            break
                    while cur is not None and cur < k:
                        yield cur, _rgb(prev if prev is not None else frame, rot)
                        cur = next(it, None)
                    if cur is None:
                        return
                    prev, last_k, last_t = frame, k, t
                    if can_seek and cur - k > seek_gap and seeked_for != cur:
                        restart = "seek"
                        break
            except av.FFmpegError as exc:
                at = f"{last_t - t0:.2f} s" if last_t is not None else "the start"
                raise UnreadableMediaError(
                    f"{path}: decoding the video failed at {at} ({exc}); the file is damaged or "
                    "truncated; re-export or re-download it"
                ) from None
            if restart is None:
                break  # end of stream
        if prev is None:
            raise UnreadableMediaError(f"{path}: no video frame could be decoded")
        got_end = (last_t - t0) + 1.0 / float(fps) if last_t is not None else 0.0
        expected_end = lay.video_end - t0
        if _is_short(got_end, expected_end):
            raise _truncated(path, "video", got_end, expected_end)
        n_end = max(lay.n_frames, last_k + 1)
        while cur is not None and cur < n_end:
            yield cur, _rgb(prev, rot)
            cur = next(it, None)
    finally:
        owned.close()


def _seek(
    container: av.container.InputContainer,
    vs: av.VideoStream,
    t0: float,
    fps: Fraction,
    slot: int,
) -> Iterator[av.VideoFrame] | None:
    """Seek to the keyframe at or before ``slot`` (half a frame early) and decode on; None if
    the container cannot seek (its position is then unchanged)."""
    t = t0 + (slot - 0.5) / float(fps)
    assert vs.time_base is not None
    try:
        container.seek(max(0, int(t / vs.time_base)), stream=vs, backward=True)
    except av.FFmpegError:
        return None
    return container.decode(vs)


def iter_frames(
    path: str | Path, *, start: float = 0.0, end: float | None = None, every: int = 1
) -> Iterator[np.ndarray]:
    """Stream the frames of a video: each (H, W, 3) uint8 RGB, upright, at ``MediaInfo.fps``.

    ``start`` / ``end``: seconds from the start of the file (frames whose time ``i / fps`` is
    in ``[start, end)``); ``every``: keep one frame in ``every`` (frame indices
    ``first, first + every, ...``). Only one decoded frame is held at a time. Raises the
    errors of :func:`~emoshift.media.probe` (NoVideoStreamError for audio files) and
    :class:`UnreadableMediaError` when the file breaks off part-way.
    """
    if every < 1:
        raise ConfigError(f"every must be >= 1 (got {every})")
    if start < 0 or (end is not None and end < start):
        raise ConfigError(f"need 0 <= start <= end (got start={start}, end={end})")

    def targets(info: MediaInfo) -> Iterable[int]:
        fps = Fraction(info.fps or 25).limit_denominator(1_000_000)
        first = _ceil(start * fps)
        stop = _ceil(end * fps) if end is not None else sys.maxsize
        return range(first, stop, every)

    for _, frame in _iter_slots(path, targets):
        yield frame


def _ceil(x: float | Fraction) -> int:
    """Ceiling that ignores float noise (2.0000000001 -> 2)."""
    return int(-(-Fraction(x).limit_denominator(1_000_000) // 1))


def read_frames(path: str | Path, indices: Sequence[int]) -> np.ndarray:
    """The frames at constant-rate ``indices`` (negative counts from the end; repeats and any
    order allowed) as (N, H, W, 3) uint8 RGB, in the order given.

    Decodes forward between nearby indices and seeks to the keyframe before far ones, so
    sampling a few frames of a long clip is cheap. Raises :class:`ConfigError` for an index
    outside ``[-n_frames, n_frames)``.
    """
    wanted: list[int] = [int(i) for i in indices]
    holder: dict[str, object] = {}

    def targets(info: MediaInfo) -> Iterable[int]:
        n = info.n_frames or 0
        for i in wanted:
            if not -n <= i < n:
                raise ConfigError(
                    f"frame index {i} is out of range: {info.path} has {n} frames "
                    f"({info.duration:.2f} s at {info.fps:g} fps)"
                )
        holder["info"] = info
        return sorted({i % n for i in wanted})

    got: dict[int, np.ndarray] = dict(_iter_slots(path, targets))
    info = holder.get("info")
    if not wanted:
        h, w = (info.height, info.width) if isinstance(info, MediaInfo) else (0, 0)
        return np.zeros((0, h or 0, w or 0, 3), np.uint8)
    assert isinstance(info, MediaInfo) and info.n_frames
    n = info.n_frames
    return np.stack([got[i % n] for i in wanted])


def read_video(path: str | Path, *, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """All frames of a (short) video as (T, H, W, 3) uint8 RGB, and its fps.

    ``max_frames`` keeps only the first ``max_frames`` frames. Holds the whole clip in memory:
    use :func:`iter_frames` for long videos.
    """
    if max_frames is not None and max_frames < 1:
        raise ConfigError(f"max_frames must be >= 1 (got {max_frames})")
    holder: dict[str, MediaInfo] = {}

    def targets(info: MediaInfo) -> Iterable[int]:
        holder["info"] = info
        return range(0, max_frames if max_frames is not None else sys.maxsize)

    frames = _iter_slots(path, targets)
    first = next(frames, None)
    info = holder["info"]
    if first is None:
        raise EmptyMediaError(f"{path}: the video has no frames")
    n = info.n_frames or 1
    if max_frames is not None:
        n = min(n, max_frames)
    out = np.empty((n, *first[1].shape), np.uint8)
    out[0] = first[1]
    extra: list[np.ndarray] = []
    for k, frame in frames:
        if k < n:
            out[k] = frame
        else:  # the header under-counted: keep the real frames
            extra.append(frame)
    if extra:
        out = np.concatenate([out, np.stack(extra)])
    return out, float(info.fps or 25)


def read_audio(
    path: str | Path,
    sr: int | None = 16000,
    *,
    mono: bool = True,
    start: float = 0.0,
    end: float | None = None,
) -> np.ndarray:
    """Decode the first audio stream, resampled (FFmpeg's swresample) to ``sr`` Hz.

    Returns (N,) float32 in [-1, 1] when ``mono`` (channels mixed down), else (N, C).
    ``sr=None`` keeps the stream's own rate (``MediaInfo.sample_rate``). ``start`` / ``end``:
    seconds from the start of the file; sample ``j`` of the result is at ``start + j / sr``.
    Raises :class:`NoAudioStreamError` for a silent video, :class:`EmptyMediaError` when no
    samples decode, :class:`UnreadableMediaError` when the audio breaks off part-way.
    """
    if start < 0 or (end is not None and end < start):
        raise ConfigError(f"need 0 <= start <= end (got start={start}, end={end})")
    if sr is not None and not 1000 <= sr <= 384_000:
        raise ConfigError(f"sample rate {sr} Hz is out of range (1000..384000)")
    path = Path(path)
    with (
        open_media(path, need_audio=True) as (container, _info, lay),
        contextlib.ExitStack() as stack,
    ):
        ast = audio_stream(container)
        assert ast is not None
        rate = int(sr or ast.rate or 16000)
        channels = 1 if mono else max(1, int(ast.channels or 1))
        layout = "mono" if mono else (ast.layout.name if ast.layout is not None else "stereo")
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        t0 = lay.t0
        if start > SEEK_AHEAD_SECONDS:
            assert ast.time_base is not None
            try:
                container.seek(max(0, int((t0 + start - 1.0) / ast.time_base)), stream=ast)
            except av.FFmpegError:  # cannot seek (raw stream): decode from the start
                container = stack.enter_context(open_container(path))
                ast = audio_stream(container)
                assert ast is not None
        chunks: list[np.ndarray] = []
        first_t: float | None = None
        stopped_early = False
        try:
            for frame in container.decode(ast):
                if first_t is None:
                    first_t = frame.time if frame.time is not None else (lay.audio_start or t0)
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1, channels))
                if end is not None and frame.time is not None and frame.time - t0 > end + 0.5:
                    stopped_early = True
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, channels))
        except av.FFmpegError as exc:
            raise UnreadableMediaError(
                f"{path}: decoding the audio failed ({exc}); the file is damaged or truncated; "
                "re-export or re-download it"
            ) from None
        if first_t is None or not chunks:
            raise EmptyMediaError(f"{path}: the audio stream holds no samples")
        audio = np.concatenate(chunks).astype(np.float32, copy=False)
        offset = round((first_t - t0) * rate)  # sample index of audio[0] on the file timeline
        if not stopped_early and lay.audio_end is not None:
            got_end = offset / rate + len(audio) / rate
            if start <= SEEK_AHEAD_SECONDS and _is_short(got_end, lay.audio_end - t0):
                raise _truncated(path, "audio", got_end, lay.audio_end - t0)
            # Decoders return whole codec frames (AAC: 1024 samples): drop the padding of the
            # last one, which the container's duration excludes.
            header_n = round((lay.audio_end - t0) * rate) - offset
            if 0 < header_n < len(audio) <= header_n + round(_END_PAD_SECONDS * rate):
                audio = audio[:header_n]
    a0 = round(start * rate)
    a1 = round(end * rate) if end is not None else max(a0, offset + len(audio))
    result = np.zeros((a1 - a0, channels), np.float32)
    lo, hi = max(a0, offset), min(a1, offset + len(audio))
    if hi > lo:
        result[lo - a0 : hi - a0] = audio[lo - offset : hi - offset]
    np.clip(result, -1.0, 1.0, out=result)
    return result[:, 0].copy() if mono else result
