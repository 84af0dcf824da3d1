"""Render a share of a video's frames in a forked child process.

The per-frame work of the animator (mesh warp, mouth, shading) is numpy and OpenCV driven by
Python, so it holds the GIL for much of each frame and threads do not speed it up. A forked
child inherits everything the frame function needs (the face model, warp, donor mouth...)
without pickling, renders its frames and hands them back through a ring of frame slots in
shared memory; the parent renders the other frames and encodes all of them in order. On
two cores this takes the animation from ~1.4 to ~2 cores busy.

Only on platforms with ``fork``; the child touches only numpy, OpenCV and the video decoder
(never the ONNX / TFLite models the parent may hold).
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing as mp
import os
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from emoshift.errors import EmoshiftError

RenderFn = Callable[[int, np.ndarray], tuple[np.ndarray, int]]
"""(output frame number, source frame (H, W, 3) uint8) -> (image (H, W, 3) uint8, folds)."""


class RenderWorkerError(EmoshiftError):
    """The render child process failed or died."""


def fork_available() -> bool:
    return "fork" in mp.get_all_start_methods() and (os.cpu_count() or 1) >= 2


def default_workers() -> int:
    """Render processes to use when not configured: ``$EMOSHIFT_RENDER_WORKERS`` if set (the
    experiment runner sets 1 in each of its worker processes), else 2 where ``fork`` exists
    and there are two cores, else 1."""
    env = os.environ.get("EMOSHIFT_RENDER_WORKERS", "").strip()
    if env.isdigit() and int(env) >= 1:
        return min(int(env), 2)
    return 2 if fork_available() else 1


class ForkedRenderer:
    """Frames ``jobs`` (output frame numbers, in order) rendered by ``render`` in a child.

    ``frames`` is called *in the child* and yields the source frame for each job. Use as a
    context manager; :meth:`get` returns the next job's image (blocking), in job order.
    ``slots`` frames of (H, W, 3) uint8 are shared (the child waits when all are full)."""

    def __init__(
        self,
        render: RenderFn,
        jobs: Sequence[int],
        frames: Callable[[], Iterable[np.ndarray]],
        shape_hw: tuple[int, int],
        *,
        slots: int = 6,
        timeout: float = 120.0,
    ) -> None:
        h, w = shape_hw
        self.shape = (h, w, 3)
        self.jobs = list(jobs)
        self.slots = max(1, min(int(slots), len(self.jobs) or 1))
        self.timeout = float(timeout)
        self._nbytes = h * w * 3
        self._buf = mmap.mmap(-1, self.slots * self._nbytes)  # shared with the child
        self._err = mmap.mmap(-1, 4096)
        ctx = mp.get_context("fork")
        self._free = ctx.Semaphore(self.slots)
        self._ready = ctx.Semaphore(0)
        self._folds = ctx.Value("i", 0, lock=False)
        self._taken = 0
        self._proc = ctx.Process(target=self._child, args=(render, frames), daemon=True)

    def _child(self, render: RenderFn, frames: Callable[[], Iterable[np.ndarray]]) -> None:
        view = np.frombuffer(self._buf, np.uint8).reshape(self.slots, *self.shape)
        try:
            folds = 0
            it = iter(frames())
            for k, j in enumerate(self.jobs):
                img, f = render(j, next(it))
                folds = max(folds, int(f))
                self._free.acquire()
                view[k % self.slots] = img
                self._ready.release()
            self._folds.value = folds
        except BaseException:
            msg = traceback.format_exc(limit=6).encode("utf-8", "replace")[-4000:]
            self._err.seek(0)
            self._err.write(len(msg).to_bytes(4, "little") + msg)
            self._ready.release()
            os._exit(1)

    def __enter__(self) -> ForkedRenderer:
        self._proc.start()
        return self

    def get(self) -> np.ndarray:
        """The next job's image (a copy), in job order."""
        waited = 0.0
        while not self._ready.acquire(timeout=1.0):
            waited += 1.0
            if not self._proc.is_alive() and not self._ready.acquire(timeout=0.1):
                self._raise("the render process ended early")
            if waited > self.timeout:
                self._raise(f"no frame from the render process in {self.timeout:.0f} s")
        self._check_error()
        view = np.frombuffer(self._buf, np.uint8).reshape(self.slots, *self.shape)
        img = view[self._taken % self.slots].copy()
        self._taken += 1
        self._free.release()
        return img

    @property
    def max_folds(self) -> int:
        """Most folded triangles in a child frame (valid after the last :meth:`get`)."""
        self._proc.join(timeout=self.timeout)
        return int(self._folds.value)

    def _check_error(self) -> None:
        n = int.from_bytes(self._err[:4], "little")
        if n:
            self._raise(self._err[4 : 4 + n].decode("utf-8", "replace"))

    def _raise(self, why: str) -> None:
        n = int.from_bytes(self._err[:4], "little")
        detail = self._err[4 : 4 + n].decode("utf-8", "replace") if n else why
        raise RenderWorkerError(f"rendering frames in a child process failed: {detail}")

    def __exit__(self, *exc: Any) -> None:
        if self._proc.is_alive():
            if exc[0] is not None:
                self._proc.terminate()
            self._proc.join(timeout=5.0)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(timeout=5.0)
        with contextlib.suppress(Exception):
            self._buf.close()
            self._err.close()
