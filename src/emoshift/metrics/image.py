"""Image quality: PSNR, SSIM (scikit-image) and CPBD (no-reference sharpness), written here.

CPBD is the Cumulative Probability of Blur Detection of Narvekar & Karam, "A No-Reference
Image Blur Metric Based on the Cumulative Probability of Blur Detection (CPBD)", IEEE TIP
20(9), 2011. The `cpbd` pip package is broken on current SciPy, so this is a vectorised
re-implementation of the published algorithm (see docs/metrics.md):

1. Grey image in [0, 255]. Vertical edges by a horizontal Sobel derivative, thresholded at
   MATLAB's automatic level (``sqrt(4 * mean(g^2))``) and thinned to horizontal local maxima
   of ``|g|`` (what ``edge(I, 'sobel', 'vertical')`` does); these give edge widths.
2. Edge width at each such pixel (Marziliano et al. 2002): along the row, the distance between
   the local intensity extrema on either side of the edge (the start and end of the monotone
   run through it), in pixels.
3. The image is cut into 64x64 blocks; a block is an *edge block* if more than 0.2% of its
   pixels are Canny edges. For each edge pixel of an edge block, the probability of detecting
   blur is ``P = 1 - exp(-(w / w_JNB) ** 3.6)``, with the just-noticeable-blur width
   ``w_JNB = 5`` if the block's contrast (max - min) is <= 50 and 3 otherwise.
4. CPBD = the fraction of those edges whose P (rounded to a percent) is <= 63% (P_JNB), in
   [0, 1]; higher = sharper.
"""

from __future__ import annotations

import numpy as np

from emoshift.errors import ConfigError

CPBD_BLOCK = 64
CPBD_BETA = 3.6
CPBD_EDGE_BLOCK_FRACTION = 0.002
CPBD_P_JNB = 0.63
CPBD_MAX_HALF_WIDTH = 101
"""Each side of an edge is followed for at most this many pixels (as the reference code)."""


