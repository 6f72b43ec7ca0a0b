# GENERATED from scripts/critique_batch/store/__init__.py by tools/generate.py; edit the source, not this copy
