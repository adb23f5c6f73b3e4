#!/usr/bin/env bash
# Soak: certbound on PostgreSQL under steady mixed load (70% of the measured
# kept-alive peak plus a new-connection client) for 10 minutes, with
# PostgreSQL restarted in the middle; prints requests, p50/p99, errors and
# the server's RSS per minute, then RSS growth, errors outside the fault and
# how long /healthz took to say ok after PostgreSQL came back.
#   usage: scripts/soak.sh [soak flags]   e.g. --minutes 3 --down 5
#   (run `target/release/soak --help` for all of them; needs root or a
#   PostgreSQL cluster you can administer, as the tests do)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p certbound -p certbound-bench
exec "${CARGO_TARGET_DIR:-target}/release/soak" "$@"
