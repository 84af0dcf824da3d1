"""Frechet distance between two sets of feature vectors (the formula of FID), on features of a
network that is actually available here.

FID proper is the Frechet distance of Inception-v3 pool features; no Inception weights can be
had offline, so emoshift does not report "FID". :func:`frechet_distance` is the general
formula; :mod:`emoshift.evaluate` applies it to the FER network's 128-d penultimate features
of the face crops and names the result **FFD-FER** (Frechet FER-feature distance). Its scale
is not comparable with FID values in papers.

    d^2 = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)
"""

from __future__ import annotations

import numpy as np

from emoshift.errors import ConfigError


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and covariance (D, D) (unbiased, float64) of (N, D) features; NaN rows dropped."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"expected (N, D) features, got shape {x.shape}")
    x = x[np.isfinite(x).all(axis=1)]
    if x.shape[0] < 2:
        raise ConfigError("a Frechet distance needs at least 2 feature vectors per set")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _sqrt_psd(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_from_stats(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Frechet distance d^2 between N(mu_a, cov_a) and N(mu_b, cov_b) (>= 0).

    The trace of the matrix square root is computed from the eigenvalues of the symmetric
    matrix ``cov_a^1/2 cov_b cov_a^1/2`` (stable for the rank-deficient covariances of short
    clips, unlike ``scipy.linalg.sqrtm`` of the non-symmetric product).
    """
    mu_a, mu_b = np.atleast_1d(mu_a), np.atleast_1d(mu_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    if mu_a.shape != mu_b.shape or cov_a.shape != cov_b.shape:
        raise ConfigError("the two feature sets have different dimensions")
    sa = _sqrt_psd(cov_a)
    m = sa @ cov_b @ sa
    tr_sqrt = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2.0), 0.0, None)).sum())
    diff = mu_a - mu_b
    d2 = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * tr_sqrt)
    return max(d2, 0.0)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between feature sets a (N, D) and b (M, D), NaN rows ignored.

    Identical sets give 0 (up to rounding). Needs N, M >= 2; with N or M <= D the covariance
    estimates are rank-deficient and the value is noisy: compare like with like (same clip
    lengths) and do not compare it with published FID numbers.
    """
    mu_a, ca = gaussian_stats(a)
    mu_b, cb = gaussian_stats(b)
    return frechet_from_stats(mu_a, ca, mu_b, cb)
