#!/usr/bin/env bash
# Benchmark: certbound with a large client registry. N clients (100 CAs, one
# client certificate each) are written into the store in bulk, then one or
# two `certbound serve` processes start on it; prints start-up time, RSS,
# cold and warm token latency, CPU per client change on each instance and
# how soon a change made through one instance is honoured by the other,
# each beside the issue's target.
#   usage: scripts/bench-registry.sh [bench-registry flags]
#     scripts/bench-registry.sh                     # 100,000 clients, SQLite, one instance
#     scripts/bench-registry.sh --clients 1000000 --store postgres --instances 2
#   (run `target/release/bench-registry --help` for all of them; PostgreSQL
#   is the local cluster the tests use, so root or a user who may administer
#   it, unless --postgres-url names an empty database)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p certbound -p certbound-bench
exec "${CARGO_TARGET_DIR:-target}/release/bench-registry" "$@"
