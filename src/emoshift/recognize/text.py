"""Text emotion recogniser (TER): Ekman 6 + neutral (+ a lexicon-only contempt), on MiniLM.

How it decides (details and measured accuracy in docs/recognizers.md, section "Text"):

1. Features per text: the 384-d all-MiniLM-L6-v2 sentence embedding
   (:mod:`emoshift.recognize.embeddings`) plus a few dozen interpretable cues -- NRC Emotion
   Lexicon counts, VADER valence scores, emotional interjections ("wow", "ugh", "oh no",
   "yay"...), exclamation / question marks, capitals. Every cue's weight was *learnt* from
   GoEmotions (Reddit comments), so a cue moves the decision only as far as it predicts emotion
   in real text: "!" alone barely changes a neutral sentence, "Wow," pushes towards surprise.
2. A small classifier (a softmax head, optionally with one hidden ReLU layer; weights in
   ``emoshift/data/text_emotion.npz``, trained by ``scripts/train_text_emotion.py``) gives
   probabilities over the 7 GoEmotions-Ekman classes; per-class logit offsets (tuned on held-out
   training rows for macro-F1) are part of the weights.
3. Contempt is not in GoEmotions. A small hand-written lexicon of contempt markers ("pfft",
   "pathetic", "how quaint", "spare me"...) moves a share of the anger / disgust / neutral mass
   to contempt; without such a marker contempt gets 0. This column is a heuristic, not measured
   against labelled data.

Probabilities are returned in ``ALL_EMOTIONS`` order (alphabetical, 8 columns).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoshift.emotion import ALL_EMOTIONS, Emotion
from emoshift.errors import BackendError
from emoshift.recognize.base import EmotionProbs
from emoshift.recognize.embeddings import LICENCE_KEYS as EMBED_LICENCES
from emoshift.recognize.embeddings import embed

WEIGHTS = Path(__file__).resolve().parents[1] / "data" / "text_emotion.npz"
"""Committed classifier weights (numpy arrays only, no pickle)."""

GOEMOTIONS_EKMAN: tuple[Emotion, ...] = (
    Emotion.ANGER,
    Emotion.DISGUST,
    Emotion.FEAR,
    Emotion.HAPPINESS,
    Emotion.NEUTRAL,
    Emotion.SADNESS,
    Emotion.SURPRISE,
)
"""The 7 trained classes, in the id order of goemotions_ekman/labels.txt (joy = happiness)."""

NRC_CATEGORIES: tuple[str, ...] = (
    "anger", "anticipation", "disgust", "fear", "joy",
    "negative", "positive", "sadness", "surprise", "trust",
)  # fmt: skip

# --- cue lexicons --------------------------------------------------------------------------
# Interjections and set phrases a person (or a rewriter) uses to show an emotion. Each is a
# regular expression matched case-insensitively on word boundaries. The classifier learns how
# much each group counts from GoEmotions; contempt has no training data (see module docstring).
# fmt: off
_CUES: dict[str, tuple[str, ...]] = {
    "happiness": (
        r"yay+", r"hooray", r"hurrah", r"hurray", r"woo+-?hoo+", r"woo+t?", r"yippee+", r"yes+s",
        r"(?:ha){2,}h?", r"he(?:he)+", r"lol", r"lmao", r"awesome", r"fantastic", r"wonderful",
        r"so happy", r"love (?:it|this|that)", r"great news", r"thank (?:god|goodness)",
    ),
    "surprise": (
        r"wo+w+", r"who+a+", r"woah", r"omg", r"oh my (?:god|gosh|goodness)", r"no way",
        r"what\?!", r"really\?!*", r"unbelievable", r"incredible", r"can'?t believe", r"holy \w+",
        r"whoa+", r"gosh", r"jeez", r"wait,? what", r"seriously\?",
    ),
    "anger": (
        r"damn(?:it)?", r"dammit", r"goddamn(?:it)?", r"wtf", r"ffs", r"argh+", r"gr+r",
        r"what the hell", r"how dare", r"for god'?s sake", r"fed up", r"sick of", r"enough!",
        r"screw (?:this|that|it|you)", r"bloody",
    ),
    "disgust": (
        r"ugh+", r"e+w+", r"yuck+", r"gross", r"blech", r"ick", r"bleh", r"eugh", r"nasty",
        r"revolting", r"disgusting", r"vile", r"sickening", r"makes me sick",
    ),
    "fear": (
        r"oh no+", r"yikes", r"eek+", r"uh-? ?oh", r"gulp", r"scary", r"terrif(?:ied|ying)",
        r"afraid", r"scared", r"frighten\w*", r"i'?m worried", r"nervous", r"panic\w*",
    ),
    "sadness": (
        r"sigh", r"\*sigh\*", r"alas", r"oh well", r"sadly", r"unfortunately", r"boo-?hoo",
        r"heartbroken", r"miss (?:him|her|them|you|it)", r"so sad", r"if only", r"tears",
        r"lonely", r"crying",
    ),
    "contempt": (
        r"pf+t?", r"psh+", r"tsk", r"as if", r"oh please", r"spare me", r"how quaint",
        r"pathetic", r"laughable", r"beneath (?:me|us|you)", r"give me a break", r"whatever",
        r"scoff\w*", r"sneer\w*", r"contempt\w*", r"disdain\w*", r"scorn\w*", r"pitiful",
        r"amateurs?", r"how original", r"big deal", r"who cares",
    ),
}
# fmt: on
CUE_GROUPS: tuple[str, ...] = tuple(_CUES)
_CUE_RES: dict[str, re.Pattern[str]] = {
    k: re.compile(r"(?<![\w'])(?:" + "|".join(v) + r")(?![\w'])", re.IGNORECASE)
    for k, v in _CUES.items()
}
_EMOTICONS_POS = re.compile(r"(?::|;|=)-?(?:\)|D|P|p)|<3|\^_\^|😀|😂|😊|😍|🥰|😄|🎉|❤️?")
_EMOTICONS_NEG = re.compile(r"(?::|=)-?(?:\(|/)|:'\(|😢|😭|😡|🤬|😠|🙄|😒|🤮|😱|😨")
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")

FEATURE_NAMES: tuple[str, ...] = (
    *(f"nrc_{c}" for c in NRC_CATEGORIES),
    "vader_pos", "vader_neg", "vader_neu", "vader_compound",
    *(f"cue_{g}" for g in CUE_GROUPS),
    "exclamations", "questions", "interrobang", "ellipsis", "caps_ratio",
    "emoticon_pos", "emoticon_neg", "log_words",
)  # fmt: skip
"""Names of the hand-made features, in column order (after the 384 embedding columns)."""


@functools.cache
def _nrc() -> dict[str, tuple[int, ...]]:
    """NRC Emotion Lexicon: word -> indices into NRC_CATEGORIES."""
    from emoshift.assets import package_file

    path = package_file("nrclex", "nrclex/data/nrc_en.json")
    raw = json.loads(path.read_text(encoding="utf-8"))
    index = {c: i for i, c in enumerate(NRC_CATEGORIES)}
    return {w.lower(): tuple(index[c] for c in cats if c in index) for w, cats in raw.items()}


@functools.cache
def _vader():  # -> vaderSentiment SentimentIntensityAnalyzer
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _nrc_lookup(word: str, lex: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """Lexicon categories of a word, trying a few inflection strips ("angered" -> "anger")."""
    hit = lex.get(word)
    if hit is not None:
        return hit
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"),
                         ("ing", ""), ("ing", "e"), ("ly", ""), ("'s", "")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            hit = lex.get(word[: -len(suffix)] + repl)
            if hit is not None:
                return hit
    return ()


def cue_counts(text: str) -> dict[str, int]:
    """How many interjection / set-phrase cues of each group (``CUE_GROUPS``) a text holds."""
    return {g: len(r.findall(text)) for g, r in _CUE_RES.items()}


def text_features(texts: Sequence[str]) -> np.ndarray:
    """Hand-made cue features: (N, len(FEATURE_NAMES)) float32, unscaled.

    Lexicon counts are log1p(count); VADER scores in [-1, 1] / [0, 1]; cue counts capped at 3;
    punctuation counts capped at 3 and divided by 3; caps_ratio = share of words of 2+ letters
    written in capitals; log_words = log1p(number of words).
    """
    lex = _nrc()
    vader = _vader()
    out = np.zeros((len(texts), len(FEATURE_NAMES)), np.float32)
    n_nrc = len(NRC_CATEGORIES)
    for i, text in enumerate(texts):
        words = _WORD.findall(text)
        counts = np.zeros(n_nrc, np.float32)
        for w in words:
            for c in _nrc_lookup(w.lower(), lex):
                counts[c] += 1
        vs = vader.polarity_scores(text)
        cues = cue_counts(text)
        long_words = [w for w in words if len(w) >= 2]
        caps = sum(w.isupper() for w in long_words) / max(1, len(long_words))
        row = [
            *np.log1p(counts),
            vs["pos"], vs["neg"], vs["neu"], vs["compound"],
            *(min(3, cues[g]) for g in CUE_GROUPS),
            min(3, text.count("!")) / 3.0,
            min(3, text.count("?")) / 3.0,
            float("?!" in text or "!?" in text),
            float("..." in text or "…" in text),
            caps,
            min(3, len(_EMOTICONS_POS.findall(text))) / 3.0,
            min(3, len(_EMOTICONS_NEG.findall(text))) / 3.0,
            np.log1p(len(words)),
        ]  # fmt: skip
        out[i] = row
    return out


def contempt_strength(texts: Sequence[str]) -> np.ndarray:
    """Lexicon evidence of contempt per text: (N,) float32 in [0, 1) (0 = no marker).

    1 - 0.4**k for k contempt markers: one marker 0.6, two 0.84.
    """
    k = np.array([len(_CUE_RES["contempt"].findall(t)) for t in texts], np.float32)
    return (1.0 - np.power(np.float32(0.4), k)).astype(np.float32)


def cue_prior_logits(x: np.ndarray) -> np.ndarray:
    """Common-sense prior from the interjection cues: (N, 7) float32 in GOEMOTIONS_EKMAN order.

    For each class, min(2, number of its cues) (e.g. "Ugh," -> 1 for disgust), read from the
    cue columns of the features ``x`` (N, D). Multiplied by the weights' ``cue_prior`` and
    added to the logits; contempt cues are handled by :func:`contempt_strength` instead.
    """
    out = np.zeros((len(x), len(GOEMOTIONS_EKMAN)), np.float32)
    base = x.shape[1] - len(FEATURE_NAMES)
    for c, emo in enumerate(GOEMOTIONS_EKMAN):
        name = f"cue_{emo.value}"
        if name in FEATURE_NAMES:
            out[:, c] = np.minimum(2.0, x[:, base + FEATURE_NAMES.index(name)])
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class TextEmotionWeights:
    """The classifier: standardisation, dense layers (ReLU between), per-class offsets."""

    mean: np.ndarray  # (D,) float32, D = 384 + len(FEATURE_NAMES)
    scale: np.ndarray  # (D,) float32
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # ((D, H), (H,)), ..., ((H, 7), (7,))
    class_bias: np.ndarray  # (7,) float32 logit offsets
    meta: dict[str, object]
    cue_prior: float = 0.0  # logit added per interjection cue of a class (see cue_prior_logits)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """x: (N, D) raw features -> (N, 7) logits in GOEMOTIONS_EKMAN order."""
        h = (x - self.mean) / self.scale
        for i, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if i < len(self.layers) - 1:
                np.maximum(h, 0.0, out=h)
        return h + self.class_bias + self.cue_prior * cue_prior_logits(x)

    def save(self, path: Path) -> None:
        """Write as .npz (arrays + a JSON meta string); atomic."""
        from emoshift.fileio import atomic_path

        arrays: dict[str, np.ndarray] = {
            "mean": self.mean.astype(np.float32),
            "scale": self.scale.astype(np.float32),
            "class_bias": self.class_bias.astype(np.float32),
            "cue_prior": np.array(self.cue_prior, np.float32),
            "meta": np.array(json.dumps(self.meta)),
        }
        for i, (w, b) in enumerate(self.layers):
            arrays[f"w{i}"] = w.astype(np.float32)
            arrays[f"b{i}"] = b.astype(np.float32)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        path.chmod(0o644)  # readable by everyone, like the rest of the package

    @classmethod
    def load(cls, path: Path) -> TextEmotionWeights:
        if not path.exists():
            raise BackendError(
                f"text emotion weights {path} are missing; run scripts/train_text_emotion.py"
            )
        with np.load(path, allow_pickle=False) as z:
            n = sum(1 for k in z.files if k.startswith("w"))
            layers = tuple((z[f"w{i}"], z[f"b{i}"]) for i in range(n))
            meta = json.loads(str(z["meta"]))
            prior = float(z["cue_prior"]) if "cue_prior" in z.files else 0.0
            weights = cls(z["mean"], z["scale"], layers, z["class_bias"], meta, prior)
        names = tuple(meta.get("feature_names", ()))
        if names != FEATURE_NAMES:
            raise BackendError(
                f"{path} was trained with other features; retrain with scripts/train_text_emotion.py"
            )
        return weights


class TextEmotionRecognizer:
    """Emotion of short English texts. ``labels`` = ALL_EMOTIONS (8, alphabetical)."""

    labels: tuple[Emotion, ...] = ALL_EMOTIONS
    licence_keys: tuple[str, ...] = ("emoshift-ter", "goemotions", "nrc-emolex", "vader",
                                     *EMBED_LICENCES)  # fmt: skip

    def __init__(self, weights: TextEmotionWeights) -> None:
        self.weights = weights
        self._cols = np.array([ALL_EMOTIONS.index(e) for e in GOEMOTIONS_EKMAN])

    def features(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 384 + len(FEATURE_NAMES)) float32: embedding, then cue features."""
        return np.concatenate([embed(texts), text_features(texts)], axis=1)

    def predict7(self, texts: Sequence[str]) -> np.ndarray:
        """(N, 7) float32 probabilities in GOEMOTIONS_EKMAN order (no contempt), rows sum to 1."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return np.zeros((0, 7), np.float32)
        return _softmax(self.weights.logits(self.features(texts))).astype(np.float32)

    def predict(self, texts: Sequence[str]) -> EmotionProbs:
        """Probabilities per text: ``p`` (N, 8) float32 in ALL_EMOTIONS order, rows sum to 1.

        A bare string counts as one text. Contempt's column is filled only when the text holds
        a contempt marker: then that share (:func:`contempt_strength`) of the anger and disgust
        mass, and half that share of the neutral mass, moves to contempt.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return EmotionProbs(self.labels, np.zeros((0, len(self.labels)), np.float32))
        return self.probs_from_features(self.features(texts), texts)

    def probs_from_features(self, x: np.ndarray, texts: Sequence[str]) -> EmotionProbs:
        """:meth:`predict` from precomputed :meth:`features` ``x`` (N, D) of ``texts``."""
        p7 = _softmax(self.weights.logits(x)).astype(np.float32)
        p = np.zeros((len(p7), len(ALL_EMOTIONS)), np.float32)
        p[:, self._cols] = p7
        s = contempt_strength(texts)
        ia, idg, ine = (ALL_EMOTIONS.index(e) for e in
                        (Emotion.ANGER, Emotion.DISGUST, Emotion.NEUTRAL))  # fmt: skip
        moved_a, moved_d, moved_n = s * p[:, ia], s * p[:, idg], 0.5 * s * p[:, ine]
        p[:, ia] -= moved_a
        p[:, idg] -= moved_d
        p[:, ine] -= moved_n
        p[:, ALL_EMOTIONS.index(Emotion.CONTEMPT)] = moved_a + moved_d + moved_n
        return EmotionProbs(self.labels, p)

    def label(self, texts: Sequence[str]) -> list[Emotion]:
        """Most probable emotion per text."""
        return self.predict(texts).top_labels()


