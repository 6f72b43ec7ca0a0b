#!/usr/bin/env bash
# Lint with ruff, then run the test suite. Sets up .venv with the project and its test dependencies on first run.
#   ./run-tests.sh                 everything
#   ./run-tests.sh -k parallel     any pytest arguments
# The tests run in 2 processes (pytest-xdist; a test file stays in one), the machine's 2 cores;
# CRITIQUE_BATCH_TEST_WORKERS=1 runs them in this process instead, e.g. for --pdb.
set -euo pipefail
cd "$(dirname "$0")"
source tools/venv.sh
# the linter first (a second or so): CI and this command fail on the same findings
if ! "$PY" -m ruff check --quiet .; then
    echo "error: ruff check failed (above); fix the findings, or see [tool.ruff] in pyproject.toml" >&2
    exit 1
fi
WORKERS="${CRITIQUE_BATCH_TEST_WORKERS:-2}"
if [ "$WORKERS" = 1 ]; then
    "$PY" -m pytest "$@"
else
    "$PY" -m pytest -n "$WORKERS" --dist loadfile "$@"
fi
