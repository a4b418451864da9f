"""Benchmark: a full `dcctl apply --target lab` of the example regency, then what follows it.

Why: the lab is where every change is rehearsed, so the time an engineer waits for
a rehearsal (and a pipeline for its apply and plan stages) is the figure that
matters. This builds a fresh lab and, with the real engines (switches, Pulumi,
Ansible), times side by side in one run: the first apply, a no-op apply, a no-op
`plan --target lab`, and an apply that adds one VM; then the ratios to the first
apply against issue 17's goals (1/20, 1/10, 1/4), and the load average (the
machine is shared). Needs root, the lab's Debian packages and the Pulumi engine.

    sudo .venv/bin/python benchmarks/bench_lab_apply.py
    sudo .venv/bin/python benchmarks/bench_lab_apply.py --ssh   # Ansible's own strategy

By default Ansible runs as dcctl runs it: Mitogen's strategy (`mitogen_linear`).
`--ssh` sets `DCCTL_ANSIBLE_STRATEGY=linear`, Ansible's own strategy over plain SSH
with pipelining, for issue 17's comparison of the two on one machine.
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


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _summary(report: dict) -> str:
    """Each layer's counts, as the CLI reports them; hosts: run, skipped, changed tasks."""
    layers = report.get("layers") or report.get("engines", {}).get("layers", {})
    hosts = layers.get("hosts", {})
    return (
        f"switches {layers.get('switches', {}).get('changes')}, "
        f"vms {layers.get('vms', {}).get('changes')}, hosts {hosts.get('changes')}: "
        f"{len(hosts.get('hosts') or {})} run, {len(hosts.get('skipped') or {})} skipped, "
        f"{hosts.get('changed_tasks')} changed tasks"
    )


#: The VM the one-VM figure adds (an OPD with room in its quota).
NEW_VM = "  - {name: bench-new, description: Benchmark VM, vcpu: 1, memory_gb: 1, disk_gb: 20}\n"


def _add_vm(env: dict[str, str], repo: Path) -> None:
    """The change a merge request makes: the VM and its IPAM lock entry (`dcctl lock`)."""
    path = repo / "opd" / "disdukcapil.yaml"
    text = path.read_text(encoding="utf-8")
    if "\nvms:\n" not in text:
        raise SystemExit(f"{path}: no block 'vms:' list to add the benchmark VM to")
    path.write_text(text.replace("\nvms:\n", "\nvms:\n" + NEW_VM, 1), encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "dcctl.cli", "lock", str(repo)], env=env, check=True, timeout=300
    )


def main() -> int:
    plain = "--ssh" in sys.argv[1:]
    if os.geteuid() != 0:
        print("needs root (the lab uses namespaces and Open vSwitch)", file=sys.stderr)
        return 2
    from dcctl.engines.ansible.runner import STRATEGY_ENV, strategy
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
        **({STRATEGY_ENV: "linear"} if plain else {}),
    }
    print(f"Ansible: {'SSH, pipelining (linear)' if plain else strategy()['ANSIBLE_STRATEGY']}")
    with tempfile.TemporaryDirectory() as tmp, open("/run/dcctl-lab-tests.lock", "w") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # one lab of the example at a time
        repo = Path(tmp) / "spec"
        shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
        try:
            up, rc, _ = dcctl(env, "lab", "up", str(repo))
            print(f"lab up                  {up:7.1f} s  (rc {rc})")
            print(f"load average at start: {_load()}")
            times: dict[str, float] = {}
            apply = ("apply", str(repo), "--target", "lab", "--auto-approve", "-o", "json")
            plan = ("plan", str(repo), "--target", "lab", "-o", "json")
            for key, label, args in (
                ("first", "first apply (full)", apply),
                ("noop", "no-op apply", apply),
                ("plan", "no-op plan --target lab", plan),
                ("onevm", "apply adding one VM", apply),
            ):
                if key == "onevm":
                    _add_vm(env, repo)
                took, rc, report = dcctl(env, *args)
                times[key] = took
                print(f"{label:<23} {took:7.1f} s  (rc {rc}; {_summary(report)})")
                if rc != 0:
                    print(json.dumps(report.get("errors", report))[:2000])
            first = times["first"]
            for key, label, goal in (
                ("noop", "no-op apply / first", 20),
                ("plan", "no-op plan / first", 10),
                ("onevm", "one-VM apply / first", 4),
            ):
                ratio = times[key] / first if first else float("nan")
                verdict = "meets" if ratio <= 1 / goal else "misses"
                print(f"{label:<23} 1/{1 / ratio:5.1f}   (goal 1/{goal}: {verdict})")
            print(f"load average at end: {_load()}")
        finally:
            dcctl(env, "destroy", str(repo), "--target", "lab", "--auto-approve", "-o", "json")
            dcctl(env, "lab", "down", str(repo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
