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
# each command is shown as it would be typed in the run folder (paths relative to it, shell quoting),
# so that it can be pasted there as it is
shown() { "$PY" -c 'import os, shlex, sys
print(shlex.join(os.path.relpath(a) if os.path.isabs(a) and os.path.exists(a) else a for a in sys.argv[1:]))' "$@"; }
step() { printf '\n%s$ %s%s\n' "$B" "$(shown "$@")" "$N"; "$@" || echo "(exit $?)"; }
replay() {  # what a generator subagent does: write the batch's output file
    printf '\n%s# subagent for batch %s writes %s (replayed from examples/korean-demo/recorded/)%s\n' "$B" "$1" "checkpoints/korean_batch_$1_output.json" "$N"
    cp "$DEMO/recorded/korean_batch_$1_output.json" checkpoints/
}

printf '%s# the commands below run in %s: cd there to paste them%s\n' "$B" "${RUN#"$REPO"/}" "$N"
# the example ships no images: empty placeholder files stand in for them (a claim parks an image
# whose file does not exist, without a subagent); the recorded outputs below were written from the real ones
cut -d, -f1 manifest.csv | tail -n +2 | while read -r f; do mkdir -p "$(dirname "$f")"; : > "$f"; done
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
