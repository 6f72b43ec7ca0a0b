"""What the scripted stand-ins of the model APIs share (tests/anthropic_standin.py, openai_standin.py,
gemini_standin.py): an HTTP server on 127.0.0.1 in a thread, the record of every request, and a
proxy face (set as HTTPS_PROXY) that refuses and records every attempt to reach another host, so
a test can assert that the agent under test reached nothing but the stand-in."""

from __future__ import annotations

import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackStandIn:
    """A server whose handler class is `handler_class()`, started by `with` and stopped after."""

    def __init__(self, play):
        self.play = play  # the scripted model: what each request is answered with
        self.requests: list = []  # every model request, in arrival order
        self.errors: list[str] = []  # a player that failed: the test reports these
        self.other: list[str] = []  # any other request (method and path), and CONNECTs as a proxy
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler_class())
        self.server.daemon_threads = True
        self.server.standin = self  # what the handlers record into
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_standin{next(self._ids):04d}"

    def handler_class(self) -> type:
        raise NotImplementedError


class Handler(BaseHTTPRequestHandler):
    """The requests every stand-in answers alike; a stand-in's own class adds do_POST and sets
    NOT_FOUND (its API's error body)."""

    protocol_version = "HTTP/1.1"
    NOT_FOUND = b'{"error": "stand-in"}'

    def log_message(self, *args):  # quiet
        pass

    def send(self, status: int, ctype: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def not_found(self) -> None:
        self.send(404, "application/json", self.NOT_FOUND)

    @property
    def standin(self) -> LoopbackStandIn:
        return self.server.standin

    def do_GET(self):
        self.standin.other.append(f"GET {self.path}")
        self.not_found()

    do_HEAD = do_GET

    def do_CONNECT(self):  # set as HTTPS_PROXY, it sees every attempt to reach another host
        self.standin.other.append(f"CONNECT {self.path}")
        self.send(403, "text/plain", b"offline")
