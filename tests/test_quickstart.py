"""The README's quick start stays true: run-example.sh runs the whole loop on the bundled example."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest

import support


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="run from ./run-tests.sh (a venv), so run-example.sh can reuse it")
def test_run_example():
    env = {**os.environ, "CRITIQUE_BATCH_VENV": sys.prefix}
    env.pop("CRITIQUE_BATCH_NOW", None)
    proc = subprocess.run([str(support.ROOT / "run-example.sh")], capture_output=True, text=True, env=env, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "Traceback" not in out + proc.stderr
    assert "korean: added 6 of 6 images from manifest.csv" in out
    assert "claimed 2 batches" in out  # issue 12: plural
    assert "korean 002: FAIL 2 valid, 1 invalid" in out
    assert "collected korean 002: 2 accepted, 1 returned, 0 skipped" in out
    assert "collected korean 003: 1 accepted" in out
    assert "korean: progress matches the batch files" in out
    assert "merged 6 records (korean 6)" in out
    assert "1. [korean]" in out and "wrote 6 records to exports/critiques_korean.jsonl" in out
    # every command is shown as it is typed in the run folder: it can be pasted there (issue 12)
    run_dir = support.ROOT / "examples" / "korean-demo" / "run"
    shown = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert len(shown) >= 15
    for command in shown:
        python, script, *_ = shlex.split(command)
        assert (run_dir / python).exists() and (run_dir / script).is_file(), command
    [search] = [c for c in shown if "true-view landscape" in c]
    again = subprocess.run(search, shell=True, cwd=run_dir, capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 0 and "1. [korean]" in again.stdout, again.stdout + again.stderr