def to_gray(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) RGB uint8/float in [0, 255] -> (H, W) float64 luma (BT.601) in [0, 255]
    (rounded to integers for uint8 input, as an 8-bit grey image)."""
    a = np.asarray(image)
    if a.ndim == 2:
        return a.astype(np.float64)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        if a.dtype == np.uint8:
            import cv2

            # OpenCV's BT.601 conversion, rounded to 8 bits as an 8-bit grey image would be
            return cv2.cvtColor(np.ascontiguousarray(a[..., :3]), cv2.COLOR_RGB2GRAY).astype(
                np.float64
            )
        rgb = a[..., :3].astype(np.float64)
        return rgb @ np.array([0.299, 0.587, 0.114])
    raise ConfigError(f"expected an (H, W) or (H, W, 3) image, got shape {a.shape}")


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of ``test`` against ``reference`` (same shape).

    Images uint8 (or float on the same scale as ``data_range``). Identical images give +inf.
    """
    a = np.asarray(reference, dtype=np.float64)
    b = np.asarray(test, dtype=np.float64)
    if a.shape != b.shape:
        raise ConfigError(f"PSNR needs images of the same shape, got {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(data_range**2 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, gray: bool = True) -> float:
    """Structural similarity (Wang et al. 2004) via scikit-image, in [-1, 1] (1 = identical).

    Args:
        reference, test: (H, W, 3) RGB uint8 images of the same shape (or (H, W) grey).
        gray: compare the BT.601 luma (default, the usual choice for video quality and ~3x
            faster) rather than the three colour channels averaged.
    """
    from skimage.metrics import structural_similarity

    a = np.asarray(reference)
    b = np.asarray(test)
    if a.shape != b.shape:
        raise ConfigError(f"SSIM needs images of the same shape, got {a.shape} and {b.shape}")
    if gray or a.ndim == 2:
        return float(structural_similarity(to_gray(a), to_gray(b), data_range=255.0))
    return float(
        structural_similarity(
            a.astype(np.float64), b.astype(np.float64), data_range=255.0, channel_axis=-1
        )
    )


# --- CPBD -----------------------------------------------------------------------------------
def sobel_vertical_edges(gray: np.ndarray) -> np.ndarray:
    """Thin vertical edges: (H, W) bool where |horizontal Sobel derivative| exceeds
    ``sqrt(4 * mean(g^2))`` and is a local maximum along the row (MATLAB's 'sobel',
    'vertical' rule). Border pixels are never edges."""
    import cv2

    g = cv2.Sobel(
        np.asarray(gray, dtype=np.float32),
        cv2.CV_32F,
        1,
        0,
        ksize=3,
        borderType=cv2.BORDER_REPLICATE,
    )
    mag = g.astype(np.float64) ** 2
    thresh = 4.0 * float(mag.mean())
    if thresh <= 0:
        return np.zeros(gray.shape, dtype=bool)
    edges = mag > thresh
    left = np.pad(mag[:, :-1], ((0, 0), (1, 0)), constant_values=np.inf)
    right = np.pad(mag[:, 1:], ((0, 0), (0, 1)), constant_values=np.inf)
    edges &= (mag >= left) & (mag >= right)
    edges[:, [0, -1]] = False
    edges[[0, -1], :] = False
    return edges


def canny_edges_matlab(gray: np.ndarray) -> np.ndarray:
    """Canny edges with MATLAB's ``edge(I, 'canny')`` defaults (what the CPBD authors used):
    Gaussian sigma sqrt(2), high threshold at the 70th percentile of the gradient magnitude,
    low threshold 0.4x the high one. (H, W) float in [0, 255] -> (H, W) bool. Uses OpenCV's
    hysteresis (a few ms per frame)."""
    import cv2

    blurred = cv2.GaussianBlur(
        gray.astype(np.float32), (0, 0), sigmaX=np.sqrt(2.0), borderType=cv2.BORDER_REPLICATE
    )
    dx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REPLICATE)
    dy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REPLICATE)
    mag = np.hypot(dx, dy)
    flat = mag.ravel()
    k = int(0.7 * (flat.size - 1))
    high = float(np.partition(flat, k)[k])
    if high <= 0:
        return np.zeros(gray.shape, dtype=bool)
    # OpenCV's Canny takes int16 derivatives: scale so the largest fits with headroom.
    scale = min(16.0, 30000.0 / max(float(np.abs(dx).max()), float(np.abs(dy).max()), 1e-6))
    dxi = np.round(dx * scale).astype(np.int16)
    dyi = np.round(dy * scale).astype(np.int16)
    edges = cv2.Canny(dxi, dyi, 0.4 * high * scale, high * scale, L2gradient=True)
    return edges > 0


def _runs(steps: np.ndarray, rows: np.ndarray, start: np.ndarray, right: bool) -> np.ndarray:
    """Length of the run of True in ``steps`` (H, W-1) beginning at column ``start`` of ``rows``
    and going right (or ending there going left); 0 where ``start`` is outside the row."""
    h, n = steps.shape
    padded = np.ones((h, n + 1), dtype=bool)  # a sentinel break closes every row
    padded[:, :n] = ~steps
    breaks = np.flatnonzero(padded)
    inside = (start >= 0) & (start < n)
    k = rows * (n + 1) + np.clip(start, 0, n - 1)
    if right:
        nxt = breaks[np.searchsorted(breaks, k, side="left")]
        run = nxt - k
    else:
        pos = np.searchsorted(breaks, k, side="right") - 1
        prev = np.where(pos >= 0, breaks[np.maximum(pos, 0)], -1)
        run = k - prev
    return np.where(inside, run, 0)


