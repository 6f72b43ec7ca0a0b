#!/usr/bin/env bash
# Install the pinned Codex CLI (the native `codex` binary of the npm package @openai/codex, from its
# Linux x64 build @openai/codex@VERSION-linux-x64) into a cache folder, for the tests that drive the
# real CLI (tests/test_codex_cli.py). Idempotent: a second run only checks. Needs npm (any version)
# and the npm registry, nothing else; the CLI itself is never run here. Linux x64 only.
#
#   bash tools/install-codex.sh            install (or check) into $CRITIQUE_BATCH_CODEX_DIR
#   export PATH="$(bash tools/install-codex.sh):$PATH"    the last line printed is the bin folder
#
# CRITIQUE_BATCH_CODEX_DIR  where to install (default ~/.cache/critique-batch/codex)
# The version is pinned here and in tests/test_codex_cli.py (CODEX_VERSION).
set -euo pipefail

CODEX_VERSION="0.169.0"
# the registry's dist.integrity for that version: a tarball that differs is refused. Only the
# platform build is fetched: @openai/codex itself is a Node wrapper that execs this same binary.
INTEGRITY="sha512-o05NyAOCDygSPRo1yinzxvkRSdmsZyBD9E7mbpmjRanSfM8lypqWtQgEo4XfNkwhuCR2aFu8mlGOsQGFXVbVww=="
PACKAGE="@openai/codex@$CODEX_VERSION-linux-x64"
TRIPLE="x86_64-unknown-linux-musl"
DIR="${CRITIQUE_BATCH_CODEX_DIR:-$HOME/.cache/critique-batch/codex}"
HOME_DIR="$DIR/$CODEX_VERSION"  # the package's vendor/$TRIPLE: bin/, codex-path/ (rg), codex-resources/
BIN="$HOME_DIR/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "install-codex.sh: $PACKAGE runs on Linux x86_64 only" >&2
  exit 2
fi

# the version file is written last, so a half-finished install is never taken for a finished one
installed_ok() { [ -x "$BIN/codex" ] && [ "$(cat "$BIN/VERSION" 2>/dev/null)" = "$CODEX_VERSION" ]; }

if ! installed_ok; then
  command -v npm >/dev/null || { echo "install-codex.sh: npm is needed (any Node version)" >&2; exit 2; }
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/install-codex.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # npm pack only downloads the tarball: no install scripts run, no node_modules
  tarball="$(cd "$tmp" && npm pack --silent --loglevel=error "$PACKAGE")"
  actual="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
  if [ "$actual" != "$INTEGRITY" ]; then
    echo "install-codex.sh: $tarball has integrity $actual, expected $INTEGRITY" >&2
    exit 1
  fi
  tar -xzf "$tmp/$tarball" -C "$tmp" "package/vendor/$TRIPLE"
  mkdir -p "$DIR"
  rm -rf "$HOME_DIR.partial" "$HOME_DIR"
  mv "$tmp/package/vendor/$TRIPLE" "$HOME_DIR.partial" && mv "$HOME_DIR.partial" "$HOME_DIR"
  echo "$CODEX_VERSION" > "$BIN/VERSION"
  installed_ok || { echo "install-codex.sh: installation in $BIN did not give codex $CODEX_VERSION" >&2; exit 1; }
fi
echo "codex $CODEX_VERSION in $BIN" >&2
echo "$BIN"
