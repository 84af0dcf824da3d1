"""``emoshift recognize FILE``: emotion of a face image, a video (face + voice), speech or text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

NAME = "recognize"
HELP = "recognise the emotion in an image, video, audio file or text"
DESCRIPTION = """\
Recognise emotions with emoshift's evaluation recognisers:
  image (jpg, png, ...)  face emotion (FER, 7 classes) of the largest face
  video                  FER on every frame (summary + per-frame in JSON) and, if the
                         audio track holds sound, speech emotion (SER) of the audio
  audio (wav, mp3, ...)  speech emotion (SER)
  .txt file              text emotion (TER) of each non-empty line
  --text "..."           text emotion of the given text

Examples:
  emoshift recognize face.jpg
  emoshift recognize talk.mp4 --json > talk_emotions.json
  emoshift recognize speech.wav --ser-classes 4
  emoshift recognize --text "I can't believe we won!"
"""

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
TEXT_EXTS = {".txt"}
SPEECH_MIN_DBFS = -45.0
"""An audio track counts as holding sound if >= 10% of its 30 ms frames exceed this RMS level."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, nargs="?", help="image, video, audio or .txt file")
    p.add_argument("--text", help="recognise the emotion of this text instead of a file")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.add_argument("-o", "--output", type=Path, help="also write the JSON result to this file")
    p.add_argument(
        "--ser-classes",
        type=int,
        choices=(4, 7),
        default=7,
        help="speech recogniser classes (default 7)",
    )
    p.add_argument(
        "--every",
        type=int,
        default=1,
        metavar="N",
        help="video: classify every N-th frame (default 1)",
    )


# --- recognisers (imported lazily, with a clear error when a module is missing) -----------------
def _speech(n_classes: int) -> Any:
    from emoshift.errors import BackendError

    try:
        from emoshift.recognize.speech import load_speech_recognizer
    except ImportError as exc:
        raise BackendError(
            f"the speech emotion recogniser is not available in this install ({exc})"
        ) from None
    return load_speech_recognizer(n_classes=n_classes)


def _text() -> Any:
    from emoshift.errors import BackendError

    try:
        from emoshift.recognize.text import load_text_recognizer
    except ImportError as exc:
        raise BackendError(
            f"the text emotion recogniser is not available in this install ({exc})"
        ) from None
    return load_text_recognizer()


def _probs_dict(labels: Any, p: np.ndarray) -> dict[str, float]:
    return {
        e.value if hasattr(e, "value") else str(e): round(float(v), 5) for e, v in zip(labels, p)
    }


def _top(d: dict[str, float]) -> str:
    return max(d, key=lambda k: d[k]) if d else "-"


def recognize_image(path: Path) -> dict[str, Any]:
    import cv2

    from emoshift.errors import NotMediaError
    from emoshift.recognize.face import load_face_recognizer

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise NotMediaError(f"{path} is not a readable image (jpg, png, bmp, webp, tiff)")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rec = load_face_recognizer()
    probs = rec.predict_image(rgb)
    d = _probs_dict(rec.labels, probs.p)
    return {
        "file": str(path),
        "kind": "image",
        "face": {"top": _top(d), "probabilities": d},
        "licences": _licences("mediapipe-facemesh", *rec.licence_keys),
    }


def recognize_video(path: Path, every: int, ser_classes: int) -> dict[str, Any]:
    from emoshift.errors import BackendError, NoAudioStreamError
    from emoshift.media import iter_frames, probe, read_audio
    from emoshift.metrics.audio import has_sound
    from emoshift.recognize.face import load_face_recognizer

    info = probe(path)
    out: dict[str, Any] = {"file": str(path), "kind": "video" if info.has_video else "audio"}
    used: list[str] = []
    if info.has_video:
        rec = load_face_recognizer()
        used += ["mediapipe-facemesh", *rec.licence_keys]
        fps = float(info.fps or 25.0)
        probs = rec.predict_video(iter_frames(path, every=every)).p
        ok = np.isfinite(probs).all(axis=1)
        summary: dict[str, Any] = {
            "frames": int(probs.shape[0]),
            "frames_with_face": int(ok.sum()),
            "every": every,
        }
        if ok.any():
            mean = _probs_dict(rec.labels, probs[ok].mean(axis=0))
            shares = np.bincount(probs[ok].argmax(axis=1), minlength=len(rec.labels)) / ok.sum()
            summary.update(
                top=_top(mean),
                mean_probabilities=mean,
                top_class_share=_probs_dict(rec.labels, shares),
            )
        summary["per_frame"] = [
            {
                "time": round(i * every / fps, 3),
                **(_probs_dict(rec.labels, r) if np.isfinite(r).all() else {}),
            }
            for i, r in enumerate(probs)
        ]
        out["face"] = summary
    if info.has_audio:
        try:
            audio = read_audio(path, 16000)
        except NoAudioStreamError:
            audio = None
        if audio is not None and has_sound(audio, 16000, SPEECH_MIN_DBFS):
            try:
                ser = _speech(ser_classes)
                used += ser.licence_keys
                p = (
                    np.asarray(ser.predict(audio, 16000).p, dtype=np.float64)
                    .reshape(-1, len(ser.labels))
                    .mean(axis=0)
                )
                d = _probs_dict(ser.labels, p)
                out["speech"] = {"top": _top(d), "probabilities": d}
            except BackendError as exc:
                if not info.has_video:
                    raise
                out["speech"] = {"error": str(exc)}
        else:
            out["speech"] = {"note": "the audio track is silent; no speech emotion"}
    out["licences"] = _licences(*used)
    return out


