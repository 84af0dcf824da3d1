"""EDD exactly as defined in DESIGN.md: smoothing, AUROC with ties as 1/2, symmetry."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from emoshift.emotion import FER7, Emotion
from emoshift.errors import ConfigError
from emoshift.metrics.edd import (
    auroc,
    average_ranks,
    edd,
    edd_from_scores,
    edd_per_class,
    moving_average,
)


def brute_edd(o: np.ndarray, g: np.ndarray) -> float:
    """P(original > generated) + P(tie) / 2 by enumerating every pair."""
    total = 0.0
    for a, b in itertools.product(o, g):
        total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(o) * len(g))


def test_moving_average_hand_computed() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(moving_average(x, 3), [1.5, 2.0, 3.0, 4.0, 4.5])
    np.testing.assert_allclose(moving_average(x, 1), x)
    # even window: frame t averages t-0 .. t+1 (centred as far as possible)
    np.testing.assert_allclose(moving_average(np.array([1.0, 2.0, 3.0]), 2), [1.5, 2.5, 3.0])
    # window longer than the clip: every frame is the mean of all available frames in reach
    np.testing.assert_allclose(moving_average(np.array([0.0, 1.0]), 9), [0.5, 0.5])


def test_moving_average_edges_unbiased_and_nan_aware() -> None:
    const = np.full((7, 3), 0.25)
    np.testing.assert_allclose(moving_average(const, 5), const)  # no zero-padding dip at the edges
    x = np.array([1.0, np.nan, 3.0, np.nan, np.nan, np.nan, 8.0])
    y = moving_average(x, 3)
    np.testing.assert_allclose(y[:3], [1.0, 2.0, 3.0])
    assert np.isnan(y[4])  # its whole window has no face
    assert y[5] == 8.0
    with pytest.raises(ConfigError):
        moving_average(x, 0)


def test_auroc_hand_computed_with_ties() -> None:
    # pairs (pos > neg): 0.35>0.1, 0.8>0.1, 0.8>0.4 -> 3 of 4
    assert auroc(np.array([0.1, 0.4]), np.array([0.35, 0.8])) == pytest.approx(0.75)
    assert auroc(np.array([0.5]), np.array([0.5])) == pytest.approx(0.5)
    # pos 0.5 vs neg {0.2, 0.5}: 1 + 1/2 over 2 pairs
    assert auroc(np.array([0.2, 0.5]), np.array([0.5])) == pytest.approx(0.75)
    assert auroc(np.array([0.0, 0.0, 0.0]), np.array([0.0, 0.0])) == pytest.approx(0.5)
    with pytest.raises(ConfigError):
        auroc(np.array([]), np.array([0.3]))
    with pytest.raises(ConfigError):
        auroc(np.array([np.nan]), np.array([0.3]))


def test_edd_extremes_and_tiny_inputs() -> None:
    lo = np.array([[0.1], [0.2]])
    hi = np.array([[0.3], [0.4], [0.9]])
    assert edd(lo, hi, 0, window=1) == 0.0  # every generated frame shows the target more
    assert edd(hi, lo, 0, window=1) == 1.0  # the target went down everywhere
    assert edd(np.array([[0.4]]), np.array([[0.4]]), 0, window=1) == 0.5
    assert edd(np.array([[0.3]]), np.array([[0.7]]), 0, window=1) == 0.0


def test_edd_identity_and_antisymmetry_explicit() -> None:
    rng = np.random.default_rng(3)
    a = np.round(rng.random((40, 7)), 1)  # rounding creates many ties
    b = np.round(rng.random((25, 7)), 1)
    for w in (1, 5, 15):
        for col in range(7):
            assert edd(a, a, col, window=w) == pytest.approx(0.5, abs=1e-12)
            assert edd(a, b, col, window=w) + edd(b, a, col, window=w) == pytest.approx(
                1.0, abs=1e-12
            )


def test_edd_matches_pairwise_definition_after_smoothing() -> None:
    rng = np.random.default_rng(7)
    o = np.round(rng.random((30, 7)), 2)
    g = np.round(rng.random((17, 7)) * 0.8 + 0.1, 2)
    for col, w in ((0, 1), (3, 4), (6, 9)):
        so = moving_average(o[:, col], w)
        sg = moving_average(g[:, col], w)
        assert edd(o, g, col, window=w) == pytest.approx(brute_edd(so, sg), abs=1e-12)


def test_edd_by_emotion_name_and_per_class_table() -> None:
    rng = np.random.default_rng(11)
    o = rng.dirichlet(np.ones(7), size=50)
    g = rng.dirichlet(np.ones(7), size=60)
    table = edd_per_class(o, g, FER7, window=5)
    assert list(table) == list(FER7)
    for i, emo in enumerate(FER7):
        assert table[emo] == pytest.approx(edd(o, g, i, window=5), abs=1e-12)
        assert edd(o, g, emo.value, labels=FER7, window=5) == pytest.approx(table[emo], abs=1e-12)
    assert edd(o, g, "happy", labels=FER7, window=5) == pytest.approx(table[Emotion.HAPPINESS])
    with pytest.raises(ConfigError):
        edd(o, g, "contempt", labels=FER7)  # the FER has no contempt column
    with pytest.raises(ConfigError):
        edd(o, g, "happy")  # no labels: the column is unknown


def test_edd_ignores_frames_without_a_face() -> None:
    o = np.array([[0.1], [np.nan], [0.2]])
    g = np.array([[0.6], [0.7], [np.nan]])
    assert edd(o, g, 0, window=1) == 0.0
    assert edd_from_scores(np.array([0.5, np.nan]), np.array([0.5])) == 0.5
    with pytest.raises(ConfigError):
        edd(np.full((3, 1), np.nan), g, 0, window=1)
    with pytest.raises(ConfigError):
        edd(np.zeros((3, 7)), np.zeros((3, 6)), 0)


def test_average_ranks_match_scipy() -> None:
    from scipy.stats import rankdata

    np.testing.assert_array_equal(
        average_ranks(np.array([0.3, 0.1, 0.3, 0.2])), [3.5, 1.0, 3.5, 2.0]
    )
    x = np.round(np.random.default_rng(5).random(500), 2)
    np.testing.assert_array_equal(average_ranks(x), rankdata(x, method="average"))
    assert average_ranks(np.array([])).size == 0
