"""Progress bars for long work, on stderr, only when a person is watching.

Disabled when stderr is not a terminal or ``EMOSHIFT_PROGRESS=0``; forced on with ``=1``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def enabled() -> bool:
    flag = os.environ.get("EMOSHIFT_PROGRESS")
    if flag is not None:
        return flag not in ("0", "false", "no", "")
    return sys.stderr.isatty()


def progress(
    items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it"
) -> Iterator[T]:
    """Wrap ``items`` in a tqdm bar when enabled; otherwise yield them unchanged."""
    if not enabled():
        yield from items
        return
    from tqdm import tqdm

    yield from tqdm(
        items, total=total, desc=desc, unit=unit, leave=False, file=sys.stderr, dynamic_ncols=True
    )
