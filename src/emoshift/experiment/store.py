"""The experiment folder: one folder per item, results written atomically, resume state.

Layout::

    OUT/
      experiment.json            the plan (config, videos, item ids)
      manifest.json              the last run: executor, workers, wall time, per-item timings,
                                 counts, versions, licences (written by the runner)
      items/<video>/<emotion>/<arm>/
        result.json              written atomically when the item completes (last of all)
        error.json               the error and traceback when it failed
        output.mp4 | output.wav  what the arm produced
        evaluation.json, ...     the arm's evaluation files
      runs/<video>/<emotion>/    the pipeline run folder shared by the arms of that group
      report/                    report.md, report.html, figures, CSVs

An item is **complete** when its ``result.json`` exists and holds the item's config hash: a
resumed run skips it. Anything else (no result, an ``error.json``, a result made with other
settings) is run again. Writing ``result.json`` with :func:`~emoshift.fileio.write_json_atomic`
(temporary file + rename) makes a crash at any moment leave either the old state or the new one,
never a half-written result.
"""

from __future__ import annotations

import fcntl
import json
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from emoshift.errors import EmoshiftError, OutputError
from emoshift.experiment.plan import Item
from emoshift.fileio import check_output_dir, write_json_atomic

RESULT = "result.json"
ERROR = "error.json"
PLAN = "experiment.json"
MANIFEST = "manifest.json"


class ExperimentStore:
    """Read and write the experiment folder ``root`` (created if needed)."""

    def __init__(self, root: str | Path) -> None:
        self.root = check_output_dir(root)
        self._lock_fd: int | None = None

    # -- folders ----------------------------------------------------------------------------
    def item_dir(self, item: Item, create: bool = False) -> Path:
        d = self.root / "items" / item.id
        if create:
            d.mkdir(parents=True, exist_ok=True)
        return d

    def run_dir(self, item: Item) -> Path:
        """The pipeline run folder shared by the arms of ``item``'s group."""
        return self.root / "runs" / item.group

    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    # -- state ------------------------------------------------------------------------------
    def load_result(self, item: Item) -> dict[str, Any] | None:
        """The stored result of ``item`` if it is complete for the item's config hash."""
        return _read_json(self.item_dir(item) / RESULT, item.config_hash)

    def load_error(self, item: Item) -> dict[str, Any] | None:
        return _read_json(self.item_dir(item) / ERROR, None)

    def is_complete(self, item: Item) -> bool:
        return self.load_result(item) is not None

    def write_result(self, item: Item, result: dict[str, Any]) -> Path:
        """Store ``item``'s result (atomically) and clear an earlier error."""
        d = self.item_dir(item, create=True)
        payload = {**result, "item": item.to_dict(), "config_hash": item.config_hash}
        payload["status"] = "partial" if result.get("errors") else "done"
        path = write_json_atomic(d / RESULT, payload)
        (d / ERROR).unlink(missing_ok=True)
        return path

    def write_error(
        self, item: Item, exc: BaseException, extra: dict[str, Any] | None = None
    ) -> Path:
        """Record that ``item`` failed: error type, message, traceback; removes a stale result."""
        d = self.item_dir(item, create=True)
        (d / RESULT).unlink(missing_ok=True)
        payload = {
            "item": item.to_dict(),
            "config_hash": item.config_hash,
            "status": "failed",
            "error_type": type(exc).__name__,
            "user_error": isinstance(exc, EmoshiftError),
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
            **(extra or {}),
        }
        return write_json_atomic(d / ERROR, payload)

    def write_error_record(self, item: Item, record: dict[str, Any]) -> Path:
        """Store an error record made elsewhere (e.g. by a Ray worker on another machine)."""
        d = self.item_dir(item, create=True)
        (d / RESULT).unlink(missing_ok=True)
        return write_json_atomic(d / ERROR, record)

    def iter_records(self) -> Iterator[dict[str, Any]]:
        """Every stored result and error record (whatever its config hash), items sorted."""
        base = self.root / "items"
        if not base.is_dir():
            return
        for path in sorted(base.glob("*/*/*/")):
            for name in (RESULT, ERROR):
                rec = _read_json(path / name, None)
                if rec is not None:
                    yield rec
                    break

    # -- plan and manifest --------------------------------------------------------------------
    def write_plan(self, plan_dict: dict[str, Any]) -> Path:
        return write_json_atomic(self.root / PLAN, plan_dict)

    def load_plan(self) -> dict[str, Any] | None:
        return _read_json(self.root / PLAN, None)

    def write_manifest(self, manifest: dict[str, Any]) -> Path:
        return write_json_atomic(self.root / MANIFEST, manifest)

    # -- one runner at a time -----------------------------------------------------------------
    def lock(self) -> None:
        """Take an exclusive lock on the folder (released by :meth:`unlock` or at exit).

        Raises:
            OutputError: if another experiment run holds it.
        """
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise OutputError(
                f"another `emoshift experiment` is running in {self.root}; wait for it to end "
                "or choose another --out folder"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def _read_json(path: Path, config_hash: str | None) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None if absent, unreadable, or made for another hash."""
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict):
        return None
    if config_hash is not None and rec.get("config_hash") != config_hash:
        return None
    return rec
