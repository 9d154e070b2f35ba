#!/bin/sh
# Parallel-scaling check of the Kustomize renderer, on its own (run.sh
# includes it after the speed table). Renders the 30 region overlays of the
# large conformance tree on one shared Kustomizer with 1 and then 2 threads,
# alternating ROUNDS times (default 3), and prints the load average around
# each run: throughput only doubles when the machine has two idle cores.
# Then, independent of load, it counts the futex and sched_yield system calls
# of a 2-thread run under strace (when installed): a lock that the threads
# fought over would put them to sleep through futex, so a count near zero
# (thread start and join only) shows the builds never waited on each other.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
cargo build --release -p kedge-kustomize --example parallel_render >&2
bin="$target/release/examples/parallel_render"
regions="$root/../shared/conformance/kustomize/bench/large/tree/regions"
if [ ! -d "$regions" ]; then
    echo "conformance corpus not found at ../shared/conformance/kustomize; nothing to measure" >&2
    exit 1
fi
rounds="${ROUNDS:-3}"
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc $(nproc)"
i=0
while [ "$i" -lt "$rounds" ]; do
    for threads in 1 2; do
        echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg) $("$bin" "$threads" 2 "$regions"/*)"
    done
    i=$((i + 1))
done
if command -v strace >/dev/null 2>&1; then
    log=$(mktemp)
    strace -f -c -o "$log" -e trace=futex,sched_yield "$bin" 2 2 "$regions"/* >/dev/null
    calls=$(awk '$NF == "futex" || $NF == "sched_yield" {n += $4} END {print n + 0}' "$log")
    echo "lock_check threads=2 renders=60 futex_and_sched_yield_calls=$calls"
    rm -f "$log"
else
    echo "note: strace not installed; lock check skipped" >&2
fi
