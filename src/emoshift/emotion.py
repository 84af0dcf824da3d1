"""Emotions: the 8 categories, their aliases, an intensity-carrying spec, and prompt parsing.

The categories are Ekman's six basic emotions plus contempt and neutral, the label set of
AffectNet and of the paper's evaluation. Every component of emoshift speaks in
:class:`Emotion` values; free text ("very very sad", "Make this text very very very happy")
is turned into an :class:`EmotionSpec` by :func:`parse_emotion`.

Valence / arousal / dominance coordinates (each in [-1, 1]) are approximate values from
Russell & Mehrabian (1977) "Evidence for a three-factor theory of emotions" and Mehrabian's
PAD tables (joy, sadness, anger, fear, disgust, surprise, scorn for contempt). They drive the
prosody mapping (MaryTTS' activation/evaluation/power rules) and let people interpolate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from emoshift.errors import UnknownEmotionError


class Emotion(StrEnum):
    """The 8 emotion categories. Values are the canonical lower-case names."""

    ANGER = "anger"
    CONTEMPT = "contempt"
    DISGUST = "disgust"
    FEAR = "fear"
    HAPPINESS = "happiness"
    NEUTRAL = "neutral"
    SADNESS = "sadness"
    SURPRISE = "surprise"

    @property
    def vad(self) -> tuple[float, float, float]:
        """(valence, arousal, dominance), each in [-1, 1]."""
        return _VAD[self]

    @property
    def valence(self) -> float:
        return _VAD[self][0]

    @property
    def arousal(self) -> float:
        return _VAD[self][1]

    @property
    def adjective(self) -> str:
        """The word used in prompts: "happy", "sad", "angry"..."""
        return _ADJECTIVE[self]


ALL_EMOTIONS: tuple[Emotion, ...] = tuple(Emotion)
"""The 8 categories in alphabetical order (the order of every probability vector we emit)."""

FER7: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPINESS,
    Emotion.SADNESS,
    Emotion.SURPRISE,
    Emotion.NEUTRAL,
)
"""The 7 classes a face recogniser without contempt can report (the paper's FER set)."""

_VAD: dict[Emotion, tuple[float, float, float]] = {
    Emotion.ANGER: (-0.51, 0.59, 0.25),
    Emotion.CONTEMPT: (-0.55, 0.10, 0.55),
    Emotion.DISGUST: (-0.60, 0.35, 0.11),
    Emotion.FEAR: (-0.64, 0.60, -0.43),
    Emotion.HAPPINESS: (0.76, 0.48, 0.35),
    Emotion.NEUTRAL: (0.0, 0.0, 0.0),
    Emotion.SADNESS: (-0.63, -0.27, -0.33),
    Emotion.SURPRISE: (0.40, 0.67, -0.13),
}

_ADJECTIVE: dict[Emotion, str] = {
    Emotion.ANGER: "angry",
    Emotion.CONTEMPT: "contemptuous",
    Emotion.DISGUST: "disgusted",
    Emotion.FEAR: "afraid",
    Emotion.HAPPINESS: "happy",
    Emotion.NEUTRAL: "neutral",
    Emotion.SADNESS: "sad",
    Emotion.SURPRISE: "surprised",
}

ALIASES: dict[str, Emotion] = {}
_ALIAS_WORDS: dict[Emotion, tuple[str, ...]] = {
    Emotion.ANGER: (
        "anger",
        "angry",
        "angrily",
        "mad",
        "furious",
        "fury",
        "rage",
        "enraged",
        "irate",
        "annoyed",
        "irritated",
        "cross",
        "livid",
        "outraged",
        "hostile",
        "ang",
    ),
    Emotion.CONTEMPT: (
        "contempt",
        "contemptuous",
        "scorn",
        "scornful",
        "disdain",
        "disdainful",
        "smug",
        "sneering",
        "condescending",
        "dismissive",
        "sarcastic",
        "con",
    ),
    Emotion.DISGUST: (
        "disgust",
        "disgusted",
        "disgusting",
        "revolted",
        "repulsed",
        "grossed out",
        "gross",
        "nauseated",
        "sickened",
        "appalled",
        "dis",
    ),
    Emotion.FEAR: (
        "fear",
        "fearful",
        "afraid",
        "scared",
        "frightened",
        "terrified",
        "anxious",
        "nervous",
        "worried",
        "panicked",
        "panicky",
        "alarmed",
        "horrified",
        "fea",
    ),
    Emotion.HAPPINESS: (
        "happiness",
        "happy",
        "joy",
        "joyful",
        "joyous",
        "glad",
        "cheerful",
        "delighted",
        "elated",
        "excited",
        "thrilled",
        "ecstatic",
        "pleased",
        "content",
        "smiling",
        "jolly",
        "hap",
        "happily",
    ),
    Emotion.NEUTRAL: (
        "neutral",
        "calm",
        "flat",
        "unemotional",
        "matter-of-fact",
        "plain",
        "none",
        "emotionless",
        "deadpan",
        "neu",
    ),
    Emotion.SADNESS: (
        "sadness",
        "sad",
        "unhappy",
        "sorrow",
        "sorrowful",
        "depressed",
        "gloomy",
        "melancholy",
        "melancholic",
        "miserable",
        "down",
        "heartbroken",
        "grief",
        "grieving",
        "upset",
        "downcast",
        "sadly",
        "sa",
    ),
    Emotion.SURPRISE: (
        "surprise",
        "surprised",
        "amazed",
        "astonished",
        "shocked",
        "astounded",
        "stunned",
        "startled",
        "sur",
    ),
}
for _emo, _words in _ALIAS_WORDS.items():
    for _w in _words:
        ALIASES[_w] = _emo


# Abbreviations and ambiguous words: accepted only as the whole input ("sa", "down"), never
# inside a prompt ("calm down" is not sadness).
_WHOLE_ONLY = frozenset(
    {
        "ang",
        "con",
        "dis",
        "fea",
        "hap",
        "neu",
        "sa",
        "sur",
        "down",
        "content",
        "cross",
        "plain",
        "none",
        "upset",
        "flat",
    }
)


def valid_names() -> str:
    """A human-readable list of the accepted names, for error messages."""
    return (
        ", ".join(e.value for e in ALL_EMOTIONS)
        + " (or aliases such as happy, sad, angry, scared, surprised)"
    )


def to_emotion(name: str | Emotion) -> Emotion:
    """Resolve a category name or alias (case-insensitive) to an :class:`Emotion`.

    Raises :class:`UnknownEmotionError` listing the valid names.
    """
    if isinstance(name, Emotion):
        return name
    key = str(name).strip().lower().replace("_", " ")
    if key in ALIASES:
        return ALIASES[key]
    raise UnknownEmotionError(f"unknown emotion {name!r}; valid: {valid_names()}")


@dataclass(frozen=True)
class EmotionSpec:
    """A target emotion with an intensity, optionally a mixture.

    Attributes:
        label: the dominant category.
        intensity: 0 (no change from the source) .. 1 (the strongest rendition). For
            ``neutral`` it is how completely the source's own expression is removed.
        mixture: optional weights per category (non-negative, summing to 1) for blends
            such as "happy and surprised"; empty means ``{label: 1}``.
    """

    label: Emotion
    intensity: float = 0.7
    mixture: Mapping[Emotion, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", to_emotion(self.label))
        if not 0.0 <= float(self.intensity) <= 1.0:
            from emoshift.errors import ConfigError

            raise ConfigError(f"intensity must be in [0, 1], got {self.intensity}")
        object.__setattr__(self, "intensity", float(self.intensity))
        if self.mixture:
            mix = {to_emotion(k): float(v) for k, v in self.mixture.items() if float(v) > 0}
            total = sum(mix.values())
            if total <= 0:
                from emoshift.errors import ConfigError

                raise ConfigError("mixture weights must have a positive sum")
            object.__setattr__(self, "mixture", {k: v / total for k, v in mix.items()})

    @property
    def weights(self) -> dict[Emotion, float]:
        """Mixture weights, always non-empty and summing to 1."""
        return dict(self.mixture) if self.mixture else {self.label: 1.0}

    @property
    def vad(self) -> tuple[float, float, float]:
        """Intensity-scaled (valence, arousal, dominance) of the (mixed) target."""
        v = a = d = 0.0
        for emo, w in self.weights.items():
            ev, ea, ed = emo.vad
            v, a, d = v + w * ev, a + w * ea, d + w * ed
        k = self.intensity
        return (v * k, a * k, d * k)

    @property
    def intensifier_count(self) -> int:
        """How many "very"s the paper's prompt would use for this intensity (0..3)."""
        return min(3, max(0, round((self.intensity - 0.55) / 0.15)))

    def prompt(self) -> str:
        """The paper's prompt P for this target: "Make this text very very very happy"."""
        if self.label is Emotion.NEUTRAL:
            return "Make this text neutral"
        very = "very " * self.intensifier_count
        return f"Make this text {very}{self.label.adjective}"

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label.value,
            "intensity": self.intensity,
            "mixture": {k.value: v for k, v in self.mixture.items()},
        }

    def __str__(self) -> str:
        if self.mixture:
            mix = "+".join(f"{k.value}:{v:.2f}" for k, v in self.mixture.items())
            return f"{mix}@{self.intensity:.2f}"
        return f"{self.label.value}@{self.intensity:.2f}"


# --- prompt parsing ----------------------------------------------------------------------------
_INTENSIFIERS: dict[str, float] = {
    "very": 1.0,
    "really": 1.0,
    "so": 1.0,
    "truly": 1.0,
    "deeply": 1.0,
    "quite": 0.5,
    "extremely": 2.0,
    "incredibly": 2.0,
    "super": 1.5,
    "utterly": 2.0,
    "totally": 1.5,
    "completely": 1.5,
    "absolutely": 2.0,
    "hugely": 1.5,
    "terribly": 1.5,
    "intensely": 2.0,
    "most": 1.5,
    "more": 0.5,
}
_DIMINISHERS: dict[str, float] = {
    "slightly": 0.3,
    "somewhat": 0.4,
    "mildly": 0.3,
    "little": 0.3,
    "bit": 0.3,
    "tad": 0.3,
    "touch": 0.3,
    "faintly": 0.2,
    "barely": 0.15,
    "kinda": 0.4,
    "rather": 0.5,
    "fairly": 0.5,
}
_NUMBER = re.compile(r"(?:intensity\s*(?:=|:|of)?\s*)?(\d+(?:\.\d+)?)\s*(%)?")
_STOP = {
    "make",
    "this",
    "the",
    "text",
    "it",
    "sound",
    "look",
    "more",
    "a",
    "an",
    "and",
    "be",
    "feel",
    "with",
    "at",
    "to",
    "in",
    "very",
    "me",
    "please",
    "speech",
    "voice",
    "face",
}


def intensity_from_modifiers(boost: float, dampen: float | None) -> float:
    """Map a count of intensifiers (or a diminisher strength) to an intensity in [0, 1].

    No modifier -> 0.55; each "very" adds 0.15 up to 1.0 (the paper's "very very very" = 1.0);
    a diminisher ("slightly") gives its own level instead.
    """
    if dampen is not None:
        return dampen
    return float(min(1.0, 0.55 + 0.15 * boost))


def parse_emotion(text: str | Emotion | EmotionSpec, intensity: float | None = None) -> EmotionSpec:
    """Parse an emotion name or a free prompt into an :class:`EmotionSpec`.

    Accepts "happy", "very very sad", "slightly angry", "happy:0.4", "fear 80%",
    "Make this text very very very happy", "happy and surprised" (a 50/50 mixture, primary
    first). An explicit ``intensity`` argument overrides anything in the text.

    Raises :class:`UnknownEmotionError` (listing the valid names) if no emotion is found.
    """
    if isinstance(text, EmotionSpec):
        return text if intensity is None else EmotionSpec(text.label, intensity, text.mixture)
    if isinstance(text, Emotion):
        return EmotionSpec(text, 0.7 if intensity is None else intensity)
    raw = str(text).strip()
    if not raw:
        raise UnknownEmotionError(f"empty emotion; valid: {valid_names()}")
    low = raw.lower()
    explicit: float | None = None
    m = (
        re.search(r"[:@]\s*(\d+(?:\.\d+)?)\s*(%)?\s*$", low)
        or re.search(r"(?:intensity\s*(?:=|:|of)?\s*)(\d+(?:\.\d+)?)\s*(%)?", low)
        or re.search(r"\b(\d+(?:\.\d+)?)\s*(%)", low)
    )
    if m:
        val = float(m.group(1))
        explicit = val / 100.0 if (m.group(2) or val > 1.0) else val
        low = low[: m.start()] + " " + low[m.end() :]
    tokens = re.findall(r"[a-z][a-z\-']*", low)
    found: list[Emotion] = []
    boost = 0.0
    dampen: float | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        two = f"{tok} {tokens[i + 1]}" if i + 1 < len(tokens) else ""
        if two in ALIASES:
            emo = ALIASES[two]
            if emo not in found:
                found.append(emo)
            i += 2
            continue
        if tok in _INTENSIFIERS and not found:
            boost += _INTENSIFIERS[tok]
        elif tok in _DIMINISHERS and not found:
            dampen = _DIMINISHERS[tok] if dampen is None else min(dampen, _DIMINISHERS[tok])
        elif tok in ALIASES and (tok not in _WHOLE_ONLY or tok == raw.lower().strip()):
            emo = ALIASES[tok]
            if emo not in found:
                found.append(emo)
        i += 1
    if not found:
        raise UnknownEmotionError(
            f"unknown emotion {text!r} (no emotion word in it); valid: {valid_names()}"
        )
    level = intensity if intensity is not None else explicit
    if level is None and found == [Emotion.NEUTRAL] and boost == 0 and dampen is None:
        level = 1.0  # plain "neutral": remove the source's expression completely
    if level is None:
        level = intensity_from_modifiers(boost, dampen)
    level = max(0.0, min(1.0, float(level)))
    mixture = {found[0]: 0.5, found[1]: 0.5} if len(found) >= 2 else {}
    return EmotionSpec(found[0], level, mixture)
