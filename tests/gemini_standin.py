"""A stand-in for the Gemini API on 127.0.0.1, for driving the real Gemini CLI offline
(GOOGLE_GEMINI_BASE_URL). It answers POST /v1beta/models/MODEL:streamGenerateContent?alt=sse from a
Python function that plays the model, streamed as server-sent events in the shape the real API
sends them (`data: {"candidates": [{"content": {"role": "model", "parts": [...]}, "finishReason":
"STOP"}], "usageMetadata": ...}`), and the CLI's side calls: `:generateContent` (the model router
asks how complex the request is and reads a JSON answer) and `:countTokens`. Every request is kept
(`requests`) so a test can look at what the CLI sent. Only the tests use this."""

from __future__ import annotations

import json
import traceback
from typing import Callable

import loopback_standin

# A reply is a list of parts: {"text": ...} or {"functionCall": {"name": ..., "args": {...}}}
Player = Callable[[dict], list[dict]]

# what the router's side call gets: the request is simple (the answer does not change the loop)
ROUTING = {"complexity_reasoning": "stand-in", "complexity_score": 10}


class StandIn(loopback_standin.LoopbackStandIn):
    """requests: every streamGenerateContent body, in arrival order."""

    def __init__(self, play: Player):
        self.models: list[str] = []  # the model each of them named in its path
        self.side_calls: list[str] = []  # generateContent / countTokens paths
        super().__init__(play)

    @staticmethod
    def response(parts: list[dict], text: str | None = None) -> dict:
        usage = {"promptTokenCount": 100, "candidatesTokenCount": 10, "totalTokenCount": 110}
        if text is not None:
            parts = [{"text": text}]
        return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": "stand-in"}

    def handler_class(self) -> type:
        standin = self

        class Handler(loopback_standin.Handler):
            NOT_FOUND = b'{"error": {"code": 404, "message": "stand-in", "status": "NOT_FOUND"}}'

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                path = self.path.split("?")[0]
                method = path.rsplit(":", 1)[-1] if path.startswith("/v1beta/models/") else ""
                if method == "countTokens":
                    standin.side_calls.append(path)
                    return self.send(200, "application/json", b'{"totalTokens": 100}')
                if method == "generateContent":  # the router's "how complex is this" question
                    standin.side_calls.append(path)
                    reply = StandIn.response([], text=json.dumps(ROUTING))
                    return self.send(200, "application/json", json.dumps(reply).encode())
                if method != "streamGenerateContent":
                    standin.other.append(f"POST {self.path}")
                    return self.not_found()
                with standin._lock:
                    standin.requests.append(body)
                    standin.models.append(path.split("/")[-1].rsplit(":", 1)[0])
                try:
                    parts = standin.play(body)
                except Exception:  # the test fails on these; the CLI gets a plain end of turn
                    standin.errors.append(traceback.format_exc())
                    parts = [{"text": "stand-in error (see the test output)"}]
                data = f"data: {json.dumps(StandIn.response(parts), ensure_ascii=False)}\r\n\r\n".encode("utf-8")
                self.send(200, "text/event-stream", data)

        return Handler


# --- reading a request ---------------------------------------------------------------------------
def call(tool: str, **args) -> dict:
    """A function call part, as the model sends it."""
    return {"functionCall": {"name": tool, "args": args}}


def texts(body: dict) -> list[str]:
    """Every text part of the user's turns, in order."""
    return [p["text"] for c in body.get("contents", []) if c.get("role") == "user" for p in c.get("parts", []) if "text" in p]


def calls(body: dict) -> list[dict]:
    """Every function call the model made so far, in order: {"name": ..., "args": ...}."""
    return [p["functionCall"] for c in body.get("contents", []) if c.get("role") == "model"
            for p in c.get("parts", []) if "functionCall" in p]


def responses(body: dict) -> list[dict]:
    """Every function response so far, in order: {"name": ..., "response": {...}} (and "id")."""
    return [p["functionResponse"] for c in body.get("contents", []) if c.get("role") == "user"
            for p in c.get("parts", []) if "functionResponse" in p]


def model_turns(body: dict) -> int:
    return sum(1 for c in body.get("contents", []) if c.get("role") == "model")


def response_text(resp: dict) -> str:
    """The text of one function response (Gemini CLI puts a tool's result in "output")."""
    r = resp.get("response", {})
    out = r.get("output", r.get("error", r))
    return out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