@functools.cache
def load_text_recognizer() -> TextEmotionRecognizer:
    """The process-wide recogniser (loaded once; weights from ``emoshift/data``)."""
    return TextEmotionRecognizer(TextEmotionWeights.load(WEIGHTS))


# --- evaluation on GoEmotions-Ekman ---------------------------------------------------------
def read_goemotions_ekman(path: Path) -> tuple[list[str], list[tuple[int, ...]]]:
    """Read a goemotions_ekman TSV (text, comma-separated label ids, comment id).

    Returns (texts, gold) where gold[i] is the tuple of label ids (indices into
    GOEMOTIONS_EKMAN; several for multi-label rows).
    """
    texts: list[str] = []
    gold: list[tuple[int, ...]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[1]:
                continue
            texts.append(parts[0])
            gold.append(tuple(int(x) for x in parts[1].split(",")))
    return texts, gold


def _f1_table(true: np.ndarray, pred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Confusion (k, k+1) int64 (rows true, columns predicted; column k = a class outside the
    k, e.g. contempt) and per-class F1 (k,)."""
    conf = np.zeros((k + 1, k + 1), np.int64)
    np.add.at(conf, (true, np.where(pred < 0, k, pred)), 1)
    tp = np.diag(conf)[:k].astype(np.float64)
    denom = (conf.sum(0) + conf.sum(1))[:k]
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    return conf[:k], f1


def evaluate_labels(pred: Sequence[int], gold: Sequence[tuple[int, ...]], k: int = 7) -> dict:
    """Macro-F1 of single predictions against (possibly multi-label) gold, counted two ways.

    - ``any_gold``: every row; a prediction is correct when it is one of the row's gold labels
      (the row's reference label is then the predicted one, otherwise its first gold label).
    - ``single_label``: only rows with exactly one gold label (standard single-label F1).

    pred: N class ids (-1 = a class outside the k, always wrong); gold: N tuples of class ids.
    Returns a dict with, for each way,
    macro_f1, per-class f1 (list), accuracy, confusion (k x (k+1) list, rows = reference,
    last column = predictions outside the k), n.
    """
    pred_a = np.asarray(pred, np.int64)
    ref = np.array([p if p in g else g[0] for p, g in zip(pred_a, gold)], np.int64)
    single = np.array([len(g) == 1 for g in gold])
    out: dict[str, dict] = {}
    for name, mask in (("any_gold", np.ones(len(gold), bool)), ("single_label", single)):
        conf, f1 = _f1_table(ref[mask], pred_a[mask], k)
        out[name] = {
            "macro_f1": float(f1.mean()),
            "f1": [float(x) for x in f1],
            "accuracy": float(np.mean(ref[mask] == pred_a[mask])) if mask.any() else 0.0,
            "confusion": conf.tolist(),
            "n": int(mask.sum()),
        }
    return out


def ekman_ids(probs: EmotionProbs) -> np.ndarray:
    """Top class per row as an index into GOEMOTIONS_EKMAN (contempt -> -1): (N,) int64."""
    top = probs.top_labels()
    index = {e: i for i, e in enumerate(GOEMOTIONS_EKMAN)}
    return np.array([index.get(e, -1) for e in top], np.int64)
