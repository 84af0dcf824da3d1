"""Writing video (H.264/AAC, yuv420p, ``+faststart``) and audio (WAV PCM16), atomically.

Every writer validates its output path first (:func:`emoshift.fileio.check_output_path`:
never an input, folder writable), writes to a temporary name beside the destination and
renames it on success; on any exception nothing is left behind.

Audio/video length policy (``audio_policy``): the video decides the length. Audio given to a
video writer is fitted to ``n_frames / fps`` seconds: trimmed when longer, padded with silence
when shorter. A mismatch of at most one frame is fitted quietly; a larger one is fitted with a
logged warning (``audio_policy="fit"``, default) or raises :class:`ConfigError`
(``audio_policy="strict"``). So audio of the matching length gives equal durations (within
one frame, the AAC frame granularity aside), and nothing is dropped silently.

Odd frame sizes are padded to even (yuv420p needs it) by repeating the last column / row:
never scaled, so pixel (x, y) stays pixel (x, y).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import wave
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import av.container
import numpy as np

from emoshift.errors import ConfigError, EmptyMediaError
from emoshift.fileio import atomic_path, check_output_path
from emoshift.media.probe import open_container, probe, video_stream

log = logging.getLogger(__name__)

# Output containers by file extension; all hold H.264 video and AAC audio.
VIDEO_FORMATS: dict[str, str] = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
AAC_RATES = (
    7350,
    8000,
    11025,
    12000,
    16000,
    22050,
    24000,
    32000,
    44100,
    48000,
    64000,
    88200,
    96000,
)
_AAC_FRAME = 1024  # samples per AAC frame
AudioPolicy = Literal["fit", "strict"]


def _container_format(path: Path) -> str:
    fmt = VIDEO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot write video to {path.name!r}: use one of "
            f"{', '.join(sorted(VIDEO_FORMATS))} (H.264/AAC)"
        )
    return fmt


def _as_fps(fps: float | Fraction) -> Fraction:
    if isinstance(fps, Fraction):
        rate = fps
    else:
        try:
            rate = Fraction(float(fps)).limit_denominator(1001)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"fps must be a positive number (got {fps!r})") from None
    if not 0 < rate <= 1000:
        raise ConfigError(f"fps must be in (0, 1000] (got {fps!r})")
    return rate


def as_audio_array(audio: np.ndarray, sr: int | None, *, for_aac: bool = False) -> np.ndarray:
    """Validate audio and return it as (N, C) float32 in [-1, 1] (C = 1 or 2).

    Accepts (N,) mono or (N, C) with C in {1, 2}; float (clipped to [-1, 1]) or int16.
    Raises :class:`ConfigError` naming what is wrong.
    """
    if sr is None or int(sr) != sr or not 1000 <= sr <= 384_000:
        raise ConfigError(f"audio needs its sample rate: sr={sr!r} is not a rate in Hz")
    if for_aac and sr not in AAC_RATES:
        raise ConfigError(
            f"AAC cannot store {sr} Hz audio; resample it to one of {AAC_RATES} (e.g. "
            "emoshift.media.read_audio(path, sr=48000) or soxr.resample)"
        )
    a = np.asarray(audio)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] not in (1, 2):
        raise ConfigError(f"audio must be (N,) mono or (N, 2) stereo; got shape {np.shape(audio)}")
    if a.dtype == np.int16:
        a = a.astype(np.float32) / 32768.0
    elif not np.issubdtype(a.dtype, np.floating):
        raise ConfigError(f"audio must be float in [-1, 1] or int16; got dtype {a.dtype}")
    a = np.clip(a, -1.0, 1.0).astype(np.float32, copy=False)
    if not np.isfinite(a).all():
        raise ConfigError("audio contains NaN or infinite samples")
    return a


def _fit_audio(
    audio: np.ndarray, n_target: int, sr: int, fps: Fraction, policy: AudioPolicy, what: str
) -> np.ndarray:
    """Trim or pad ``audio`` (N, C) to ``n_target`` samples, per the module's policy."""
    diff = len(audio) - n_target
    one_frame = sr / float(fps)
    if abs(diff) > one_frame:
        msg = (
            f"{what}: the audio lasts {len(audio) / sr:.3f} s but the video {n_target / sr:.3f} s; "
            f"{'trimming' if diff > 0 else 'padding with silence'} {abs(diff) / sr:.3f} s"
        )
        if policy == "strict":
            raise ConfigError(msg.split(";")[0] + "; give audio of the video's length")
        log.warning(msg)
    if diff >= 0:
        return audio[:n_target]
    return np.concatenate([audio, np.zeros((-diff, audio.shape[1]), np.float32)])


