import pytest

from emoshift.emotion import ALL_EMOTIONS, Emotion, EmotionSpec, parse_emotion, to_emotion
from emoshift.errors import ConfigError, UnknownEmotionError


def test_eight_categories_and_aliases():
    assert len(ALL_EMOTIONS) == 8
    assert to_emotion("happy") is Emotion.HAPPINESS
    assert to_emotion("Joy") is Emotion.HAPPINESS
    assert to_emotion("angry") is Emotion.ANGER
    assert to_emotion("scared") is Emotion.FEAR
    assert to_emotion("surprised") is Emotion.SURPRISE
    assert to_emotion("sad") is Emotion.SADNESS
    assert to_emotion("contemptuous") is Emotion.CONTEMPT


def test_unknown_emotion_lists_valid_ones():
    with pytest.raises(UnknownEmotionError) as err:
        to_emotion("hungry")
    assert "happiness" in str(err.value) and "sadness" in str(err.value)
    with pytest.raises(UnknownEmotionError):
        parse_emotion("make it purple")


def test_paper_prompt_intensifiers_raise_intensity():
    levels = [
        parse_emotion(p).intensity
        for p in (
            "Make this text happy",
            "Make this text very happy",
            "Make this text very very happy",
            "Make this text very very very happy",
        )
    ]
    assert levels == sorted(levels) and len(set(levels)) == 4
    assert levels[-1] == 1.0
    assert parse_emotion("Make this text very very very happy").label is Emotion.HAPPINESS
    assert parse_emotion("slightly sad").intensity < parse_emotion("sad").intensity


def test_explicit_intensity_forms():
    assert parse_emotion("happy:0.4").intensity == pytest.approx(0.4)
    assert parse_emotion("fear 80%").intensity == pytest.approx(0.8)
    assert parse_emotion("very sad", intensity=0.2).intensity == pytest.approx(0.2)


def test_mixture_and_prompt_roundtrip():
    spec = parse_emotion("happy and surprised")
    assert spec.label is Emotion.HAPPINESS
    assert spec.weights == {Emotion.HAPPINESS: 0.5, Emotion.SURPRISE: 0.5}
    spec = EmotionSpec(Emotion.SADNESS, 1.0)
    assert spec.prompt() == "Make this text very very very sad"
    assert parse_emotion(spec.prompt()).intensity == 1.0


def test_intensity_range_checked():
    with pytest.raises(ConfigError):
        EmotionSpec(Emotion.ANGER, 1.5)


def test_valence_arousal_signs():
    assert Emotion.HAPPINESS.valence > 0 > Emotion.SADNESS.valence
    assert Emotion.ANGER.arousal > 0 > Emotion.SADNESS.arousal
    v, a, _ = EmotionSpec(Emotion.HAPPINESS, 0.5).vad
    assert a == pytest.approx(0.24)
    assert v == pytest.approx(0.38)


def test_plain_neutral_is_full_relaxation():
    assert parse_emotion("neutral").intensity == 1.0
    assert parse_emotion("slightly neutral").intensity < 1.0
    assert parse_emotion("neutral", intensity=0.3).intensity == pytest.approx(0.3)
