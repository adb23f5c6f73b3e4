#!/usr/bin/env bash
# A short smoke run of every cargo-fuzz target (CI's): each runs a few
# thousand inputs, enough to catch a target that no longer builds or that
# crashes at once. The long runs are `cargo fuzz run TARGET` by hand (README,
# "Fuzzing"). Installs cargo-fuzz when missing; RUSTC_BOOTSTRAP=1 lets the
# stable toolchain build with the sanitizer flags cargo-fuzz passes.
#   usage: scripts/fuzz-smoke.sh [RUNS]   (default 2000 inputs per target)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
runs="${1:-2000}"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi
cargo fuzz build -O
failed=()
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target"
  if cargo fuzz run -O "$target" "corpus/$target" -- -runs="$runs" -rss_limit_mb=2048 -timeout=10 >"/tmp/fuzz-smoke-$target.log" 2>&1; then
    echo "fuzz $target: $(grep -o 'Done [0-9]* runs' "/tmp/fuzz-smoke-$target.log" | tail -1)"
  else
    echo "fuzz $target: FAILED (log: /tmp/fuzz-smoke-$target.log)"
    tail -30 "/tmp/fuzz-smoke-$target.log"
    failed+=("$target")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]}" >&2
  exit 1
fi