def _audio_frame(block: np.ndarray, sr: int, pts: int) -> av.AudioFrame:
    """An AAC-ready (fltp) frame from (n, C) float32 samples starting at sample ``pts``."""
    layout = "mono" if block.shape[1] == 1 else "stereo"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block.T), format="fltp", layout=layout)
    frame.sample_rate = sr
    frame.pts = pts
    frame.time_base = Fraction(1, sr)
    return frame


def _add_aac_stream(
    out: av.container.OutputContainer, sr: int, channels: int, bitrate: int
) -> av.AudioStream:
    stream = out.add_stream("aac", rate=sr, layout="mono" if channels == 1 else "stereo")
    stream.bit_rate = int(bitrate)
    return stream


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad an (H, W, 3) frame to even H and W by repeating its last row / column."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    out = np.empty((h + h % 2, w + w % 2, 3), np.uint8)
    out[:h, :w] = frame
    if w % 2:
        out[:h, w] = frame[:, w - 1]
    if h % 2:
        out[h] = out[h - 1]
    return out


def _yuv420p_frame(rgb: np.ndarray) -> av.VideoFrame:
    """An encoder-ready yuv420p frame from an even-sized (H, W, 3) uint8 RGB array.

    OpenCV's SIMD RGB->I420 conversion (BT.601, limited range: the same numbers as FFmpeg's
    swscale, which decodes it back) is ~3x cheaper than letting the encoder call swscale."""
    cv2 = _cv2()
    if cv2 is None:
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    i420 = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)
    return av.VideoFrame.from_ndarray(i420, format="yuv420p")


@functools.cache
def _cv2() -> Any:
    try:
        import cv2
    except ImportError:  # pragma: no cover - opencv-python-headless is a dependency
        return None
    return cv2


