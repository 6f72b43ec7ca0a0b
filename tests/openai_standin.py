"""A stand-in for the OpenAI Responses API on 127.0.0.1, for driving the real Codex CLI offline (a
model provider in $CODEX_HOME/config.toml whose base_url is this server, wire_api "responses"). It
answers POST /v1/responses from a Python function that plays the model, streamed as server-sent
events in the shape the real API sends them: response.created, then per output item
response.output_item.added / (response.output_text.delta for a message) / response.output_item.done,
then response.completed. Every request is kept (`requests`, with the headers that tell a subagent's
thread from its parent's) so a test can look at what the CLI sent. Only the tests use this."""

from __future__ import annotations

import json
import traceback
from typing import Callable

import loopback_standin

# A reply is a list of items: {"type": "text", "text": ...},
# {"type": "call", "name": ..., "arguments": {...}, "namespace": ... (optional)} (a function call), or
# {"type": "custom", "name": ..., "input": "..."} (a call of a freeform tool)
Player = Callable[["Request"], list[dict]]


class Request:
    """One POST /v1/responses: its JSON body and the headers Codex sent with it."""

    def __init__(self, body: dict, headers: dict[str, str]):
        self.body = body
        self.headers = headers

    @property
    def thread(self) -> str:
        """The conversation this request belongs to: a subagent has its own thread-id."""
        return self.headers.get("thread-id") or self.headers.get("session-id") or ""

    @property
    def session(self) -> str:
        return self.headers.get("session-id", "")


class StandIn(loopback_standin.LoopbackStandIn):
    """requests: every /v1/responses request (a Request), in arrival order."""

    # --- the wire format -------------------------------------------------------------------------
    def items(self, reply: list[dict]) -> list[dict]:
        out = []
        for r in reply:
            if r["type"] == "call":
                item = {"type": "function_call", "id": self.next_id("fc"), "call_id": self.next_id("call"),
                        "name": r["name"], "arguments": json.dumps(r["arguments"], ensure_ascii=False), "status": "completed"}
                if r.get("namespace"):
                    item["namespace"] = r["namespace"]
            elif r["type"] == "custom":  # a freeform tool (such as code mode's exec): its input is plain text
                item = {"type": "custom_tool_call", "id": self.next_id("ctc"), "call_id": self.next_id("call"),
                        "name": r["name"], "input": r["input"], "status": "completed"}
                if r.get("namespace"):
                    item["namespace"] = r["namespace"]
            else:
                item = {"type": "message", "id": self.next_id("msg"), "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": r["text"], "annotations": []}]}
            out.append(item)
        return out

    def events(self, body: dict, reply: list[dict]) -> list[dict]:
        rid = self.next_id("resp")
        head = {"id": rid, "object": "response", "status": "in_progress", "model": body.get("model", "stand-in"), "output": []}
        out = [{"type": "response.created", "response": head}]
        items = self.items(reply)
        for i, item in enumerate(items):
            if item["type"] == "message":
                out.append({"type": "response.output_item.added", "output_index": i, "item": dict(item, content=[], status="in_progress")})
                text = item["content"][0]["text"]
                out.append({"type": "response.output_text.delta", "item_id": item["id"], "output_index": i, "content_index": 0, "delta": text})
            elif item["type"] == "function_call":
                out.append({"type": "response.output_item.added", "output_index": i, "item": dict(item, arguments="", status="in_progress")})
            else:
                out.append({"type": "response.output_item.added", "output_index": i, "item": dict(item, input="", status="in_progress")})
            out.append({"type": "response.output_item.done", "output_index": i, "item": item})
        usage = {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 110}
        out.append({"type": "response.completed", "response": dict(head, status="completed", output=items, usage=usage)})
        for n, ev in enumerate(out):
            ev["sequence_number"] = n
        return out

    def handler_class(self) -> type:
        standin = self

        class Handler(loopback_standin.Handler):
            NOT_FOUND = b'{"error":{"type":"not_found","message":"stand-in"}}'

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding", "") == "zstd":  # not expected; say so plainly
                    standin.errors.append("a zstd-compressed request body")
                    return self.send(415, "application/json", b'{"error":{"message":"stand-in: no compression"}}')
                path = self.path.split("?")[0]
                if path != "/v1/responses":
                    standin.other.append(f"POST {self.path}")
                    return self.not_found()
                request = Request(json.loads(raw or b"{}"), {k.lower(): v for k, v in self.headers.items()})
                with standin._lock:
                    standin.requests.append(request)
                try:
                    reply = standin.play(request)
                except Exception:  # the test fails on these; the CLI gets a plain answer
                    standin.errors.append(traceback.format_exc())
                    reply = [{"type": "text", "text": "stand-in error (see the test output)"}]
                data = "".join(f"event: {ev['type']}\ndata: {json.dumps(ev, ensure_ascii=False)}\n\n"
                               for ev in standin.events(request.body, reply)).encode("utf-8")
                self.send(200, "text/event-stream", data)

        return Handler


# --- reading a request ---------------------------------------------------------------------------
def texts(item: dict) -> list[str]:
    """Every text in an input item (a message's content parts, an agent message's whole text, or a
    tool call's output)."""
    if item.get("type") in ("function_call_output", "custom_tool_call_output"):
        out = item.get("output")
        if isinstance(out, str):
            return [out]
        return [p.get("text", "") for p in out or [] if isinstance(p, dict)]
    content = item.get("content")
    if isinstance(content, str):
        return [content]
    # a message between agents carries its payload as "encrypted" content: plain text to a stand-in
    return ["".join(p.get("text", p.get("encrypted_content", "")) for p in content or [] if isinstance(p, dict))] if \
        item.get("type") == "agent_message" else [p.get("text", "") for p in content or [] if isinstance(p, dict) and "text" in p]


def everything(body: dict) -> str:
    """The instructions and every text of the input, as one string to search."""
    return "\n".join([body.get("instructions") or ""] + [t for item in body.get("input", []) for t in texts(item)])


def calls(body: dict) -> list[dict]:
    """Every function call the model made so far, in order."""
    return [i for i in body.get("input", []) if i.get("type") in ("function_call", "custom_tool_call")]


def outputs(body: dict) -> dict[str, str]:
    """call_id -> the text of its output, over the whole conversation."""
    return {i["call_id"]: "\n".join(texts(i)) for i in body.get("input", [])
            if i.get("type") in ("function_call_output", "custom_tool_call_output")}
