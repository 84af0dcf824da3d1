import numpy as np
import pytest

from emoshift.errors import EmptyMediaError, NotMediaError
from emoshift.media import read_image, write_image


def test_png_roundtrip_is_exact(tmp_path):
    img = (np.arange(30 * 20 * 3) % 251).astype(np.uint8).reshape(30, 20, 3)
    path = write_image(tmp_path / "x.png", img)
    assert np.array_equal(read_image(path), img)


def test_bad_images(tmp_path):
    txt = tmp_path / "a.png"
    txt.write_text("not an image")
    with pytest.raises(NotMediaError):
        read_image(txt)
    empty = tmp_path / "b.png"
    empty.write_bytes(b"")
    with pytest.raises(EmptyMediaError):
        read_image(empty)
    with pytest.raises(NotMediaError):
        read_image(tmp_path / "missing.png")
