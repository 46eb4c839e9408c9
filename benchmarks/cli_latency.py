"""How long the command line takes before it does any real work: `vercompare --help`, `run --help`,
and `plan` of the reference page's whole matrix (no engine). Each is run N times as a subprocess;
prints the median and the range. Targets (a user's first impression): --help well under 1 s,
plan of the page's matrix under 2 s, on the 2-core dev machine.

    .venv/bin/python benchmarks/cli_latency.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NO_ENGINE = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent", "COLUMNS": "120"}
COMMANDS = {
    "vercompare --help": ["--help"],
    "vercompare run --help": ["run", "--help"],
    "plan --config examples/pytorch2-page.toml": ["plan", "--config", str(REPO / "examples/pytorch2-page.toml"),
                                                  "--json"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    for name, argv in COMMANDS.items():
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "vercompare", *argv], env=NO_ENGINE, capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        print(f"{name:48s} median {statistics.median(times):.3f} s  (min {min(times):.3f}, max {max(times):.3f}, "
              f"n={len(times)})")


if __name__ == "__main__":
    main()
