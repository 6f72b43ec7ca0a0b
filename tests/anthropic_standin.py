"""A stand-in for the Anthropic Messages API on 127.0.0.1, for driving the real Claude Code CLI
offline (ANTHROPIC_BASE_URL). It answers POST /v1/messages from a Python function that plays the
model, streamed as server-sent events in the shape the real API sends them: message_start, then per
content block content_block_start / content_block_delta (text_delta or input_json_delta) /
content_block_stop, then message_delta with the stop_reason, then message_stop. Every request is
kept (`requests`) so a test can look at what the CLI sent. Only the tests use this."""

from __future__ import annotations

import json
import traceback
from typing import Callable

import loopback_standin

# A reply is a list of blocks: {"type": "text", "text": ...} or {"type": "tool_use", "name": ..., "input": {...}}
Player = Callable[[dict], list[dict]]


class StandIn(loopback_standin.LoopbackStandIn):
    """requests: every /v1/messages body, in arrival order."""

    # --- the wire format -------------------------------------------------------------------------
    def message(self, body: dict, blocks: list[dict]) -> tuple[dict, list[dict], str]:
        content = []
        for b in blocks:
            if b["type"] == "tool_use":
                content.append({"type": "tool_use", "id": self.next_id("toolu"), "name": b["name"], "input": b["input"]})
            else:
                content.append({"type": "text", "text": b["text"]})
        stop = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        head = {"id": self.next_id("msg"), "type": "message", "role": "assistant", "model": body.get("model", "stand-in"),
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
        return head, content, stop

    def events(self, body: dict, blocks: list[dict]) -> list[tuple[str, dict]]:
        head, content, stop = self.message(body, blocks)
        out = [("message_start", {"type": "message_start", "message": head})]
        for i, block in enumerate(content):
            if block["type"] == "tool_use":
                start = dict(block, input={})
                raw = json.dumps(block["input"], ensure_ascii=False)
                # the real API streams tool input as pieces of JSON text
                deltas = [{"type": "input_json_delta", "partial_json": raw[j:j + 64]} for j in range(0, len(raw), 64)] or \
                    [{"type": "input_json_delta", "partial_json": ""}]
            else:
                start = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": block["text"]}]
            out.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": start}))
            out += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
            out.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        out.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                      "usage": {"output_tokens": 10}}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out

    def handler_class(self) -> type:
        standin = self

        class Handler(loopback_standin.Handler):
            NOT_FOUND = b'{"type":"error","error":{"type":"not_found_error","message":"stand-in"}}'

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                path = self.path.split("?")[0]
                if path == "/v1/messages/count_tokens":
                    return self.send(200, "application/json", b'{"input_tokens": 100}')
                if path != "/v1/messages":
                    standin.other.append(f"POST {self.path}")
                    return self.not_found()
                with standin._lock:
                    standin.requests.append(body)
                try:
                    blocks = standin.play(body)
                except Exception:  # the test fails on these; the CLI gets a plain end of turn
                    standin.errors.append(traceback.format_exc())
                    blocks = [{"type": "text", "text": "stand-in error (see the test output)"}]
                if not body.get("stream"):
                    head, content, stop = standin.message(body, blocks)
                    head.update(content=content, stop_reason=stop)
                    return self.send(200, "application/json", json.dumps(head).encode())
                data = "".join(f"event: {name}\ndata: {json.dumps(ev, ensure_ascii=False)}\n\n"
                               for name, ev in standin.events(body, blocks)).encode("utf-8")
                self.send(200, "text/event-stream", data)

        return Handler


# --- reading a request ---------------------------------------------------------------------------
def texts(content) -> list[str]:
    """Every text in a message's content (a string, text blocks, and tool results' text)."""
    if isinstance(content, str):
        return [content]
    out = []
    for block in content or []:
        if block.get("type") == "text":
            out.append(block["text"])
        elif block.get("type") == "tool_result":
            out += texts(block.get("content"))
    return out


def tool_results(body: dict) -> dict[str, str]:
    """tool_use_id -> the text of its result, over the whole conversation."""
    out = {}
    for m in body["messages"]:
        if m["role"] == "user" and isinstance(m["content"], list):
            for block in m["content"]:
                if block.get("type") == "tool_result":
                    out[block["tool_use_id"]] = "\n".join(texts(block.get("content")))
    return out


def tool_uses(body: dict) -> list[dict]:
    """Every tool call the model made so far, in order."""
    return [b for m in body["messages"] if m["role"] == "assistant" and isinstance(m["content"], list)
            for b in m["content"] if b.get("type") == "tool_use"]
