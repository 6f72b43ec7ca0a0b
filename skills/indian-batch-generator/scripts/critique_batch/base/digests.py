# GENERATED from scripts/critique_batch/base/digests.py by tools/generate.py; edit the source, not this copy
"""Digests of file contents and filepaths: one hash, BLAKE2b, taken without loading OpenSSL.

`import hashlib` loads the OpenSSL library (about 4 ms of every process: a fifth of a claim's
Python start-up); hashlib's own blake2b is CPython's _blake2 module, which needs none. The
digests below are stored in files (result files, progress, markers), so their definitions are
fixed."""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter whose hashlib takes blake2b from elsewhere
    from hashlib import blake2b

__all__ = ["blake2b", "content_digest"]


def content_digest(data: bytes) -> str:
    """A file's bytes, as result files record an output file (`output_digest`) and the baseline its
    sources."""
    return blake2b(data, digest_size=20).hexdigest()
