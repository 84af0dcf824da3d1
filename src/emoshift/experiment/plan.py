"""What an experiment runs: items = video x emotion x arm, and the settings that shape them.

An **arm** is one way of producing an output from a source video for a target emotion:

* ``eda`` - the full Emotion-Driven Animation pipeline (new words, new voice, emotional face).
* ``anim_only`` - the same lip-synced animation without the emotional face generator
  (``expression=False``): the paper's SadTalker column in Table 4.
* ``speech_only`` - only the new speech (a .wav): the ETG + ET2S half of the pipeline.
* ``null`` - a control: the unchanged source evaluated against itself (EDD = 0.5 exactly,
  PSNR = inf). Not run unless asked for; it calibrates the metrics and needs no generator.

Items of the same video and emotion form a **group**: a group runs in one worker, one item after
the other, in one shared pipeline run folder, so the analysis and the new speech are computed
once and reused by every arm (the stage cache of :mod:`emoshift.pipeline.runfolder`). Each item
still has its own result, error and resume state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emoshift.emotion import ALL_EMOTIONS, FER7, Emotion, to_emotion
from emoshift.errors import ConfigError
from emoshift.fileio import sha256_file
from emoshift.pipeline.runfolder import stable_hash

ARMS: tuple[str, ...] = ("eda", "anim_only", "speech_only", "null")
"""Every arm the runner knows, in the order a group runs them."""

DEFAULT_ARMS: tuple[str, ...] = ("eda", "anim_only", "speech_only")

ARM_OPTIONS: dict[str, dict[str, Any]] = {
    "eda": {},
    "anim_only": {"expression": False},
    "speech_only": {"speech_only": True},
}
"""The :class:`~emoshift.pipeline.eda.ShiftConfig` fields each generator arm sets."""

ARM_TITLES: dict[str, str] = {
    "eda": "EDA (full)",
    "anim_only": "animation only (no expression; paper: SadTalker)",
    "speech_only": "speech only",
    "null": "null control (source vs itself)",
}

PAPER_EMOTIONS: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.CONTEMPT,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPINESS,
    Emotion.NEUTRAL,
    Emotion.SADNESS,
)
"""The 7 emotions of the paper's Table 4 (its FER dropped surprise)."""

MEASURABLE_EMOTIONS: tuple[Emotion, ...] = tuple(e for e in ALL_EMOTIONS if e in FER7)
"""The 7 emotions our face recogniser can score (no contempt): what ``all`` means."""

EXPERIMENT_VERSION = 1
"""Bumped when the content of a result changes; part of every item's config hash."""


def parse_emotions(spec: str | Sequence[str]) -> tuple[Emotion, ...]:
    """``"all"`` (the 7 the FER measures: every emotion but contempt), ``"paper"`` (Table 4's 7,
    with contempt, whose EDD cannot be measured here), ``"all8"``, or a comma list of names
    and aliases. Order: alphabetical, duplicates removed.

    Raises:
        UnknownEmotionError: for an unknown name.
        ConfigError: for an empty list.
    """
    words = [spec] if isinstance(spec, str) else list(spec)
    names = [w.strip() for word in words for w in str(word).split(",") if w.strip()]
    out: set[Emotion] = set()
    for name in names:
        key = name.lower()
        if key == "all":
            out.update(MEASURABLE_EMOTIONS)
        elif key == "paper":
            out.update(PAPER_EMOTIONS)
        elif key == "all8":
            out.update(ALL_EMOTIONS)
        else:
            out.add(to_emotion(name))
    if not out:
        raise ConfigError("no emotions given; use --emotions all or a list such as happy,sad")
    return tuple(e for e in ALL_EMOTIONS if e in out)


def parse_arms(spec: str | Sequence[str]) -> tuple[str, ...]:
    """A comma list of arm names (see :data:`ARMS`), returned in :data:`ARMS` order."""
    words = [spec] if isinstance(spec, str) else list(spec)
    names = {w.strip().lower().replace("-", "_") for word in words for w in str(word).split(",")}
    names.discard("")
    unknown = sorted(names - set(ARMS))
    if unknown:
        raise ConfigError(f"unknown arm(s) {unknown}; choose from {', '.join(ARMS)}")
    if not names:
        raise ConfigError(f"no arms given; choose from {', '.join(ARMS)}")
    return tuple(a for a in ARMS if a in names)


