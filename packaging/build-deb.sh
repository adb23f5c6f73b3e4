#!/usr/bin/env bash
# Build the Debian package: generate the man pages and shell completions
# with the binary itself, then run `cargo deb --no-build` on it.
#
#   packaging/build-deb.sh [--binary FILE] [--output FILE]
#
# Without --binary it builds target/release/certbound first (a release
# build). With --binary it packages that binary as it is, from a staging
# target directory, with faster compression: what the test in
# crates/cli/tests/packaging.rs does with the debug binary it was built with,
# to avoid a release build. Needs cargo-deb (`cargo install cargo-deb
# --locked`; scripts/test.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

binary=
output=target/debian/
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    *) echo "usage: $0 [--binary FILE] [--output FILE]" >&2; exit 2 ;;
  esac
done
if ! command -v cargo-deb >/dev/null 2>&1; then
  echo "error: cargo-deb is missing: install it with \`cargo install cargo-deb --locked\`" >&2
  exit 1
fi

# Made by the binary, so they match it; listed as assets in crates/cli/Cargo.toml.
# Removed once the package is built.
generated=packaging/generated
stage=
cleanup() {
  rm -rf "$generated"
  if [ -n "$stage" ]; then rm -rf "$stage"; fi
}
trap cleanup EXIT

extra=()
if [ -z "$binary" ]; then
  cargo build --locked --release -p certbound
  binary="${CARGO_TARGET_DIR:-target}/release/certbound"
else
  if [ ! -x "$binary" ]; then
    echo "error: $binary is not an executable: build it first (cargo build -p certbound)" >&2
    exit 1
  fi
  # cargo deb takes target/release/certbound from the target directory.
  stage="$(mktemp -d)"
  mkdir "$stage/release"
  cp "$binary" "$stage/release/certbound"
  export CARGO_TARGET_DIR="$stage"
  extra+=(--fast)
fi

rm -rf "$generated"
mkdir -p "$generated/man" "$generated/completions"
"$binary" man "$generated/man" >/dev/null
gzip -9n "$generated"/man/*.1
"$binary" completions bash >"$generated/completions/certbound"
"$binary" completions zsh >"$generated/completions/_certbound"
"$binary" completions fish >"$generated/completions/certbound.fish"

cargo deb -p certbound --no-build --output "$output" "${extra[@]}"
