#!/usr/bin/env bash
# Run the test suite. Sets up .venv with the project and its test dependencies on first run.
#   ./run-tests.sh                 everything
#   ./run-tests.sh -k parallel     any pytest arguments
set -euo pipefail
cd "$(dirname "$0")"
source tools/venv.sh
"$PY" -m pytest "$@"
