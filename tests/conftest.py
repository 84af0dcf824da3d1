"""Shared fixtures. Real media come from ../shared (skipped cleanly when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("EMOSHIFT_PROGRESS", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOSHIFT_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Stage caches of the tests go to a temp folder; assembled models stay in the user cache."""
    os.environ.setdefault("EMOSHIFT_CACHE", str(Path.home() / ".cache" / "emoshift"))


@pytest.fixture(scope="session")
def shared_media() -> Path:
    path = SHARED / "media"
    if not path.is_dir():
        pytest.skip(f"real test media not available ({path} is absent)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(f"labelled data not available ({path} is absent)")
    return path


@pytest.fixture(scope="session")
def talk_clip(shared_media: Path) -> Path:
    """A real talking-person clip (6.1 s, 700x700, 30 fps, with speech)."""
    return shared_media / "talk_man_office.mp4"
