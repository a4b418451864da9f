"""Time `dcctl validate` and `dcctl plan` on generated regencies at x1, x4 and x10.

Prints, per scale and command, wall time of whole CLI processes (what an engineer or
a pipeline waits for, including Python start-up) and their CPU time (user + system:
on a machine shared with other work, wall time measures the neighbours too), best and
median of several runs; then the growth from x1 (linear growth: x4 about 4, x10 about
10 on the part above start-up) and issue 17's goals at x10: validate under 1.5 s,
`plan -o json` under 2 s.

    python benchmarks/bench_spec.py            # x1, x4, x10
    python benchmarks/bench_spec.py 10 --runs 3

Python writes its bytecode during a warm-up run (an installed dcctl has it), even if
PYTHONDONTWRITEBYTECODE is set in the caller's environment.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_regency import generate, scaled

COMMANDS = {
    "validate": ["validate"],
    "plan -o json": ["plan", "-o", "json"],
    "plan (text)": ["plan"],
}
GOALS = {"validate": 1.5, "plan -o json": 2.0}  # seconds at x10 (issue 17)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of `runs` runs of `cmd`."""
    walls, cpus = [], []
    for _ in range(runs):
        t = time.perf_counter()
        p = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env()
        )
        assert p.stderr is not None
        err = p.stderr.read()
        _, status, usage = os.wait4(p.pid, 0)
        walls.append(time.perf_counter() - t)
        cpus.append(usage.ru_utime + usage.ru_stime)
        code = os.waitstatus_to_exitcode(status)
        p.returncode = code
        if code not in (0, 2):
            sys.exit(f"{' '.join(cmd)} failed ({code}):\n{err}")
    return walls, cpus


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("scales", nargs="*", type=int, default=[1, 4, 10])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    dcctl = [sys.executable, "-m", "dcctl.cli"]
    best: dict[tuple[str, int], tuple[float, float]] = {}
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            counts = scaled(scale)
            repo = Path(tmp) / f"x{scale}"
            generate(repo, **counts)
            subprocess.run([*dcctl, "lock", str(repo)], check=True, capture_output=True, env=_env())
            timed([*dcctl, "validate", str(repo)], 1)  # warm-up: bytecode, disk cache
            print(
                f"regency x{scale}: {counts['opds']} OPDs, {counts['vms']} VMs, "
                f"{counts['switches']} switches, {counts['offices']} offices, "
                f"{counts['cameras']} cameras"
            )
            for name, words in COMMANDS.items():
                walls, cpus = timed([*dcctl, words[0], str(repo), *words[1:]], args.runs)
                best[name, scale] = (min(walls), min(cpus))
                print(
                    f"  dcctl {name:13s} wall best {min(walls):6.3f} s median "
                    f"{statistics.median(walls):6.3f} s | cpu best {min(cpus):6.3f} s median "
                    f"{statistics.median(cpus):6.3f} s ({args.runs} runs)"
                )
    base = min(args.scales)
    for name in COMMANDS:
        ratios = ", ".join(
            f"x{s}/x{base} wall {best[name, s][0] / best[name, base][0]:.2f} "
            f"cpu {best[name, s][1] / best[name, base][1]:.2f}"
            for s in args.scales
            if s != base
        )
        if ratios:
            print(f"growth {name:13s} {ratios}")
    for name, goal in GOALS.items():
        if (name, 10) in best:
            wall, cpu = best[name, 10]
            verdict = (
                "met"
                if wall < goal
                else "met in CPU time (the wall time includes other work on this machine)"
                if cpu < goal
                else "NOT met"
            )
            print(f"goal x10 {name:13s} < {goal} s: wall {wall:.3f} s, cpu {cpu:.3f} s: {verdict}")


if __name__ == "__main__":
    main()