def recognize_texts(texts: list[str]) -> dict[str, Any]:
    ter = _text()
    probs = ter.predict(texts)
    p = np.atleast_2d(probs.p)
    rows = []
    for t, r in zip(texts, p):
        d = _probs_dict(ter.labels, r)
        rows.append({"text": t, "top": _top(d), "probabilities": d})
    return {"kind": "text", "texts": rows, "licences": _licences(*ter.licence_keys)}


def _licences(*keys: str) -> list[dict[str, str]]:
    """Licence records of the models a recognition ran (in the JSON output)."""
    from emoshift.licences import licences_for

    return licences_for(["emoshift", *keys])


# --- printing ---------------------------------------------------------------------------------
def _table(title: str, d: dict[str, float]) -> str:
    lines = [title]
    for k, v in sorted(d.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {k:<10} {v:6.3f}  {'#' * round(v * 30)}")
    return "\n".join(lines)


def render(result: dict[str, Any]) -> str:
    parts: list[str] = []
    if "file" in result:
        parts.append(f"{result['file']} ({result['kind']})")
    face = result.get("face")
    if face:
        if "probabilities" in face:
            parts.append(_table(f"face: {face['top']}", face["probabilities"]))
        elif "mean_probabilities" in face:
            parts.append(
                f"face: {face['top']} (frames with a face: {face['frames_with_face']}/{face['frames']})"
            )
            parts.append(_table("  mean probability per class:", face["mean_probabilities"]))
            parts.append(
                _table("  share of frames where the class is on top:", face["top_class_share"])
            )
        else:
            parts.append(f"face: no face found in {face.get('frames', 0)} frames")
    sp = result.get("speech")
    if sp:
        if "probabilities" in sp:
            parts.append(_table(f"speech: {sp['top']}", sp["probabilities"]))
        else:
            parts.append(f"speech: {sp.get('error') or sp.get('note')}")
    for row in result.get("texts", []):
        parts.append(_table(f"text: {row['top']}  <- {row['text'][:70]!r}", row["probabilities"]))
    return "\n".join(parts)


def run(args: argparse.Namespace) -> int:
    from emoshift.errors import ConfigError
    from emoshift.fileio import check_output_path, write_json_atomic

    if args.every < 1:
        raise ConfigError("--every must be >= 1")
    if args.output is not None:
        inputs = [args.file] if args.file is not None else []
        check_output_path(args.output, inputs)
    if args.text is not None:
        if args.file is not None:
            raise ConfigError("give either a FILE or --text, not both")
        result = recognize_texts([args.text])
    elif args.file is None:
        raise ConfigError('give a FILE (image, video, audio or .txt) or --text "..."')
    else:
        path: Path = args.file
        if not path.exists():
            raise ConfigError(f"{path} does not exist")
        ext = path.suffix.lower()
        if ext in IMAGE_EXTS:
            result = recognize_image(path)
        elif ext in TEXT_EXTS:
            texts = [
                ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()
            ]
            if not texts:
                raise ConfigError(f"{path} holds no text")
            result = recognize_texts(texts)
            result["file"] = str(path)
        else:
            result = recognize_video(path, args.every, args.ser_classes)
    if args.output is not None:
        write_json_atomic(args.output, result)
    print(json.dumps(result, indent=2) if args.json else render(result))
    return 0
