#!/usr/bin/env bash
# Run the whole loop on the bundled example workspace (examples/korean-demo): import candidates,
# status, claim, the subagents' step (replayed from recorded generator output, since only Claude
# Code can run real subagents), validate, collect with partial acceptance, retry, status, merge
# into LanceDB, search, export.
# Works in a scratch copy, examples/korean-demo/run/, so it can be run again and again.
set -euo pipefail
cd "$(dirname "$0")"
source tools/venv.sh
REPO="$PWD"
DEMO="$REPO/examples/korean-demo"
RUN="$DEMO/run"
rm -rf "$RUN"
mkdir -p "$RUN"
cp "$DEMO/manifest.csv" "$RUN/"
cd "$RUN"
S="$REPO/scripts"

if [ -t 1 ]; then B=$'\033[1m'; N=$'\033[0m'; else B=""; N=""; fi
step() { printf '\n%s$ %s%s\n' "$B" "$*" "$N" | sed "s#$S/##g; s#$PY#python#g"; "$@" || echo "(exit $?)"; }
replay() {  # what a generator subagent does: write the batch's output file
    printf '\n%s# subagent for batch %s writes %s (replayed from examples/korean-demo/recorded/)%s\n' "$B" "$1" "checkpoints/korean_batch_$1_output.json" "$N"
    cp "$DEMO/recorded/korean_batch_$1_output.json" checkpoints/
}

step "$PY" "$S/add_candidates.py" korean manifest.csv
step "$PY" "$S/batch_status.py"
step "$PY" "$S/run_next_batch.py" --culture korean --count 2 --size 3
replay 001
replay 002
step "$PY" "$S/validate_batch.py" korean 1
step "$PY" "$S/validate_batch.py" korean 2
step "$PY" "$S/run_next_batch.py" --culture korean --count 1 --size 3
replay 003
step "$PY" "$S/run_next_batch.py" --count 0
step "$PY" "$S/batch_status.py" --culture korean
step "$PY" "$S/batch_status.py" --rebuild --check
step "$PY" "$S/sync_to_lancedb.py"
step "$PY" "$S/sync_to_lancedb.py" --force
step "$PY" "$S/search_critiques.py" "留白" --limit 2
step "$PY" "$S/search_critiques.py" "true-view landscape" --limit 2
step "$PY" "$S/export_critiques.py" --culture korean
step "$PY" "$S/batch_status.py"
printf '\nworkspace left in %s\n' "$RUN"
