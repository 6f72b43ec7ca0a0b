# GENERATED from scripts/critique_batch/__init__.py by tools/generate.py; edit the source, not this copy
"""critique_batch: the core of the critique batch orchestrator.

Concepts, one module each:
  plan          the expansion plan: cultures, targets, quality rules, dimension catalogue
  workspace     where files live, per-culture locks, the image file of a filepath
  jsonfiles     atomic JSON writes, schema-checked reads, the schemas
  filelocks     an exclusive lock file (fcntl.flock; the filelock package where there is none)
  candidates    the images of an expansion, and importing them from folders or manifests
  published     the published VULCA-Bench record: reading it, filepath spellings, pair_id/ULID, export lines
  baseline      the published dataset as the expansion's starting point (set_baseline.py)
  validation    checking one batch output file against the schema and the culture's rules
  progress      the per-culture progress state as a fold over the batch files (and its rebuild)
  engine        collecting finished batches, claiming new ones (leases, take-over), re-queueing parked items
  status        what the status script reports
  instructions  a generator's instructions, rendered from the plan
  similarity    near-duplicate critiques (MinHash LSH over shingles; datasketch only when asked)
  evidence      claimed layers checked against the terms the text uses
  report        the quality report's data (quality_report.py)
  report_html   the quality report's page, charts embedded (the only module importing matplotlib)
  store         the LanceDB table: sync, baseline merge, search, export, rollback (the only module importing lancedb)
  cli           what every script shares: options, errors, exit codes, plural and cut
  errors        the exception types and their exit codes
  clock         the time (pinned by CRITIQUE_BATCH_NOW in tests)

Scripts in the folder above import this package; only store imports lancedb.
"""

__version__ = "0.1.0"
