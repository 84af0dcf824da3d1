"""Benchmark of the speech module (issue 8): transcription, alignment, ET2S, speed.

    .venv/bin/python benchmarks/bench_speech.py [--tts kokoro] [--quick]

Prints every acceptance figure beside its target and writes bench-output/bench_speech.json.
Wall-clock figures on a shared machine are inflated by other processes: the CPU seconds of
this process (all threads) and the load average are printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from scipy.signal import resample_poly

from emoshift.emotion import Emotion, EmotionSpec

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EMOSHIFT_SHARED", REPO.parent / "shared"))
MEDIA = SHARED / "media"
OUT = REPO / "bench-output"
TALKS = ["talk_man_map.mp4", "talk_man_office.mp4", "talk_woman_blue.mp4", "talk_woman_glasses.mp4"]
EXTRA_SENTENCES = [
    "The report is due on Friday and the team will review it next week.",
    "I took the bus to work this morning and arrived at nine.",
]
EMOTIONS = [Emotion.ANGER, Emotion.HAPPINESS, Emotion.SADNESS, Emotion.NEUTRAL]


class Clock:
    """Wall and process-CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


def to16k(audio: np.ndarray, sr: int) -> np.ndarray:
    if sr == 16000:
        return audio
    g = int(np.gcd(sr, 16000))
    return resample_poly(audio, 16000 // g, sr // g).astype(np.float32)


def load_ser():
    """(default whisper recogniser, prosody recogniser), 4 classes; (None, None) if missing."""
    from emoshift.errors import EmoshiftError

    try:
        from emoshift.recognize.speech import load_speech_recognizer

        return load_speech_recognizer(4), load_speech_recognizer(4, "prosody")
    except (ImportError, EmoshiftError) as exc:
        print(f"(speech emotion recogniser not available: {exc})")
        return None, None


# Speaker reference for the speaker-normalised SER: the same TTS voice (same backend, voice
# profile, intensity) speaking these fixed sentences -- never the benchmark's -- once in each
# of the 4 emotions, text as written (not rewritten). 3 x 4 = 12 utterances per voice.
REFERENCE_SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
)


