#!/bin/sh
# Kustomize renderer benchmark: `kedge render` against `kubectl kustomize`,
# side by side in one run, on the large conformance tree and a few mid-size
# conformance cases. Builds kedge in release mode, prints the machine (cores,
# memory, CPU model, load average, date), then per target the median wall
# time and median peak RSS of each tool, and checks that both outputs are
# byte-identical to the stored reference (sha256 where given). Ends with a
# parallel-scaling check of the library (1 thread vs 2 threads).
#
# Environment: RUNS_KEDGE (default 10), RUNS_KUBECTL (default 5; 3 for the
# 6-overlay fleet), BENCH_ALL=1 also times kubectl on tree/all (about 4 min
# per run). Wall times come from hyperfine when it is installed
# (`apt-get install -y hyperfine`), otherwise from a python timing loop.
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
target="${CARGO_TARGET_DIR:-target}"
cargo build --release -p kedge >&2
cargo build --release -p kedge-kustomize --example parallel_render >&2
case "$target" in /*) ;; *) target="$root/$target" ;; esac
corpus="$root/../shared/conformance/kustomize"
if [ ! -d "$corpus" ]; then
    echo "conformance corpus not found at ../shared/conformance/kustomize; nothing to measure" >&2
    exit 1
fi
if ! command -v hyperfine >/dev/null 2>&1; then
    echo "note: hyperfine not installed (apt-get install -y hyperfine); wall times come from the python timing loop" >&2
fi
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc $(nproc)"
echo "mem_total_gib $(free -g | awk '/^Mem:/ {print $2}')"
echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "kubectl $(/usr/bin/kubectl version --client 2>/dev/null | tr '\n' ' ')"
echo "loadavg_before $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$root/bench/kustomize/bench.py" \
    --kedge "$target/release/kedge" \
    --parallel "$target/release/examples/parallel_render" \
    --corpus "$corpus"
echo "loadavg_after $(cut -d' ' -f1-3 /proc/loadavg)"
