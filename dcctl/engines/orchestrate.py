"""Apply, destroy and drift across layers, under one lock, with an audit trail.

The order is the data flow: IPAM lock -> switches (the fabric carries the VLANs)
-> VMs and networks (Pulumi) -> hosts (Ansible, with Pulumi's addresses) -> snapshot.
The snapshot and the IPAM lock are only written after the engines succeeded, so a
failed or interrupted apply is simply re-run: every engine converges from whatever
state it finds.
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import time
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.engines.lock import apply_lock
from dcctl.plan.desired import desired_state
from dcctl.plan.diff import write_snapshot
from dcctl.spec.loader import Spec
from dcctl.targets import Target

Step = Callable[[str, str], None]


@dataclass
class RunReport:
    action: str
    target: str
    ok: bool = True
    layers: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target,
            "ok": self.ok,
            "layers": self.layers,
            "errors": self.errors,
            "seconds": round(self.seconds, 1),
        }


def program_for(spec: Spec, target: Target, state: dict[str, Any]) -> Callable[[], None]:
    """The Pulumi program of `spec` on `target` (also what ``stacks/__main__.py`` runs)."""
    from dcctl.engines.pulumi.program import regency_program, site_inputs

    site = {**site_inputs(spec), **target.site_inputs(spec)}
    hypervisor = target.hypervisor(spec)
    return lambda: regency_program(state, site, hypervisor)


def _git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def audit(spec: Spec, report: RunReport) -> None:
    """Append who/which commit/what changed/result to state/audit.log (JSON lines)."""
    spec.state_dir.mkdir(parents=True, exist_ok=True)
    entry = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "user": getpass.getuser(),
        "commit": _git_commit(spec.root),
        **report.to_dict(),
    }
    with (spec.state_dir / "audit.log").open("a") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def _switch_layer(
    spec: Spec, action: str, target: Target, report: RunReport, on_step: Step | None
) -> None:
    """Switches before VMs: the fabric must carry the VLANs the VMs are placed on."""
    from dcctl.engines.switches.cli import apply_switches, plan_switches

    def done(res: Any) -> None:
        if on_step:
            on_step(res.status, f"switch {res.name}" + (f": {res.error}" if res.error else ""))

    try:
        if action == "up":
            results = apply_switches(spec, target, done)
        else:
            results = plan_switches(spec, target)
    except Exception as exc:  # e.g. missing credentials: the whole layer fails, reported
        report.ok = False
        report.errors.append(f"switches: {exc}")
        return
    changes: dict[str, int] = {}
    for r in results:
        changes[r.status] = changes.get(r.status, 0) + 1
    report.layers["switches"] = {"changes": changes, "switches": [r.to_dict() for r in results]}
    failed = [r for r in results if not r.ok]
    if failed:
        report.ok = False
        report.errors += [f"switch {r.name}: {r.status}: {r.error}" for r in failed]


def _hosts_layer(
    spec: Spec,
    action: str,
    target: Target,
    vm_outputs: dict[str, Any] | None,
    report: RunReport,
    on_step: Step | None,
) -> None:
    """Hosts after VMs: Ansible needs the machines Pulumi made (check mode for plan/drift)."""
    from dcctl.engines.ansible.layer import run_hosts

    check = action != "up"
    try:
        hosts = run_hosts(spec, target, vm_outputs, check=check, on_step=on_step)
    except Exception as exc:  # a missing credential or key: the layer fails, reported
        report.ok = False
        report.errors.append(f"hosts: {exc}")
        if os.environ.get("DCCTL_DEBUG"):
            report.errors.append(traceback.format_exc())
        return
    layer = hosts.to_dict()
    if check:
        # A plan before the first apply finds no VMs to log in to: that is pending
        # work, not an error (the apply reports a host that is still unreachable).
        layer["unreachable"] = sorted(
            h for h, c in hosts.hosts.items() if c.get("unreachable") and not c.get("failed")
        )
        failures = {h: m for h, m in hosts.failures.items() if h not in layer["unreachable"]}
    else:
        failures = hosts.failures
    report.layers["hosts"] = layer
    if failures:
        report.ok = False
        report.errors += [f"host {h}: {m}" for h, m in sorted(failures.items())]


#: The layers an apply runs, in order; ``--layer`` picks a subset.
ENGINE_LAYERS = ("switches", "vms", "hosts")


def run(
    spec: Spec,
    action: str,
    target: Target | str,
    on_step: Step | None = None,
    layers: Collection[str] | None = None,
) -> RunReport:
    """Run ``action`` (up | preview | drift | destroy) over ``layers`` (default: all)."""
    from dcctl.engines.pulumi import stack

    target = targets.get(target)
    chosen = set(layers or ENGINE_LAYERS)
    unknown = chosen - set(ENGINE_LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {ENGINE_LAYERS}")
    report = RunReport(action, target.name)
    start = time.monotonic()
    # Computed once: every layer plans from the same desired state.
    state = desired_state(spec)
    with apply_lock(spec.state_dir, action):
        if action in ("up", "drift", "preview") and "switches" in chosen:
            _switch_layer(spec, action, target, report, on_step)
        vm_outputs: dict[str, Any] | None = None
        # destroy removes the VMs whatever layers were named: hosts go with them.
        if "vms" in chosen or action == "destroy":
            try:
                res = stack.run(
                    spec.state_dir,
                    target.stack,
                    program_for(spec, target, state),
                    action,
                    on_step,
                )
                report.layers["vms"] = res.to_dict()
                vm_outputs = res.outputs.get("vms")
            except Exception as exc:  # engine errors are reported, never tracebacks
                report.ok = False
                report.errors.append(f"vms: {exc}")
        vms_failed = any(e.startswith("vms:") for e in report.errors)
        if action in ("up", "preview", "drift") and "hosts" in chosen and not vms_failed:
            # A failed switch does not stop the hosts (its own error is reported);
            # failed VMs do: there would be nothing sound to log in to.
            _hosts_layer(spec, action, target, vm_outputs, report, on_step)
        if action == "up" and report.ok:
            spec.allocation.lock().write(spec.root)
            # The snapshot is "what was last applied": only a whole apply writes it.
            if chosen == set(ENGINE_LAYERS):
                write_snapshot(spec.state_dir, state)
        report.seconds = time.monotonic() - start
        if action in ("up", "destroy"):
            audit(spec, report)
    return report
