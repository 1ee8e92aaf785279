"""Benchmark how fast `fsbench` starts: --help, --version, list, evaluate scores on a small file.

Each command runs as a fresh process, `--repeats` times, and the median wall time is kept;
`python -c "import torch"` is measured in the same run as the yardstick (the issue's target:
`fsbench --help` in under half of it). Writes benchmarks/results/cli_startup.json. Usage:

    .venv/bin/python benchmarks/cli_startup.py [--repeats 7] [--output FILE]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facesynth_bench.records import RunClock, write_record

RESULTS = Path(__file__).parent / "results" / "cli_startup.json"
FSBENCH = [str(Path(sys.executable).with_name("fsbench"))]  # the console script users run


def median_seconds(command: list[str], repeats: int) -> float:
    """Median wall time of `repeats` fresh runs of `command` (each must succeed)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    clock = RunClock()
    with tempfile.TemporaryDirectory() as folder:
        scores = Path(folder)
        (scores / "g.txt").write_text("0.9\n0.8\n0.85\n0.7\n")
        (scores / "i.txt").write_text("0.1\n0.2\n0.5\n0.75\n0.3\n")
        commands = {
            "python -c 'import torch'": [sys.executable, "-c", "import torch"],
            "python -c 'pass'": [sys.executable, "-c", "pass"],
            "fsbench --help": [*FSBENCH, "--help"],
            "fsbench --version": [*FSBENCH, "--version"],
            "fsbench list": [*FSBENCH, "list"],
            "fsbench evaluate scores (9 scores)": [
                *FSBENCH, "evaluate", "scores", "--genuine", str(scores / "g.txt"),
                "--impostor", str(scores / "i.txt"), "--out", str(scores / "out"),
            ],
        }  # fmt: skip
        seconds = {name: median_seconds(cmd, args.repeats) for name, cmd in commands.items()}
    torch_s = seconds["python -c 'import torch'"]
    body = {
        "benchmark": "cli_startup",
        "repeats": args.repeats,
        "median_seconds": {name: round(s, 3) for name, s in seconds.items()},
        "help_over_import_torch": round(seconds["fsbench --help"] / torch_s, 3),
    }
    record = write_record(args.output, "benchmark", body, clock, "cpu")
    for name, value in record["median_seconds"].items():
        print(f"{name:40s} {value:6.3f} s")
    print(f"fsbench --help / import torch: {body['help_over_import_torch']}")


if __name__ == "__main__":
    main()