def voice_reference_features(tts, voice, ser) -> np.ndarray:
    """Features (12, 570) of one voice's reference renditions (see REFERENCE_SENTENCES)."""
    feats = []
    for text in REFERENCE_SENTENCES:
        for emo in EMOTIONS:
            out = tts.synthesize(text, EmotionSpec(emo, 0.8), voice)
            feats.append(ser.features(to16k(out.audio, out.sr), 16000))
    return np.stack(feats)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--tts", default="kokoro")
    ap.add_argument("--quick", action="store_true", help="2 sentences instead of 6")
    ap.add_argument("--no-et2s", action="store_true", help="skip the sentence x emotion renditions")
    args = ap.parse_args()
    if not MEDIA.is_dir():
        print(f"needs ../shared/media ({MEDIA} is absent)")
        return 1
    from emoshift.media import read_audio
    from emoshift.speech.align import align_words, get_aligner, normalize_for_alignment
    from emoshift.speech.prosody import median_f0
    from emoshift.speech.s2s import speakable_text, speech_to_speech
    from emoshift.speech.synthesize import SYNTHESIZERS
    from emoshift.speech.transcribe import get_transcriber, word_error_rate
    from emoshift.speech.voice import voice_profile

    figures: dict[str, object] = {"load_average_start": os.getloadavg()[0], "tts": args.tts}
    rows: list[tuple[str, str, str, str]] = []

    # --- model loading ----------------------------------------------------------------------
    with Clock() as c_wh:
        tr = get_transcriber("base")
    with Clock() as c_al:
        get_aligner()
    with Clock() as c_tts:
        tts = SYNTHESIZERS.create(args.tts)
    try:
        from emoshift.speech import rewrite as rw

        with Clock() as c_rw:
            rw.get_rewriter(None)
        rw_load = c_rw.wall
    except ImportError:
        rw, rw_load = None, 0.0
    load_total = c_wh.wall + c_al.wall + c_tts.wall + rw_load
    load_cpu = c_wh.cpu + c_al.cpu + c_tts.cpu
    figures["load_seconds"] = {
        "whisper_base": c_wh.wall,
        "aligner": c_al.wall,
        args.tts: c_tts.wall,
        "rewriter": rw_load,
        "total": load_total,
    }
    rows.append(
        (
            "model loading (whisper+aligner+tts+rewriter)",
            f"{load_total:.2f} s",
            "<= 10 s",
            "ok" if load_total <= 10 else "MISS",
        )
    )
    rows.append(
        (
            "  same, CPU seconds (whisper+aligner+tts)",
            f"{load_cpu:.2f} s",
            "(uncontended estimate)",
            "",
        )
    )

    # --- alignment vs Whisper word timestamps on the talk clips ------------------------------
    talks = {}
    pooled: list[float] = []
    per_clip = {}
    for name in TALKS:
        audio = read_audio(MEDIA / name, sr=16000)
        t = tr.transcribe(audio, 16000)
        talks[name] = (audio, t)
        aligned = [w for w in align_words(audio, 16000, t.text) if w.text != "<sil>"]
        whisper = [w for w in t.words if normalize_for_alignment(w.text)]
        if len(aligned) != len(whisper):
            per_clip[name] = None
            continue
        d = [abs(a.start - w.start) for a, w in zip(aligned, whisper)] + [
            abs(a.end - w.end) for a, w in zip(aligned, whisper)
        ]
        per_clip[name] = round(float(np.median(d)), 4)
        pooled += d
    figures["align_vs_whisper_median_s"] = per_clip
    for name, v in per_clip.items():
        rows.append(
            (
                f"word boundary |whisper - alignment| median, {name}",
                "n/a" if v is None else f"{1000 * v:.0f} ms",
                "<= 60 ms",
                "ok" if v is not None and v <= 0.06 else "MISS",
            )
        )
    pooled_med = round(float(np.median(pooled)), 4) if pooled else float("nan")
    figures["align_vs_whisper_pooled_median_s"] = pooled_med
    rows.append(
        (
            "  all 4 clips pooled",
            f"{1000 * pooled_med:.0f} ms",
            "<= 60 ms",
            "ok" if pooled_med <= 0.06 else "MISS",
        )
    )

    # --- ET2S: sentences x emotions ----------------------------------------------------------
    ser, ser_prosody = load_ser()
    sentences = [(speakable_text(talks[n][1].text), n) for n in TALKS] + [
        (s, TALKS[i % 4]) for i, s in enumerate(EXTRA_SENTENCES)
    ]
    if args.quick:
        sentences = sentences[:2]
    if args.no_et2s:
        sentences = []
    profiles = {
        n: voice_profile(a, 16000, text=t.text, speech_seconds=t.speech_end - t.speech_start)
        for n, (a, t) in talks.items()
    }
    wers, f0_err, records = [], [], []
    # SER hits per way of judging: plain default (whisper), plain prosody, speaker-normalised
    hit_sets: dict[str, list[bool]] = {
        "whisper": [],
        "prosody": [],
        "prosody+ref": [],
        "whisper+ref": [],
    }
    references: dict[str, np.ndarray] = {}
    synth_wall, synth_cpu, synth_audio = 0.0, 0.0, 0.0
    for text, clip in sentences:
        vp = profiles[clip]
        for emo in EMOTIONS:
            spec = EmotionSpec(emo, 0.8)
            said = rw.rewrite(text, spec).text if rw is not None else text
            with Clock() as c:
                out = tts.synthesize(said, spec, vp)
            synth_wall, synth_cpu, synth_audio = (
                synth_wall + c.wall,
                synth_cpu + c.cpu,
                synth_audio + out.duration,
            )
            a16 = to16k(out.audio, out.sr)
            heard = tr.transcribe(a16, 16000).text
            wer = word_error_rate(said, heard)
            wers.append(wer)
            rec = {
                "clip": clip,
                "emotion": emo.value,
                "text": said,
                "heard": heard,
                "wer": round(wer, 3),
                "duration": round(out.duration, 2),
            }
            if ser is not None and ser_prosody is not None:
                if clip not in references:
                    references[clip] = voice_reference_features(tts, vp, ser)
                feats = ser.features(a16, 16000)[None]  # prosody features are its first 58
                nd = ser_prosody.model.mean.size  # 58 prosody features
                ref_w = ser.reference_from_features(references[clip])
                ref_p = ser_prosody.reference_from_features(references[clip][:, :nd])
                tops = {
                    "whisper": ser.predict_features(feats),
                    "prosody": ser_prosody.predict_features(feats[:, :nd]),
                    "prosody+ref": ser_prosody.predict_features(feats[:, :nd], reference=ref_p),
                    "whisper+ref": ser.predict_features(feats, reference=ref_w),
                }
                for key, probs in tops.items():
                    top = probs.top_labels()[0]
                    hit_sets[key].append(top == emo)
                    rec[f"ser_top_{key}"] = top.value
                rec["ser_top"] = rec["ser_top_whisper"]
            if emo is Emotion.NEUTRAL:
                f0 = median_f0(out.audio, out.sr)
                f0_err.append(abs(f0 / vp.f0_median - 1.0))
                rec["f0_median"], rec["speaker_f0"] = round(f0, 1), round(vp.f0_median, 1)
            records.append(rec)
            print(
                f"  {emo.value:9s} wer={wer:.2f} {rec.get('ser_top', '-'):9s} "
                f"{rec.get('ser_top_prosody', '-'):9s} {rec.get('ser_top_prosody+ref', '-'):9s} "
                f"{said[:60]!r}",
                flush=True,
            )
    figures["et2s"] = records
    if records:
        mean_wer = float(np.mean(wers))
        rows.append(
            (
                f"ET2S Whisper WER ({len(wers)} renditions, {args.tts})",
                f"{100 * mean_wer:.1f} %",
                "<= 10 %",
                "ok" if mean_wer <= 0.10 else "MISS",
            )
        )
        rows.append(
            (
                "transcription WER on known text (= the renditions above)",
                f"{100 * mean_wer:.1f} %",
                "<= 10 %",
                "ok" if mean_wer <= 0.10 else "MISS",
            )
        )
        labels = {
            "whisper": "SER labels synthesised speech with the target (default `whisper`, plain)",
            "prosody": "  same, `prosody` variant, plain",
            "prosody+ref": "  same, `prosody`, speaker-normalised (ref: same voice, other sentences)",
            "whisper+ref": "  same, `whisper`, speaker-normalised (ref: same voice, other sentences)",
        }
        if hit_sets["whisper"]:
            accs = {k: float(np.mean(v)) for k, v in hit_sets.items()}
            figures["ser_accuracy"] = accs["whisper"]
            figures["ser_accuracy_by_mode"] = accs
            figures["ser_reference"] = {
                "sentences": list(REFERENCE_SENTENCES),
                "emotions": [e.value for e in EMOTIONS],
                "intensity": 0.8,
            }
            for key, acc in accs.items():
                rows.append(
                    (labels[key], f"{100 * acc:.0f} %", ">= 75 %", "ok" if acc >= 0.75 else "MISS")
                )
        else:
            rows.append((labels["whisper"], "n/a (no SER yet)", ">= 75 %", "-"))
        worst = float(np.max(f0_err))
        figures["neutral_f0_rel_error"] = [round(x, 4) for x in f0_err]
        rows.append(
            (
                "neutral rendition median F0 vs speaker (worst)",
                f"{100 * worst:.1f} %",
                "<= 15 %",
                "ok" if worst <= 0.15 else "MISS",
            )
        )
        rows.append(
            (
                f"{args.tts} synthesis+prosody+phones per audio second",
                f"{synth_wall / synth_audio:.2f} wall, {synth_cpu / synth_audio:.2f} cpu",
                "-",
                "",
            )
        )

    # --- speed: whole S2S on an 8 s clip ----------------------------------------------------
    # 8 s of continuous speech (the file's speech starts at ~3 s)
    clip8 = read_audio(MEDIA / "speech_man_news.wav", sr=16000, start=3.0, end=11.0)
    speech_to_speech(
        talks[TALKS[1]][0][: 16000 * 3], 16000, EmotionSpec(Emotion.HAPPINESS, 0.7), synthesizer=tts
    )
    with Clock() as c:
        res = speech_to_speech(clip8, 16000, EmotionSpec(Emotion.HAPPINESS, 0.7), synthesizer=tts)
    figures["s2s_8s"] = {
        "wall": c.wall,
        "cpu": c.cpu,
        "stages": res.timings,
        "output_seconds": res.duration,
        "text": res.rewritten_text,
        "load_average": os.getloadavg()[0],
    }
    rows.append(
        (
            f"whole S2S, 8 s clip ({args.tts}), wall",
            f"{c.wall:.2f} s",
            "<= 8 s",
            "ok" if c.wall <= 8 else "MISS",
        )
    )
    rows.append(
        (
            "  same, CPU seconds of this process / 2 cores",
            f"{c.cpu / 2:.2f} s",
            "(uncontended estimate)",
            "",
        )
    )
    rows.append(("  stages (s)", ", ".join(f"{k} {v:.2f}" for k, v in res.timings.items()), "", ""))
    with Clock() as c2:
        res2 = speech_to_speech(clip8, 16000, EmotionSpec(Emotion.SADNESS, 0.7), keep_words=True)
    figures["s2s_8s_keep_words"] = {"wall": c2.wall, "cpu": c2.cpu, "stages": res2.timings}
    rows.append(
        (
            "whole S2S keep-words, 8 s clip, wall",
            f"{c2.wall:.2f} s",
            "<= 8 s",
            "ok" if c2.wall <= 8 else "MISS",
        )
    )
    figures["load_average_end"] = os.getloadavg()[0]

    w = max(len(r[0]) for r in rows)
    print(f"\n{'figure':<{w}}  {'measured':<28}  {'target':<22}  status")
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:<28}  {r[2]:<22}  {r[3]}")
    print(
        f"load average: start {figures['load_average_start']:.1f}, end {figures['load_average_end']:.1f} "
        f"(2 cores; > 2 means wall times are inflated)"
    )
    OUT.mkdir(exist_ok=True)
    path = OUT / f"bench_speech_{args.tts}.json"
    path.write_text(json.dumps({"rows": rows, "figures": figures}, indent=2, default=str))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
