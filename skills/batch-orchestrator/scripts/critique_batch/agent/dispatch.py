# GENERATED from scripts/critique_batch/agent/dispatch.py by tools/generate.py; edit the source, not this copy
"""One round of the orchestrator (run_next_batch.py): collect every culture's finished batches,
then claim new ones, the highest-priority culture first."""

from __future__ import annotations

import os
from contextlib import contextmanager

from ..report import status
from ..files.candidates import load_candidates
from ..base.words import plural
from ..base.errors import BatchError, InputError, internal_error
from .instructions import brief, check_brief_paths
from ..files.plan import Culture, target_command
from ..store import shared_claims  # light: lancedb is imported only when claims are shared
from ..state.progress import load_progress
from ..state.session import needs_attention, run_session
from ..files.workspace import Workspace


class Round:
    """What one round did: next_round's answer."""

    __slots__ = ("collected", "batches", "parked_missing", "held_back", "why_none", "notes", "failure", "broken")

    def __init__(self):
        self.collected: list[dict] = []  # one summary per collected batch
        self.batches: list[dict] = []  # the claims, each with its brief
        self.parked_missing: list[dict] = []  # images parked by these claims: their file does not exist
        self.held_back: list[dict] = []  # another session's recent claims a take-over left alone
        self.why_none: list[str] = []  # why a culture tried gave no batch
        self.notes: list[str] = []  # what the user should know about the claims made (a target already reached)
        self.failure: BatchError | None = None  # what stopped the claims after some were made (those are saved)
        # by priority: cultures left out because their files could not be read (culture -> error);
        # one bad file stops its own culture, never the others
        self.broken: dict[str, BatchError] = {}


def next_round(ws: Workspace, culture: str | None, count: int, size: int | None, *, session: str | None = None,
               take_over: bool = False, confirmed: bool = False, dead_workspaces: list[str] | None = None) -> Round:
    """Collect (every culture that needs it, or only `culture`), then claim up to `count` batches:
    from `culture`, or from each culture in priority order until `count` are claimed.
    `dead_workspaces`: with shared claims, workspaces confirmed gone, whose claims are taken over."""
    names = ws.culture_names(culture)
    if culture and not ws.candidates_path(culture).exists():
        load_candidates(ws, culture)  # raises the clear "no candidates file" error
    if dead_workspaces:  # before anything is collected or claimed
        if not culture:  # a gone workspace's claims are per culture: a claim by priority would fail the others
            raise InputError("expected a culture: a workspace's claims are taken over one culture at a time",
                             where="--take-over-workspace")
        if not shared_claims.configured(ws):
            raise InputError("claims are not shared with other workspaces here ($CRITIQUE_BATCH_CLAIMS or the "
                             'plan\'s "claims" is not set)', where="--take-over-workspace")
    out = Round()
    saved = {}  # progress files read once: for needs_attention, then for the priority order
    for name in names:
        with _culture_alone(out, None if culture else name):
            if not culture:
                saved[name] = load_progress(ws, name)
                if not needs_attention(ws, name, saved[name]):
                    continue
                del saved[name]  # the collection changes it
            out.collected += run_session(ws, name, lambda s: s.collect(shared_claims.for_session(s)))
    if not count:
        return out
    order = names if culture else status.priority_order(status.overview(ws, saved=saved, broken=out.broken))
    for name in order:
        if len(out.batches) >= count:
            break
        if name in out.broken:
            continue
        cfg = ws.culture(name)
        if not cfg.expanded:
            out.why_none.append(
                f"{name}: the plan gives no target, so it is not expanded; {target_command(name)} expands it")
            continue
        try:
            with _culture_alone(out, None if culture else name):
                check_brief_paths(ws)  # before any claim is written: its brief could not be printed

                def claim(s):
                    # None unless claims are shared with other workspaces
                    shared = shared_claims.for_session(s, dead_workspaces)
                    got = s.claim(count - len(out.batches), size, session=session, take_over=take_over,
                                  confirmed=confirmed, shared=shared)
                    return got, s.parked_missing, s.held_back, s.progress, shared.skipped if shared is not None else 0

                got, missing, held, p, elsewhere = run_session(ws, name, claim)
        except BatchError as exc:
            if not out.batches:
                raise
            out.failure = exc  # the batches already claimed are saved: they are still handed out
            break
        if name in out.broken:
            continue
        for b in got:  # worded now that the claim is saved: a brief is printed only for a saved claim
            b["brief"] = brief(ws, cfg, b["batch_id"], b["images"], handed_out_before=b["resumed"])
        out.batches += got
        if got:
            _note_target_reached(ws, cfg, p, out)
        out.parked_missing += [{"culture": name, **m} for m in missing]
        out.held_back += held
        if not got:
            why = _why(status.culture_row(ws, cfg), cfg)  # as the claim left it (it may have parked images)
            out.why_none.append(why + (f"; {plural(elsewhere, 'image')} claimed or done by other workspaces "
                                       "(shared claims)" if elsewhere else ""))
    if not order and not out.broken:
        out.why_none.append("no culture has images left to claim")
    return out


def _note_target_reached(ws: Workspace, cfg: Culture, p, out: Round) -> None:
    """Claims go on past a culture's target (its images are still there); say so, and how to raise it."""
    from ..files.baseline import load_baseline

    current, _, new, _ = status.dataset_counts(cfg, load_baseline(ws), p)
    if current + new >= cfg.target:
        out.notes.append(f"{cfg.name} already holds {current + new} records, its target is {cfg.target}: "
                         f"{target_command(cfg.name, '+' + str(p.pending(cfg.max_attempts) or cfg.batch_size))} "
                         "raises it")


@contextmanager
def _culture_alone(out: Round, name: str | None):
    """With a culture name (a round by priority): an error in that culture's files is noted in
    out.broken and the round goes on with the others. Without (one culture asked for): it stops."""
    if name is None:
        yield
        return
    try:
        yield
    except BatchError as exc:
        out.broken[name] = exc
    except Exception as exc:  # noqa: BLE001 - a bug met in one culture's files must not stop the others
        if os.environ.get("CRITIQUE_BATCH_DEBUG"):
            raise
        out.broken[name] = internal_error(exc)


def _why(row: dict, cfg: Culture) -> str:
    if row["in_flight"] >= cfg.max_parallel:
        return (f"{row['culture']}: {plural(row['in_flight'], 'batch')} in flight (max_parallel {cfg.max_parallel}); "
                "wait for them or let their leases expire (a new session: --take-over)")
    flying = f", besides {plural(row['in_flight'], 'batch')} in flight" if row["in_flight"] else ""
    if row["parked"] and not row["pending"]:
        return (f"{row['culture']}: only parked items left ({row['parked']}){flying}; "
                f"see batch_status.py --culture {row['culture']}")
    return f"{row['culture']}: no images left to claim ({row['completed']}/{row['total']} accepted{flying})"
