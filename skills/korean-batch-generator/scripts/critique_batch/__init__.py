# GENERATED from scripts/critique_batch/__init__.py by tools/generate.py; edit the source, not this copy
"""critique_batch: the core of the critique batch orchestrator.

Concepts, one module each:
  plan          the expansion plan: cultures, targets, quality rules, dimension catalogue
  workspace     where files live, per-culture locks, the image file of a filepath
  jsonfiles     atomic JSON writes, schema-checked reads, the schemas
  digests       the one hash (BLAKE2b) of file contents and filepaths, without loading OpenSSL
  filelocks     an exclusive lock file (fcntl.flock; the filelock package where there is none)
  candidates    a culture's candidates file: loading it for claims and status, its signature
  candidate_sources  importing candidates from folders, manifests and published files (add_candidates.py)
  candidate_edits  removing candidates and correcting their filepaths, then the rebuild (remove_candidates.py)
  published     the published VULCA-Bench record: reading it, filepath spellings, pair_id/ULID, export lines
  baseline      the published dataset as the expansion's starting point (set_baseline.py)
  dataset_check  a published dataset's files checked together: ids, shapes, today's rules (check_dataset.py)
  targets       setting a culture's target in the workspace's plan (set_target.py)
  validation    checking one batch output file against the schema and the culture's rules
  text          character classes of the East Asian scripts (Han ideographs; any CJK character)
  batches       one batch's files: reading them, whether it was collected, checking its output as collection would
  progress      the per-culture progress state as a fold over the batch files, and reading it
  engine        collecting finished batches, claiming new ones (leases, take-over), re-queueing parked items
  status        what the status script reports
  dispatch      one orchestrator round: collect every culture, then claim by priority (run_next_batch.py)
  instructions  a generator's instructions, rendered from the plan, and the brief each subagent is given
  similarity    near-duplicate critiques (MinHash LSH over shingles; datasketch only when asked)
  evidence      claimed layers checked against the terms the text uses
  report        the quality report's data (quality_report.py)
  report_html   the quality report's page, charts embedded (the only module importing matplotlib)
  database      the LanceDB database and table: target, columns, indices, retries (the only module importing lancedb)
  sync_state    a workspace's merges: sync lock, recorded table version, workspace id, unmerged and merged batches
  sync          merging accepted critiques into the table, step by step; merging the published baseline
  pair_ids      pair_id and ulid for the rows a sync merges, and repairs of numbers given twice at once
  versions      the table's versions: tags, optimize, rollback
  search        full-text search over the merged critiques
  export        the table as JSONL in the published record shape
  unattended    rounds of headless Claude Code (run_unattended.py): what a round may do, stop rules, the run log, signals
  round_guard   the rounds' PreToolUse hook: denies every tool call a round may not make (run by path, fail-closed)
  cli           what every script shares: options, errors, exit codes, plural, cut and bar
  errors        the exception types and their exit codes
  clock         the time (pinned by CRITIQUE_BATCH_NOW in tests)
  faults        named points in the critical sections where fault tests kill a process (CRITIQUE_BATCH_FAULT)

Scripts in the folder above import this package; only database imports lancedb.
"""

__version__ = "0.1.0"
