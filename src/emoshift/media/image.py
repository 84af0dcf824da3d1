"""Still images: read any PNG/JPEG/WebP/BMP/TIFF as (H, W, 3) uint8 RGB; write PNG/JPEG atomically."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emoshift.errors import EmptyMediaError, NotMediaError
from emoshift.fileio import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB. Grey and alpha images are converted. Raises NotMediaError."""
    path = Path(path)
    if not path.is_file():
        raise NotMediaError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise EmptyMediaError(f"{path}: the file is empty")
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise NotMediaError(f"{path}: not an image OpenCV can read (PNG, JPEG, WebP, BMP, TIFF)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def write_image(path: str | Path, image: np.ndarray, quality: int = 95) -> Path:
    """Write an (H, W, 3) uint8 RGB image (format from the suffix; PNG if none) atomically."""
    path = Path(path)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    suffix = path.suffix.lower() or ".png"
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if suffix in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(suffix, cv2.cvtColor(image, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"cannot encode {suffix} images")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())
    return path
