# GENERATED from scripts/critique_batch/base/faults.py by tools/generate.py; edit the source, not this copy
"""Fault injection: named points in the critical sections where a test makes this process die.

A fault test sets $CRITIQUE_BATCH_FAULT to a comma-separated list of `POINT`, `POINT@N` and either
followed by `:INT`: the process SIGKILLs itself (with `:INT`: sends itself SIGINT, a Ctrl-C) the Nth
time (default: the first) it reaches a point whose name starts with POINT. So a test kills or
interrupts a script exactly where it chooses, never at a moment a faster machine outruns. With
$CRITIQUE_BATCH_FAULT_LOG set, the point's name is appended to that file first (one line), so the
test knows where each process died. Unset (always, outside the tests), point() returns at once.

The points:
  write.before-rename.<file name>   an atomic write's data is on disk, not yet renamed over the file
  write.after-rename.<file name>    the file has its new content
  sync.<stage>                      sync.py's stages: locked, merging, committed, deduped, tagged,
                                    marked.<culture>, optimized, recorded
  baseline.<stage>                  merging the published baseline: locked, merging, committed, indexed
  claim.parked, claim.missing_saved a claim parking images whose file is missing (engine.py)
  shared.<stage>                    the shared claims table (shared_claims.py): claiming (before the
                                    commit), claimed (after it, before the read-back and the input
                                    file), taken-over, renewed, done, parked, released, housekept
"""

from __future__ import annotations

import os

ENV = "CRITIQUE_BATCH_FAULT"
LOG_ENV = "CRITIQUE_BATCH_FAULT_LOG"


def _rules(spec: str) -> list[list]:
    """[[prefix, nth, interrupt, times reached so far], ...]"""
    rules = []
    for part in spec.split(","):
        part, _, how = part.strip().partition(":")
        name, _, nth = part.partition("@")
        if name:
            rules.append([name, int(nth) if nth else 1, how == "INT", 0])
    return rules


_RULES = _rules(os.environ.get(ENV, ""))


def point(name: str) -> None:
    """A named point in a critical section: a fault test may kill or interrupt this process here."""
    if not _RULES:
        return
    for rule in _RULES:
        if name.startswith(rule[0]):
            rule[3] += 1
            if rule[3] == rule[1]:
                _signal(name, interrupt=rule[2])


def _signal(name: str, *, interrupt: bool) -> None:
    log = os.environ.get(LOG_ENV)
    if log:
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, (name.replace("\n", " ") + "\n").encode("utf-8"))
        os.close(fd)
    # SIGKILL: nothing runs after this line, as with a power cut or the OOM killer; SIGINT: a Ctrl-C
    os.kill(os.getpid(), 2 if interrupt else 9)
