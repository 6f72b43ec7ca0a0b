#!/usr/bin/env bash
# Install the pinned Claude Code CLI (the native `claude` binary of the npm package
# @anthropic-ai/claude-code-linux-x64) into a cache folder, for the tests that drive the real CLI
# (tests/test_claude_code.py). Idempotent: a second run only checks. Needs npm (any version) and the
# npm registry, nothing else; the CLI itself is never run here. Linux x64 (glibc) only.
#
#   bash tools/install-claude.sh            install (or check) into $CRITIQUE_BATCH_CLAUDE_DIR
#   export PATH="$(bash tools/install-claude.sh):$PATH"    the last line printed is the bin folder
#
# CRITIQUE_BATCH_CLAUDE_DIR  where to install (default ~/.cache/critique-batch/claude)
# The version is pinned here and in tests/test_claude_code.py (CLAUDE_VERSION).
set -euo pipefail

CLAUDE_VERSION="2.1.332"
# the registry's dist.integrity for that version: a tarball that differs is refused
INTEGRITY="sha512-f4JWhzwYutJIHScC7/dYOPX6s28tt7ZADhsOi8zwOHq5fFPEuUeChh2NMfinSg0GrUckYxaeebC4h0DqiKzLcw=="
PACKAGE="@anthropic-ai/claude-code-linux-x64"
DIR="${CRITIQUE_BATCH_CLAUDE_DIR:-$HOME/.cache/critique-batch/claude}"
BIN="$DIR/$CLAUDE_VERSION/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-claude.sh: $PACKAGE runs on Linux x86_64 only" >&2
  exit 2
fi

# the version file is written last, so a half-finished install is never taken for a finished one
installed_ok() { [ -x "$BIN/claude" ] && [ "$(cat "$BIN/VERSION" 2>/dev/null)" = "$CLAUDE_VERSION" ]; }

if ! installed_ok; then
  command -v npm >/dev/null || { echo "install-claude.sh: npm is needed (any Node version)" >&2; exit 2; }
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-claude.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack only downloads the tarball: no install scripts run, no node_modules
  tarball="$(cd "$tmp" && npm pack --silent --loglevel=error "$PACKAGE@$CLAUDE_VERSION")"
  actual="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
  if [ "$actual" != "$INTEGRITY" ]; then
    echo "install-claude.sh: $tarball has integrity $actual, expected $INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tarball" -C "$tmp" package/claude
  mkdir -p "$BIN"
  mv "$tmp/package/claude" "$BIN/claude.partial" && chmod 755 "$BIN/claude.partial" && mv "$BIN/claude.partial" "$BIN/claude"
  echo "$CLAUDE_VERSION" > "$BIN/VERSION"
  installed_ok || { echo "install-claude.sh: installation in $BIN did not give claude $CLAUDE_VERSION" >&2; exit 1; }
fi
echo "claude $CLAUDE_VERSION in $BIN" >&2
echo "$BIN"
