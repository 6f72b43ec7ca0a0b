#!/usr/bin/env python3
# GENERATED from scripts/run_unattended.py by tools/generate.py; edit the source, not this copy
"""Expand unattended: rounds of headless Claude Code (`claude -p`), until a stop rule says enough.

  run_unattended.py korean --batches 2 --rounds 5          continue korean, 2 batches a round, at most 5 rounds
  run_unattended.py --batches 4 --budget-minutes 480       the priority order, for at most 8 hours
  run_unattended.py korean --until next-milestone          stop at korean's next milestone
  run_unattended.py --show-permissions                     print the Claude Code settings a round runs with here

COST: every round is a Claude Code session with subagents, billed like any other (the log gives
each round's cost as claude reports it; --round-usd caps a round).

Each round is one fresh `claude -p` session in the workspace (the folder Claude Code runs in),
asked to continue the culture (or the priority order) for at most --batches batches with the
batch-orchestrator skill, which must be installed for Claude Code (plugin or skills). At a round's
start the runner finds its own dead claims (batches an earlier round of this or an earlier run
claimed and left without output: their subagents died with that session) and asks the new session
to take them over at once (run_next_batch.py --take-over, with --yes when no other session holds a
live claim in the workspace: the answer the skill would ask a person for). After the round
it collects (run_next_batch.py --count 0), merges (sync_to_lancedb.py --force), reads the status,
and appends one JSON line to the log (default checkpoints/unattended_log.jsonl: time, round,
session, culture, accepted, returned, skipped, parked, failed, merged, taken_over, completed,
claude_exit, cost_usd, seconds, error, stop); it prints the same as one readable line.

Stops when the target (or --until milestone) is reached, no work is left, --rounds rounds are
done, the --budget-minutes wall-clock budget is spent (a round still running is stopped), or after
two rounds in a row without a record accepted (exit 1). Ctrl-C or SIGTERM stops the round's
claude gracefully, then still collects, merges and logs the round: never in the middle of a
write. A second Ctrl-C skips the collection and merge (the workspace stays consistent: every
file is written atomically). One runner per workspace (checkpoints/.locks/unattended.lock).

Permissions: no --dangerously-skip-permissions. Claude Code runs with --settings (permission mode
dontAsk: anything not allowed is denied, never asked) and a PreToolUse hook that denies what the
rules would let through: Bash only as `python3 SCRIPT ARGS` (or python) where SCRIPT is the installed
skill's batch_status.py, run_next_batch.py, validate_batch.py, generator_instructions.py or
search_critiques.py by its path, with no interpreter options, no shell syntax and paths only inside
the workspace; the Skill and Agent tools; Read in the workspace, the installed skills and the
folders of existing candidate images outside the workspace (never /, a home folder, system or
credential folders; at most 100 folders, else exit 2); Write/Edit only of the output files of batches
in flight here. The runner merges after each round: a round may not. Where Claude Code's Bash
sandbox runs (macOS; Linux with bubblewrap and socat) it is on as well (--no-sandbox: off): even the
allowed scripts then write only in the workspace and reach no network, and a round whose sandbox
cannot start fails. --show-permissions prints what a round may do here (--json: the exact settings).
The claude binary: --claude PATH, else `claude` on PATH.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402
from critique_batch.agent.unattended import MORE_EXIT_CODES  # noqa: E402


def run(args) -> int:
    import json
    from pathlib import Path

    from critique_batch.agent import unattended
    from critique_batch.files.workspace import Workspace

    if args.show_permissions:
        ws = Workspace(Path(args.workspace))
        allowed = unattended.permissions(ws, [args.culture] if args.culture else ws.configured_cultures(), not args.no_sandbox)
        print(json.dumps(allowed.settings(), indent=1) if args.json else allowed.summary())
        return 0
    for name, value, least in (("--batches", args.batches, 1), ("--rounds", args.rounds, 1)):
        if value < least:
            raise cli.InputError(f"expected a number >= {least}, got {value}", where=name)
    for name, value in (("--budget-minutes", args.budget_minutes), ("--round-minutes", args.round_minutes), ("--round-usd", args.round_usd)):
        if value is not None and value <= 0:
            raise cli.InputError(f"expected a number > 0, got {value:g}", where=name)
    opts = unattended.Options(
        workspace=Path(args.workspace), culture=args.culture, batches=args.batches, rounds=args.rounds,
        budget_s=args.budget_minutes * 60 if args.budget_minutes is not None else None,
        round_s=args.round_minutes * 60, until=args.until, claude=args.claude,
        log=Path(args.log) if args.log else None, model=args.model, round_usd=args.round_usd, sandbox=not args.no_sandbox)
    code, entries, reason = unattended.run(opts, say=None if args.json else print)
    if args.json:
        cli.emit_json({"rounds": entries, "stop": reason, "exit": code})
    return code


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2] + "\n" + MORE_EXIT_CODES)
    cli.add_culture(p, "continue this culture (default: the priority order)")
    p.add_argument("--batches", type=int, default=4, metavar="N", help="batches per round (default 4)")
    p.add_argument("--rounds", type=int, default=10, metavar="N", help="at most N rounds (default 10)")
    p.add_argument("--budget-minutes", type=float, metavar="M", help="wall-clock budget of the whole run (default: none)")
    p.add_argument("--round-minutes", type=float, default=60, metavar="M",
                   help="a round still running after M minutes is stopped as by Ctrl-C (default 60)")
    p.add_argument("--until", default="target", metavar="GOAL",
                   help="target (default), next-milestone, or a milestone's name such as M1 (needs the culture)")
    p.add_argument("--claude", metavar="PATH", help="the claude binary (default: claude on PATH)")
    p.add_argument("--log", metavar="FILE", help="the run log, one JSON line per round (default checkpoints/unattended_log.jsonl)")
    p.add_argument("--model", metavar="MODEL", help="passed to claude --model (default: Claude Code's)")
    p.add_argument("--round-usd", type=float, metavar="USD", help="passed to claude --max-budget-usd: a round stops at this cost")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run rounds without Claude Code's Bash sandbox (default: on where it runs: macOS, Linux with bubblewrap and socat)")
    p.add_argument("--show-permissions", action="store_true", help="print what a round may do here (--json: the exact Claude Code settings) and exit")
    cli.main(run, cli.take_culture(p, p.parse_args()))
