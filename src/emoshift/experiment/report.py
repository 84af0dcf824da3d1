"""The experiment report: the paper's Tables 1-4 and Figures 3-5 from the stored item results.

``write_report(OUT)`` reads ``OUT/items/*/*/*/result.json`` (and ``error.json``), then writes
into ``OUT/report/``:

* ``report.md`` - Markdown, figures as PNG files beside it;
* ``report.html`` - one self-contained page (figures embedded as base64 PNG, no external files);
* ``fig3_stills_fer.png``, ``fig4_animation_fer.png``, ``fig5_edd_curves.png``;
* a CSV of every number: ``items.csv`` (one row per item, every scalar), ``table1_text.csv``,
  ``table2_speech.csv``, ``table3_quality.csv``, ``table4_edd.csv``, ``edd_per_video.csv``,
  ``fer_stills.csv``, ``fer_animations.csv``, ``failures.csv``, ``timings.csv``.

Tables 1 and 2 score one text / one speech file per (video, emotion): every arm of a group
shares the group's rewritten text and new speech, so the first arm that has it counts
(speech_only, then eda, then anim_only). Means over videos skip items that failed.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emoshift.emotion import ALL_EMOTIONS, FER7, Emotion
from emoshift.experiment.plan import ARM_TITLES, ARMS
from emoshift.experiment.store import ExperimentStore
from emoshift.fileio import atomic_path, check_output_dir, write_text_atomic

PAPER_EDD: dict[str, dict[str, float]] = {
    "anim_only": {
        "anger": 0.3521,
        "contempt": 0.2497,
        "disgust": 0.0933,
        "fear": 0.0543,
        "happiness": 0.2503,
        "neutral": 0.3218,
        "sadness": 0.6032,
    },
    "eda": {
        "anger": 0.3168,
        "contempt": 0.1821,
        "disgust": 0.0984,
        "fear": 0.0103,
        "happiness": 0.0314,
        "neutral": 0.0294,
        "sadness": 0.6291,
    },
}
"""The paper's Table 4 (EDD, lower is better), measured with EmoFAN; ``anim_only`` is its
SadTalker row (see /work/shared/DESIGN.md)."""

PAPER_TEXT_ACCURACY = 0.97
PAPER_SPEECH_ACCURACY = 0.50
SER4: tuple[Emotion, ...] = (Emotion.ANGER, Emotion.HAPPINESS, Emotion.NEUTRAL, Emotion.SADNESS)
_SHARED_PREFERENCE = ("speech_only", "eda", "anim_only")
_VIDEO_ARMS = ("eda", "anim_only", "null")


# --- tables -------------------------------------------------------------------------------------
@dataclass
class Table:
    """A titled table rendered to Markdown, HTML and CSV. Cells are numbers, strings or None."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""
    digits: int = 4

    def _cell(self, v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            if not np.isfinite(v):
                return "inf" if v > 0 else "-"
            return f"{v:.{self.digits}f}"
        return str(v)

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        for r in self.rows:
            lines.append("| " + " | ".join(self._cell(v) for v in r) + " |")
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(self._cell(v))}</td>" for v in r) + "</tr>"
            for r in self.rows
        )
        note = f"<p class='note'>{html.escape(self.note)}</p>" if self.note else ""
        return (
            f"<h3>{html.escape(self.title)}</h3>{note}"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def write_csv(self, folder: Path) -> Path:
        dest = folder / f"{self.name}.csv"
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(self.columns)
        for r in self.rows:
            w.writerow(["" if v is None else v for v in r])
        return write_text_atomic(dest, buf.getvalue())


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _mean(values: Sequence[Any]) -> float | None:
    v = [float(x) for x in values if isinstance(x, (int, float)) and np.isfinite(float(x))]
    return float(np.mean(v)) if v else None


def _metrics(rec: dict[str, Any]) -> dict[str, Any]:
    return _get(rec, "evaluation", "metrics") or {}


@dataclass
class Records:
    """The stored records of an experiment, split by status."""

    done: list[dict[str, Any]]
    failed: list[dict[str, Any]]

    def by_arm(self, arm: str) -> list[dict[str, Any]]:
        return [r for r in self.done if r["item"]["arm"] == arm]

    def shared(self, key: str) -> list[dict[str, Any]]:
        """One record per (video, emotion) that holds ``key`` (text_emotion / speech_emotion)."""
        best: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        for r in self.done:
            if not r.get(key):
                continue
            it = r["item"]
            rank = _SHARED_PREFERENCE.index(it["arm"]) if it["arm"] in _SHARED_PREFERENCE else 9
            k = (it["video"]["key"], it["emotion"])
            if k not in best or rank < best[k][0]:
                best[k] = (rank, r)
        return [best[k][1] for k in sorted(best)]

    def emotions(self) -> list[str]:
        seen = {r["item"]["emotion"] for r in self.done + self.failed}
        return [e.value for e in ALL_EMOTIONS if e.value in seen]

    def arms(self) -> list[str]:
        seen = {r["item"]["arm"] for r in self.done + self.failed}
        return [a for a in ARMS if a in seen]


def load_records(root: str | Path) -> Records:
    store = ExperimentStore(root)
    done, failed = [], []
    for rec in store.iter_records():
        (done if rec.get("status") in ("done", "partial") else failed).append(rec)
    return Records(done, failed)


def _accuracy_table(
    recs: list[dict[str, Any]], key: str, classes: Sequence[Emotion], name: str, title: str,
    paper: float, note: str,
) -> Table:  # fmt: skip
    from emoshift.metrics.accuracy import accuracy_table

    pairs = [
        (r["item"]["emotion"], r[key]["top"])
        for r in recs
        if r["item"]["emotion"] in {e.value for e in classes}
    ]
    labels = [e.value for e in classes]
    cols = ["", *labels, "overall", "UA", "n"]
    t = Table(name, title, cols, note=note, digits=3)
    if not pairs:
        t.rows.append(["ours", *([None] * (len(labels) + 2)), 0])
    else:
        true = [p[0] for p in pairs]
        pred = [p[1] if p[1] in labels else f"other:{p[1]}" for p in pairs]
        other = sorted({p for p in pred if p not in labels})
        acc = accuracy_table(true, pred, labels=[*labels, *other])
        per = {lab: acc.per_class[i] for i, lab in enumerate(acc.labels)}
        t.rows.append(
            [
                "ours",
                *[_nan_none(per[lab]) for lab in labels],
                acc.overall,
                acc.unweighted,
                len(pairs),
            ]
        )
    t.rows.append(["paper", *([None] * len(labels)), paper, None, None])
    return t


def _nan_none(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _targets(r: Records, classes: Sequence[Emotion]) -> tuple[Emotion, ...]:
    """The classes that were targets in this experiment (all of ``classes`` if none was)."""
    present = set(r.emotions())
    return tuple(e for e in classes if e.value in present) or tuple(classes)


def table1(r: Records) -> Table:
    return _accuracy_table(
        r.shared("text_emotion"), "text_emotion", _targets(r, ALL_EMOTIONS), "table1_text",
        "Table 1: ETG text emotion accuracy (TER on the rewritten texts)", PAPER_TEXT_ACCURACY,
        "Share of rewritten texts whose most probable emotion (our TER: MiniLM + lexicon "
        "classifier, 8 classes) is the target. Paper: GPT-4 rewrites judged by XLM-Emo, "
        "overall figure only.",
    )  # fmt: skip


def table2(r: Records) -> Table:
    return _accuracy_table(
        r.shared("speech_emotion"), "speech_emotion", _targets(r, SER4), "table2_speech",
        "Table 2: ET2S speech emotion accuracy (SER, 4 classes, on the new speech)",
        PAPER_SPEECH_ACCURACY,
        "Targets anger, happiness, neutral, sadness only (the 4-class SER's classes). Paper: "
        "ElevenLabs speech judged by SpeechBrain, overall figure only.",
    )  # fmt: skip


_T3 = [
    ("CPBD (higher = sharper)", ("cpbd", "generated")),
    ("PSNR dB (vs source)", ("psnr_db",)),
    ("SSIM (vs source)", ("ssim",)),
    ("FFD-FER (Frechet dist. of FER features; not FID)", ("ffd_fer",)),
    ("head motion std (deg)", ("head_motion_std_deg", "generated", "mean")),
    ("beat align", ("beat_align", "generated")),
    ("lip-sync r", ("lip_sync", "generated", "r")),
    ("lip-sync lag (s)", ("lip_sync", "generated", "lag_s")),
]


def table3(r: Records) -> Table:
    cols = ["arm", *[c for c, _ in _T3], "n"]
    t = Table(
        "table3_quality", "Table 3: image quality, motion and lip sync per arm", cols,
        note="Means over items. The 'source videos' row measures the originals themselves "
        "(one per video); PSNR, SSIM and FFD-FER compare each output with its source.",
        digits=3,
    )  # fmt: skip
    for arm in [a for a in _VIDEO_ARMS if r.by_arm(a)]:
        recs = r.by_arm(arm)
        ms = [_metrics(x) for x in recs if _metrics(x)]
        t.rows.append(
            [ARM_TITLES[arm], *[_mean([_get(m, *k) for m in ms]) for _, k in _T3], len(ms)]
        )
    src: dict[str, dict[str, Any]] = {}
    for x in r.done:
        m = _metrics(x)
        if m:
            src.setdefault(x["item"]["video"]["key"], m)
    if src:
        orig = [(k[0], "original", *k[2:]) if len(k) > 1 else None for _, k in _T3]
        row: list[Any] = ["source videos"]
        for key in orig:
            row.append(None if key is None else _mean([_get(m, *key) for m in src.values()]))
        t.rows.append([*row, len(src)])
    return t


def edd_table(r: Records) -> tuple[Table, Table, dict[str, Any]]:
    """Table 4 (means per emotion per arm, paper beside), EDD per video, and the comparison."""
    emotions = r.emotions()
    cols = ["method", *emotions]
    t4 = Table(
        "table4_edd", "Table 4: EDD per emotion (lower = target emotion moved further up)", cols,
        note="EDD = 1 - AUROC of the smoothed per-frame FER probability of the target, original "
        "frames (0) vs generated frames (1): 0.5 = no change, 0 = every generated frame shows "
        "more of the target than every original frame, > 0.5 = it went down. Ours: mean over "
        "videos. The paper's rows come from a different face recogniser (EmoFAN) and other "
        "videos: compare directions, not digits.",
    )  # fmt: skip
    per_video_cols = ["video", "arm", *emotions]
    tv = Table("edd_per_video", "EDD per video", per_video_cols)
    means: dict[str, dict[str, float | None]] = {}
    for arm in ("eda", "anim_only"):
        if arm in PAPER_EDD:
            t4.rows.append(
                [
                    f"paper (EmoFAN FER): {ARM_TITLES[arm]}",
                    *[PAPER_EDD[arm].get(e) for e in emotions],
                ]
            )
    for arm in [a for a in _VIDEO_ARMS if r.by_arm(a)]:
        vals: dict[str, list[float]] = {}
        per_video: dict[str, dict[str, float]] = {}
        for x in r.by_arm(arm):
            edd = _metrics(x).get("edd")
            if isinstance(edd, (int, float)):
                vals.setdefault(x["item"]["emotion"], []).append(float(edd))
                per_video.setdefault(x["item"]["video"]["key"], {})[x["item"]["emotion"]] = float(
                    edd
                )
        means[arm] = {e: _mean(vals.get(e, [])) for e in emotions}
        t4.rows.append([f"ours (mini-XCEPTION FER): {ARM_TITLES[arm]}", *means[arm].values()])
        for v in sorted(per_video):
            tv.rows.append([v, arm, *[per_video[v].get(e) for e in emotions]])
    comp: dict[str, Any] = {"emotions": [], "eda_better": [], "compared": 0}
    if "eda" in means and "anim_only" in means:
        for e in emotions:
            a, b = means["eda"].get(e), means["anim_only"].get(e)
            if a is None or b is None:
                continue
            comp["compared"] += 1
            comp["emotions"].append(e)
            if a < b:
                comp["eda_better"].append(e)
    comp["count"] = len(comp["eda_better"])
    return t4, tv, comp


# --- figures ------------------------------------------------------------------------------------
def _figure(w: float, h: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, dest: Path) -> Path:
    fig.tight_layout()
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, format="png")
    return dest


def _bars(
    dest: Path, title: str, series: dict[str, dict[str, list[np.ndarray]]], emotions: list[str]
) -> Path | None:
    """One subplot per target emotion; in each, the mean FER probability per class (FER7) of
    every series (e.g. source frames vs stills). ``series[name][emotion]`` = list of (7,)."""
    emotions = [e for e in emotions if any(series[s].get(e) for s in series)]
    if not emotions:
        return None
    n = len(emotions)
    cols = min(4, n)
    rows = (n + cols - 1) // cols
    fig = _figure(3.4 * cols, 2.7 * rows + 0.4)
    names = list(series)
    width = 0.8 / max(1, len(names))
    x = np.arange(len(FER7))
    for i, e in enumerate(emotions):
        ax = fig.add_subplot(rows, cols, i + 1)
        for j, s in enumerate(names):
            vals = series[s].get(e) or []
            if not vals:
                continue
            m = np.nanmean(np.stack(vals), axis=0)
            ax.bar(x + (j - (len(names) - 1) / 2) * width, m, width, label=f"{s} (n={len(vals)})")
        ax.set_xticks(x)
        ax.set_xticklabels([f.value[:4] for f in FER7], fontsize=7)
        ax.set_ylim(0, 1)
        ax.set_title(f"target: {e}", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.legend(fontsize=6, loc="upper left")
    fig.suptitle(title, fontsize=10)
    return _save(fig, dest)


def _fer_vec(probs: dict[str, float] | None) -> np.ndarray | None:
    if not probs:
        return None
    return np.array([float(probs.get(f.value, np.nan)) for f in FER7])


def fer_series(r: Records) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stills series, animations series) for Figs. 3 and 4: {series: {emotion: [(7,)...]}}."""
    stills: dict[str, dict[str, list[np.ndarray]]] = {"source frames": {}, "EDA stills": {}}
    for x in r.by_arm("eda"):
        e = x["item"]["emotion"]
        for s in x.get("stills") or []:
            for key, name in (("source_fer", "source frames"), ("still_fer", "EDA stills")):
                v = _fer_vec(_get(s, key, "probs"))
                if v is not None:
                    stills[name].setdefault(e, []).append(v)
    anim: dict[str, dict[str, list[np.ndarray]]] = {"original": {}}
    for arm in ("eda", "anim_only"):
        for x in r.by_arm(arm):
            m = _metrics(x)
            e = x["item"]["emotion"]
            g = _fer_vec(_get(m, "fer_distribution", "generated", "mean"))
            if g is not None:
                anim.setdefault(ARM_TITLES[arm].split(" (")[0], {}).setdefault(e, []).append(g)
            o = _fer_vec(_get(m, "fer_distribution", "original", "mean"))
            if o is not None and arm == ("eda" if r.by_arm("eda") else "anim_only"):
                anim["original"].setdefault(e, []).append(o)
    return stills, anim


def _series_table(name: str, title: str, series: dict[str, dict[str, list[np.ndarray]]]) -> Table:
    t = Table(name, title, ["series", "target", "n", *[f.value for f in FER7]], digits=3)
    for s, per in series.items():
        for e in sorted(per):
            m = np.nanmean(np.stack(per[e]), axis=0)
            t.rows.append([s, e, len(per[e]), *[float(v) for v in m]])
    return t


def plot_edd_curves(root: Path, r: Records, dest: Path) -> tuple[Path | None, dict[str, Any]]:
    """Fig. 5: the smoothed target-probability curves of the best (lowest EDD) and worst EDA
    items (of the animation-only arm if there is no EDA result, then of the null control)."""
    with_edd = [
        a for a in _VIDEO_ARMS if any(_metrics(x).get("edd") is not None for x in r.by_arm(a))
    ]
    arm = with_edd[0] if with_edd else "eda"
    scored = [
        (float(_metrics(x)["edd"]), x) for x in r.by_arm(arm) if _metrics(x).get("edd") is not None
    ]
    if not scored:
        return None, {}
    scored.sort(key=lambda p: p[0])
    picks = [("best", scored[0])]
    if len(scored) > 1:
        picks.append(("worst", scored[-1]))
    fig = _figure(6.0 * len(picks), 3.8)
    info: dict[str, Any] = {}
    for i, (label, (edd, x)) in enumerate(picks):
        ax = fig.add_subplot(1, len(picks), i + 1)
        it = x["item"]
        info[label] = {"id": it["id"], "edd": edd, "arm": arm}
        path = root / "items" / it["id"] / str(_get(x, "evaluation", "file") or "evaluation.json")
        try:
            ev = json.loads(path.read_text(encoding="utf-8"))
            curves = ev["curves"]
        except (OSError, ValueError, KeyError):
            ax.text(0.5, 0.5, "curves not stored", ha="center")
            continue
        fps = _get(x, "evaluation", "fps") or {}
        for key, colour in (("original", "tab:blue"), ("generated", "tab:red")):
            y = np.array([np.nan if v is None else v for v in curves.get(key, [])], dtype=float)
            t = np.arange(y.size) / float(fps.get(key) or 25.0)
            ax.plot(t, y, color=colour, lw=1.6, label=key)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time (s)")
        ax.set_ylabel(f"P({it['emotion']}), smoothed")
        ax.set_title(
            f"{label} ({arm}): {it['video']['key']} / {it['emotion']}, EDD {edd:.3f}", fontsize=9
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    return _save(fig, dest), info


# --- the whole report ---------------------------------------------------------------------------
_SCALARS = [
    ("edd", ("edd",)),
    ("target_prob_original", ("target_mean_prob", "original")),
    ("target_prob_generated", ("target_mean_prob", "generated")),
    ("psnr_db", ("psnr_db",)),
    ("ssim", ("ssim",)),
    ("cpbd_original", ("cpbd", "original")),
    ("cpbd_generated", ("cpbd", "generated")),
    ("ffd_fer", ("ffd_fer",)),
    ("head_motion_std_original", ("head_motion_std_deg", "original", "mean")),
    ("head_motion_std_generated", ("head_motion_std_deg", "generated", "mean")),
    ("beat_align_original", ("beat_align", "original")),
    ("beat_align_generated", ("beat_align", "generated")),
    ("lip_sync_r_original", ("lip_sync", "original", "r")),
    ("lip_sync_r_generated", ("lip_sync", "generated", "r")),
    ("lip_sync_lag_generated", ("lip_sync", "generated", "lag_s")),
    ("face_fraction_generated", ("face_fraction", "generated")),
]


def items_table(r: Records) -> Table:
    cols = ["item", "video", "emotion", "arm", "status", "seconds", "text_top", "speech_top",
            *[c for c, _ in _SCALARS], "message"]  # fmt: skip
    t = Table("items", "Every item", cols)
    for x in sorted(r.done + r.failed, key=lambda x: x["item"]["id"]):
        it = x["item"]
        m = _metrics(x)
        t.rows.append(
            [
                it["id"], it["video"]["key"], it["emotion"], it["arm"], x.get("status"),
                x.get("seconds"), _get(x, "text_emotion", "top"), _get(x, "speech_emotion", "top"),
                *[_get(m, *k) for _, k in _SCALARS],
                x.get("message") or _get(x, "evaluation", "skipped") or "",
            ]
        )  # fmt: skip
    return t


def failures_table(r: Records) -> Table:
    t = Table("failures", "Failed items", ["item", "error", "message"])
    for x in sorted(r.failed, key=lambda x: x["item"]["id"]):
        t.rows.append([x["item"]["id"], x.get("error_type"), x.get("message")])
    return t


def timings_table(root: Path) -> tuple[Table, dict[str, Any]]:
    t = Table(
        "timings",
        "Per-item timings of the last run (s)",
        ["item", "status", "seconds", "stage timings"],
        digits=2,
    )
    try:
        man = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return t, {}
    for k, v in man.get("items", {}).items():
        stages = {a: b for a, b in (v.get("timings") or {}).items() if not isinstance(b, dict)}
        t.rows.append([k, v.get("status"), v.get("seconds"), json.dumps(stages)])
    return t, man


def _fig5_arm(info: dict[str, Any]) -> str:
    arms = {v.get("arm") for v in info.values()}
    return ARM_TITLES.get(next(iter(arms), "eda") or "eda", "eda") if len(arms) == 1 else "eda"


def _img_b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


_CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #bbb;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#eee}.note{color:#555;font-size:13px;max-width:900px}
img{max-width:100%;border:1px solid #ddd}
"""


def write_report(root: str | Path) -> dict[str, Path]:
    """Render the report of the experiment folder ``root`` into ``root/report/``.

    Returns the written paths by kind ("markdown", "html", figures, CSVs).
    """
    root = Path(root)
    out = check_output_dir(root / "report")
    r = load_records(root)
    t1, t2, t3 = table1(r), table2(r), table3(r)
    t4, tv, comp = edd_table(r)
    stills, anim = fer_series(r)
    ts = _series_table(
        "fer_stills", "FER on source frames and EDA stills (mean probability)", stills
    )
    ta = _series_table(
        "fer_animations", "FER on original and generated videos (mean probability)", anim
    )
    ti, tf = items_table(r), failures_table(r)
    tt, man = timings_table(root)
    emotions = r.emotions()
    figs: dict[str, Path | None] = {
        "fig3": _bars(
            out / "fig3_stills_fer.png", "Fig. 3: FER on the emotional stills", stills, emotions
        ),
        "fig4": _bars(
            out / "fig4_animation_fer.png", "Fig. 4: FER on the animations", anim, emotions
        ),
    }
    figs["fig5"], fig5_info = plot_edd_curves(root, r, out / "fig5_edd_curves.png")
    paths: dict[str, Path] = {}
    for t in (t1, t2, t3, t4, tv, ts, ta, ti, tf, tt):
        paths[f"csv:{t.name}"] = t.write_csv(out)

    n_items = len(r.done) + len(r.failed)
    summary = [
        f"- items: {n_items} ({len(r.done)} done, of which "
        f"{sum(x.get('status') == 'partial' for x in r.done)} partial; {len(r.failed)} failed); arms: "
        + ", ".join(r.arms()) + "; emotions: " + ", ".join(emotions),
    ]  # fmt: skip
    if man:
        med = man.get("median_item_seconds")
        summary.append(
            f"- last run: {man.get('executor')} x {man.get('workers')} workers, wall "
            f"{man.get('wall_seconds', 0):.1f} s"
            + (f", per-item median {med:.1f} s" if med is not None else "")
            + f"; counts {man.get('counts')}"
        )
    if comp.get("compared"):
        summary.append(
            f"- EDA beats the animation-only baseline on mean EDD for {comp['count']} of "
            f"{comp['compared']} emotions ({', '.join(comp['eda_better']) or 'none'})"
        )
    for label, inf in fig5_info.items():
        summary.append(f"- Fig. 5 {label} case: {inf['id']} (EDD {inf['edd']:.4f})")
    captions = {
        "fig3": "Fig. 3: mean FER probability per class of the source frames and the EDA "
        "emotional stills, per target emotion.",
        "fig4": "Fig. 4: mean FER probability per class over the frames of the original and "
        "generated videos, per target emotion and arm.",
        "fig5": "Fig. 5: smoothed per-frame FER probability of the target emotion, original vs "
        f"generated, for the best and worst items of the {_fig5_arm(fig5_info)} arm.",
    }
    md = ["# emoshift experiment report", "", *summary, ""]
    md += ["## Text and speech emotion", "", t1.markdown(), t2.markdown()]
    md += ["## Quality, motion, lip sync", "", t3.markdown()]
    md += ["## Emotion Distribution Divergence", "", t4.markdown(), tv.markdown()]
    md += ["## Figures", ""]
    for k, p in figs.items():
        if p is not None:
            md += [f"![{captions[k]}]({p.name})", "", captions[k], ""]
            paths[k] = p
    md += [ts.markdown(), ta.markdown()]
    if tf.rows:
        md += ["## Failures", "", tf.markdown()]
    md += ["## Items", "", ti.markdown(), tt.markdown()]
    md += ["Every number is also in the CSV files beside this report; the run's manifest is "
           "`../manifest.json`, each item's result `../items/<video>/<emotion>/<arm>/result.json`."]  # fmt: skip
    paths["markdown"] = write_text_atomic(out / "report.md", "\n".join(md) + "\n")

    body = ["<h1>emoshift experiment report</h1><ul>"]
    body += [f"<li>{html.escape(s[2:])}</li>" for s in summary]
    body += ["</ul><h2>Text and speech emotion</h2>", t1.html(), t2.html()]
    body += ["<h2>Quality, motion, lip sync</h2>", t3.html()]
    body += ["<h2>Emotion Distribution Divergence</h2>", t4.html(), tv.html(), "<h2>Figures</h2>"]
    for k, p in figs.items():
        if p is not None:
            body.append(
                f"<figure><img alt='{html.escape(captions[k])}' "
                f"src='data:image/png;base64,{_img_b64(p)}'><figcaption>{html.escape(captions[k])}"
                "</figcaption></figure>"
            )
    body += [ts.html(), ta.html()]
    if tf.rows:
        body += ["<h2>Failures</h2>", tf.html()]
    body += ["<h2>Items</h2>", ti.html(), tt.html()]
    if man:
        body.append(
            "<h2>Manifest</h2><pre>"
            + html.escape(json.dumps({k: v for k, v in man.items() if k != "items"}, indent=2))
            + "</pre>"
        )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>emoshift experiment report"
        f"</title><style>{_CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
    paths["html"] = write_text_atomic(out / "report.html", page)
    paths["comparison"] = write_text_atomic(out / "edd_comparison.json", json.dumps(comp, indent=2))
    return paths
