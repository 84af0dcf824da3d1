"""Safe output writing: atomic files and folders, never overwrite an input, clear errors for
unwritable destinations. I/O helpers only; no emotion logic here."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from emoshift.errors import OutputError

_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK
"""Mode of files we write (mkstemp would leave them 0600, unreadable to others)."""


def sha256_file(path: str | Path, limit: int | None = None) -> str:
    """Hex SHA-256 of a file (of its first ``limit`` bytes if given)."""
    h = hashlib.sha256()
    left = limit
    with open(path, "rb") as f:
        while True:
            n = 1 << 22 if left is None else min(1 << 22, left)
            if n <= 0:
                break
            chunk = f.read(n)
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


def check_output_path(out: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Validate an output file path before any work starts.

    Raises :class:`OutputError` if ``out`` is one of ``inputs`` (never overwrite an input), if
    its folder cannot be created, or if it is not writable.
    """
    out = Path(out).expanduser()
    for inp in inputs:
        ip = Path(inp).expanduser()
        if ip.exists() and out.exists() and os.path.samefile(ip, out):
            raise OutputError(f"refusing to overwrite the input {ip}; choose another output path")
        if ip.resolve() == out.resolve():
            raise OutputError(f"refusing to overwrite the input {ip}; choose another output path")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {parent}: {exc.strerror}") from None
    _probe_writable(parent, "output folder")
    if out.is_dir():
        raise OutputError(f"output path {out} is a folder; give a file name")
    return out


def check_output_dir(path: str | Path) -> Path:
    """Create (if needed) and check a writable output folder; raise :class:`OutputError`."""
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder {p}: {exc.strerror}") from None
    _probe_writable(p, "folder")
    return p


def _probe_writable(folder: Path, what: str) -> None:
    """Create and delete a file in ``folder`` (permission bits lie to root and on read-only
    mounts, so try it); raise :class:`OutputError` if that fails."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".emoshift-probe.", dir=folder)
    except OSError as exc:
        raise OutputError(f"{what} {folder} is not writable ({exc.strerror})") from None
    os.close(fd)
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(dest: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success it replaces ``dest`` atomically.

    On an exception the temporary file is removed and ``dest`` is untouched. The temporary
    keeps ``dest``'s extension (or ``suffix``) so format-sniffing writers still work.
    """
    dest = Path(dest)
    ext = suffix if suffix is not None else dest.suffix
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".part{ext}", dir=dest.parent)
    except OSError as exc:
        raise OutputError(f"cannot write in {dest.parent}: {exc.strerror}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, FILE_MODE)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text_atomic(dest: str | Path, text: str) -> Path:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(dest)


def write_json_atomic(dest: str | Path, obj: Any) -> Path:
    return write_text_atomic(
        dest, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
    )


def copy_atomic(src: str | Path, dest: str | Path) -> Path:
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dest)
