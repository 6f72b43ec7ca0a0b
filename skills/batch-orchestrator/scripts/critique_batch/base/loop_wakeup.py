# GENERATED from scripts/critique_batch/base/loop_wakeup.py by tools/generate.py; edit the source, not this copy
"""Waking an asyncio loop from another thread where send() is refused. lancedb's synchronous API
runs each call as a coroutine on an asyncio loop in a background thread, and wakes that loop by
sending one byte over a socket pair (asyncio's self-pipe). Codex CLI's Linux
sandbox (workspace-write, network off: its default for commands) refuses send() on any socket, that
pair included (seccomp: sendto is a network call), and asyncio ignores the error: the loop sleeps on
and lancedb.connect waits for ever (measured with Codex CLI 0.169.0). write() of the same byte on
the same socket is allowed, so where send() is refused, the loop is woken with write() instead."""

from __future__ import annotations

import os
import socket
import types


def keep_wakeable(loop) -> bool:
    """Make a selector event loop wake with write() where send() on its self-pipe is refused.
    True if it had to; False where send() works or the loop is not of that kind."""
    csock = getattr(loop, "_csock", None)
    if os.name != "posix" or not isinstance(csock, socket.socket) or not hasattr(loop, "_write_to_self"):
        return False
    try:
        csock.send(b"\0")  # one spare wake-up: the loop reads it and goes back to sleep
        return False
    except BlockingIOError:  # the pipe is full of wake-ups already: send() works
        return False
    except PermissionError:
        pass

    def write_to_self(self) -> None:
        sock = self._csock
        if sock is not None:
            try:
                os.write(sock.fileno(), b"\0")
            except OSError:  # full (a wake-up is pending anyway) or closed: as asyncio's own
                pass

    loop._write_to_self = types.MethodType(write_to_self, loop)
    return True

