# GENERATED from scripts/critique_batch/base/__init__.py by tools/generate.py; edit the source, not this copy
