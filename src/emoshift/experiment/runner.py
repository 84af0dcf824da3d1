"""Run an experiment plan: every item produced, recognised, evaluated and stored, in parallel.

Executors (all run the same :func:`run_group` on groups of items, see
:mod:`emoshift.experiment.plan`):

* ``serial`` - in this process, one group after the other (debugging, tests).
* ``process`` - a :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes
  (spawned, so no model state is forked). Each worker loads the models once (the loaders cache
  them per process) and keeps them for every group it runs.
* ``ray`` - one Ray task per group on an existing cluster (``address``, e.g. ``"auto"`` or
  ``"ray://head:10001"``) or on a local Ray instance started for the run. Workers must see the
  same ``--out`` folder (a shared file system) and have emoshift installed; results are also
  returned to the driver, which stores any that did not reach its file system.

Failure isolation: an exception in an item is written to its ``error.json`` (type, message,
traceback) and the next item runs. A worker process that dies takes only its group down: its
items without a stored record get an ``error.json`` saying so. ``resume=True`` skips items
whose ``result.json`` matches their config hash; everything else runs again (the pipeline's
stage cache makes re-running a finished arm cheap).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from emoshift.emotion import FER7
from emoshift.errors import ConfigError, OutputError
from emoshift.experiment.plan import ARM_OPTIONS, ExperimentConfig, Item, Plan, make_plan
from emoshift.experiment.store import ExperimentStore

log = logging.getLogger(__name__)

Executor = Literal["serial", "process", "ray"]
EXECUTORS: tuple[str, ...] = ("process", "ray", "serial")
AUDIO_SR = 16000
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


@dataclass(frozen=True)
class RunnerOptions:
    """How to run a plan.

    Attributes:
        executor: "process", "ray" or "serial".
        workers: parallel workers (processes, or Ray CPUs of a local instance).
        address: Ray cluster address (None: start a local instance for the run).
        resume: skip items already complete in the folder; without it the folder must not
            hold results of an earlier run.
        threads: math threads per worker (None: cores // workers, at least 1).
        report: write the report when the run ends.
    """

    executor: str = "process"
    workers: int = 2
    address: str | None = None
    resume: bool = False
    threads: int | None = None
    report: bool = True

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.executor!r}; choose {', '.join(EXECUTORS)}")
        if self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        if self.address and self.executor != "ray":
            raise ConfigError("--address is for --executor ray")

    def worker_threads(self) -> int:
        if self.threads is not None:
            return max(1, int(self.threads))
        return max(1, (os.cpu_count() or 1) // self.workers)


@dataclass
class Outcome:
    """What happened to one item in this run: ``status`` is "done", "partial" (stored, but a
    recogniser or evaluation part failed: retried on resume), "failed" or "skipped" (already
    complete, not run)."""

    id: str
    status: str
    seconds: float = 0.0
    message: str = ""
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    """The whole run: outcomes in completion order, wall seconds, where things are."""

    root: Path
    outcomes: list[Outcome]
    wall_seconds: float
    executor: str
    workers: int
    report: dict[str, Path] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def computed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status != "skipped"]

    @property
    def median_item_seconds(self) -> float | None:
        secs = [o.seconds for o in self.computed if o.status in ("done", "partial")]
        return statistics.median(secs) if secs else None

    def text(self) -> str:
        med = self.median_item_seconds
        lines = [
            f"experiment folder: {self.root}",
            f"items: {len(self.outcomes)} (done {self.count('done')}, partial "
            f"{self.count('partial')}, failed {self.count('failed')}, skipped as complete "
            f"{self.count('skipped')})",
            f"wall time: {self.wall_seconds:.1f} s with {self.executor} x {self.workers}"
            + (f"; per-item median {med:.1f} s" if med is not None else ""),
        ]
        for o in self.outcomes:
            if o.status == "failed":
                lines.append(f"  FAILED {o.id}: {o.message}")
        for k in ("markdown", "html"):
            if k in self.report:
                lines.append(f"report ({k}): {self.report[k]}")
        return "\n".join(lines)


# --- one item ---------------------------------------------------------------------------------
def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if np.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, Path):
        return str(x)
    return x


def _probs_record(labels: Sequence[Any], p: Any) -> dict[str, Any]:
    import numpy as np

    row = np.atleast_2d(np.asarray(p, dtype=np.float64))[0]
    probs = {str(getattr(e, "value", e)): round(float(v), 5) for e, v in zip(labels, row)}
    return {"probs": probs, "top": max(probs, key=lambda k: probs[k])}


def _text_emotion(text: str) -> dict[str, Any]:
    from emoshift.recognize.text import load_text_recognizer

    ter = load_text_recognizer()
    return {"text": text, **_probs_record(ter.labels, ter.predict([text]).p)}


def _speech_emotion(path: Path, n_classes: int) -> dict[str, Any]:
    from emoshift.media import read_audio
    from emoshift.recognize.speech import load_speech_recognizer

    ser = load_speech_recognizer(n_classes=n_classes)
    audio = read_audio(path, sr=AUDIO_SR)
    res = ser.predict(audio, AUDIO_SR)
    return {"file": str(path), "classes": n_classes, **_probs_record(res.labels, res.p)}


def _stills_fer(stills: Sequence[Path]) -> list[dict[str, Any]]:
    """FER on each emotional still and on the source frame it was made from
    (``still_K_frameI.png`` beside ``source_K_frameI.png``)."""
    from emoshift.errors import NoFaceError
    from emoshift.media.image import read_image
    from emoshift.recognize.face import load_face_recognizer

    fer = load_face_recognizer()
    out = []
    for still in stills:
        rec: dict[str, Any] = {"still": str(still)}
        src = still.with_name(still.name.replace("still_", "source_", 1))
        for key, path in (("still_fer", still), ("source_fer", src)):
            if not path.is_file():
                rec[key] = None
                continue
            try:
                rec[key] = _probs_record(fer.labels, fer.predict_image(read_image(path)).p)
            except NoFaceError:
                rec[key] = None
        out.append(rec)
    return out


def run_item(
    item: Item, store: ExperimentStore, config: ExperimentConfig, eval_parallel: bool
) -> dict[str, Any]:
    """Produce, recognise and evaluate one item; return its result record (not stored here).

    Generation or evaluation errors propagate (the caller records them). Recogniser errors
    (e.g. a recogniser not installed) are kept in ``errors`` and make the item "partial".
    """
    from emoshift.fileio import copy_atomic

    t_item = time.perf_counter()
    d = store.item_dir(item, create=True)
    rec: dict[str, Any] = {
        "worker": {"pid": os.getpid(), "host": socket.gethostname()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "timings": {},
        "errors": {},
    }
    speech: Path | None = None
    text = ""
    output: Path | None
    if item.arm == "null":
        output = item.video.path
        rec["output"] = str(output)
    else:
        from emoshift.pipeline.eda import shift

        t0 = time.perf_counter()
        res = shift(
            item.video.path,
            item.emotion,
            d / ("output.wav" if item.arm == "speech_only" else "output.mp4"),
            intensity=config.intensity,
            run_dir=store.run_dir(item),
            seed=config.seed,
            **ARM_OPTIONS[item.arm],
        )
        rec["timings"]["shift"] = round(time.perf_counter() - t0, 3)
        rec["timings"]["shift_stages"] = {k: round(v, 3) for k, v in res.timings.items()}
        rec["cached_stages"] = dict(res.cached)
        output = res.output
        rec["output"] = (
            str(output.relative_to(store.root))
            if output.is_relative_to(store.root)
            else str(output)
        )
        rec["transcript"] = res.transcript
        rec["rewritten"] = res.rewritten
        speech, text = res.speech, res.rewritten
        if res.manifest.is_file():
            copy_atomic(res.manifest, d / "pipeline_manifest.json")
        if res.stills:
            t0 = time.perf_counter()
            try:
                rec["stills"] = _stills_fer(res.stills)
            except Exception as exc:  # recorded, the item goes on
                rec["errors"]["stills_fer"] = f"{type(exc).__name__}: {exc}"
            rec["timings"]["stills_fer"] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    if text:
        try:
            rec["text_emotion"] = _text_emotion(text)
        except Exception as exc:
            rec["errors"]["text_emotion"] = f"{type(exc).__name__}: {exc}"
    if speech is not None and speech.is_file():
        try:
            rec["speech_emotion"] = _speech_emotion(speech, config.ser_classes)
        except Exception as exc:
            rec["errors"]["speech_emotion"] = f"{type(exc).__name__}: {exc}"
    rec["timings"]["recognize"] = round(time.perf_counter() - t0, 3)

    if item.arm != "speech_only" and output is not None:
        if item.emotion not in FER7:
            rec["evaluation"] = {
                "skipped": f"the face recogniser has no {item.emotion.value} class: EDD cannot "
                "be measured for it"
            }
        else:
            from emoshift.evaluate import EvaluateConfig, write_report
            from emoshift.experiment.evaluation import evaluate_against_source

            kw: dict[str, Any] = {
                "quality_frames": config.quality_frames,
                "parallel": eval_parallel,
            }
            if config.window is not None:
                kw["window"] = config.window
            t0 = time.perf_counter()
            ev = evaluate_against_source(
                item.video.path, item.video.sha256, output, item.emotion, EvaluateConfig(**kw)
            )
            write_report(ev, d, stem="evaluation")
            rec["evaluation"] = {
                "metrics": _jsonable(ev.metrics),
                "fps": ev.fps,
                "window": ev.window,
                "file": "evaluation.json",
                "timings": ev.timings,
            }
            rec["timings"]["evaluate"] = round(time.perf_counter() - t0, 3)
    rec["seconds"] = round(time.perf_counter() - t_item, 3)
    rec["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if not rec["errors"]:
        del rec["errors"]
    return _jsonable(rec)


# --- a group of items in one worker -------------------------------------------------------------
_PARENT_PID: int | None = None


def _set_threads(threads: int) -> None:
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    # a worker on a one-core budget renders its videos in-process (no second render process)
    os.environ["EMOSHIFT_RENDER_WORKERS"] = str(max(1, min(2, threads)))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("EMOSHIFT_PROGRESS", "0")


def _preload(config: ExperimentConfig) -> None:
    """Load the recognisers the arms need once in this process (the loaders cache them)."""
    loaders: list[Callable[[], Any]] = []
    generators = any(a in ARM_OPTIONS for a in config.arms)
    try:
        if any(a != "speech_only" for a in config.arms):
            from emoshift.recognize.face import load_face_recognizer

            loaders.append(load_face_recognizer)
        if generators:
            from emoshift.recognize.text import load_text_recognizer

            loaders.append(load_text_recognizer)
            from emoshift.recognize.speech import load_speech_recognizer

            loaders.append(lambda: load_speech_recognizer(n_classes=config.ser_classes))
    except ImportError as exc:
        log.warning("a recogniser is not available: %s", exc)
    for load in loaders:
        try:
            load()
        except Exception as exc:  # the item that needs it records the error
            log.warning("preloading a recogniser failed: %s", exc)


def init_worker(threads: int, config: ExperimentConfig, parent_pid: int | None = None) -> None:
    """Process-pool initialiser: thread limits, then the models, once per worker."""
    global _PARENT_PID
    _PARENT_PID = parent_pid
    _set_threads(threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except ImportError:
        pass
    _preload(config)


def _orphaned() -> bool:
    return _PARENT_PID is not None and os.getppid() != _PARENT_PID


def run_group(
    root: str | Path, config: ExperimentConfig, items: Sequence[Item], eval_parallel: bool = True
) -> list[Outcome]:
    """Run ``items`` (one video and emotion, several arms) one after the other.

    Each item's result or error is stored in ``root`` as soon as it ends; an exception never
    leaves this function. Items already complete (e.g. stored by an earlier worker) are
    skipped. A worker whose parent runner died stops before the next item.
    """
    store = ExperimentStore(root)
    out: list[Outcome] = []
    for item in items:
        if _orphaned():
            break
        if store.is_complete(item):
            out.append(Outcome(item.id, "skipped"))
            continue
        t0 = time.perf_counter()
        try:
            rec = run_item(item, store, config, eval_parallel)
        except Exception as exc:
            seconds = time.perf_counter() - t0
            path = store.write_error(item, exc, {"seconds": round(seconds, 3)})
            err = store.load_error(item) or {}
            out.append(Outcome(item.id, "failed", seconds, f"{type(exc).__name__}: {exc}", err))
            log.info("%s failed: %s (%s)", item.id, exc, path)
            continue
        store.write_result(item, rec)
        status = "partial" if rec.get("errors") else "done"
        msg = "; ".join(f"{k}: {v}" for k, v in rec.get("errors", {}).items())
        stored = store.load_result(item) or rec
        out.append(Outcome(item.id, status, float(rec["seconds"]), msg, stored))
    return out


def _ray_group(
    root: str, config: ExperimentConfig, items: Sequence[Item], eval_parallel: bool, threads: int
) -> list[Outcome]:
    _set_threads(threads)
    _preload_once(config)
    return run_group(root, config, items, eval_parallel)


_PRELOADED: set[str] = set()


def _preload_once(config: ExperimentConfig) -> None:
    key = repr(config)
    if key not in _PRELOADED:
        _preload(config)
        _PRELOADED.add(key)


# --- executors ----------------------------------------------------------------------------------
OnOutcome = Callable[[Outcome, int, int], None]


def _print_outcome(o: Outcome, n_done: int, total: int) -> None:
    extra = ""
    ev = (o.record.get("evaluation") or {}).get("metrics") if o.record else None
    if ev and ev.get("edd") is not None:
        extra = f", EDD {ev['edd']:.3f}"
    msg = f" ({o.message})" if o.message else ""
    print(
        f"[{n_done}/{total}] {o.id}: {o.status} {o.seconds:.1f} s{extra}{msg}",
        file=sys.stderr,
        flush=True,
    )


def _run_serial(
    root: Path,
    config: ExperimentConfig,
    groups: list[list[Item]],
    opts: RunnerOptions,
    on: OnOutcome,
    total: int,
    done: list[Outcome],
) -> None:
    _set_threads(opts.worker_threads())
    for g in groups:
        for o in run_group(root, config, g, eval_parallel=True):
            done.append(o)
            on(o, len(done), total)


def _missing_records(store: ExperimentStore, items: Sequence[Item], why: str) -> list[Outcome]:
    """Error records for items of a group whose worker died before storing them."""
    out = []
    for it in items:
        if store.is_complete(it):
            continue
        err = store.load_error(it)
        if err is not None and err.get("config_hash") == it.config_hash:
            continue
        exc = RuntimeError(why)
        store.write_error(it, exc)
        out.append(Outcome(it.id, "failed", 0.0, why, store.load_error(it) or {}))
    return out


def _run_process(
    root: Path,
    config: ExperimentConfig,
    groups: list[list[Item]],
    opts: RunnerOptions,
    on: OnOutcome,
    total: int,
    done: list[Outcome],
) -> None:
    import multiprocessing

    store = ExperimentStore(root)
    ctx = multiprocessing.get_context("spawn")
    # spawned workers inherit the environment: limit their math threads before they import numpy
    saved = {v: os.environ.get(v) for v in _THREAD_VARS}
    for v in _THREAD_VARS:
        os.environ[v] = str(opts.worker_threads())
    eval_parallel = opts.workers == 1
    pool = ProcessPoolExecutor(
        max_workers=min(opts.workers, len(groups)) or 1,
        mp_context=ctx,
        initializer=init_worker,
        initargs=(opts.worker_threads(), config, os.getpid()),
    )
    futures: dict[Future[list[Outcome]], list[Item]] = {}
    try:
        for g in groups:
            futures[pool.submit(run_group, str(root), config, g, eval_parallel)] = g
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                g = futures[fut]
                try:
                    outs = fut.result()
                except Exception as exc:  # a worker died (killed, out of memory...)
                    why = (
                        f"the worker process running this group died ({type(exc).__name__}: {exc})"
                    )
                    outs = _missing_records(store, g, why)
                for o in outs:
                    done.append(o)
                    on(o, len(done), total)
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM) or a bug here: stop the workers now, not after their
        # current items (the executor forgets its processes on shutdown: take them first)
        procs = list((getattr(pool, "_processes", None) or {}).values())
        for proc in procs:
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.join(timeout=10)
        raise
    finally:
        for v, val in saved.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val
    pool.shutdown(wait=True)


def _run_ray(
    root: Path,
    config: ExperimentConfig,
    groups: list[list[Item]],
    opts: RunnerOptions,
    on: OnOutcome,
    total: int,
    done: list[Outcome],
) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs the ray package: pip install ray==2.60.0 (requirements/dev.txt)"
        ) from None
    store = ExperimentStore(root)
    started_here = not ray.is_initialized()
    if started_here:
        if opts.address:
            ray.init(address=opts.address, log_to_driver=False)
        else:
            ray.init(num_cpus=opts.workers, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_group)
        threads = opts.threads if opts.threads is not None else 1
        refs = {task.remote(str(root), config, g, False, threads): g for g in groups}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                g = refs[ref]
                try:
                    outs = ray.get(ref)
                except Exception as exc:  # RayTaskError, WorkerCrashedError...
                    why = f"the Ray task running this group failed ({type(exc).__name__}: {exc})"
                    outs = _missing_records(store, g, why)
                by_id = {it.id: it for it in g}
                for o in outs:
                    it = by_id.get(o.id)
                    # a worker on another machine stored its records there: store them here too
                    if it is not None and o.record and o.status in ("done", "partial"):
                        if not store.is_complete(it):
                            store.write_result(it, o.record)
                    elif it is not None and o.status == "failed" and store.load_error(it) is None:
                        store.write_error_record(it, o.record)
                    done.append(o)
                    on(o, len(done), total)
    except BaseException:
        for ref in list(refs) if "refs" in locals() else []:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()


_EXECUTORS = {"serial": _run_serial, "process": _run_process, "ray": _run_ray}


def _sigterm_to_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_plan(
    plan: Plan,
    root: str | Path,
    options: RunnerOptions = RunnerOptions(),
    on_outcome: OnOutcome | None = _print_outcome,
) -> RunSummary:
    """Run ``plan`` into the experiment folder ``root`` and write the manifest (and report).

    Raises:
        OutputError: if ``root`` holds results and ``options.resume`` is False, or another run
            holds the folder.
    """
    store = ExperimentStore(root)
    store.lock()
    old_handler = None
    try:
        if not options.resume and any(True for _ in store.iter_records()):
            raise OutputError(
                f"{store.root} already holds experiment results; add --resume to continue that "
                "experiment (finished items are kept), or choose an empty --out folder"
            )
        store.write_plan(plan.to_dict())
        on = on_outcome or (lambda o, n, t: None)
        outcomes: list[Outcome] = []
        todo: list[list[Item]] = []
        for g in plan.groups():
            rest = []
            for it in g:
                rec = store.load_result(it) if options.resume else None
                if rec is not None and not rec.get("errors"):
                    outcomes.append(
                        Outcome(it.id, "skipped", float(rec.get("seconds", 0.0)), "", rec)
                    )
                else:
                    rest.append(it)
            if rest:
                todo.append(rest)
        total = len(plan.items)
        for i, o in enumerate(outcomes):
            on(o, i + 1, total)
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        t0 = time.perf_counter()
        if hasattr(signal, "SIGTERM") and _in_main_thread():
            old_handler = signal.signal(signal.SIGTERM, _sigterm_to_interrupt)
        if todo:
            _EXECUTORS[options.executor](
                store.root, plan.config, todo, options, on, total, outcomes
            )
        wall = time.perf_counter() - t0
        workers = 1 if options.executor == "serial" else options.workers
        summary = RunSummary(store.root, outcomes, wall, options.executor, workers)
        store.write_manifest(_manifest(plan, options, summary, started))
        if options.report:
            from emoshift.experiment.report import write_report

            summary.report = write_report(store.root)
        return summary
    finally:
        if old_handler is not None:
            signal.signal(signal.SIGTERM, old_handler)
        store.unlock()


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _manifest(plan: Plan, opts: RunnerOptions, s: RunSummary, started: str) -> dict[str, Any]:
    from emoshift.licences import licences_for
    from emoshift.pipeline.runfolder import versions

    return {
        "emoshift_experiment": 1,
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": sys.argv,
        "executor": opts.executor,
        "workers": s.workers,
        "address": opts.address,
        "resume": opts.resume,
        "threads_per_worker": opts.worker_threads(),
        "wall_seconds": round(s.wall_seconds, 3),
        "median_item_seconds": s.median_item_seconds,
        "counts": {k: s.count(k) for k in ("done", "partial", "failed", "skipped")},
        "plan": plan.to_dict(),
        "items": {
            o.id: {
                "status": o.status,
                "seconds": round(o.seconds, 3),
                "message": o.message,
                "timings": (o.record or {}).get("timings", {}),
                "worker": (o.record or {}).get("worker"),
            }
            for o in s.outcomes
        },
        "versions": dict(versions()),
        "licences": licences_for(
            {
                "fer-mini-xception",
                "mediapipe-facemesh",
                "emoshift-ter",
                "emoshift-ser",
                "goemotions",
                "ravdess",
                "nrc-emolex",
                "vader",
                "minilm-l6-v2",
            }
        ),
    }


def run_experiment(
    videos: Sequence[str | Path],
    out: str | Path,
    config: ExperimentConfig | None = None,
    options: RunnerOptions = RunnerOptions(),
    on_outcome: OnOutcome | None = _print_outcome,
) -> RunSummary:
    """Python API of ``emoshift experiment``: plan ``videos`` x ``config.emotions`` x
    ``config.arms``, run every item with ``options.executor``, store results in ``out`` and
    write the report (``out/report/``)."""
    return run_plan(make_plan(videos, config or ExperimentConfig()), out, options, on_outcome)