@dataclass(frozen=True)
class ExperimentConfig:
    """Settings shared by every item (all of them are hashed into each item's config hash).

    Attributes:
        emotions: target emotions.
        arms: arms to run (subset of :data:`ARMS`).
        intensity: target intensity 0..1 (None: the pipeline's default).
        seed: random seed given to the pipeline.
        window: EDD moving-average window in frames (None: the evaluator's default).
        quality_frames: frame pairs for PSNR / SSIM and frames for CPBD.
        ser_classes: speech-emotion recogniser classes (4 like the paper's SpeechBrain model).
    """

    emotions: tuple[Emotion, ...] = MEASURABLE_EMOTIONS
    arms: tuple[str, ...] = DEFAULT_ARMS
    intensity: float | None = None
    seed: int = 0
    window: int | None = None
    quality_frames: int = 6
    ser_classes: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "emotions", tuple(to_emotion(e) for e in self.emotions))
        object.__setattr__(self, "arms", parse_arms(self.arms))
        if not self.emotions:
            raise ConfigError("no emotions given")
        if self.intensity is not None and not 0.0 <= float(self.intensity) <= 1.0:
            raise ConfigError(f"--intensity must be in [0, 1], got {self.intensity}")
        if self.window is not None and self.window < 1:
            raise ConfigError(f"window must be >= 1 frame, got {self.window}")
        if self.ser_classes not in (4, 7):
            raise ConfigError(f"ser_classes must be 4 or 7, got {self.ser_classes}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["emotions"] = [e.value for e in self.emotions]
        d["arms"] = list(self.arms)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentConfig:
        return cls(**{**d, "emotions": tuple(d["emotions"]), "arms": tuple(d["arms"])})

    def item_hash(self, video_sha: str, emotion: Emotion, arm: str) -> str:
        """The config hash of one item: what its result depends on (not the other items)."""
        d = self.to_dict()
        d.pop("emotions")
        d.pop("arms")
        return stable_hash(
            {
                "v": EXPERIMENT_VERSION,
                "video": video_sha,
                "emotion": emotion.value,
                "arm": arm,
                "config": d,
            }
        )


@dataclass(frozen=True)
class Video:
    """A source video: its path, content hash and a short unique key for folder names."""

    path: Path
    sha256: str
    key: str

    def to_dict(self) -> dict[str, str]:
        return {"path": str(self.path), "sha256": self.sha256, "key": self.key}


@dataclass(frozen=True)
class Item:
    """One unit of work: ``arm`` applied to ``video`` for ``emotion``.

    ``id`` (``<video key>/<emotion>/<arm>``) names its folder in the store; ``config_hash``
    decides whether a stored result can be reused.
    """

    video: Video
    emotion: Emotion
    arm: str
    config_hash: str

    @property
    def id(self) -> str:
        return f"{self.video.key}/{self.emotion.value}/{self.arm}"

    @property
    def group(self) -> str:
        return f"{self.video.key}/{self.emotion.value}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "video": self.video.to_dict(),
            "emotion": self.emotion.value,
            "arm": self.arm,
            "config_hash": self.config_hash,
        }


@dataclass(frozen=True)
class Plan:
    """Every item of an experiment, grouped by (video, emotion)."""

    config: ExperimentConfig
    videos: tuple[Video, ...]
    items: tuple[Item, ...] = field(default=())

    def groups(self) -> list[list[Item]]:
        """Items of the same video and emotion, in plan order (arms in :data:`ARMS` order)."""
        out: dict[str, list[Item]] = {}
        for it in self.items:
            out.setdefault(it.group, []).append(it)
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "videos": [v.to_dict() for v in self.videos],
            "items": [it.id for it in self.items],
        }


def _video_key(path: Path, sha: str, taken: set[str]) -> str:
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem)[:40] or "video"
    key = stem if stem not in taken else f"{stem}-{sha[:8]}"
    return key


def make_videos(paths: Iterable[str | Path]) -> tuple[Video, ...]:
    """Hash the source videos and give each a unique folder key (its stem, plus a short hash
    when two videos share a stem). The same file given twice counts once.

    Raises:
        ConfigError: if a path does not exist or is not a file, or no path is given.
    """
    videos: list[Video] = []
    seen: set[str] = set()
    keys: set[str] = set()
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path} does not exist or is not a file; give video files")
        sha = sha256_file(path)
        if sha in seen:
            continue
        seen.add(sha)
        key = _video_key(path, sha, keys)
        keys.add(key)
        videos.append(Video(path.resolve(), sha, key))
    if not videos:
        raise ConfigError("no videos given")
    return tuple(videos)


def make_plan(paths: Iterable[str | Path], config: ExperimentConfig) -> Plan:
    """The items of ``config.arms`` x ``config.emotions`` x the videos, grouped by video then
    emotion (so every arm of a group can share the group's analysis)."""
    videos = make_videos(paths)
    items = tuple(
        Item(v, e, a, config.item_hash(v.sha256, e, a))
        for v in videos
        for e in config.emotions
        for a in config.arms
    )
    return Plan(config, videos, items)
