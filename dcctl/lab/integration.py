"""What `--target lab` needs from the lab: names, image, keys and credentials.

The lab builder owns the physical names (bridges, namespaces); engines only
learn them here, so the Pulumi lab target and the switch engine stay ignorant
of how the lab is wired.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from dcctl.i18n import _
from dcctl.lab.topology import build_plan, lab_prefix, resolve_lab_id
from dcctl.paths import repo_root
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.targets import KNOWN_HOSTS

REPO = repo_root()


class LabNotReady(RuntimeError):
    """The lab (or its VM image) is missing; the message says which command fixes it."""


def lab_plan(spec: Spec) -> Any:
    return build_plan(spec, resolve_lab_id(spec.site.name))


def lab_ssh_key(state_dir: Path) -> tuple[Path, str]:
    """The lab's own SSH key pair (private half stays in the lab state dir, 0600)."""
    key = state_dir / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dcctl-lab", "-f", str(key)],
            check=True,
            timeout=30,
        )
    return key, key.with_suffix(".pub").read_text().strip()


def lab_image() -> str:
    script = REPO / "scripts" / "build-lab-image"
    try:
        out = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.SubprocessError) as exc:
        raise LabNotReady(
            _("cannot build the lab VM image: {problem}").format(problem=exc)
        ) from None
    if out.returncode != 0 or not out.stdout.strip():
        raise LabNotReady(
            _("scripts/build-lab-image failed: {stderr}").format(stderr=out.stderr.strip()[-300:])
        )
    return out.stdout.strip().splitlines()[-1]


#: A lab VM's memory: MiB per production GB, and the floor every VM needs.
LAB_MIB_PER_GB = 128
LAB_MIB_FLOOR = 384


def lab_vm_memory_mb(memory_gb: int) -> int:
    """The memory limit of a lab VM whose production VM has `memory_gb`.

    128 MiB per production GB, at least 384 MiB: systemd, sshd, node exporter and an
    Ansible module run, plus restic, whose every run opens the repository key with
    scrypt at 60 MiB (restic's own calibration) on top of its index. At 64 MiB a GB
    with a 128 MiB floor the kernel killed restic mid-`init` on a 2 GB VM (a key
    written without its config, or nothing) and Prometheus on the monitoring VM
    (dmesg: "Memory cgroup out of memory"), seen as missing backups in CI. These are
    limits, not reservations: the example's 21 VMs stay far below the machine's
    memory, and a memory change in the spec is still a real (in-place) change.
    """
    return max(LAB_MIB_FLOOR, memory_gb * LAB_MIB_PER_GB)


def lab_site_inputs(spec: Spec, state: DesiredState) -> dict[str, Any]:
    """The lab hypervisor's site inputs: bridges, image, key, per-VM memory from `state`."""
    plan = lab_plan(spec)
    if not (plan.state_dir / "lab.json").exists():
        raise LabNotReady(
            _("the lab is not up; run `dcctl lab up {root}` first").format(root=spec.root)
        )
    _key, pub = lab_ssh_key(plan.state_dir)

    memory = {k: lab_vm_memory_mb(vm["memory_gb"]) for k, vm in state["vms"].items()}
    return {
        "lab_memory_mb": memory,
        "lab_id": lab_prefix(plan.lab_id),
        "lab_bridges": {b.owner: b.name for b in plan.ovs_bridges if b.role == "node"},
        "lab_image": lab_image(),
        "lab_ssh_keys": [pub],
        "lab_dns": [],  # no resolver runs in the lab
        # Each VM's host key is pinned here when it is made; Ansible checks it strictly.
        "lab_known_hosts": str(plan.state_dir / KNOWN_HOSTS),
    }


def lab_vm_evidence(spec: Spec) -> dict[str, Any]:
    """The lab's VMs as they are now: each VM container's id and state, and the lab's
    pinned keys (a VM made again has a new key). Part of the VM layer's proof that it
    may skip the Pulumi engine (:mod:`dcctl.engines.pulumi.converged`).

    The state is the JSON's ``State`` (``running``, ``exited``), never the text column:
    podman 4.3's ``{{.State}}`` is the human status, "Up 9 minutes ago", which changed
    the proof each minute (and each hour), so a no-op apply ran the engine unless it
    came within the same minute of the last one.
    """
    from dcctl.lab.podman import podman

    plan = lab_plan(spec)
    prefix = f"{lab_prefix(plan.lab_id)}-vm-"
    rows = json.loads(podman("ps", "-a", "--format", "json", timeout=60).stdout or "[]")
    known = plan.state_dir / KNOWN_HOSTS
    return {
        "containers": sorted(
            f"{name} {row.get('Id', '')[:12]} {row.get('State', '')}"
            for row in rows
            for name in row.get("Names") or []
            if name.startswith(prefix)
        ),
        "known_hosts": known.read_text(encoding="utf-8") if known.exists() else None,
    }
