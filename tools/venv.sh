# Sourced by run-example.sh and run-tests.sh: make sure .venv exists and holds this project with
# its dependencies (installed again whenever pyproject.toml changes). Sets $PY.
VENV="${CRITIQUE_BATCH_VENV:-$PWD/.venv}"
BASE_PYTHON="${PYTHON:-python3}"
if ! "$BASE_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: Python >= 3.10 is needed (found: $("$BASE_PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.x" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "setting up $VENV (first run only)..." >&2
    "$BASE_PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.critique-batch-installed"
WANT="$(cat pyproject.toml | cksum)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "installing the project and its dependencies into $VENV..." >&2
    LOG="$VENV/install.log"
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e ".[dev]"; } >"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "error: installing the dependencies failed; full log: $LOG" >&2
        exit 1
    fi
    echo "$WANT" > "$STAMP"
fi
PY="$VENV/bin/python"
