# GENERATED from scripts/critique_batch/files/__init__.py by tools/generate.py; edit the source, not this copy
