"""Benchmark: a full `dcctl apply --target lab` of the example regency, then a no-op apply.

Why: the lab is where every change is rehearsed, so the time an engineer waits for
a rehearsal (and a pipeline for its apply stage) is the figure that matters. This
builds a fresh lab, applies the example twice with the real engines (switches,
Pulumi, Ansible) and prints the wall time of each apply and of each layer's share
as the CLI reports it. Needs root, the lab's Debian packages and the Pulumi engine.

    sudo .venv/bin/python benchmarks/bench_lab_apply.py
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "wonosobo"


def dcctl(env: dict[str, str], *args: str) -> tuple[float, int, dict]:
    start = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "dcctl.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    took = time.monotonic() - start
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {"raw": p.stdout[-2000:] + p.stderr[-2000:]}
    return took, p.returncode, out


def main() -> int:
    if os.geteuid() != 0:
        print("needs root (the lab uses namespaces and Open vSwitch)", file=sys.stderr)
        return 2
    from dcctl.engines.pulumi.toolchain import engine_bin_dir

    bin_dir = engine_bin_dir()
    if bin_dir is None:
        print("no Pulumi engine; run scripts/install-pulumi", file=sys.stderr)
        return 2
    lab_id = "bnc"
    env = {
        **os.environ,
        "DCCTL_LAB_ID": lab_id,
        "DCCTL_PASSPHRASE": "bench-passphrase",
        "NO_COLOR": "1",
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    with tempfile.TemporaryDirectory() as tmp, open("/run/dcctl-lab-tests.lock", "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # one lab of the example at a time
        repo = Path(tmp) / "spec"
        shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
        try:
            up, rc, _ = dcctl(env, "lab", "up", str(repo))
            print(f"lab up                  {up:7.1f} s  (rc {rc})")
            for label in ("first apply (full)", "second apply (no-op)"):
                took, rc, report = dcctl(
                    env, "apply", str(repo), "--target", "lab", "--auto-approve", "-o", "json"
                )
                layers = report.get("layers", {})
                hosts = layers.get("hosts", {})
                print(
                    f"{label:<23} {took:7.1f} s  (rc {rc}; switches "
                    f"{layers.get('switches', {}).get('changes')}, vms "
                    f"{layers.get('vms', {}).get('changes')}, hosts {hosts.get('changes')}, "
                    f"{hosts.get('changed_tasks')} changed tasks)"
                )
                if rc != 0:
                    print(json.dumps(report.get("errors", report))[:2000])
        finally:
            dcctl(env, "destroy", str(repo), "--target", "lab", "--auto-approve", "-o", "json")
            dcctl(env, "lab", "down", str(repo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
