"""Timing loop behind bench/kustomize/run.sh.

For each target it runs `kedge render DIR` and `kubectl kustomize DIR`
alternately (so machine load hits both alike), each run under
`/usr/bin/time -f %M` for peak RSS, and reports median/min wall time,
median peak RSS and the speed-up. Every output is checked: against the
stored sha256 (large tree) or expected.yaml (conformance cases), and
kedge's output against kubectl's from the same run. When hyperfine is
installed it also times both commands with it and prints its medians.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

KUBECTL = "/usr/bin/kubectl"
ALL_SHA256 = "c4efbdde6915d60d4488d68027c11527164d3e717ef6c9a340e80821996f3b4f"


def run_once(cmd):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS KiB, stdout bytes)."""
    with tempfile.NamedTemporaryFile() as rss:
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-o", rss.name, "-f", "%M"] + cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')}")
        text = open(rss.name).read().strip().splitlines()
        return wall, int(text[-1]), proc.stdout


def hyperfine(cmds, runs):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False)
    out.close()
    args = ["hyperfine", "-N", "--warmup", "1", "--runs", str(runs), "--export-json", out.name]
    subprocess.run(args + cmds, check=True, stdout=subprocess.DEVNULL)
    data = json.load(open(out.name))
    os.unlink(out.name)
    return [r["median"] for r in data["results"]]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def bench(name, path, want_sha, kedge, runs_kedge, runs_kubectl, with_kubectl=True):
    k_cmd = [kedge, "render", path]
    r_cmd = [KUBECTL, "kustomize", path]
    k_runs, r_runs = [], []
    outputs = set()
    run_once(k_cmd)  # warm-up (page cache)
    for i in range(max(runs_kedge, runs_kubectl if with_kubectl else 0)):
        if i < runs_kedge:
            k_runs.append(run_once(k_cmd))
        if with_kubectl and i < runs_kubectl:
            r_runs.append(run_once(r_cmd))
    k_out = {sha256(o) for _, _, o in k_runs}
    r_out = {sha256(o) for _, _, o in r_runs}
    checks = []
    if len(k_out) != 1:
        checks.append("kedge output differs between runs")
    if with_kubectl and k_out != r_out:
        checks.append("kedge output != kubectl output")
    if want_sha is not None and k_out != {want_sha}:
        checks.append("kedge output != reference sha256")
    verdict = "identical" if not checks else "MISMATCH: " + "; ".join(checks)
    row = {
        "target": name,
        "objects": k_runs[0][2].count(b"\n---\n") + 1 if k_runs[0][2] else 0,
        "bytes": len(k_runs[0][2]),
        "kedge_runs": len(k_runs),
        "kedge_median_s": statistics.median(w for w, _, _ in k_runs),
        "kedge_min_s": min(w for w, _, _ in k_runs),
        "kedge_rss_mib": statistics.median(m for _, m, _ in k_runs) / 1024,
        "output": verdict,
    }
    if r_runs:
        row.update(
            {
                "kubectl_runs": len(r_runs),
                "kubectl_median_s": statistics.median(w for w, _, _ in r_runs),
                "kubectl_min_s": min(w for w, _, _ in r_runs),
                "kubectl_rss_mib": statistics.median(m for _, m, _ in r_runs) / 1024,
            }
        )
        row["speedup"] = row["kubectl_median_s"] / row["kedge_median_s"]
        row["rss_ratio"] = row["kubectl_rss_mib"] / row["kedge_rss_mib"]
    if shutil.which("hyperfine") and with_kubectl:
        km, rm = hyperfine([" ".join(k_cmd), " ".join(r_cmd)], min(runs_kubectl, 5))
        row["hyperfine_kedge_median_s"] = km
        row["hyperfine_kubectl_median_s"] = rm
    print(json.dumps(row), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kedge", required=True)
    ap.add_argument("--parallel", required=True)
    ap.add_argument("--corpus", required=True)
    a = ap.parse_args()
    rk = int(os.environ.get("RUNS_KEDGE", "10"))
    rr = int(os.environ.get("RUNS_KUBECTL", "5"))
    large = os.path.join(a.corpus, "bench/large")
    sums = {}
    for line in open(os.path.join(large, "expected/SHA256SUMS")):
        digest, fname = line.split()
        sums[fname] = digest
    for rel in ["regions/prod-us-east-1", "fleets/prod"]:
        want = sums.get(rel.replace("/", "__") + ".yaml")
        runs = rr if rel.startswith("regions") else min(rr, 3)
        bench("large/" + rel, os.path.join(large, "tree", rel), want, a.kedge, rk, runs)
    with_all = os.environ.get("BENCH_ALL") == "1"
    bench("large/all", os.path.join(large, "tree/all"), ALL_SHA256, a.kedge, min(rk, 5), 1, with_all)
    for case in [
        "cases-gen-dev/g0050_multibase_comp_2base",
        "cases-gen-dev/g0383_diamond_comp_2ov+top",
        "cases-gen-dev/g0273_diamond_crd_comp_2ov+top",
        "cases-krusty/variableref_test__TestVarRefBig",
        "cases-krusty/namereference_test__TestIssue3489",
    ]:
        d = os.path.join(a.corpus, case)
        meta = json.load(open(os.path.join(d, "case.json")))
        want = sha256(open(os.path.join(d, "expected.yaml"), "rb").read())
        bench(case, os.path.join(d, meta["build_dir"]), want, a.kedge, rk, rr)
    regions = os.path.join(large, "tree/regions")
    overlays = sorted(os.path.join(regions, r) for r in os.listdir(regions))
    for threads in (1, 2, 1, 2):
        proc = subprocess.run(
            [a.parallel, str(threads), "2"] + overlays, stdout=subprocess.PIPE, check=True
        )
        print("parallel " + proc.stdout.decode().strip(), flush=True)


main()
