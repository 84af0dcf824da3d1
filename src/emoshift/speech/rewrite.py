"""Emotional Text Generation (ETG): rewrite a transcript so that it carries a target emotion.

The paper sends ``I = [T, P]`` to GPT-4, with ``P = "Make this text very very very happy"``.
Here every rewriter is a backend behind one :class:`Rewriter` protocol, chosen by name from
:data:`REWRITERS`:

- ``lexical`` (default, offline, no language model): emotion-bearing devices placed in the
  text (:mod:`emoshift.speech.rewrite_lexical`);
- ``openai``: any OpenAI-compatible chat-completions endpoint, the paper's set-up
  (:mod:`emoshift.speech.rewrite_openai`);
- ``qwen``: Qwen2.5-Coder-1.5B-Instruct GGUF through llama-cpp-python, optional
  (:mod:`emoshift.speech.rewrite_llm`, installed by ``make llm``).

Backends that produce several candidates pick one with :class:`CandidateScorer`: the text
emotion recogniser's probability of the target x meaning kept (MiniLM cosine to the original)
x a fluency heuristic.

    >>> from emoshift.speech.rewrite import rewrite
    >>> rewrite("The train leaves at nine.", "very happy").text   # doctest: +SKIP
    'Oh, the train leaves at nine! I am so happy about it!'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from emoshift.emotion import Emotion, EmotionSpec, parse_emotion
from emoshift.errors import BackendError, ConfigError
from emoshift.registry import Registry

__all__ = [
    "REWRITERS",
    "CandidateScorer",
    "RewriteResult",
    "Rewriter",
    "fluency",
    "get_rewriter",
    "looks_like_remark",
    "rewrite",
]


@dataclass(frozen=True)
class RewriteResult:
    """One rewrite.

    Attributes:
        text: the rewritten text (what the TTS will speak).
        original: the input text, unchanged.
        target: the emotion asked for.
        backend: name of the backend that produced ``text``.
        candidates: every candidate considered, best first (``text`` is ``candidates[0]``
            whenever candidates were generated).
        scores: JSON-serialisable figures of the chosen text: ``p_target`` (recogniser
            probability of the target, 0..1), ``similarity`` (MiniLM cosine to the original,
            -1..1), ``fluency`` (0..1), ``total`` (their product), plus ``per_candidate``
            (one dict per candidate, same order as ``candidates``) and backend-specific keys.
    """

    text: str
    original: str
    target: EmotionSpec
    backend: str
    candidates: list[str] = field(default_factory=list)
    scores: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "original": self.original,
            "target": self.target.to_dict(),
            "backend": self.backend,
            "candidates": list(self.candidates),
            "scores": self.scores,
        }


@runtime_checkable
class Rewriter(Protocol):
    """A backend that rewrites text in a target emotion."""

    name: str

    def rewrite(self, text: str, target: EmotionSpec, *, seed: int = 0) -> RewriteResult:
        """Rewrite ``text`` so that it carries ``target`` (at ``target.intensity``).

        Deterministic for a given ``seed`` (for backends that run locally). ``neutral`` removes
        emotional colouring. Empty or whitespace-only text is returned unchanged.
        """
        ...


REWRITERS: Registry[Rewriter] = Registry("rewriter")


# --- scoring candidates ------------------------------------------------------------------------
RerankMode = Literal["recognizer", "lexicon", "none"]

RERANK_LICENCE_KEYS: tuple[str, ...] = (
    "emoshift-ter",
    "goemotions",
    "nrc-emolex",
    "vader",
    "minilm-l6-v2",
)
"""What the default candidate scorer uses (the text emotion recogniser, trained on GoEmotions
with NRC and VADER features, and MiniLM similarity): part of every reranking backend's
``licence_keys``."""


def rewriter_licence_keys(backend: str | None) -> tuple[str, ...]:
    """Licence keys of a registered rewriter (its class attribute ``licence_keys``), without
    building it (building the qwen backend loads a 1.1 GB model)."""
    factory = REWRITERS.info(backend or REWRITERS.default).factory
    return tuple(getattr(factory, "licence_keys", ()))


_WORD = re.compile(r"[A-Za-z']+")
_REMARK = re.compile(
    r"^\s*(?:sure|certainly|of course|okay|ok|here(?:'s| is| are)|i (?:have|'ve) rewritten|"
    r"rewritten|this (?:text|sentence|statement)|the (?:text|sentence|original)|as an ai|"
    r"i'm sorry|i am sorry|i cannot|i can't help|note:|explanation:|revised)\b",
    re.IGNORECASE,
)


def looks_like_remark(candidate: str, original: str) -> bool:
    """True if an LLM output is a remark about the text rather than a rewrite of it.

    Catches "Sure! Here is...", "This text expresses...", "The sentence is...", refusals,
    explanations, and outputs that share almost no words with the original.
    """
    if not candidate.strip() or _REMARK.match(candidate):
        return True
    low = candidate.lower()
    if any(k in low for k in ("rewritten", "the original text", "this text", "the sentence")):
        return True
    orig = {w.lower() for w in _WORD.findall(original) if len(w) > 3}
    if orig:
        kept = orig & {w.lower() for w in _WORD.findall(candidate)}
        if len(kept) / len(orig) < 0.3:
            return True
    return False


def fluency(candidate: str, original: str) -> float:
    """A cheap fluency/plausibility score in (0, 1]: 1 for clean text, lower for tell-tale
    defects of rule-based or LLM rewrites.

    Penalised: an added content word used twice (x0.85) or three times or more (x0.7), two
    interjections or exclamation groups in a row, stray spacing before punctuation, runs of more
    than three punctuation marks, added length far beyond the original (more than ~2x plus 12
    words), an empty result.
    """
    words = [w.lower() for w in _WORD.findall(candidate)]
    if not words:
        return 0.05
    score = 1.0
    orig_words = [w.lower() for w in _WORD.findall(original)]
    counts: dict[str, int] = {}
    for w in words:
        if len(w) > 3:
            counts[w] = counts.get(w, 0) + 1
    for w, c in counts.items():
        extra = c - orig_words.count(w)
        if c >= 3 and extra >= 2:
            score *= 0.7
        elif extra >= 2:  # an added word used twice ("It's disgusting! How disgusting!")
            score *= 0.85
    if re.search(r"\s[,.!?;:]", candidate):
        score *= 0.8
    if re.search(r"[!?.]{4,}", candidate):
        score *= 0.8
    if re.search(r"[!?]\s+\w+[!?]\s+\w+[!?]", candidate):  # "Wow! Yay! Great!"
        score *= 0.75
    extra = len(words) - len(orig_words)
    allowed = max(12, len(orig_words))
    if extra > allowed:
        score *= max(0.3, 1.0 - 0.04 * (extra - allowed))
    return float(score)


@functools.cache
def _text_recognizer() -> Any:
    try:
        from emoshift.recognize.text import load_text_recognizer
    except ImportError as exc:
        raise BackendError(
            "the text emotion recogniser (emoshift.recognize.text) is not available; "
            "rerank with rerank='lexicon' or reinstall emoshift"
        ) from exc
    return load_text_recognizer()


def _recognizer_probs(texts: list[str], emb: np.ndarray | None) -> Any:
    """The recogniser's EmotionProbs for ``texts``, reusing their MiniLM embeddings when the
    recogniser is the MiniLM + cue-feature model of :mod:`emoshift.recognize.text` (its
    ``features`` = [embedding, text_features]); otherwise a plain ``predict``."""
    rec = _text_recognizer()
    if emb is not None and hasattr(rec, "probs_from_features"):
        try:
            from emoshift.recognize.text import text_features

            x = np.concatenate([emb, text_features(texts)], axis=1).astype(np.float32)
            if x.shape[1] == np.shape(rec.weights.mean)[-1]:
                return rec.probs_from_features(x, texts)
        except (ImportError, AttributeError):
            pass
    return rec.predict(texts)


class CandidateScorer:
    """Scores rewrite candidates: p(target) x top x similarity^sim_power x fluency, where
    top = 1 if the target is the most probable label, else ``off_top`` (0.6).

    ``mode``:
      - ``"recognizer"`` (default): p(target) from the project's text emotion recogniser
        (:func:`emoshift.recognize.text.load_text_recognizer`), mixtures weighted;
      - ``"lexicon"``: p(target) from emotion cue words only (NRC lexicon and the rewriter's
        own word lists), independent of the recogniser;
      - ``"none"``: p(target) = 1 (keep the generator's order, only similarity/fluency count).
    Similarity is the MiniLM cosine (:func:`emoshift.recognize.embeddings.embed`), clipped to
    [0.01, 1].
    """

    def __init__(
        self, mode: RerankMode = "recognizer", sim_power: float = 1.0, off_top: float = 0.6
    ) -> None:
        if mode not in ("recognizer", "lexicon", "none"):
            raise ConfigError(f"unknown rerank mode {mode!r}; use recognizer, lexicon or none")
        self.mode = mode
        self.sim_power = float(sim_power)
        self.off_top = float(off_top)

    def p_target(
        self, texts: Sequence[str], target: EmotionSpec, emb: np.ndarray | None = None
    ) -> np.ndarray:
        """Probability of the target for each text: (N,) float64 in [0, 1].

        ``emb``: the texts' MiniLM embeddings (N, 384) if already computed (saves a pass)."""
        if self.mode == "none" or not texts:
            return np.ones(len(texts))
        if self.mode == "lexicon":
            from emoshift.speech.rewrite_lexical import lexicon_emotion_scores

            probs = lexicon_emotion_scores(texts)
            return np.array(
                [sum(w * p.get(e, 0.0) for e, w in target.weights.items()) for p in probs]
            )
        res = _recognizer_probs(list(texts), emb)
        out = np.zeros(len(texts))
        for emo, w in target.weights.items():
            if emo in res.labels:
                out += w * np.asarray(res.column(emo), dtype=np.float64).reshape(len(texts))
        return out

    def _p_and_top(
        self, texts: Sequence[str], target: EmotionSpec, emb: np.ndarray
    ) -> tuple[np.ndarray, list[bool]]:
        """p(target) per text and whether the target (a mixture's main label) is its top label."""
        if self.mode == "none":
            return np.ones(len(texts)), [True] * len(texts)
        main = max(target.weights, key=target.weights.__getitem__)
        if self.mode == "lexicon":
            from emoshift.speech.rewrite_lexical import lexicon_emotion_scores

            probs = lexicon_emotion_scores(texts)
            p = np.array([sum(w * d.get(e, 0.0) for e, w in target.weights.items()) for d in probs])
            return p, [max(d, key=d.__getitem__) is main for d in probs]
        res = _recognizer_probs(list(texts), emb)
        p = np.zeros(len(texts))
        for emo, w in target.weights.items():
            if emo in res.labels:
                p += w * np.asarray(res.column(emo), dtype=np.float64).reshape(len(texts))
        return p, [lab is main for lab in res.top_labels()]

    def top_labels(self, texts: Sequence[str]) -> list[Emotion]:
        """The recogniser's label for each text (lexicon argmax in lexicon mode)."""
        if self.mode == "recognizer":
            return _text_recognizer().predict(list(texts)).top_labels()
        from emoshift.speech.rewrite_lexical import lexicon_emotion_scores

        return [max(p, key=p.__getitem__) for p in lexicon_emotion_scores(texts)]

    def score(self, original: str, candidates: Sequence[str], target: EmotionSpec) -> list[dict]:
        """One dict per candidate: p_target, similarity, fluency, total (all floats)."""
        if not candidates:
            return []
        from emoshift.recognize.embeddings import embed

        e = embed([original, *candidates])
        sims = np.clip(e[1:] @ e[0], 0.01, 1.0)
        ps, tops = self._p_and_top(candidates, target, e[1:])
        out = []
        for c, p, s, top in zip(candidates, ps, sims, tops):
            f = fluency(c, original)
            # a candidate whose most probable label is the target beats a slightly likelier
            # one that the recogniser would still call something else
            total = float(p) * (1.0 if top else self.off_top) * float(s) ** self.sim_power * f
            out.append(
                {
                    "p_target": round(float(p), 5),
                    "similarity": round(float(s), 5),
                    "fluency": round(f, 5),
                    "total": round(total, 6),
                    "is_top": bool(top),
                }
            )
        return out

    def rank(
        self, original: str, candidates: Sequence[str], target: EmotionSpec
    ) -> tuple[list[str], list[dict]]:
        """Candidates (duplicates removed, first occurrence kept) and their scores, best first.
        Ties keep the generator's order."""
        uniq = list(dict.fromkeys(c for c in candidates if c.strip()))
        scores = self.score(original, uniq, target)
        order = sorted(range(len(uniq)), key=lambda i: (-scores[i]["total"], i))
        return [uniq[i] for i in order], [scores[i] for i in order]


def result_from_ranking(
    text: str,
    target: EmotionSpec,
    backend: str,
    ranked: list[str],
    scores: list[dict],
    **extra: Any,
) -> RewriteResult:
    """Package a ranked candidate list as a :class:`RewriteResult` (best = ``ranked[0]``)."""
    if not ranked:
        return RewriteResult(text, text, target, backend, [], {"note": "no candidates", **extra})
    best = dict(scores[0])
    return RewriteResult(
        ranked[0], text, target, backend, ranked, {**best, "per_candidate": scores, **extra}
    )


# --- module-level entry point ------------------------------------------------------------------
_INSTANCES: dict[tuple, Rewriter] = {}


def get_rewriter(backend: str | None = None, **kwargs: Any) -> Rewriter:
    """The rewriter ``backend`` (default: ``lexical``) built with ``kwargs``, cached so models
    load once per process. Unhashable kwargs bypass the cache."""
    name = backend or REWRITERS.default
    try:
        key: tuple | None = (name, tuple(sorted(kwargs.items())))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _INSTANCES:
        return _INSTANCES[key]
    inst = REWRITERS.create(name, **kwargs)
    if key is not None:
        _INSTANCES[key] = inst
    return inst


def rewrite(
    text: str,
    target: EmotionSpec | Emotion | str,
    *,
    backend: str | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> RewriteResult:
    """Rewrite ``text`` in ``target`` with backend ``backend`` (default ``lexical``).

    ``target``: an :class:`EmotionSpec`, an :class:`Emotion` or a prompt such as "very sad"
    or "Make this text very very very happy" (parsed with :func:`parse_emotion`).
    ``kwargs`` go to the backend's constructor (e.g. ``model=``, ``base_url=`` for
    ``openai``; ``n_candidates=``, ``rerank=`` for ``lexical``).

    Raises :class:`~emoshift.errors.ConfigError` for an unknown backend,
    :class:`~emoshift.errors.BackendError` when a backend cannot run.
    """
    spec = parse_emotion(target)
    return get_rewriter(backend, **kwargs).rewrite(str(text), spec, seed=seed)


# Register the backends (each module registers itself with REWRITERS).
from emoshift.speech import rewrite_lexical, rewrite_llm, rewrite_openai  # noqa: E402, F401
