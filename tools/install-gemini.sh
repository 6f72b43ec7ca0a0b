#!/usr/bin/env bash
# Install the pinned Gemini CLI (the npm package @google/gemini-cli, one self-contained JavaScript
# bundle) into a cache folder, for the tests that drive the real CLI (tests/test_gemini_cli.py).
# Idempotent: a second run only checks. Needs npm and the npm registry; the CLI runs on the Node 22
# of tools/install-node.sh (run here too), which a wrapper `gemini` in the bin folder names. The
# package's optional native modules (node-pty, keytar) are left out: without them Gemini CLI runs
# shell commands with child_process and keeps no keychain, which is all the tests need.
#
#   bash tools/install-gemini.sh            install (or check) into $CRITIQUE_BATCH_GEMINI_DIR
#   export PATH="$(bash tools/install-gemini.sh):$PATH"    the last line printed is the bin folder
#
# CRITIQUE_BATCH_GEMINI_DIR  where to install (default ~/.cache/critique-batch/gemini)
# The version is pinned here and in tests/test_gemini_cli.py (GEMINI_VERSION).
set -euo pipefail

GEMINI_VERSION="0.61.0"
# the registry's dist.integrity for that version: a tarball that differs is refused
INTEGRITY="sha512-dbQ9A0qBtFJNi6XBkHvfZ6Azpn6PNgH/P8h2MZ67RLlX8hSAVjup39CRWqdRxZv7YXIuhrFaytr8y0jKnkoxnQ=="
PACKAGE="@google/gemini-cli"
DIR="${CRITIQUE_BATCH_GEMINI_DIR:-$HOME/.cache/critique-batch/gemini}"
HERE="$DIR/$GEMINI_VERSION"
BIN="$HERE/bin"

NODE_BIN="$(bash "$(dirname "$0")/install-node.sh")"

# the version file is written last, so a half-finished install is never taken for a finished one
installed_ok() {
  [ -x "$BIN/gemini" ] && [ -f "$HERE/package/bundle/gemini.js" ] && [ "$(cat "$BIN/VERSION" 2>/dev/null)" = "$GEMINI_VERSION" ] &&
    grep -qF "$NODE_BIN/node" "$BIN/gemini"
}

if ! installed_ok; then
  command -v npm >/dev/null || { echo "install-gemini.sh: npm is needed (any Node version)" >&2; exit 2; }
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-gemini.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack only downloads the tarball: no install scripts run, no node_modules
  tarball="$(cd "$tmp" && npm pack --silent --loglevel=error "$PACKAGE@$GEMINI_VERSION")"
  actual="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
  if [ "$actual" != "$INTEGRITY" ]; then
    echo "install-gemini.sh: $tarball has integrity $actual, expected $INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tarball" -C "$tmp"
  rm -rf "$HERE" && mkdir -p "$DIR"
  mkdir -p "$tmp/new/bin" && mv "$tmp/package" "$tmp/new/package"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE_BIN/node" "$HERE/package/bundle/gemini.js" > "$tmp/new/bin/gemini"
  chmod 755 "$tmp/new/bin/gemini"
  mv "$tmp/new" "$HERE"
  echo "$GEMINI_VERSION" > "$BIN/VERSION"
  installed_ok || { echo "install-gemini.sh: installation in $HERE did not give gemini $GEMINI_VERSION" >&2; exit 1; }
fi
echo "gemini $GEMINI_VERSION in $BIN (on node $("$NODE_BIN/node" --version))" >&2
echo "$BIN"
