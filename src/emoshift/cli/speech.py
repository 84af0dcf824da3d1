"""``emoshift speech IN --emotion E -o out.wav``: the speech-to-speech module alone."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

NAME = "speech"
HELP = (
    "change the emotion of speech: transcribe, rewrite in the emotion, speak it (or keep the words)"
)
DESCRIPTION = """\
Change the emotion of the speech in an audio or video file. The speech is transcribed
(Whisper base), the words rewritten in the target emotion (ETG) and spoken again with that
emotion in a voice close to the speaker's (Kokoro by default). With --keep-words the words
are kept and the ORIGINAL recording is given the emotion's prosody instead (same words, same
voice). The transcript, rewritten text, phone timings and audio go into the run folder.

Examples:
  emoshift speech talk.mp4 --emotion happy -o happy.wav
  emoshift speech talk.mp4 --emotion "very very sad" --keep-words -o sad.wav
  emoshift speech interview.wav --emotion angry --intensity 0.9 --tts piper -o angry.wav
  emoshift speech talk.mp4 --emotion fear --rewriter openai --run-dir runs/fear -o fear.wav

Emotions: anger, contempt, disgust, fear, happiness, neutral, sadness, surprise (and aliases);
intensity 0..1 (default from the words: "very very sad" is stronger than "sad").
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from emoshift.speech.synthesize import SYNTHESIZERS

    p.add_argument("input", type=Path, help="audio or video file with speech")
    p.add_argument(
        "--emotion", "-e", required=True, help='target emotion or prompt, e.g. happy, "very sad"'
    )
    p.add_argument(
        "--intensity", type=float, default=None, help="0..1, overrides the words of --emotion"
    )
    p.add_argument(
        "--keep-words", action="store_true", help="keep the words: convert the original recording"
    )
    p.add_argument(
        "--tts",
        default=SYNTHESIZERS.default,
        choices=SYNTHESIZERS.names(),
        help="speech synthesizer (default kokoro)",
    )
    p.add_argument(
        "--rewriter", default=None, help="text rewriter backend (default: lexical, offline)"
    )
    p.add_argument(
        "--whisper", default="base", choices=("base", "tiny.en"), help="speech recogniser model"
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="output WAV file")
    p.add_argument(
        "--run-dir", type=Path, default=None, help="keep every stage and a manifest in this folder"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--max-stretch",
        type=float,
        default=0.0,
        help="keep the new speech within this many times the input's length (e.g. 1.3, for "
        "dubbing): the rewrite that fits is chosen, long pauses are shortened, and words that "
        "still run over are sped up by at most 10%%; default 0 = no limit",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from emoshift.emotion import parse_emotion
    from emoshift.fileio import check_output_path
    from emoshift.media import probe, read_audio, write_audio
    from emoshift.pipeline import RunFolder
    from emoshift.speech.s2s import speech_to_speech
    from emoshift.speech.transcribe import get_transcriber

    target = parse_emotion(args.emotion, args.intensity)
    out = check_output_path(args.output, [args.input])
    if out.suffix.lower() != ".wav":
        from emoshift.errors import ConfigError

        raise ConfigError(f"the output must be a .wav file (got {out.name!r})")
    info = probe(args.input, need_audio=True)
    # keep the recording's rate for keep-words output, up to 24 kHz (WORLD cost grows with it)
    sr = min(int(info.sample_rate or 16000), 24000)
    audio = read_audio(args.input, sr=sr)
    from emoshift.speech.isochrony import budget_seconds, check_max_stretch

    budget = budget_seconds(check_max_stretch(args.max_stretch), audio.size / sr)
    config = {
        "command": "speech",
        "target": target.to_dict(),
        "keep_words": args.keep_words,
        "tts": args.tts,
        "rewriter": args.rewriter,
        "whisper": args.whisper,
        "seed": args.seed,
        "max_stretch": args.max_stretch,
    }
    tmp = None
    if args.run_dir is not None:
        run_dir = args.run_dir
    else:
        tmp = tempfile.TemporaryDirectory(prefix="emoshift-speech-")
        run_dir = Path(tmp.name)
    try:
        rf = RunFolder(
            run_dir, config, {"input": args.input}, shared_cache=args.run_dir is not None
        )
        result = speech_to_speech(
            audio,
            sr,
            target,
            keep_words=args.keep_words,
            rewriter=args.rewriter,
            synthesizer=args.tts,
            run=rf,
            transcriber=get_transcriber(args.whisper),
            seed=args.seed,
            max_seconds=budget,
        )
        rf.extra["speech"] = {
            "timings": result.timings,
            "voice": result.voice.to_dict() if result.voice else None,
        }
        rf.write_manifest()
        write_audio(out, result.audio, result.sr, inputs=[args.input])
    finally:
        if tmp is not None:
            tmp.cleanup()
    summary = {
        "output": str(out),
        "target": str(target),
        "transcript": result.transcript.text,
        "text": result.rewritten_text,
        "duration": round(result.duration, 3),
        "phones": len(result.phones or []),
        "timings": result.timings,
        "run_dir": str(args.run_dir) if args.run_dir else None,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"heard:   {result.transcript.text}")
        print(f"says:    {result.rewritten_text}" + ("  (words kept)" if args.keep_words else ""))
        print(f"wrote:   {out} ({result.duration:.1f} s, {target})")
        print(
            "timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()),
            file=sys.stderr,
        )
    return 0
