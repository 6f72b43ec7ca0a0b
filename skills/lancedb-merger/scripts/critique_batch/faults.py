# GENERATED from scripts/critique_batch/faults.py by tools/generate.py; edit the source, not this copy
"""Fault injection for tests: kill this process at a named point of a critical section.

$CRITIQUE_BATCH_FAULT is a comma-separated list of `name` (the first time the point is reached)
or `name@N` (the Nth time), each optionally followed by `:INT` to send SIGINT (a Ctrl-C) instead
of SIGKILL. Reaching a listed point signals this process, so a test kills or interrupts a script
exactly where it wants, however fast the machine is. Unset (always, outside tests), a point costs
one dictionary lookup."""

from __future__ import annotations

import os

ENV = "CRITIQUE_BATCH_FAULT"
_reached: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    n = _reached[name] = _reached.get(name, 0) + 1
    for item in spec.split(","):
        item, _, how = item.strip().partition(":")
        want, _, nth = item.partition("@")
        if want == name and (int(nth) if nth else 1) == n:
            import signal

            os.kill(os.getpid(), signal.SIGINT if how == "INT" else signal.SIGKILL)