class VideoWriter:
    """Stream frames into an H.264/AAC video file; a context manager.

    ``VideoWriter(path, fps, size=None, audio=None, sr=None, crf=20, preset="veryfast")``,
    then ``.write(frame)`` for each (H, W, 3) uint8 RGB frame; leaving the ``with`` block
    (or :meth:`close`) flushes the encoders, muxes the audio and renames the file into place;
    an exception inside the block leaves nothing behind.

    ``size``: (width, height) the frames must have (default: the first frame's). Odd sizes are
    padded to even (see :attr:`output_size`). ``audio``: (N,) or (N, 2) float in [-1, 1] at
    ``sr`` Hz, muxed interleaved with the video and fitted to its length (module docstring).
    ``crf`` / ``preset``: libx264 quality (0-51, lower is better; 20 is visually lossless for
    talking heads) and speed. ``inputs``: paths the output must not overwrite.
    ``threads``: encoder threads (0 = one per core).
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction,
        size: tuple[int, int] | None = None,
        audio: np.ndarray | None = None,
        sr: int | None = None,
        crf: int = 20,
        preset: str = "veryfast",
        *,
        inputs: Iterable[str | Path] = (),
        audio_bitrate: int = 128_000,
        audio_policy: AudioPolicy = "fit",
        threads: int = 0,
    ) -> None:
        self.path = check_output_path(path, inputs)
        self._format = _container_format(self.path)
        self.fps = _as_fps(fps)
        if not 0 <= crf <= 51:
            raise ConfigError(f"crf must be in 0..51 (got {crf})")
        if preset not in X264_PRESETS:
            raise ConfigError(
                f"unknown x264 preset {preset!r}; use one of {', '.join(X264_PRESETS)}"
            )
        if audio_policy not in ("fit", "strict"):
            raise ConfigError(f"audio_policy must be 'fit' or 'strict' (got {audio_policy!r})")
        if (audio is None) != (sr is None):
            raise ConfigError("give both audio and sr, or neither")
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ConfigError(f"size must be (width, height) in pixels (got {size!r})")
        self.size: tuple[int, int] | None = (int(size[0]), int(size[1])) if size else None
        self.crf, self.preset, self.threads = int(crf), preset, int(threads)
        self.audio_policy: AudioPolicy = audio_policy
        self._audio = as_audio_array(audio, sr, for_aac=True) if audio is not None else None
        self.sr = int(sr) if sr is not None else None
        self._audio_bitrate = audio_bitrate
        self.n_frames = 0
        self._a_sent = 0
        self._closed = False
        self._stack = contextlib.ExitStack()
        self._tmp = self._stack.enter_context(atomic_path(self.path))
        opts = {"movflags": "+faststart"} if self._format in ("mp4", "mov") else {}
        try:
            self._out = av.open(str(self._tmp), mode="w", format=self._format, options=opts)
        except BaseException as exc:
            self._stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._vs: av.VideoStream | None = None
        self._as: av.AudioStream | None = None

    @property
    def output_size(self) -> tuple[int, int] | None:
        """(width, height) stored in the file: :attr:`size` rounded up to even numbers."""
        if self.size is None:
            return None
        w, h = self.size
        return (w + w % 2, h + h % 2)

    def _open_streams(self) -> None:
        assert self.output_size is not None
        w, h = self.output_size
        vs = self._out.add_stream(
            "libx264", rate=self.fps, options={"crf": str(self.crf), "preset": self.preset}
        )
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.codec_context.thread_count = self.threads
        # slice threads, not frame threads: x264's frame threading made the output of a frame
        # size that is not a multiple of 16 (524x524) depend on uninitialised memory, so two
        # runs differed by a few bytes; with slices the file is the same bit for bit for a given
        # thread count (85 frames at 524x524: 0.29 s instead of 0.25 s, 1.4 % larger)
        vs.codec_context.thread_type = "SLICE"
        self._vs = vs
        if self._audio is not None:
            assert self.sr is not None
            self._as = _add_aac_stream(
                self._out, self.sr, self._audio.shape[1], self._audio_bitrate
            )

    def write(self, frame: np.ndarray) -> None:
        """Encode one (H, W, 3) uint8 RGB frame (all frames must share one size)."""
        if self._closed:
            raise ConfigError(f"the writer of {self.path} is already closed")
        arr = np.asarray(frame)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
            raise ConfigError(
                f"frame {self.n_frames} must be (H, W, 3) uint8 RGB; got {arr.shape} {arr.dtype}"
            )
        h, w = arr.shape[:2]
        if self.size is None:
            self.size = (w, h)
        if self._vs is None:
            if (w, h) != self.size:
                raise ConfigError(f"frame 0 is {w}x{h}, but size={self.size[0]}x{self.size[1]}")
            self._open_streams()
        elif (w, h) != self.size:
            raise ConfigError(
                f"frame {self.n_frames} is {w}x{h}, but the video is {self.size[0]}x{self.size[1]}; "
                "all frames must have one size"
            )
        assert self._vs is not None
        vf = _yuv420p_frame(_pad_even(arr))
        vf.pts = self.n_frames
        vf.time_base = 1 / self.fps
        for packet in self._vs.encode(vf):
            self._out.mux(packet)
        self.n_frames += 1
        if self._audio is not None:
            assert self.sr is not None
            self._send_audio(int(self.n_frames * self.sr / self.fps), final=False)

    def _send_audio(self, upto: int, *, final: bool, audio: np.ndarray | None = None) -> None:
        """Encode audio samples [sent, upto) in whole AAC frames (the rest too if ``final``)."""
        audio = self._audio if audio is None else audio
        assert audio is not None and self._as is not None and self.sr is not None
        upto = min(upto, len(audio))
        while self._a_sent < upto:
            n = min(_AAC_FRAME, upto - self._a_sent)
            if n < _AAC_FRAME and not final:
                break
            block = audio[self._a_sent : self._a_sent + n]
            for packet in self._as.encode(_audio_frame(block, self.sr, self._a_sent)):
                self._out.mux(packet)
            self._a_sent += n

    def close(self) -> Path:
        """Finish the file and move it into place; returns its path. Idempotent."""
        if self._closed:
            return self.path
        try:
            if self.n_frames == 0 or self._vs is None:
                raise EmptyMediaError(f"no frames were written to {self.path}; nothing to save")
            if self._audio is not None:
                assert self.sr is not None
                target = round(self.n_frames * self.sr / self.fps)
                fitted = _fit_audio(
                    self._audio, target, self.sr, self.fps, self.audio_policy, str(self.path)
                )
                self._send_audio(target, final=True, audio=fitted)
                assert self._as is not None
                for packet in self._as.encode(None):
                    self._out.mux(packet)
            for packet in self._vs.encode(None):
                self._out.mux(packet)
            self._out.close()
        except BaseException as exc:
            self._abort(exc)
            raise
        self._closed = True
        self._stack.close()  # atomic rename into place
        return self.path

    def abort(self) -> None:
        """Stop without saving: the temporary file is removed, the destination untouched."""
        if not self._closed:
            self._abort(_Aborted(f"writing {self.path} was aborted"))

    def _abort(self, exc: BaseException) -> None:
        self._closed = True
        with contextlib.suppress(Exception):
            self._out.close()
        self._stack.__exit__(type(exc), exc, exc.__traceback__)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
        elif not self._closed:
            self._abort(exc)

    def __del__(self) -> None:  # a writer dropped without close(): leave nothing behind
        with contextlib.suppress(Exception):
            if not self._closed:
                self.abort()


class _Aborted(Exception):
    pass


def write_video(
    path: str | Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    audio: np.ndarray | None = None,
    sr: int | None = None,
    **kw: object,
) -> Path:
    """Write (H, W, 3) uint8 RGB ``frames`` (any iterable, consumed lazily) as H.264/AAC.

    ``audio`` (N,) or (N, 2) float in [-1, 1] at ``sr`` Hz is fitted to the video's length
    (module docstring). ``kw``: the other :class:`VideoWriter` options (crf, preset, inputs,
    audio_policy...). Returns the path.
    """
    with VideoWriter(path, fps, audio=audio, sr=sr, **kw) as writer:  # type: ignore[arg-type]
        for frame in frames:
            writer.write(frame)
    return writer.path


def write_audio(
    path: str | Path, audio: np.ndarray, sr: int, *, inputs: Sequence[str | Path] = ()
) -> Path:
    """Write (N,) or (N, 2) float audio in [-1, 1] (or int16) as a 16-bit PCM WAV, atomically."""
    path = check_output_path(path, inputs)
    if path.suffix.lower() != ".wav":
        raise ConfigError(
            f"write_audio writes WAV files; name the output *.wav (got {path.name!r})"
        )
    a = as_audio_array(audio, sr)
    pcm = np.round(a * 32767.0).astype("<i2")
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    return path


def mux_audio(
    video_path: str | Path,
    audio: np.ndarray,
    sr: int,
    out_path: str | Path,
    *,
    audio_bitrate: int = 128_000,
    audio_policy: AudioPolicy = "fit",
) -> Path:
    """Copy the video stream of ``video_path`` (no re-encoding) into ``out_path`` with
    ``audio`` ((N,) or (N, 2) float in [-1, 1] at ``sr`` Hz) as its only audio track (AAC).

    Any audio or other streams of the input are dropped. The audio starts at the start of the
    file's timeline and is fitted to the video's ``n_frames / fps`` (module docstring).
    """
    video_path = Path(video_path)
    out_path = check_output_path(out_path, [video_path])
    fmt = _container_format(out_path)
    info = probe(video_path, need_video=True, max_duration=None)
    assert info.n_frames is not None and info.fps is not None
    a = as_audio_array(audio, sr, for_aac=True)
    fps = Fraction(info.fps).limit_denominator(1_000_000)
    target = round(info.n_frames * sr / fps)
    a = _fit_audio(a, target, sr, fps, audio_policy, str(out_path))
    start = round(max(info.start_time, 0.0) * sr)
    opts = {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}
    with atomic_path(out_path) as tmp, open_container(video_path) as src:
        out = av.open(str(tmp), mode="w", format=fmt, options=opts)
        try:
            in_v = video_stream(src)
            assert in_v is not None
            out_v = out.add_stream_from_template(in_v)
            out_a = _add_aac_stream(out, sr, a.shape[1], audio_bitrate)
            packets: list[av.Packet] = []
            for i in range(0, len(a), _AAC_FRAME):
                packets.extend(out_a.encode(_audio_frame(a[i : i + _AAC_FRAME], sr, start + i)))
            packets.extend(out_a.encode(None))
            ai = 0
            for packet in src.demux(in_v):
                if packet.dts is None:
                    continue
                assert packet.time_base is not None
                tv = float(packet.dts * packet.time_base)
                while ai < len(packets) and _ptime(packets[ai]) <= tv:
                    out.mux(packets[ai])
                    ai += 1
                packet.stream = out_v
                out.mux(packet)
            for packet in packets[ai:]:
                out.mux(packet)
        finally:
            out.close()
    return out_path


def _ptime(packet: av.Packet) -> float:
    ts = packet.dts if packet.dts is not None else packet.pts
    if ts is None or packet.time_base is None:
        return 0.0
    return float(ts * packet.time_base)
