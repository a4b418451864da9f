"""Time `dcctl validate` and `dcctl plan` on a large generated regency.

Prints wall time of whole CLI processes (what an engineer or a pipeline
waits for, including Python start-up), best and median of several runs.
Target: under 1 s each on the 2-core reference machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_regency import generate, scaled


def timed(cmd: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        out.append(time.perf_counter() - t)
        if p.returncode not in (0, 2):
            sys.exit(f"{' '.join(cmd)} failed:\n{p.stdout}\n{p.stderr}")
    return out


def main(runs: int = 5, scale: int = 1) -> None:
    """``scale`` times the benchmark regency (issue 17's offline goal is at x10)."""
    counts = scaled(scale)
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "bench"
        generate(repo, **counts)
        dcctl = [sys.executable, "-m", "dcctl.cli"]
        subprocess.run([*dcctl, "lock", str(repo)], check=True, capture_output=True)
        print(
            f"regency x{scale}: {counts['opds']} OPDs, {counts['vms']} VMs, "
            f"{counts['switches']} switches, {counts['offices']} offices, "
            f"{counts['cameras']} cameras"
        )
        for name, args in (
            ("validate", ["validate", str(repo)]),
            ("plan", ["plan", str(repo), "-o", "json"]),
            ("plan (text)", ["plan", str(repo)]),
        ):
            t = timed([*dcctl, *args], runs)
            print(
                f"dcctl {name:12s} best {min(t):.3f} s  median {statistics.median(t):.3f} s "
                f"({runs} runs)"
            )


if __name__ == "__main__":
    main(scale=int(sys.argv[1]) if len(sys.argv) > 1 else 1)
