"""Text emotion recogniser: real committed weights, real MiniLM, hand-written sentences, dev data."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.emotion import ALL_EMOTIONS, Emotion
from emoshift.recognize.base import EmotionProbs
from emoshift.recognize.text import (
    GOEMOTIONS_EKMAN,
    WEIGHTS,
    TextEmotionRecognizer,
    TextEmotionWeights,
    cue_counts,
    ekman_ids,
    evaluate_labels,
    load_text_recognizer,
    read_goemotions_ekman,
)

# Hand-written sentences, clearly of one emotion each (not from GoEmotions).
HAND: dict[Emotion, tuple[str, ...]] = {
    Emotion.HAPPINESS: (
        "I'm so happy, this is the best day of my life!",
        "We won the championship and I couldn't be prouder of the team.",
        "Thank you so much, I love this gift!",
    ),
    Emotion.SADNESS: (
        "I miss her so much, I can't stop crying.",
        "My dog died last night and the house feels empty.",
        "I feel so lonely since everyone moved away.",
    ),
    Emotion.ANGER: (
        "I am furious that they lied to me again!",
        "Stop interrupting me, you are so rude and annoying!",
        "This is outrageous, I'm sick of being ignored by these idiots!",
    ),
    Emotion.FEAR: (
        "I'm terrified that something bad will happen tonight.",
        "I'm scared to walk home alone in the dark.",
        "I'm so nervous and afraid about the surgery tomorrow.",
    ),
    Emotion.DISGUST: (
        "Eww, there's a hair in my soup. Gross.",
        "That smell is disgusting, it makes me want to vomit.",
        "Yuck, the fridge is full of rotten, slimy food.",
    ),
    Emotion.SURPRISE: (
        "No way, you got married?!",
        "Wow, I did not expect that at all!",
        "I can't believe it, he actually showed up!",
    ),
    Emotion.NEUTRAL: (
        "The meeting starts at nine in the conference room.",
        "Please send me the report by Friday.",
        "The train to Leeds leaves from platform four.",
    ),
}
PLAIN = "The meeting starts at nine in the conference room."


@pytest.fixture(scope="session")
def ter() -> TextEmotionRecognizer:
    return load_text_recognizer()


def test_labels_shapes_and_rows_sum_to_one(ter: TextEmotionRecognizer) -> None:
    assert ter.labels == ALL_EMOTIONS
    probs = ter.predict(["Hello.", "I hate this!", ""])
    assert isinstance(probs, EmotionProbs)
    assert probs.p.shape == (3, 8) and probs.p.dtype == np.float32
    np.testing.assert_allclose(probs.p.sum(1), 1.0, atol=1e-5)
    assert (probs.p >= 0).all()
    assert ter.predict([]).p.shape == (0, 8)
    assert ter.predict("one text").p.shape == (1, 8)
    assert "emoshift-ter" in ter.licence_keys and "goemotions" in ter.licence_keys
    assert load_text_recognizer() is ter  # cached


def test_weights_are_plain_arrays() -> None:
    with np.load(WEIGHTS, allow_pickle=False) as z:
        assert "w0" in z.files and "meta" in z.files
    w = TextEmotionWeights.load(WEIGHTS)
    assert w.layers[-1][0].shape[1] == len(GOEMOTIONS_EKMAN)


@pytest.mark.parametrize("emotion", list(HAND), ids=lambda e: e.value)
def test_hand_written_sentences(ter: TextEmotionRecognizer, emotion: Emotion) -> None:
    got = ter.label(list(HAND[emotion]))
    assert got == [emotion] * len(HAND[emotion]), list(zip(HAND[emotion], got))


def test_punctuation_alone_does_not_make_an_emotion(ter: TextEmotionRecognizer) -> None:
    variants = [PLAIN, PLAIN[:-1] + "!", PLAIN[:-1] + "!!!", PLAIN.upper()]
    probs = ter.predict(variants)
    assert probs.top_labels() == [Emotion.NEUTRAL] * len(variants)


@pytest.mark.parametrize(
    ("prefix", "emotion"),
    [
        ("Wow, ", Emotion.SURPRISE),
        ("Yay! ", Emotion.HAPPINESS),
        ("Oh no, ", Emotion.FEAR),
        ("Ugh, ", Emotion.DISGUST),
        ("Sadly, ", Emotion.SADNESS),
        ("Damn it, ", Emotion.ANGER),
    ],
)
def test_interjections_move_towards_their_emotion(
    ter: TextEmotionRecognizer, prefix: str, emotion: Emotion
) -> None:
    base, marked = ter.predict([PLAIN, prefix + PLAIN[0].lower() + PLAIN[1:]]).column(emotion)
    assert marked > base + 0.05, (prefix, base, marked)


def test_contempt_only_from_its_markers(ter: TextEmotionRecognizer) -> None:
    probs = ter.predict([PLAIN, "Pfft, how pathetic. Amateurs, the lot of them."])
    c = probs.column(Emotion.CONTEMPT)
    assert c[0] == 0.0
    assert probs.top_labels()[1] is Emotion.CONTEMPT
    assert cue_counts("Pfft. Whatever.")["contempt"] == 2


def test_evaluate_labels_hand_computed() -> None:
    # gold: [a], [b], [a, b], [c]; predictions: a, a, b, contempt(-1)
    rep = evaluate_labels([0, 0, 1, -1], [(0,), (1,), (0, 1), (2,)], k=3)
    # any_gold references: a, b, b, c -> class a: tp 1, fp 1, fn 0 -> F1 2/3;
    # b: tp 1, fp 0, fn 1 -> 2/3; c: 0 -> macro 4/9
    assert rep["any_gold"]["macro_f1"] == pytest.approx(4 / 9)
    assert rep["any_gold"]["accuracy"] == pytest.approx(0.5)
    assert rep["single_label"]["n"] == 3
    assert rep["any_gold"]["confusion"][2] == [0, 0, 0, 1]


def test_dev_sample_macro_f1(ter: TextEmotionRecognizer, shared_data) -> None:
    """First 400 dev rows: a quick check that the model is the trained one (full figure in the
    benchmark; the target there is 0.50)."""
    texts, gold = read_goemotions_ekman(shared_data / "goemotions_ekman" / "dev.tsv")
    texts, gold = texts[:400], gold[:400]
    rep = evaluate_labels(ekman_ids(ter.predict(texts)), gold, 7)
    assert rep["any_gold"]["macro_f1"] > 0.45
    assert rep["any_gold"]["accuracy"] > 0.6
