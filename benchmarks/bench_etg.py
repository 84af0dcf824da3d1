"""ETG benchmark (issue 8): rewrite neutral sentences in 7 emotions and judge the rewrites.

Sentences: the 4 transcripts of ../shared/media/talk_* (from its README) plus the first 60
neutral-only lines (label id 4 alone, 5-30 words, no URL) of
../shared/data/goemotions_ekman/dev.tsv in SHA-1 order of their text -- a fixed, deterministic
choice. The rewriter's phrase lists were tuned on lines of train.tsv chosen the same way, never
on dev.tsv.

Targets (issue 8): the project's text emotion recogniser labels >= 95% of the rewrites with the
target (paper: 97%), and the mean MiniLM cosine of original vs rewrite is >= 0.6.

Two runs are reported: the default rewriter (candidates reranked by the recogniser, i.e. the
judge also picks among candidates: the issue allows it, but it flatters the figure), and the
same rewriter reranked by lexicon cue words only (the judge plays no part), as a check.

    .venv/bin/python benchmarks/bench_etg.py [--intensity 1.0] [--n-dev 60] [--quick]
    .venv/bin/python benchmarks/bench_etg.py --markdown 10   # example table for docs
    .venv/bin/python benchmarks/bench_etg.py --rewriter qwen --n-dev 10 --quick
        # another backend (qwen needs `make llm`; ~15 s per rewrite), JSON bench_etg_qwen.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOSHIFT_SHARED", REPO.parent / "shared"))
OUT = REPO / "bench-output" / "bench_etg.json"

TALK_TRANSCRIPTS = (
    "My biggest weaknesses is asking for help when I need it. I'd like to do better at that.",
    "in the heart of my California congressional district, where I chase my own dreams growing up.",
    "sign element. It represents the European Central Bank and it symbolizes the value of euro "
    "bank notes as central bank money.",
    "bringing in reforms to tighten that regulation. And this latest crisis.",
)
"""Whisper tiny.en transcripts of the four talk_* clips (../shared/media/README.md)."""

TARGET_ACCURACY = 0.95
TARGET_COSINE = 0.6


def neutral_lines(path: Path, n: int) -> list[str]:
    """The first ``n`` neutral-only lines (label "4" alone, 5-30 words, no URL) of a
    goemotions_ekman TSV, in SHA-1 order of their text (deterministic, content-blind)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or parts[1] != "4":
                continue
            text = parts[0].strip()
            if "http" in text or not 5 <= len(text.split()) <= 30:
                continue
            out.append(text)
    out = sorted(set(out), key=lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())
    return out[:n]


def run(
    sentences: list[str], emotions, intensity: float, rerank: str, backend: str = "lexical"
) -> dict:
    from emoshift.emotion import EmotionSpec
    from emoshift.recognize.embeddings import similarity
    from emoshift.recognize.text import load_text_recognizer
    from emoshift.speech.rewrite import REWRITERS

    judge = load_text_recognizer()
    rewriter = REWRITERS.create(backend, rerank=rerank)
    rewriter.rewrite("Warm-up.", EmotionSpec(emotions[0], intensity))  # load models
    print(f"run: {backend}, rerank={rerank}", flush=True)
    per: dict[str, dict] = {}
    rows = []
    total_s = 0.0
    fallbacks = 0
    for emo in emotions:
        spec = EmotionSpec(emo, intensity)
        t0 = time.perf_counter()
        results = [rewriter.rewrite(s, spec, seed=0) for s in sentences]
        total_s += time.perf_counter() - t0
        outs = [r.text for r in results]
        fallbacks += sum(r.backend != backend for r in results)
        labels = judge.predict(outs).top_labels()
        cos = similarity(sentences, outs)
        hits = np.array([lab is emo for lab in labels])
        print(f"  {emo.value:<10} accuracy {hits.mean():.3f}  cosine {cos.mean():.3f}", flush=True)
        per[emo.value] = {
            "accuracy": float(hits.mean()),
            "cosine": float(cos.mean()),
            "cosine_min": float(cos.min()),
            "n": len(outs),
        }
        for s, o, lab, c in zip(sentences, outs, labels, cos):
            rows.append({"emotion": emo.value, "original": s, "rewrite": o,
                         "label": lab.value, "cosine": round(float(c), 4)})  # fmt: skip
    n = len(sentences) * len(emotions)
    acc = float(np.mean([r["label"] == r["emotion"] for r in rows]))
    cos_all = float(np.mean([r["cosine"] for r in rows]))
    return {
        "backend": backend,
        "fallbacks": fallbacks,
        "rerank": rerank,
        "intensity": intensity,
        "per_emotion": per,
        "accuracy": acc,
        "cosine": cos_all,
        "rewrites": n,
        "seconds": total_s,
        "rewrites_per_s": n / total_s,
        "rows": rows,
    }


