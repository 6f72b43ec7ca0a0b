"""Shared fixtures: workspaces built from the bundled default plan, and a way to run the scripts
as a user does (a subprocess per call)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import support  # noqa: E402

# scripts run as under an activated venv: `python3` on PATH is this interpreter (briefs name it so)
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
# every JSON file written in a test, in this process or a script's, is checked against its schema
# first (at run time the documents the package builds itself are not: jsonfiles.py says why)
os.environ["CRITIQUE_BATCH_CHECK_WRITES"] = "1"
from hypothesis import settings  # noqa: E402

# the same examples on every run and machine: a failure in CI reproduces locally
settings.register_profile("deterministic", derandomize=True, database=None)
settings.load_profile("deterministic")


@pytest.fixture
def ws(tmp_path):
    """An empty workspace folder (no plan of its own: the bundled default plan applies)."""
    (tmp_path / "checkpoints").mkdir()
    return tmp_path


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server on 127.0.0.1, one per test module (store_support.S3Server)."""
    import store_support

    server = store_support.S3Server()
    yield server
    server.stop()


@pytest.fixture
def korean_ws(ws):
    support.write_candidates(ws, "korean", 40)
    return ws


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true", default=False, help="run the fault campaign in long mode (3 x 300 images, >= 50 kills)")
