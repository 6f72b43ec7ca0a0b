# GENERATED from scripts/critique_batch/checks/__init__.py by tools/generate.py; edit the source, not this copy
