"""MiniLM sentence embeddings (numpy forward pass over the packaged weights)."""

from __future__ import annotations

import numpy as np
import pytest

from emoshift.recognize.embeddings import DIM, MAX_TOKENS, embed, load_minilm, similarity

# First 6 components of sentence-transformers' own embeddings of these sentences (computed once
# with SentenceTransformer(model_dir()).encode(..., normalize_embeddings=True), torch 2.13).
REFERENCE = {
    "The quick brown fox jumps over the lazy dog.": [
        0.04393, 0.05893, 0.04818, 0.07755, 0.02674, -0.03763,
    ],
    "I can't believe it's already Friday!": [
        -0.05330, -0.07099, 0.05578, -0.06238, 0.02856, -0.01340,
    ],
}  # fmt: skip


def test_embed_shape_dtype_and_norm() -> None:
    e = embed(["Hello there.", "A second, slightly longer sentence about trains.", ""])
    assert e.shape == (3, DIM)
    assert e.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert embed([]).shape == (0, DIM)
    assert embed("one text").shape == (1, DIM)


def test_matches_sentence_transformers_reference() -> None:
    texts = list(REFERENCE)
    e = embed(texts)
    np.testing.assert_allclose(e[:, :6], np.array(list(REFERENCE.values())), atol=1e-3)


def test_batching_and_order_do_not_change_results() -> None:
    texts = ["short", "a much longer sentence with many more word pieces in it, really", "mid one"]
    together = embed(texts)
    alone = np.stack([embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    small_batches = load_minilm().encode(texts, batch_tokens=8)
    np.testing.assert_allclose(together, small_batches, atol=1e-5)


def test_long_text_is_truncated_not_rejected() -> None:
    long = "word " * (MAX_TOKENS * 2)
    assert len(load_minilm().tokenize([long])[0]) == MAX_TOKENS
    assert np.isfinite(embed([long])).all()


def test_similarity_ranks_paraphrase_above_unrelated() -> None:
    s = similarity(
        ["A man is playing a guitar.", "A man is playing a guitar.", "The train leaves at nine."],
        ["Someone plays an instrument.", "The stock market fell sharply today.",
         "Wow, the train leaves at nine!"],
    )  # fmt: skip
    assert s.shape == (3,) and s.dtype == np.float32
    assert s[0] > s[1] + 0.2
    assert s[2] > 0.7  # an emotional rewrite keeps the meaning
    assert similarity(["same"], ["same"])[0] == pytest.approx(1.0, abs=1e-5)


def test_similarity_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="equal length"):
        similarity(["a", "b"], ["a"])