def print_run(res: dict) -> None:
    print(f"\nrewriter: {res['backend']}, rerank={res['rerank']}, intensity {res['intensity']}")
    if res["fallbacks"]:
        print(f"  {res['fallbacks']} of {res['rewrites']} rewrites fell back to another backend")
    print(f"{'emotion':<11} {'accuracy':>9} {'cosine':>7} {'min cos':>8}")
    for emo, r in res["per_emotion"].items():
        print(f"{emo:<11} {r['accuracy']:9.3f} {r['cosine']:7.3f} {r['cosine_min']:8.3f}")
    ok_a = "PASS" if res["accuracy"] >= TARGET_ACCURACY else "FAIL"
    ok_c = "PASS" if res["cosine"] >= TARGET_COSINE else "FAIL"
    print(f"{'overall':<11} {res['accuracy']:9.3f} {res['cosine']:7.3f}")
    print(f"  accuracy {res['accuracy']:.3f} vs target >= {TARGET_ACCURACY} (paper 0.97): {ok_a}")
    print(f"  mean cosine {res['cosine']:.3f} vs target >= {TARGET_COSINE}: {ok_c}")
    print(f"  speed: {res['rewrites']} rewrites in {res['seconds']:.1f} s = "
          f"{res['rewrites_per_s']:.2f} rewrites/s ({1000 / res['rewrites_per_s']:.0f} ms each)")  # fmt: skip


def markdown(sentences: list[str], emotions, intensity: float, k: int) -> str:
    from emoshift.emotion import EmotionSpec
    from emoshift.recognize.text import load_text_recognizer
    from emoshift.speech.rewrite import rewrite

    judge = load_text_recognizer()
    lines = []
    for s in sentences[:k]:
        lines.append(f"**Original:** {s}\n")
        lines.append("| target | rewrite | recogniser |")
        lines.append("|---|---|---|")
        for emo in emotions:
            out = rewrite(s, EmotionSpec(emo, intensity)).text
            lab = judge.predict([out]).top_labels()[0].value
            lines.append(f"| {emo.value} | {out.replace('|', '/')} | {lab} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--intensity", type=float, default=1.0,
                    help="target intensity (1.0 = the paper's 'very very very')")  # fmt: skip
    ap.add_argument("--n-dev", type=int, default=60, help="GoEmotions dev lines (max 60)")
    ap.add_argument("--rewriter", default="lexical", help="rewriter backend (lexical, qwen...)")
    ap.add_argument("--quick", action="store_true", help="skip the lexicon-rerank check run")
    ap.add_argument("--markdown", type=int, default=0, help="print K example tables and exit")
    args = ap.parse_args(argv)

    from emoshift.emotion import ALL_EMOTIONS, Emotion

    dev = SHARED / "data" / "goemotions_ekman" / "dev.tsv"
    if not dev.exists():
        print(f"needs {dev} (../shared/data); not found", file=sys.stderr)
        return 2
    sentences = list(TALK_TRANSCRIPTS) + neutral_lines(dev, args.n_dev)
    emotions = [e for e in ALL_EMOTIONS if e is not Emotion.CONTEMPT]
    if args.markdown:
        print(markdown(sentences, emotions, args.intensity, args.markdown))
        return 0

    from emoshift.recognize.text import load_text_recognizer

    base = load_text_recognizer().predict(sentences).top_labels()
    base_neutral = float(np.mean([b is Emotion.NEUTRAL for b in base]))
    print(f"ETG benchmark: {len(sentences)} sentences (4 talk_* transcripts + "
          f"{len(sentences) - 4} GoEmotions dev neutral lines) x {len(emotions)} emotions")  # fmt: skip
    print(f"the recogniser calls {base_neutral:.1%} of the ORIGINAL sentences neutral")
    results = {"sentences": len(sentences), "originals_recognised_neutral": base_neutral}
    main_run = run(sentences, emotions, args.intensity, "recognizer", args.rewriter)
    print_run(main_run)
    results["default"] = main_run
    if not args.quick:
        check = run(sentences, emotions, args.intensity, "lexicon", args.rewriter)
        print_run(check)
        results["lexicon_rerank"] = check
    summary = {
        "accuracy": main_run["accuracy"],
        "accuracy_target": TARGET_ACCURACY,
        "cosine": main_run["cosine"],
        "cosine_target": TARGET_COSINE,
        "rewrites_per_s": main_run["rewrites_per_s"],
    }
    results["summary"] = summary
    out = OUT if args.rewriter == "lexical" else OUT.with_name(f"bench_etg_{args.rewriter}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    from emoshift.fileio import atomic_path

    with atomic_path(out) as tmp:
        Path(tmp).write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
