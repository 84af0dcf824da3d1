"""Typed errors. Every failure a user can cause ends in one of these, with a message that says
what was wrong and what to do about it. The CLI turns them into a one-line message and exit code 2."""

from __future__ import annotations


class EmoshiftError(Exception):
    """Base class of every error emoshift raises on purpose."""

    exit_code = 2


# --- media -----------------------------------------------------------------------------------
class MediaError(EmoshiftError):
    """A media file could not be used."""


class NotMediaError(MediaError):
    """The file is not something FFmpeg can read as audio or video."""


class NoVideoStreamError(MediaError):
    """The file has no video stream (e.g. a .wav given where a video is needed)."""


class NoAudioStreamError(MediaError):
    """The file has no audio stream (e.g. a silent screen recording)."""


class EmptyMediaError(MediaError):
    """The file has streams but no decodable frames or samples (zero length)."""


class UnreadableMediaError(MediaError):
    """Decoding failed part-way (truncated or corrupt file)."""


class MediaTooLongError(MediaError):
    """The media is longer than the configured limit."""


# --- faces -----------------------------------------------------------------------------------
class FaceError(EmoshiftError):
    """A face could not be used."""


class NoFaceError(FaceError):
    """No face was found where one is needed."""


class MultipleFacesError(FaceError):
    """Several faces were found and the configuration says to fail rather than pick the largest."""


# --- speech and text -------------------------------------------------------------------------
class SpeechError(EmoshiftError):
    """Speech could not be used."""


class NoSpeechError(SpeechError):
    """The audio holds no speech (silence, noise or music only)."""


class BackendError(EmoshiftError):
    """A backend (a model, a local server, an HTTP API) failed or is not installed."""


# --- emotions and configuration --------------------------------------------------------------
class UnknownEmotionError(EmoshiftError, ValueError):
    """An emotion name or prompt could not be understood."""


class ConfigError(EmoshiftError, ValueError):
    """A configuration value is out of range or inconsistent."""


# --- outputs ---------------------------------------------------------------------------------
class OutputError(EmoshiftError):
    """An output could not be written (read-only folder, would overwrite an input...)."""
