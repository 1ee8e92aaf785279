"""Benchmark: exhaustive identity separability vs the naive full-matrix approach.

Each method runs in its own process so its peak RSS is its own. Writes
benchmarks/results/separability.json. Usage:

    .venv/bin/python benchmarks/separability.py            # 1,000 x 20 and 5,000 x 20
    .venv/bin/python benchmarks/separability.py --sizes 200x20   # seconds
    .venv/bin/python benchmarks/separability.py --device cuda --skip-naive   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from facesynth_bench.records import RunClock, write_record
from facesynth_bench.synthetic_embeddings import identity_clusters

RESULTS = Path(__file__).parent / "results" / "separability.json"
BINS = 1 << 20


def peak_rss_mb() -> float:
    """Peak resident set size of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sync(device: str) -> None:
    """Wait for queued GPU work so that timings are complete."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def run_ours(x: np.ndarray, labels: np.ndarray, device: str) -> dict:
    from facesynth_bench.metrics.separability import evaluate_separability

    start = time.perf_counter()
    m = evaluate_separability(x, labels, engine="histogram", device=device).metrics
    return {
        "seconds": time.perf_counter() - start,
        "eer": m["eer"],
        "fmr100": m["fmr100"],
        "fmr1000": m["fmr1000"],
        "n_impostor": m["n_impostor"],
    }


def run_gemm(x: np.ndarray, labels: np.ndarray, device: str) -> dict:
    """The bare matrix multiply of every row with every row, in 4,096-row blocks."""
    e = torch.from_numpy(x).to(device)
    sync(device)
    start = time.perf_counter()
    for s in range(0, len(e), 4096):
        e[s : s + 4096] @ e.T
    sync(device)
    return {"seconds": time.perf_counter() - start}


def run_histogram(x: np.ndarray, labels: np.ndarray, device: str) -> dict:
    """torch.histc of N(N-1)/2 real scores (one 4,096 x 4,096 block, reused) into 2^20 bins."""
    n = len(x)
    total = n * (n - 1) // 2
    e = torch.from_numpy(x).to(device)
    block = (e[:4096] @ e[-4096:].T).reshape(-1)
    sync(device)
    start = time.perf_counter()
    done = 0
    while done < total:
        part = block[: min(block.numel(), total - done)]
        torch.histc(part, BINS, -1.0, 1.0)
        done += part.numel()
    sync(device)
    return {"seconds": time.perf_counter() - start}


def run_naive(x: np.ndarray, labels: np.ndarray, device: str) -> dict:
    """Full N x N similarity matrix in numpy, then sklearn roc_curve (the common recipe)."""
    from sklearn.metrics import roc_curve

    start = time.perf_counter()
    scores = x @ x.T
    i, j = np.triu_indices(len(x), k=1)
    same = labels[i] == labels[j]
    values = scores[i, j]
    del scores, i, j
    fpr, tpr, _ = roc_curve(same, values)
    fnr = 1 - tpr
    k = np.nanargmin(np.abs(fnr - fpr))
    eer = (fpr[k] + fnr[k]) / 2
    fmr100 = fnr[np.searchsorted(fpr, 0.01, side="right") - 1]
    return {"seconds": time.perf_counter() - start, "eer": float(eer), "fmr100": float(fmr100)}


METHODS = {"ours": run_ours, "gemm": run_gemm, "histogram": run_histogram, "naive": run_naive}


def worker(method: str, identities: int, per_identity: int, device: str) -> None:
    x, labels = identity_clusters(identities, per_identity, dim=512, seed=0)
    baseline = peak_rss_mb()
    result = METHODS[method](x, labels, device)
    result.update(
        peak_rss_mb=peak_rss_mb(), rss_after_data_mb=baseline, threads=torch.get_num_threads()
    )
    print(json.dumps(result))


def measure(method: str, identities: int, per_identity: int, device: str) -> dict:
    """Run one method in a fresh process; its JSON line, with its own peak RSS."""
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            method,
            "--identities",
            str(identities),
            "--per-identity",
            str(per_identity),
            "--device",
            device,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", choices=sorted(METHODS))
    parser.add_argument("--identities", type=int, default=1000)
    parser.add_argument("--per-identity", type=int, default=20)
    parser.add_argument(
        "--sizes", default="1000x20,5000x20", help="identities x images, comma-separated"
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (the naive run stays on CPU)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.identities, args.per_identity, args.device)
        return
    clock = RunClock()
    sizes = [tuple(map(int, size.split("x"))) for size in args.sizes.split(",")]
    report = {
        "benchmark": "separability",
        "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None,
        "runs": [],
    }
    for identities, per_identity in sizes:
        methods = ["ours", "gemm", "histogram"]
        if not args.skip_naive and identities <= 1000:
            methods.append("naive")
        row = {"identities": identities, "per_identity": per_identity}
        for method in methods:
            row[method] = measure(method, identities, per_identity, args.device)
            print(f"{identities} x {per_identity} {method}: {row[method]}", flush=True)
        reference = row["gemm"]["seconds"] + row["histogram"]["seconds"]
        row["ours_over_gemm_plus_histogram"] = row["ours"]["seconds"] / reference
        if "naive" in row:
            row["speedup_vs_naive"] = row["naive"]["seconds"] / row["ours"]["seconds"]
            row["memory_ratio_vs_naive"] = row["naive"]["peak_rss_mb"] / row["ours"]["peak_rss_mb"]
        report["runs"].append(row)
    write_record(args.output, "benchmark", report, clock, args.device)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