def edge_widths(gray: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Marziliano edge widths (pixels) at edge pixels, 0 elsewhere.

    At an edge pixel (r, c) whose intensity rises to the right (quantised gradient angle 0),
    the width is the distance from the local minimum on its left to the local maximum on its
    right: ``(1 + number of rising steps from c+1 rightwards) + (1 + number of rising steps
    from c-1 leftwards)``, each side capped at :data:`CPBD_MAX_HALF_WIDTH`; mirrored for
    falling edges (angle 180). Pixels whose gradient is not horizontal after quantising the
    angle to 45 degrees get 0 (not measured), as in the reference method.

    Args:
        gray: (H, W) float image; edges: (H, W) bool.
    Returns:
        (H, W) float64 widths.
    """
    h, w = gray.shape
    out = np.zeros((h, w))
    rows, cols = np.nonzero(edges)
    if w < 4 or rows.size == 0:
        return out
    # Central differences at the edge pixels only (np.gradient's rule inside the image).
    r0, r1 = np.clip(rows - 1, 0, h - 1), np.clip(rows + 1, 0, h - 1)
    c0, c1 = np.clip(cols - 1, 0, w - 1), np.clip(cols + 1, 0, w - 1)
    gx = (gray[rows, c1] - gray[rows, c0]) / np.maximum(c1 - c0, 1)
    gy = (gray[r1, cols] - gray[r0, cols]) / np.maximum(r1 - r0, 1)
    q = 45.0 * np.round(np.degrees(np.arctan2(gy, gx)) / 45.0)
    rising = q == 0
    falling = np.abs(q) == 180
    d = np.diff(gray, axis=1)  # d[:, k] = I[k+1] - I[k]
    cap = CPBD_MAX_HALF_WIDTH - 1
    for sel, steps in ((rising, d > 0), (falling, d < 0)):
        if not sel.any():
            continue
        rr, cc = rows[sel], cols[sel]
        right = np.minimum(_runs(steps, rr, cc + 1, right=True), cap)
        left = np.minimum(_runs(steps, rr, cc - 2, right=False), cap)
        out[rr, cc] = (1 + right) + (1 + left)
    return out


def cpbd(image: np.ndarray) -> float:
    """Cumulative probability of blur detection (Narvekar & Karam 2011), in [0, 1], higher =
    sharper. NaN if the image has no edge block (e.g. a flat image).

    Args:
        image: (H, W, 3) RGB uint8 or (H, W) grey in [0, 255].
    """
    gray = to_gray(image)
    h, w = gray.shape
    canny_edges = canny_edges_matlab(gray)
    widths = edge_widths(gray, sobel_vertical_edges(gray))
    nby, nbx = h // CPBD_BLOCK, w // CPBD_BLOCK
    if nby == 0 or nbx == 0:
        return float("nan")
    hh, ww = nby * CPBD_BLOCK, nbx * CPBD_BLOCK

    def blocks(a: np.ndarray) -> np.ndarray:
        return (
            a[:hh, :ww]
            .reshape(nby, CPBD_BLOCK, nbx, CPBD_BLOCK)
            .transpose(0, 2, 1, 3)
            .reshape(nby * nbx, CPBD_BLOCK * CPBD_BLOCK)
        )

    gb, cb, wb = blocks(gray), blocks(canny_edges), blocks(widths)
    edge_block = cb.sum(axis=1) > CPBD_EDGE_BLOCK_FRACTION * CPBD_BLOCK * CPBD_BLOCK
    contrast = gb.max(axis=1) - gb.min(axis=1)
    jnb = np.where(contrast <= 50, 5.0, 3.0)
    w_sel = np.where(edge_block[:, None] & (wb > 0), wb, 0.0)
    mask = w_sel > 0
    if not mask.any():
        return float("nan")
    p_blur = 1.0 - np.exp(-(np.abs(w_sel / jnb[:, None]) ** CPBD_BETA))
    pct = np.round(p_blur[mask] * 100.0)
    return float(np.mean(pct <= CPBD_P_JNB * 100))


def cpbd_video(frames: np.ndarray | list[np.ndarray]) -> float:
    """Mean CPBD over frames ((T, H, W, 3) uint8 or a list of images); NaN frames skipped."""
    vals = np.array([cpbd(f) for f in frames], dtype=np.float64)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
