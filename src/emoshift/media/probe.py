"""What is in a media file, from its container header (no full decode), with typed errors.

Every reader in :mod:`emoshift.media` opens files through :func:`open_media`, so a bad file
fails the same way everywhere: :class:`~emoshift.errors.NotMediaError`,
:class:`~emoshift.errors.UnreadableMediaError`, :class:`~emoshift.errors.EmptyMediaError`,
:class:`~emoshift.errors.NoVideoStreamError`, :class:`~emoshift.errors.NoAudioStreamError`
or :class:`~emoshift.errors.MediaTooLongError`, each naming the file and what to do.

Timeline used by the whole package: time 0 is the start of the file (the earliest start of its
audio and video streams). Video is seen at a constant frame rate ``fps``: frame ``i`` is the
picture shown at ``i / fps`` seconds; audio sample ``j`` is at ``j / sr`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.container
import av.stream

from emoshift.errors import (
    ConfigError,
    EmptyMediaError,
    MediaTooLongError,
    NoAudioStreamError,
    NotMediaError,
    NoVideoStreamError,
    UnreadableMediaError,
)

ENV_MAX_DURATION = "EMOSHIFT_MAX_DURATION"


class _EnvLimit(float):
    """The default duration limit: 600 s, unless ``$EMOSHIFT_MAX_DURATION`` says otherwise.

    A float subclass so it reads as a number in signatures; :func:`probe` recognises this exact
    object and then consults the environment variable at call time.
    """

    def __repr__(self) -> str:
        return f"DEFAULT_MAX_DURATION({float(self):g} s or ${ENV_MAX_DURATION})"


DEFAULT_MAX_DURATION: float = _EnvLimit(600.0)

# Leading bytes of containers FFmpeg reads: a file starting with one of these is media that is
# damaged (UnreadableMediaError), anything else that FFmpeg refuses is not media at all.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftyp", "MP4/MOV"),
    (4, b"moov", "MP4/MOV"),
    (4, b"mdat", "MP4/MOV"),
    (4, b"free", "MP4/MOV"),
    (4, b"wide", "MP4/MOV"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (0, b"RIFF", "WAV/AVI"),
    (0, b"ID3", "MP3"),
    (0, b"FLV", "FLV"),
    (0, b"OggS", "Ogg"),
    (0, b"fLaC", "FLAC"),
    (0, b"\x00\x00\x01\xba", "MPEG-PS"),
    (0, b"\x30\x26\xb2\x75", "ASF/WMV"),
)


@dataclass(frozen=True)
class MediaInfo:
    """Facts about a media file, read from its header (and its first decoded frame).

    ``duration``: seconds, whole file. ``width``/``height``: pixels of the frames the readers
    return (i.e. after applying ``rotation``). ``fps``: the constant frame rate the readers
    deliver (the stream's nominal rate; variable-rate files are resampled to it by repeating or
    dropping frames). ``n_frames``: how many frames :func:`~emoshift.media.iter_frames` yields
    for the whole file (``round(video_duration * fps)``; from the header, so a damaged file may
    deliver fewer, which the readers report as an error). ``rotation``: degrees
    counter-clockwise stored in the file's display matrix (phone videos), already applied by
    the readers. ``sample_rate``/``channels``: the audio stream's own values.
    """

    path: Path
    format_name: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    fps: float | None
    n_frames: int | None
    video_codec: str | None
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    size_bytes: int
    rotation: int = 0
    video_duration: float | None = None
    audio_duration: float | None = None
    start_time: float = 0.0
    pix_fmt: str | None = None
    bit_rate: int | None = None
    streams: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the delivered frames, or None without video."""
        if self.width is None or self.height is None:
            return None
        return (self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (path as a string)."""
        d = asdict(self)
        d["path"] = str(self.path)
        d["streams"] = list(self.streams)
        return d


def max_duration_limit() -> float | None:
    """The duration limit in seconds from ``$EMOSHIFT_MAX_DURATION`` (default 600).

    ``0``, ``none``, ``off`` or ``inf`` mean no limit. Raises :class:`ConfigError` if the
    variable is not a number.
    """
    raw = os.environ.get(ENV_MAX_DURATION, "").strip().lower()
    if not raw:
        return float(DEFAULT_MAX_DURATION)
    if raw in ("0", "none", "off", "inf", "unlimited"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"{ENV_MAX_DURATION}={raw!r} is not a number of seconds; set e.g. "
            f"{ENV_MAX_DURATION}=1200, or 0 for no limit"
        ) from None
    return value if value > 0 else None


def _resolve_limit(max_duration: float | None) -> float | None:
    if max_duration is DEFAULT_MAX_DURATION:
        return max_duration_limit()
    if max_duration is None or max_duration <= 0:
        return None
    return float(max_duration)


def _sniff(path: Path) -> str | None:
    """Name of the container family whose magic bytes start the file, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    for offset, magic, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return name
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "MP3/AAC"
    return None


def _check_file(path: Path) -> int:
    """Raise a typed error for a missing, unreadable or empty path; return its size in bytes."""
    if not path.exists():
        raise NotMediaError(f"{path} does not exist; check the path")
    if path.is_dir():
        raise NotMediaError(f"{path} is a folder, not a media file; give a video or audio file")
    try:
        size = path.stat().st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise UnreadableMediaError(f"cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise EmptyMediaError(f"{path} is empty (0 bytes); was it copied or exported completely?")
    return size


@contextlib.contextmanager
def open_container(path: str | Path) -> Iterator[av.container.InputContainer]:
    """Open ``path`` with PyAV, turning FFmpeg's refusals into typed errors; closes on exit."""
    path = Path(path)
    _check_file(path)
    try:
        container = av.open(str(path), mode="r", metadata_errors="replace")
    except av.FFmpegError as exc:
        family = _sniff(path)
        if family is not None:
            raise UnreadableMediaError(
                f"{path} looks like a {family} file but FFmpeg cannot open it ({_reason(exc)}): "
                "it is probably truncated or damaged; re-export or re-download it"
            ) from None
        raise NotMediaError(
            f"{path} is not a video or audio file FFmpeg can read ({_reason(exc)}); "
            "give a video (mp4, mov, mkv, webm, ...) or audio file (wav, mp3, ...)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableMediaError(f"cannot read {path}: {exc}") from None
    try:
        yield container
    finally:
        container.close()


def _reason(exc: BaseException) -> str:
    msg = getattr(exc, "strerror", None) or str(exc)
    return str(msg).rstrip(".")


def video_stream(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first real video stream (cover art / attached pictures are not video)."""
    for s in container.streams.video:
        if not (s.disposition & av.stream.Disposition.attached_pic):
            return s
    return None


def audio_stream(container: av.container.InputContainer) -> av.AudioStream | None:
    """The first audio stream, or None."""
    return container.streams.audio[0] if container.streams.audio else None


def stream_start(stream: av.stream.Stream) -> float | None:
    """Start time of a stream in seconds, or None if the header does not say."""
    if stream.start_time is None or stream.time_base is None:
        return None
    return float(stream.start_time * stream.time_base)


_DURATION_TAG = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


def stream_duration(stream: av.stream.Stream) -> float | None:
    """Duration of a stream in seconds from the header (or Matroska's DURATION tag), or None."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        m = _DURATION_TAG.match(tag.strip())
        if m:
            return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return None


def frame_rate(stream: av.VideoStream) -> Fraction:
    """The constant rate the readers deliver: the nominal rate, or the average when the nominal
    one is implausible (timebase-like values such as 1000 or 90000)."""
    guessed = stream.guessed_rate or stream.base_rate
    average = stream.average_rate
    if guessed and 0 < guessed <= 240 and (not average or guessed <= 2.5 * average):
        return Fraction(guessed)
    if average and 0 < average <= 240:
        return Fraction(average)
    if guessed and guessed > 0:
        return Fraction(min(guessed, 240))
    return Fraction(25)


def _scan_end(container: av.container.InputContainer, limit: float | None) -> float:
    """End time (s) found by demuxing packets without decoding; stops past ``limit``.

    Packets without timestamps (raw H.264 streams) count as one frame each at the video's
    rate."""
    end = 0.0
    vs = video_stream(container)
    per_frame = 1.0 / float(frame_rate(vs)) if vs is not None else 0.0
    untimed = 0
    for packet in container.demux():
        ts = packet.pts if packet.pts is not None else packet.dts
        if ts is None or packet.time_base is None:
            if vs is not None and packet.stream_index == vs.index and packet.size:
                untimed += 1
                end = max(end, untimed * per_frame)
        else:
            end = max(end, float((ts + (packet.duration or 0)) * packet.time_base))
        if limit is not None and end > limit:
            break
    return end


@dataclass(frozen=True)
class _Layout:
    """Internal timing facts shared by the readers (all times in seconds)."""

    t0: float
    fps: Fraction | None
    n_frames: int | None
    video_end: float | None
    audio_start: float | None
    audio_end: float | None
    rotation: int


def _first_frame(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> tuple[av.frame.Frame | None, int]:
    """Decode until the first frame of ``stream``: ``(frame or None, packets with data seen)``."""
    n_packets = 0
    try:
        for packet in container.demux(stream):
            if packet.size:
                n_packets += 1
            for frame in packet.decode():
                return frame, n_packets
    except av.FFmpegError:
        return None, max(n_packets, 1)
    return None, n_packets


def inspect_container(
    container: av.container.InputContainer,
    path: Path,
    size_bytes: int,
    *,
    need_video: bool = False,
    need_audio: bool = False,
    max_duration: float | None = None,
) -> tuple[MediaInfo, _Layout]:
    """Build the :class:`MediaInfo` of an open container and check it; the container must be
    freshly opened (this decodes its first frame) and is re-seekable afterwards by the caller
    only by reopening. Raises the typed errors listed in the module docstring."""
    vs = video_stream(container)
    ast = audio_stream(container)
    if vs is None and ast is None:
        raise NotMediaError(
            f"{path} holds no audio or video stream (FFmpeg sees it as {container.format.name!r}); "
            "give a video or audio file"
        )
    if need_video and vs is None:
        raise NoVideoStreamError(
            f"{path} has no video stream (audio only); give a video of a person talking"
        )
    if need_audio and ast is None:
        raise NoAudioStreamError(
            f"{path} has no audio stream (video only); give a video with its soundtrack, "
            "or add one with `ffmpeg -i video.mp4 -i speech.wav -c:v copy out.mp4`"
        )

    starts = [s for s in (stream_start(x) for x in (vs, ast) if x is not None) if s is not None]
    t0 = min(starts) if starts else 0.0
    c_end = None
    if container.duration is not None and container.duration > 0:
        c_start = (container.start_time or 0) / av.time_base
        c_end = c_start + container.duration / av.time_base

    limit = max_duration
    header_duration = (c_end - t0) if c_end is not None else None
    v_end = a_end = a_start = None
    if vs is not None:
        d = stream_duration(vs)
        v_start = stream_start(vs)
        v_end = (v_start if v_start is not None else t0) + d if d is not None else c_end
    if ast is not None:
        d = stream_duration(ast)
        a_start = stream_start(ast)
        a_end = (a_start if a_start is not None else t0) + d if d is not None else c_end
    ends = [e for e in (v_end, a_end) if e is not None]
    if header_duration is None and ends:
        header_duration = max(ends) - t0
    if header_duration is None:
        # No duration anywhere in the header (raw streams): demux packets (no decoding),
        # stopping as soon as the limit is passed, in a second container so that this one
        # stays at the start (raw streams cannot seek back).
        with open_container(path) as scan:
            scanned = _scan_end(scan, limit + t0 if limit is not None else None) - t0
        header_duration = max(scanned, 0.0)
        v_end = v_end if v_end is not None else t0 + header_duration
        a_end = a_end if a_end is not None else t0 + header_duration
    duration = max(header_duration, 0.0)
    if limit is not None and duration > limit:
        raise MediaTooLongError(
            f"{path} lasts {_fmt_time(duration)}, longer than the limit of {_fmt_time(limit)}; "
            f"cut it first (e.g. `ffmpeg -i in.mp4 -t {int(limit)} -c copy short.mp4`) or raise "
            f"the limit with {ENV_MAX_DURATION}=SECONDS (0 = no limit)"
        )

    rotation = 0
    fps = width = height = n_frames = None
    pix_fmt = None
    if vs is not None:
        first, n_packets = _first_frame(container, vs)
        if first is None:
            if n_packets == 0:
                raise EmptyMediaError(f"{path} has a video stream with no frames; it is empty")
            raise UnreadableMediaError(
                f"{path}: not one video frame could be decoded; the file is damaged or uses a "
                "codec FFmpeg cannot decode; re-export it as H.264 mp4"
            )
        assert isinstance(first, av.VideoFrame)
        rotation = round(first.rotation or 0) % 360
        rotation = rotation if rotation in (90, 180, 270) else 0
        fps = frame_rate(vs)
        w, h = first.width, first.height
        width, height = (h, w) if rotation in (90, 270) else (w, h)
        pix_fmt = first.format.name
        v_dur = max((v_end if v_end is not None else t0) - t0, 0.0)
        n_frames = max(1, round(v_dur * fps))
    elif ast is not None:
        first, n_packets = _first_frame(container, ast)
        if first is None:
            if n_packets == 0:
                raise EmptyMediaError(f"{path} has an audio stream with no samples; it is empty")
            raise UnreadableMediaError(
                f"{path}: no audio could be decoded; the file is damaged or truncated; "
                "re-export or re-download it"
            )
    if duration <= 0 and vs is None:
        raise EmptyMediaError(f"{path} is zero seconds long; there is nothing to process")

    streams = tuple(_describe(s) for s in container.streams)
    info = MediaInfo(
        path=path,
        format_name=container.format.name,
        duration=round(duration, 6),
        has_video=vs is not None,
        has_audio=ast is not None,
        width=width,
        height=height,
        fps=float(fps) if fps is not None else None,
        n_frames=n_frames,
        video_codec=vs.codec_context.name if vs is not None else None,
        audio_codec=ast.codec_context.name if ast is not None else None,
        sample_rate=int(ast.rate) if ast is not None and ast.rate else None,
        channels=int(ast.channels) if ast is not None else None,
        size_bytes=size_bytes,
        rotation=rotation,
        video_duration=round(v_end - t0, 6) if vs is not None and v_end is not None else None,
        audio_duration=round(a_end - t0, 6) if ast is not None and a_end is not None else None,
        start_time=round(t0, 6),
        pix_fmt=pix_fmt,
        bit_rate=int(container.bit_rate) if container.bit_rate else None,
        streams=streams,
    )
    layout = _Layout(
        t0=t0,
        fps=fps,
        n_frames=n_frames,
        video_end=v_end,
        audio_start=a_start,
        audio_end=a_end,
        rotation=rotation,
    )
    return info, layout


def _describe(s: av.stream.Stream) -> str:
    """One line per stream, e.g. ``video #0: h264 700x700 30 fps yuv420p``."""
    name = s.codec_context.name if s.codec_context is not None else "unknown"
    if s.type == "video":
        cc = s.codec_context
        if s.disposition & av.stream.Disposition.attached_pic:
            return f"picture #{s.index}: {name} (cover art)"
        rate = frame_rate(s)
        return f"video #{s.index}: {name} {cc.width}x{cc.height} {float(rate):.6g} fps {cc.pix_fmt or ''}".rstrip()
    if s.type == "audio":
        return f"audio #{s.index}: {name} {s.rate} Hz {s.channels} ch"
    return f"{s.type} #{s.index}: {name}"


def _fmt_time(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h ({seconds:.0f} s)"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min ({seconds:.0f} s)"
    return f"{seconds:.2f} s"


@contextlib.contextmanager
def open_media(
    path: str | Path,
    *,
    need_video: bool = False,
    need_audio: bool = False,
    max_duration: float | None = None,
) -> Iterator[tuple[av.container.InputContainer, MediaInfo, _Layout]]:
    """Open ``path`` for reading: yields ``(container, info, layout)`` with the container
    rewound to the start. Used by the readers; raises the typed errors of :func:`probe`."""
    path = Path(path)
    size = _check_file(path)
    with open_container(path) as c:
        info, layout = inspect_container(
            c, path, size, need_video=need_video, need_audio=need_audio, max_duration=max_duration
        )
    # Reopen rather than seek: seeking back to 0 is not exact for every container.
    with open_container(path) as c:
        yield c, info, layout


def probe(
    path: str | Path,
    *,
    need_video: bool = False,
    need_audio: bool = False,
    max_duration: float | None = DEFAULT_MAX_DURATION,
) -> MediaInfo:
    """Describe a media file from its header (decodes only its first frame).

    ``need_video`` / ``need_audio`` raise :class:`NoVideoStreamError` /
    :class:`NoAudioStreamError` when that stream is missing. ``max_duration`` (seconds):
    longer files raise :class:`MediaTooLongError`; the default is 600 s or
    ``$EMOSHIFT_MAX_DURATION``; None or 0 means no limit. Also raises
    :class:`NotMediaError`, :class:`EmptyMediaError` and :class:`UnreadableMediaError`.
    """
    path = Path(path)
    size = _check_file(path)
    limit = _resolve_limit(max_duration)
    with open_container(path) as c:
        info, _ = inspect_container(
            c, path, size, need_video=need_video, need_audio=need_audio, max_duration=limit
        )
    return info
