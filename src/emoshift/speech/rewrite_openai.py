"""ETG backend "openai": an OpenAI-compatible chat-completions endpoint, as in the paper.

The paper sends GPT-4 the input ``I = [T, P]``: the transcript T followed by the prompt
P = "Make this text very very very happy" (:meth:`EmotionSpec.prompt`). This backend sends
exactly that as the user message of ``POST {base_url}/v1/chat/completions``, with a short
system message asking for the rewritten text only (set ``system_prompt=""`` for the paper's
bare input). Any server speaking the protocol works: OpenAI, Azure-style proxies, vLLM,
llama.cpp's server, Ollama's OpenAI endpoint.

Configuration (arguments, else environment): ``base_url`` (``OPENAI_BASE_URL``, default
``https://api.openai.com``), ``api_key`` (``OPENAI_API_KEY``; sent as ``Authorization:
Bearer``; may be empty for local servers), ``model`` (``EMOSHIFT_OPENAI_MODEL``, default
``gpt-4``), ``temperature``, ``timeout_s``.

Output checks: surrounding quotes and "Rewritten text:" labels are removed; an answer that is a
remark about the text rather than a rewrite (:func:`looks_like_remark`) is retried with the next
seed, and after ``max_attempts`` the backend falls back to the offline ``lexical`` rewriter
(``fallback="lexical"``, recorded in ``scores["fallback"]``) or raises :class:`BackendError`
(``fallback=None``). With ``n_candidates > 1`` the valid answers are reranked like the lexical
backend's candidates.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
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

DEFAULT_BASE_URL = "https://api.openai.com"
DEFAULT_MODEL = "gpt-4"
DEFAULT_SYSTEM = (
    "You rewrite text in a requested emotion. Keep its meaning and key words. "
    "Reply with the rewritten text only: no quotes, no explanations, no comments."
)


@dataclass(frozen=True)
class OpenAIConfig:
    """Settings of the OpenAI-compatible backend (None = from the environment / default).

    base_url: server root, with or without a trailing ``/v1``.
    api_key: bearer token; "" sends no Authorization header (local servers).
    model: model name sent in the request.
    temperature: sampling temperature, 0..2.
    timeout_s: per-request timeout in seconds (connect and read).
    max_tokens: cap on the answer's length in tokens.
    n_candidates: answers requested (one request each, seeds seed..seed+n-1); > 1 reranks.
    max_attempts: requests allowed in total to get ``n_candidates`` valid rewrites.
    rerank: scorer used when several valid answers exist (see CandidateScorer).
    system_prompt: system message; "" sends the paper's input alone.
    fallback: backend used when no valid rewrite came back ("lexical"), or None to raise.
    """

    base_url: str | None = None
    api_key: str | None = None
    model: str | None = None
    temperature: float = 0.7
    timeout_s: float = 60.0
    max_tokens: int = 400
    n_candidates: int = 1
    max_attempts: int = 3
    rerank: RerankMode = "recognizer"
    system_prompt: str = DEFAULT_SYSTEM
    fallback: str | None = "lexical"

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"temperature must be in [0, 2], got {self.temperature}")
        if self.timeout_s <= 0:
            raise ConfigError(f"timeout_s must be positive, got {self.timeout_s}")
        if not 1 <= self.n_candidates <= 16:
            raise ConfigError(f"n_candidates must be in 1..16, got {self.n_candidates}")
        if self.max_attempts < self.n_candidates:
            object.__setattr__(self, "max_attempts", self.n_candidates)


def chat_url(base_url: str) -> str:
    """``{base}/v1/chat/completions`` for a base given with or without ``/v1``."""
    base = base_url.strip().rstrip("/")
    if not re.match(r"^https?://", base):
        raise ConfigError(f"base_url must start with http:// or https://, got {base_url!r}")
    if base.endswith("/v1"):
        base = base[:-3]
    return f"{base}/v1/chat/completions"


def build_messages(text: str, target: EmotionSpec, system_prompt: str) -> list[dict[str, str]]:
    """The chat messages: optional system message, then the paper's I = [T, P] as the user
    message (transcript, blank line, prompt)."""
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    msgs.append({"role": "user", "content": f"{text}\n\n{target.prompt()}"})
    return msgs


_LABEL = re.compile(
    r"^\s*(?:rewritten(?: text)?|rewrite|output|answer|result|here(?:'s| is) the rewritten text)"
    r"\s*:\s*",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’«»`"


def clean_answer(answer: str) -> str:
    """Strip labels ("Rewritten text:"), code fences and surrounding quotes; one line of
    whitespace between words."""
    t = answer.strip()
    t = re.sub(r"^```\w*\s*|\s*```$", "", t)
    t = _LABEL.sub("", t)
    t = t.strip()
    if len(t) >= 2 and t[0] in _QUOTES and t[-1] in _QUOTES:
        t = t[1:-1].strip()
    return re.sub(r"\s+", " ", t).strip()


@REWRITERS.register(
    "openai",
    summary="OpenAI-compatible chat completions with the paper's prompt (GPT-4 or a local server)",
    offline=False,
)
class OpenAIRewriter:
    """The paper's ETG: ``[T, P]`` sent to an OpenAI-compatible chat endpoint."""

    name = "openai"
    # the remote model's terms are the user's; locally: the reranker and the lexical fallback
    licence_keys: tuple[str, ...] = RERANK_LICENCE_KEYS

    def __init__(self, config: OpenAIConfig | None = None, **overrides: Any) -> None:
        cfg = config or OpenAIConfig()
        if overrides:
            unknown = set(overrides) - set(OpenAIConfig.__dataclass_fields__)
            if unknown:
                raise ConfigError(f"unknown openai rewriter settings: {sorted(unknown)}")
            cfg = OpenAIConfig(**{**cfg.__dict__, **overrides})
        self.config = cfg
        self.base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.url = chat_url(self.base_url)
        key = cfg.api_key if cfg.api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.api_key = key.strip()
        self.model = cfg.model or os.environ.get("EMOSHIFT_OPENAI_MODEL") or DEFAULT_MODEL
        if not self.api_key and "api.openai.com" in self.url:
            raise BackendError(
                "the openai rewriter needs an API key: set OPENAI_API_KEY (or pass api_key=), "
                "or point base_url at a local OpenAI-compatible server"
            )
        self.scorer = CandidateScorer(cfg.rerank)

    # -- HTTP ------------------------------------------------------------------------------
    def request_body(self, text: str, target: EmotionSpec, seed: int) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": build_messages(text, target, self.config.system_prompt),
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": int(seed),
        }

    def complete(self, body: dict[str, Any]) -> str:
        """POST one chat completion; the answer's text. Raises BackendError with a message
        saying what to check (network, key, model name, server)."""
        import httpx

        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            resp = httpx.post(self.url, json=body, headers=headers, timeout=self.config.timeout_s)
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"the chat endpoint {self.url} did not answer within {self.config.timeout_s:g} s; "
                "raise timeout_s or check the server"
            ) from exc
        except httpx.HTTPError as exc:
            raise BackendError(
                f"cannot reach the chat endpoint {self.url} ({exc}); check the network and "
                "base_url / OPENAI_BASE_URL, or use the offline backend (--rewriter lexical)"
            ) from exc
        if resp.status_code != 200:
            detail = _error_detail(resp.text)
            hint = {
                401: "the API key was refused: check OPENAI_API_KEY",
                403: "access denied: check the API key's permissions",
                404: f"endpoint or model not found: check base_url and model ({self.model!r})",
                429: "rate-limited or out of quota: wait and retry, or check billing",
            }.get(resp.status_code, "server error: retry later or check the server's logs")
            raise BackendError(
                f"chat endpoint {self.url} answered HTTP {resp.status_code}: {hint}"
                + (f" ({detail})" if detail else "")
            )
        try:
            data = resp.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(
                f"chat endpoint {self.url} returned something that is not a chat completion: "
                f"{resp.text[:200]!r}"
            ) from exc
        if not isinstance(content, str):
            raise BackendError(f"chat endpoint {self.url} returned no text content")
        return content

    # -- Rewriter --------------------------------------------------------------------------
    def rewrite(self, text: str, target: EmotionSpec, *, seed: int = 0) -> RewriteResult:
        src = re.sub(r"\s+", " ", str(text)).strip()
        if not src:
            return RewriteResult(
                str(text), str(text), target, self.name, [], {"note": "empty text"}
            )
        valid: list[str] = []
        rejected: list[str] = []
        for attempt in range(self.config.max_attempts):
            answer = clean_answer(self.complete(self.request_body(src, target, seed + attempt)))
            if looks_like_remark(answer, src):
                rejected.append(answer)
            elif answer not in valid:
                valid.append(answer)
            if len(valid) >= self.config.n_candidates:
                break
        extra = {"model": self.model, "rejected": rejected, "prompt": target.prompt()}
        if not valid:
            if self.config.fallback is None:
                raise BackendError(
                    f"the model {self.model!r} gave no usable rewrite in "
                    f"{self.config.max_attempts} attempts (answers were remarks about the text: "
                    f"{rejected[:1]!r}); try another model or the lexical backend"
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
        if len(valid) == 1:
            scores = self.scorer.score(src, valid, target) if self.config.rerank != "none" else [{}]
            return result_from_ranking(str(text), target, self.name, valid, scores, **extra)
        ranked, scores = self.scorer.rank(src, valid, target)
        return result_from_ranking(str(text), target, self.name, ranked, scores, **extra)


def _error_detail(body: str) -> str:
    """The ``error.message`` of an OpenAI-style error body, else its first 200 characters."""
    try:
        err = json.loads(body).get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:200]
        if isinstance(err, str):
            return err[:200]
    except (ValueError, AttributeError):
        pass
    return body.strip()[:200]
