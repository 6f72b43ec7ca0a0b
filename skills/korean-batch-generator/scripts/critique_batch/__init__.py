# GENERATED from scripts/critique_batch/__init__.py by tools/generate.py; edit the source, not this copy
"""critique_batch: the core of the critique batch orchestrator.

Concepts, one module each:
  plan        the expansion plan: cultures, targets, quality rules, dimension catalogue
  workspace   where files live, per-culture locks, atomic JSON writes, schema-checked reads
  candidates  the images of an expansion, and importing them from folders or manifests
  validation  checking one batch output file against the schema and the culture's rules
  progress    the per-culture progress state as a fold over batch results (and its rebuild)
  engine      collecting finished batches, claiming new ones (leases), re-queueing parked items
  status      what the status script reports

Scripts in the folder above import this package; nothing here imports lancedb.
"""

__version__ = "0.1.0"
