# GENERATED from scripts/critique_batch/__init__.py by tools/generate.py; edit the source, not this copy
"""critique_batch: the core of the critique batch orchestrator, in layers.

Each sub-package imports only from the layers above it in this list (tests/test_layers.py checks
it, with no import cycles); the scripts in the folder above import any of them, through cli.py.

  base/     errors (exception types, exit codes), clock (pinned by CRITIQUE_BATCH_NOW in tests),
            digests (the one hash, BLAKE2b), faults (named kill points for fault tests), text
            (character classes, one-line escaping), words (plural, cut, bar), jsonfiles (atomic
            writes, strict schema-checked reads), filelocks, loop_wakeup (an asyncio loop woken
            where send() is refused: lancedb's, in Codex CLI's sandbox)
  files/    plan (cultures, targets, rules, dimensions), published (the VULCA-Bench record),
            workspace (where files live, locks, image files), candidates, baseline (the published
            dataset as the starting point), targets (set_target.py)
  checks/   batches (a batch's files, read and checked), validation (an output file against the
            schema and the culture's rules), evidence (claimed layers against the text), similarity
            (near-duplicate critiques), batch_check (validate_batch.py), dataset_check (check_dataset.py)
  state/    progress (the per-culture state as a fold over the batch files); session (the Session:
            one locked unit of work) and its jobs: missing_images, collect, claim, requeue; rebuild
            (the fold, the rebuild and its check, the unlocked view); candidate_sources and
            candidate_edits (add_candidates.py, remove_candidates.py)
  store/    database (the only module importing lancedb), sync_state, sync, pair_ids, versions,
            search, export, set_baseline (its check against the table), shared_claims (one
            expansion's claims shared by workspaces on several machines, through a Lance table)
  report/   status, quality (the quality report's data), page (its HTML, the only user of matplotlib)
  agent/    instructions (a generator's instructions and each subagent's brief), dispatch (one
            orchestrator round), unattended (headless Claude Code rounds), round_guard (their hook)
  cli.py    what every script shares: options, errors, exit codes, JSON output

Every __init__.py stays empty of imports: a claim loads only the modules it uses.
"""
