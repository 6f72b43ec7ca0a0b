"""The stored digests (result files' output_digest, progress's cursor_digest, the .valid markers,
ULIDs) keep their definitions: digests.blake2b is hashlib's BLAKE2b, with or without _blake2."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from hypothesis import given, strategies as st

import support
from critique_batch.base import digests
from critique_batch.checks.batches import output_digest
from critique_batch.state.progress import prefix_digest


@given(st.binary(max_size=4096), st.sampled_from([10, 12, 20, 32]))
def test_blake2b_is_hashlibs(data, size):
    assert digests.blake2b(data, digest_size=size).hexdigest() == hashlib.blake2b(data, digest_size=size).hexdigest()


def test_stored_digests_keep_their_definitions():
    data = '[{"filepath": "images/korean/a.jpg"}]\n'.encode()
    assert output_digest(data) == hashlib.blake2b(data, digest_size=20).hexdigest()
    images = [{"filepath": "a.jpg"}, {"filepath": "b/명화.jpg"}]
    h = hashlib.blake2b(digest_size=12)
    for img in images:
        h.update(img["filepath"].encode() + b"\0")
    assert prefix_digest(images, 2) == h.hexdigest()


def test_without_cpythons_blake2_module_hashlib_serves():
    # an interpreter whose hashlib has blake2b but not from a module named _blake2
    code = ("import sys, hashlib; sys.modules['_blake2'] = None; sys.path.insert(0, sys.argv[1])\n"
            "from critique_batch.base import digests\n"
            "assert digests.blake2b is hashlib.blake2b, digests.blake2b\n"
            "print(digests.content_digest(b'x'))")
    proc = subprocess.run([sys.executable, "-c", code, str(support.SCRIPTS)], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == hashlib.blake2b(b"x", digest_size=20).hexdigest()
