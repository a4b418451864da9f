"""`dcctl apply --target lab` on the example regency, with the real Pulumi engine.

The CLI is run as a person or pipeline runs it (a subprocess), against a lab
built for this test: VMs come up reachable by SSH on their IPAM addresses, a
killed apply is repaired by the next one, concurrent applies are refused,
changes and removals converge, destroy cleans up, and no lab secret leaks.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcctl.engines.pulumi.stack import engine_processes
from dcctl.engines.pulumi.toolchain import engine_bin_dir
from dcctl.lab.hypervisor.machine import live_limits
from dcctl.lab.integration import lab_ssh_key, lab_vm_memory_mb
from tests.lab.conftest import EXAMPLE, Lab

pytestmark = [pytest.mark.lab, pytest.mark.timeout(900)]


def _env(lab: Lab) -> dict[str, str]:
    bin_dir = engine_bin_dir()
    if bin_dir is None or shutil.which("podman") is None:
        pytest.skip("needs the Pulumi engine (scripts/install-pulumi) and podman")
    return {
        **os.environ,
        "DCCTL_LAB_ID": lab.plan.lab_id,
        "NO_COLOR": "1",
        "DCCTL_PASSPHRASE": "lab-test-passphrase",
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
    }


def _dcctl(verb: str, repo: Path, *extra: str) -> list[str]:
    """The command line a pipeline runs against the lab."""
    flags = ["--auto-approve"] if verb in ("apply", "destroy") else []
    # This test is about the VM lifecycle; the hosts layer has test_hosts_example.
    flags += ["--layer", "switches", "--layer", "vms"] if verb in ("apply", "drift") else []
    return [sys.executable, "-m", "dcctl.cli", verb, str(repo), "--target", "lab", *flags, *extra]


def _run(verb: str, repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_dcctl(verb, repo), env=env, capture_output=True, text=True, timeout=600)


def _apply(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run("apply", repo, env)


def _containers(lab: Lab) -> set[str]:
    out = subprocess.run(
        ["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True, timeout=60
    ).stdout.split()
    return {n for n in out if n.startswith(f"dl{lab.plan.lab_id}-vm-")}


def _ssh_hostname(lab: Lab, address: str) -> str:
    key, _ = lab_ssh_key(lab.plan.state_dir)
    p = subprocess.run(
        [
            "ssh",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=5",
            "-i",
            str(key),
            f"dcctl@{address}",
            "hostname",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return p.stdout.strip()


def test_apply_example_in_lab(built_lab: Lab, tmp_path: Path) -> None:
    lab = built_lab
    env = _env(lab)
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    logs: list[str] = []
    try:
        # 1. An apply killed midway (SIGKILL to the whole process group, engine included).
        proc = subprocess.Popen(
            _dcctl("apply", repo),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert proc.stdout is not None
        deadline = time.monotonic() + 300
        seen = 0
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            logs.append(line)
            seen += "create " in line
            if seen >= 3:
                break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert seen >= 3, "".join(logs)

        # 2. The next apply converges without manual repair; a concurrent one is refused.
        first = subprocess.Popen(
            _dcctl("apply", repo),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lock = repo / "state" / "apply.lock"
        while str(first.pid) not in (lock.read_text() if lock.exists() else ""):
            assert first.poll() is None, first.communicate()[0]
            time.sleep(0.1)
        second = _apply(repo, env)
        assert second.returncode == 1
        assert "another dcctl up holds" in second.stderr and f"pid {first.pid}" in second.stderr
        out, _ = first.communicate(timeout=600)
        logs.append(out)
        assert first.returncode == 0, out
        # The killed apply's providers (own process groups, so they survive the kill)
        # were stopped before this apply built anything, and nothing lingers after it.
        assert engine_processes(repo / "state") == [], out
        assert "apply done" in out

        vms = {
            f"{code}/{vm.name}": lab_address(lab, code, vm.name)
            for code, opd in lab.spec.opds.items()
            for vm in opd.vms
        }
        from dcctl.plan.desired import desired_state

        assert len(_containers(lab)) == len(vms) == len(desired_state(lab.spec)["vms"])
        for key, address in vms.items():
            assert _ssh_hostname(lab, address) == key.replace("/", "-"), key

        # 3. Idempotent: nothing to do the second time.
        again = _apply(repo, env)
        logs.append(again.stdout + again.stderr)
        assert again.returncode == 0
        switches = len(lab.spec.site.switches)
        assert "vms: no changes" in again.stdout
        assert f"switches: {switches} unchanged" in again.stdout, again.stdout

        # 3b. Out of band: someone changes a VM's memory by hand. Drift reports it
        # (changing nothing); the next apply puts it back.
        vm = f"dl{lab.plan.lab_id}-vm-setda-jdih"
        jdih_gb = next(v.memory_gb for v in lab.spec.opds["setda"].vms if v.name == "jdih")
        subprocess.run(
            ["podman", "--runtime", "runc", "update", "--memory", "300m", vm],
            check=True,
            capture_output=True,
            timeout=60,
        )
        drift = _run("drift", repo, env)
        assert drift.returncode == 0 and "setda: 1 drift" in drift.stdout, drift.stdout
        assert live_limits(vm)[0] == 300
        fixed = _apply(repo, env)
        assert fixed.returncode == 0 and "setda: 1 update" in fixed.stdout, fixed.stdout
        assert live_limits(vm)[0] == lab_vm_memory_mb(jdih_gb) == 384  # 128 MiB a GB, >= 384

        # 4. A memory change is an in-place update; removing a VM deletes it.
        f = repo / "opd" / "bapenda.yaml"
        f.write_text(
            f.read_text().replace("memory_gb: 4, disk_gb: 150", "memory_gb: 6, disk_gb: 150")
        )
        d = repo / "opd" / "disdik.yaml"
        d.write_text(
            d.read_text().replace(
                "  - {name: dapodik-sync, vcpu: 1, memory_gb: 2, disk_gb: 40}\n", ""
            )
        )
        before = _containers(lab)
        changed = _apply(repo, env)
        logs.append(changed.stdout + changed.stderr)
        assert changed.returncode == 0, changed.stdout + changed.stderr
        assert "bapenda: 1 update" in changed.stdout and "disdik: 1 delete" in changed.stdout
        assert _containers(lab) == before - {f"dl{lab.plan.lab_id}-vm-disdik-dapodik-sync"}
        memory_mib, _cpus = live_limits(f"dl{lab.plan.lab_id}-vm-bapenda-sismiop")
        assert memory_mib == lab_vm_memory_mb(6) == 6 * 128  # the lab scales 1 GB to 128 MiB

        # 5. Destroy removes every VM.
        gone = _run("destroy", repo, env)
        logs.append(gone.stdout + gone.stderr)
        assert gone.returncode == 0 and _containers(lab) == set()
    finally:
        _run("destroy", repo, env)

    # 6. No lab secret in the spec repo's state, the audit log or any output.
    secrets = [p.read_text().strip() for p in (lab.plan.state_dir / "secrets").glob("*")]
    assert secrets
    state_text = "".join(
        p.read_text(errors="replace") for p in (repo / "state").rglob("*") if p.is_file()
    )
    for secret in secrets:
        assert secret not in state_text and secret not in "".join(logs)


def lab_address(lab: Lab, code: str, vm: str) -> str:
    from dcctl.spec.checks import vm_network  # public VMs live on their OPD's DMZ

    spec_vm = next(v for v in lab.spec.opds[code].vms if v.name == vm)
    return lab.spec.allocation.addresses[f"{code}/{vm_network(spec_vm)}/{vm}"]
