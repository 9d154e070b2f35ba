#!/bin/sh
# Embedded control plane benchmark: builds the bench example in release
# mode, prints the machine (cores, memory, CPU model, load average, date)
# and then the measurements. Arguments are passed to the example, e.g.
#   bench/apiserver/run.sh --applies 20000 --clients 32 --objects 100000
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p kedge-apiserver --example bench_controlplane >&2
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc $(nproc)"
echo "mem_total_gib $(free -g | awk '/^Mem:/ {print $2}')"
echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "loadavg_before $(cut -d' ' -f1-3 /proc/loadavg)"
target="${CARGO_TARGET_DIR:-target}"
"$target/release/examples/bench_controlplane" "$@"
echo "loadavg_after $(cut -d' ' -f1-3 /proc/loadavg)"
