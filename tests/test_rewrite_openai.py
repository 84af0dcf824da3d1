"""The "openai" ETG backend against a small local server speaking the chat-completions protocol."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emoshift.emotion import Emotion, EmotionSpec
from emoshift.errors import BackendError, ConfigError
from emoshift.speech.rewrite import rewrite
from emoshift.speech.rewrite_openai import OpenAIRewriter, chat_url, clean_answer

TEXT = "The train leaves at nine and we arrive in the afternoon."
KEY = "sk-test-123"


class ChatServer:
    """A stand-in OpenAI-compatible server on 127.0.0.1: records requests, plays answers."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[str] = []
        self.status = 200
        self.delay_s = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                time.sleep(server.delay_s)
                if server.status != 200:
                    payload = {
                        "error": {
                            "message": "Incorrect API key provided",
                            "type": "invalid_request_error",
                        }
                    }
                    self._send(server.status, payload)
                    return
                answer = server.answers.pop(0) if server.answers else "Yay! " + TEXT
                self._send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
                    "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": answer}}],
                    "usage": {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42},
                })  # fmt: skip

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[ChatServer]:
    s = ChatServer()
    yield s
    s.close()


def _rewriter(server: ChatServer, **kw) -> OpenAIRewriter:
    return OpenAIRewriter(base_url=server.url, api_key=KEY, model="gpt-4-test", rerank="none", **kw)


def test_request_follows_the_protocol_and_the_paper(server: ChatServer) -> None:
    server.answers = ['"Yay! The train leaves at nine and we arrive in the afternoon!"']
    res = _rewriter(server, temperature=0.3).rewrite(
        TEXT, EmotionSpec(Emotion.HAPPINESS, 1.0), seed=7
    )
    assert (
        res.text == "Yay! The train leaves at nine and we arrive in the afternoon!"
    )  # quotes gone
    assert res.backend == "openai" and res.original == TEXT
    (req,) = server.requests
    assert req["path"] == "/v1/chat/completions"
    assert req["headers"]["Authorization"] == f"Bearer {KEY}"
    assert req["headers"]["Content-Type"] == "application/json"
    body = req["body"]
    assert body["model"] == "gpt-4-test" and body["temperature"] == 0.3 and body["seed"] == 7
    user = body["messages"][-1]
    assert user["role"] == "user"
    # the paper's input I = [T, P]
    assert user["content"] == f"{TEXT}\n\nMake this text very very very happy"
    assert body["messages"][0]["role"] == "system"


def test_paper_exact_input_and_base_url_forms(server: ChatServer) -> None:
    r = OpenAIRewriter(
        base_url=server.url + "/v1/", api_key="", model="m", system_prompt="", rerank="none"
    )
    r.rewrite(TEXT, EmotionSpec(Emotion.SADNESS, 0.55))
    req = server.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert "Authorization" not in req["headers"]  # local server without a key
    assert req["body"]["messages"] == [{"role": "user", "content": f"{TEXT}\n\nMake this text sad"}]
    assert chat_url("https://api.example.com/v1") == "https://api.example.com/v1/chat/completions"
    with pytest.raises(ConfigError):
        chat_url("api.example.com")


def test_remarks_are_retried_then_fall_back(server: ChatServer) -> None:
    server.answers = [
        "Sure! This text is about a train schedule.",
        "Oh no... " + TEXT + " I'm so sad.",
    ]
    res = _rewriter(server).rewrite(TEXT, EmotionSpec(Emotion.SADNESS, 1.0), seed=1)
    assert res.text == "Oh no... " + TEXT + " I'm so sad."
    assert [r["body"]["seed"] for r in server.requests] == [1, 2]
    assert res.scores["rejected"] == ["Sure! This text is about a train schedule."]
    # every answer a remark: the offline rewriter answers, and says so
    server.answers = ["Here is the rewritten text:"] * 3
    res = _rewriter(server, max_attempts=3).rewrite(TEXT, EmotionSpec(Emotion.ANGER, 1.0))
    assert res.backend == "openai->lexical" and res.scores["fallback"] == "lexical"
    assert "train leaves at nine" in res.text
    server.answers = ["As an AI, I cannot do that."] * 3
    with pytest.raises(BackendError, match="no usable rewrite"):
        _rewriter(server, max_attempts=2, fallback=None).rewrite(
            TEXT, EmotionSpec(Emotion.ANGER, 1.0)
        )


def test_several_answers_are_reranked(server: ChatServer) -> None:
    server.answers = [TEXT + " Nice.", "I'm furious! " + TEXT + " This makes me so angry!"]
    r = OpenAIRewriter(base_url=server.url, api_key=KEY, n_candidates=2)  # recogniser rerank
    res = r.rewrite(TEXT, EmotionSpec(Emotion.ANGER, 1.0))
    assert res.text.startswith("I'm furious!")
    assert (
        len(res.candidates) == 2
        and res.scores["p_target"] > res.scores["per_candidate"][1]["p_target"]
    )


def test_http_errors_are_clear(server: ChatServer) -> None:
    server.status = 401
    with pytest.raises(BackendError, match=r"HTTP 401.*OPENAI_API_KEY.*Incorrect API key"):
        _rewriter(server).rewrite(TEXT, EmotionSpec(Emotion.FEAR, 1.0))
    server.status = 404
    with pytest.raises(BackendError, match="model"):
        _rewriter(server).rewrite(TEXT, EmotionSpec(Emotion.FEAR, 1.0))
    server.status = 200
    server.delay_s = 1.0
    with pytest.raises(BackendError, match="did not answer within"):
        _rewriter(server, timeout_s=0.2).rewrite(TEXT, EmotionSpec(Emotion.FEAR, 1.0))


def test_no_server_and_no_key() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = OpenAIRewriter(base_url=f"http://127.0.0.1:{port}", api_key=KEY, timeout_s=2)
    with pytest.raises(BackendError, match="cannot reach"):
        r.rewrite(TEXT, EmotionSpec(Emotion.HAPPINESS, 1.0))
    with pytest.raises(BackendError, match="OPENAI_API_KEY"):
        OpenAIRewriter(base_url="https://api.openai.com", api_key="")


def test_module_entry_point_and_env(server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    server.answers = ["Whoa! " + TEXT + " I can't believe it!"]
    res = rewrite(TEXT, "very surprised", backend="openai", model="local-model", rerank="none")
    assert res.text.startswith("Whoa!")
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-env"
    assert server.requests[0]["body"]["model"] == "local-model"


def test_clean_answer() -> None:
    assert clean_answer('Rewritten text: "Hello there!"') == "Hello there!"
    assert clean_answer("```\nHello\n there\n```") == "Hello there"
    assert clean_answer("“Quoted.”") == "Quoted."
