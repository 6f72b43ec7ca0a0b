# GENERATED from scripts/critique_batch/agent/__init__.py by tools/generate.py; edit the source, not this copy
