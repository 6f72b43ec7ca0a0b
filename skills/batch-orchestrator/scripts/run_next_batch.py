#!/usr/bin/env python3
# GENERATED from scripts/run_next_batch.py by tools/generate.py; edit the source, not this copy
"""Collect finished batches, then claim up to N new ones and print one subagent brief per batch.

  run_next_batch.py                    collect, then claim 1 batch of the highest-priority culture
  run_next_batch.py --count 4          claim up to 4 (each culture at most max_parallel in flight)
  run_next_batch.py --culture korean --count 2 --size 5
  run_next_batch.py --count 0          collect only
  run_next_batch.py --take-over --count 4   at a new session's start: take over an earlier session's batches

Collection validates each finished output file, accepts its valid records and returns invalid or
missing items to the pending pool with the reason. Claims carry a lease; an expired claim is
offered again as it is (same batch id and input file).

Sessions: each claim records the orchestrator session that made it (--session ID; default: the
CLAUDE_SESSION_ID or CLAUDE_CODE_SESSION_ID environment variable, or CODEX_SESSION_ID, which Codex
CLI sets for its commands; the batch-orchestrator skill passes Claude Code's ${CLAUDE_SESSION_ID};
without any, no session is recorded and any take-over
treats the claim as another session's). Subagents never outlive the Claude
Code session that started them, so a batch claimed by an earlier session without output is dead:
--take-over offers it again at once, as an expired lease would be (same batch id and input file).
A claim of another session made less than 10 minutes ago is taken over only with --yes (that
session may still be running: confirm that no other session works in this workspace).

A culture whose plan entry has no target
(japanese, islamic, hermitage as bundled) is not expanded: nothing is claimed for it. By priority,
a culture whose files cannot be read (a hand-edited candidates file, a broken progress file) is
skipped and named on stderr ("error: FILE: WHERE: WHAT (korean skipped ...)"); the others are
collected and claimed.
Exit 1 if N > 0 and nothing could be claimed (2 if a culture was skipped for a bad file).
Claims shared with other workspaces ($CRITIQUE_BATCH_CLAIMS or the plan's "claims"): images claimed
or done elsewhere are skipped, and a claim wins its images in the shared table before writing its
input file; --take-over-workspace ID takes over at once the claims of a workspace that is gone for good.
Never imports lancedb unless claims are shared.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402

SHOWN = 3


def run(args) -> int:
    from critique_batch.report import status
    from critique_batch.agent.dispatch import next_round
    from critique_batch.files.workspace import Workspace, batch_tag

    if args.count < 0:
        raise cli.InputError(f"expected a number >= 0, got {args.count}", where="--count")
    if args.size is not None and args.size < 1:
        raise cli.InputError(f"expected a number >= 1, got {args.size}", where="--size")
    if args.yes and not args.take_over:
        raise cli.InputError("--yes confirms a take-over: use it with --take-over", where="--yes")
    session = _session(args.session)
    ws = Workspace(args.workspace)
    outcome = next_round(ws, args.culture, args.count, args.size, session=session, take_over=args.take_over, confirmed=args.yes,
                         dead_workspaces=args.take_over_workspace)

    if args.json:
        cli.emit_json({"collected": outcome.collected, "batches": outcome.batches, "parked_missing": outcome.parked_missing, "session": session,
                       "held_back": outcome.held_back, "notes": outcome.notes,
                       "skipped_cultures": [{"culture": c, "error": str(e), "exit_code": e.exit_code} for c, e in outcome.broken.items()],
                       **({"error": str(outcome.failure)} if outcome.failure else {})})
    else:
        for c in outcome.collected:
            head = (f"collected {c['culture']} {batch_tag(c['batch_id'])}: {c['accepted']} accepted, "
                    f"{c['rejected'] + c['missing']} returned, {c['skipped']} skipped")
            print(head + (f" (batch failed: {cli.cut(cli.one_line(c['error']), 120)})" if c["status"] == "failed" else ""))
            shown = c["returned"] if args.verbose else c["returned"][:3]
            for r in shown:
                reason = cli.one_line(r["reason"])  # a subagent's words: one line, whatever it wrote
                print(f"  returned {cli.one_line(r['filepath'])}: {reason if args.verbose else cli.cut(reason, 140)}")
            if len(shown) < len(c["returned"]):
                print(f"  ... {len(c['returned']) - len(shown)} more (--verbose)")
        if outcome.parked_missing:
            _print_missing(outcome.parked_missing)
        for h in outcome.held_back:
            who = f"session {cli.one_line(h['session'])}" if h["session"] else "a session not recorded"
            print(f"not taken over: {h['culture']} {batch_tag(h['batch_id'])} was claimed "
                  f"{status.fmt_duration(h['claimed_seconds_ago'])} ago by {who}, which may still be running; "
                  "if no other session works in this workspace, run again with --take-over --yes")
        if outcome.batches:
            print(f"claimed {cli.plural(len(outcome.batches), 'batch')}. Start one subagent per batch, each given its brief, "
                  "all before waiting for any (Claude Code: in one message, with run_in_background: false):")
            for b in outcome.batches:
                how = " (taken over from an earlier session)" if b["taken_over"] else " (resumed: lease had expired)" if b["resumed"] else ""
                print(f"--- {b['culture']} {batch_tag(b['batch_id'])}{how}")
                print(b["brief"])
            for note in outcome.notes:
                print(f"note: {note}")
        elif args.count:
            print("nothing claimed: " + ("; ".join(outcome.why_none) or "the cultures with images left were skipped (see the errors)"))
        elif not outcome.collected:
            print("nothing to collect")
    for c, e in outcome.broken.items():  # (with --json, in skipped_cultures)
        print(f"run_next_batch.py: error: {cli.one_line(e)} ({c} skipped; the other cultures are not held up by it)", file=sys.stderr)
    if outcome.failure is not None:
        print(f"run_next_batch.py: error: {cli.one_line(outcome.failure)} (the batches above are claimed; claim again for more)", file=sys.stderr)
        return outcome.failure.exit_code
    if outcome.broken and not outcome.batches:  # nothing claimed, and a culture's files were bad: say which code
        return max(e.exit_code for e in outcome.broken.values())
    return 1 if args.count and not outcome.batches else 0


def _session(given: str | None) -> str | None:
    """The orchestrator session id: --session (the skill passes Claude Code's ${CLAUDE_SESSION_ID},
    which Claude Code fills into skill text), else the environment, else none (not recorded)."""
    for value in (given, *map(os.environ.get, ("CLAUDE_SESSION_ID", "CLAUDE_CODE_SESSION_ID", "CODEX_SESSION_ID"))):
        # empty or "${...}": a skill's ${CLAUDE_SESSION_ID} that this Claude Code version did not fill in
        if value and value.strip() and not value.startswith("${"):
            return value.strip()
    return None


def _print_missing(parked: list[dict]) -> None:
    """Images parked without a subagent: say how many, name a few, and how to bring them back."""
    for culture in dict.fromkeys(m["culture"] for m in parked):
        mine = [m for m in parked if m["culture"] == culture]
        print(f"parked {cli.plural(len(mine), 'image')} of {culture} without a subagent: image file not found "
              f"(put the files there, then requeue_parked.py {culture}; or correct a mistyped filepath: "
              f"remove_candidates.py {culture} --fix OLD NEW)")
        for m in mine[:SHOWN]:
            print(f"  {cli.one_line(m['filepath'])}: {cli.one_line(m['reason'])}")
        if len(mine) > SHOWN:
            print(f"  ... {len(mine) - SHOWN} more (batch_status.py --culture {culture})")


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "only this culture (default: by priority)")
    p.add_argument("--count", type=int, default=1, metavar="N", help="claim up to N batches (default 1; 0 = collect only)")
    p.add_argument("--size", type=int, metavar="K", help="images per new batch (default: the plan's batch_size)")
    p.add_argument("--verbose", action="store_true", help="list every returned item with its full reason")
    p.add_argument("--session", metavar="ID", help="the orchestrator session claiming (default: $CLAUDE_SESSION_ID, else "
                   "$CLAUDE_CODE_SESSION_ID, else $CODEX_SESSION_ID, else none recorded)")
    p.add_argument("--take-over", action="store_true", help="also offer again, at once, batches in flight without output "
                   "claimed by another session (at a new session's start: the earlier session's subagents are gone)")
    p.add_argument("--yes", action="store_true", help="with --take-over: also take over claims of another session made "
                   "less than 10 minutes ago (confirm that no other session works in this workspace)")
    p.add_argument("--take-over-workspace", action="append", metavar="ID", help="with shared claims: the workspace ID "
                   "(or its first characters, as batch_status.py shows them) is gone for good: take over its claims at "
                   "once, lease or not (repeatable; it may still write outputs, but none of them is accepted twice)")
    cli.main(run, cli.take_culture(p, p.parse_args()))
