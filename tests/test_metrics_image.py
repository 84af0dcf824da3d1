"""PSNR, SSIM and CPBD on hand-computed and synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from emoshift.errors import ConfigError
from emoshift.metrics.image import cpbd, edge_widths, psnr, sobel_vertical_edges, ssim


def test_psnr_hand_computed() -> None:
    a = np.zeros((8, 8, 3), dtype=np.uint8)
    b = np.full((8, 8, 3), 10, dtype=np.uint8)
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / 100.0))  # MSE = 100 -> 28.13 dB
    assert psnr(a, a) == float("inf")
    with pytest.raises(ConfigError):
        psnr(a, b[:4])


def test_ssim_identity_and_order() -> None:
    from skimage import data

    img = data.astronaut()
    assert ssim(img, img) == pytest.approx(1.0)
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 20, img.shape), 0, 255).astype(
        np.uint8
    )
    noisier = np.clip(img + np.random.default_rng(1).normal(0, 60, img.shape), 0, 255).astype(
        np.uint8
    )
    assert 1.0 > ssim(img, noisy) > ssim(img, noisier)
    assert ssim(img, noisy, gray=False) < 1.0


def test_edge_width_of_a_ramp_is_its_length() -> None:
    # One row rising from 0 (col 2) to 200 (col 6): the edge at col 4 spans 6 - 2 = 4 pixels.
    row = np.array([0, 0, 0, 50, 100, 150, 200, 200, 200], dtype=np.float64)
    img = np.tile(row, (5, 1))
    edges = np.zeros_like(img, dtype=bool)
    edges[2, 4] = True
    assert edge_widths(img, edges)[2, 4] == 4.0
    # falling edge: mirrored ramp, same width
    edges_f = np.zeros_like(edges)
    edges_f[2, 4] = True
    assert edge_widths(np.tile(row[::-1], (5, 1)), edges_f)[2, 4] == 4.0
    # a step: 1 pixel each side of the edge pixel
    step = np.tile(np.array([0] * 16 + [255] * 16, dtype=np.float64), (5, 1))
    e = sobel_vertical_edges(step)
    w = edge_widths(step, e)
    assert e.any() and set(np.unique(w[e])) == {2.0}


def _bars(size: int = 256) -> np.ndarray:
    """Sparse 8-pixel bright bars every 32 columns on a dark ground (sparse, so the Sobel
    threshold of 4x the mean squared gradient keeps every bar edge)."""
    x = np.full(size, 20.0)
    for s in range(8, size, 32):
        x[s : s + 8] = 220.0
    return np.tile(x, (size, 1)).astype(np.uint8)


def test_cpbd_sharp_vs_blurred() -> None:
    sharp = _bars()
    assert cpbd(sharp) == pytest.approx(1.0)  # every edge is a 2-pixel step: below the JNB width
    blurred = np.round(gaussian_filter(sharp.astype(np.float64), 1.5)).astype(np.uint8)
    assert cpbd(blurred) == pytest.approx(0.0)  # every edge wider than 3 px -> P(blur) > 63%
    assert np.isnan(cpbd(np.full((128, 128), 100, dtype=np.uint8)))  # no edges at all


def test_cpbd_decreases_with_blur_on_a_photo() -> None:
    from skimage import data

    img = data.astronaut()
    vals = [cpbd(img)]
    for s in (0.7, 1.5):
        vals.append(
            cpbd(np.stack([gaussian_filter(img[..., c].astype(float), s) for c in range(3)], -1))
        )
    assert 0.2 < vals[0] <= 1.0
    assert vals[0] > vals[1] > vals[2]
