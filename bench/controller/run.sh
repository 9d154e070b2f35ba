#!/bin/sh
# Application controller fleet benchmark on the embedded control plane:
# builds `kedge` and the `fleet` example of kedge-controller in release
# mode, prints the machine (cores, memory, CPU model, load average, date)
# and then one line per measurement (cold start to all Synced+Healthy, idle
# CPU and memory, drift-heal latency, push-to-applied latency).
#
#   bench/controller/run.sh                       # 1,000 apps, 20 repos, 10 objects each
#   bench/controller/run.sh --apps 100 --idle 10  # a quick check
#
# The control plane always runs as `kedge cluster serve`. The controller is
# `kedge controller` when the binary offers it (FLEET_CONTROLLER=kedge; the
# arguments come from FLEET_CONTROLLER_ARGS, a template, see the example's
# documentation), otherwise the library's `Controller::run` in a process of
# its own (FLEET_CONTROLLER=inproc, the default while `kedge controller` is
# not available). Other arguments go to the example unchanged.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release -p kedge -p kedge-controller --bin kedge --example fleet >&2
target="${CARGO_TARGET_DIR:-target}"
kedge="$(cd "$target/release" && pwd)/kedge"
controller="${FLEET_CONTROLLER:-}"
if [ -z "$controller" ]; then
    # The command exists once its help offers a listen or webhook option.
    if "$kedge" controller --help 2>/dev/null | grep -qi -e listen -e webhook; then
        controller=kedge
    else
        controller=inproc
    fi
fi
echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc $(nproc)"
echo "mem_total_gib $(free -g | awk '/^Mem:/ {print $2}')"
echo "cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "git $(git --version | cut -d' ' -f3)"
echo "revision $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "controller $controller"
echo "loadavg_before $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${FLEET_CONTROLLER_ARGS:-}" ]; then
    "$target/release/examples/fleet" --kedge "$kedge" --controller "$controller" \
        --controller-args "$FLEET_CONTROLLER_ARGS" "$@"
else
    "$target/release/examples/fleet" --kedge "$kedge" --controller "$controller" "$@"
fi
echo "loadavg_after $(cut -d' ' -f1-3 /proc/loadavg)"
