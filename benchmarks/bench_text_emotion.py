"""Benchmark of the text emotion recogniser (TER) on GoEmotions-Ekman dev.tsv (issue 5).

Prints macro-F1 over the 7 classes (two ways of counting multi-label rows, see
:func:`emoshift.recognize.text.evaluate_labels`), per-class F1, the confusion matrix, model load
time and throughput, each beside the issue's target; writes bench-output/text_emotion.json.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_text_emotion.py [--rows N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "goemotions_ekman"
TARGET_MACRO_F1 = 0.50

# Emotional devices a rewriter uses, each applied alone to plain sentences (None = no emotion:
# punctuation or capitals only, which should not carry a neutral sentence to an emotion).
DEVICES: tuple[tuple[str, str, str | None], ...] = (
    ("'!' at the end", "{s}!", None),
    ("'!!!' at the end", "{s}!!!", None),
    ("CAPITALS + '!'", "{S}!", None),
    ("'Wow, ...!'", "Wow, {s}!", "surprise"),
    ("'Yay! ...!'", "Yay! {s}!", "happiness"),
    ("'Damn it, ...!'", "Damn it, {s}!", "anger"),
    ("'Ugh, ....'", "Ugh, {s}.", "disgust"),
    ("'Oh no, ...!'", "Oh no, {s}!", "fear"),
    ("'Sadly, ....'", "Sadly, {s}.", "sadness"),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--rows", type=int, default=0, help="only the first N dev rows (0 = all)")
    args = ap.parse_args(argv)
    if not (args.data / "dev.tsv").exists():
        print(f"skipped: {args.data / 'dev.tsv'} not found", file=sys.stderr)
        return 0

    t0 = time.perf_counter()
    import numpy as np

    from emoshift.recognize.text import (
        GOEMOTIONS_EKMAN,
        ekman_ids,
        evaluate_labels,
        load_text_recognizer,
        read_goemotions_ekman,
    )

    t_import = time.perf_counter() - t0
    rec = load_text_recognizer()
    rec.predict(["Warm-up: load the embedding model and the lexicons."])
    t_load = time.perf_counter() - t0

    texts, gold = read_goemotions_ekman(args.data / "dev.tsv")
    if args.rows:
        texts, gold = texts[: args.rows], gold[: args.rows]
    t1 = time.perf_counter()
    probs = rec.predict(texts)
    t_pred = time.perf_counter() - t1
    rate = len(texts) / t_pred
    t2 = time.perf_counter()
    for t in texts[:50]:
        rec.predict([t])
    single_ms = (time.perf_counter() - t2) / min(50, len(texts)) * 1000

    pred = ekman_ids(probs)
    report = evaluate_labels(pred, gold, len(GOEMOTIONS_EKMAN))
    names = [e.value for e in GOEMOTIONS_EKMAN]
    threads = os.environ.get("OMP_NUM_THREADS", "unset")

    print(f"\nText emotion recogniser on goemotions_ekman/dev.tsv ({len(texts)} rows, "
          f"OMP_NUM_THREADS={threads})\n")  # fmt: skip
    print("| figure | measured | target |\n|---|---|---|")
    for way, what in (("any_gold", "all rows, correct if any gold label"),
                      ("single_label", "single-label rows only")):  # fmt: skip
        r = report[way]
        ok = "PASS" if r["macro_f1"] >= TARGET_MACRO_F1 else "FAIL"
        print(f"| macro-F1, 7 classes ({what}, n={r['n']}) | {r['macro_f1']:.4f} | "
              f">= {TARGET_MACRO_F1:.2f} ({ok}) |")  # fmt: skip
        print(f"| accuracy ({what}) | {r['accuracy']:.4f} | - |")
    print(
        f"| contempt predictions (not a dev class; counted wrong) | {int((pred < 0).sum())} | - |"
    )
    print(f"| import + load + first prediction | {t_load:.2f} s (import {t_import:.2f} s) | fast |")
    print(f"| throughput, batch of {len(texts)} | {rate:.1f} sentences/s | fast |")
    print(f"| latency, one sentence | {single_ms:.1f} ms | fast |")

    # Response to single devices, on neutral-labelled dev rows the recogniser calls neutral.
    from emoshift.emotion import Emotion

    plain = [t.rstrip(".!?") for t, g in zip(texts, gold) if g == (4,)][:200]
    is_neutral = [e is Emotion.NEUTRAL for e in rec.predict([t + "." for t in plain]).top_labels()]
    plain = [t for t, k in zip(plain, is_neutral) if k]
    devices = []
    print(f"\nSingle devices added to {len(plain)} plain sentences (neutral-labelled dev rows the")
    print("recogniser calls neutral): share still neutral / share labelled the device's emotion")
    for name, pattern, emo in DEVICES:
        variants = [pattern.format(s=t, S=t.upper()) for t in plain]
        labs = [e.value for e in rec.predict(variants).top_labels()]
        still = float(np.mean([lab == "neutral" for lab in labs])) if labs else 0.0
        hit = float(np.mean([lab == emo for lab in labs])) if (labs and emo) else None
        devices.append({"device": name, "emotion": emo, "still_neutral": still, "to_emotion": hit})
        shown = "-" if hit is None else f"{hit:.2f} {emo}"
        print(f"  {name:18s} {still:.2f} / {shown}")

    print("\nPer-class F1 (all rows / single-label rows):")
    for i, n in enumerate(names):
        print(
            f"  {n:10s} {report['any_gold']['f1'][i]:.3f} / {report['single_label']['f1'][i]:.3f}"
        )
    print("\nConfusion, all rows (rows = reference label, columns = prediction; last = contempt):")
    print("           " + " ".join(f"{n[:5]:>6}" for n in [*names, "contempt"]))
    for n, row in zip(names, report["any_gold"]["confusion"]):
        print(f"  {n:9s}" + " ".join(f"{v:6d}" for v in row))

    out = REPO / "bench-output" / "text_emotion.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "rows": len(texts),
        "omp_num_threads": threads,
        "target_macro_f1": TARGET_MACRO_F1,
        "classes": names,
        "report": report,
        "load_seconds": round(t_load, 3),
        "import_seconds": round(t_import, 3),
        "sentences_per_second": round(rate, 2),
        "single_sentence_ms": round(single_ms, 2),
        "devices": devices,
    }
    from emoshift.fileio import write_json_atomic

    write_json_atomic(out, result)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
