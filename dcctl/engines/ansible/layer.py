"""The hosts layer: configure inside the VMs (and office routers) with playbooks/site.yml.

Why its own layer after Pulumi: the inventory needs the addresses Pulumi placed
the VMs on, and role variables come from the spec through each domain's
provider (:mod:`dcctl.engines.ansible.vars`). A plan runs the same playbook in
check+diff mode, so it reports what an apply would change on each host. One
host failing or unreachable is a per-host result; the others complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl.engines.ansible.inventory import build_inventory
from dcctl.engines.ansible.vars import RoleVars, collect
from dcctl.spec.loader import Spec

__all__ = ["HostsReport", "inventory_for", "run_hosts"]

Step = Callable[[str, str], None]
PLAYBOOK = "site.yml"


@dataclass
class HostsReport:
    """Per-host task counts, plus which hosts changed, failed or were unreachable."""

    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    changed_tasks: list[dict[str, str]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    status: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures and self.status in ("successful", "")

    def changes(self) -> dict[str, int]:
        """Hosts by outcome (what the CLI summary prints)."""
        out: dict[str, int] = {}
        for name, counts in self.hosts.items():
            if name in self.failures:
                kind = "unreachable" if counts.get("unreachable") else "failed"
            elif counts.get("changed"):
                kind = "changed"
            else:
                kind = "same"
            out[kind] = out.get(kind, 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes(),
            "changed_tasks": sum(c.get("changed", 0) for c in self.hosts.values()),
            "hosts": self.hosts,
            "tasks": self.changed_tasks,
            "failures": self.failures,
        }


def ssh_key(spec: Spec, target: str) -> Path | None:
    """The key Ansible logs in with: the lab's own key, else ANSIBLE_PRIVATE_KEY_FILE."""
    if target == "lab":
        from dcctl.lab.integration import lab_plan, lab_ssh_key

        return lab_ssh_key(lab_plan(spec).state_dir)[0]
    key = os.environ.get("ANSIBLE_PRIVATE_KEY_FILE")
    return Path(key) if key else None


def inventory_for(
    spec: Spec, vm_outputs: Mapping[str, Mapping[str, Any]] | None, role_vars: RoleVars
) -> dict[str, Any]:
    """VM inventory (spec + Pulumi outputs) joined with the domains' extra hosts."""
    inventory = build_inventory(spec, vm_outputs)
    hostvars = inventory["_meta"]["hostvars"]
    for name, hv in role_vars.hosts.items():
        if name in hostvars:
            raise ValueError(f"inventory host {name} defined twice")
        hostvars[name] = dict(hv)
    for group, members in role_vars.groups.items():
        body = inventory.setdefault(group, {"hosts": []})
        body["hosts"] = sorted(set(body["hosts"]) | set(members))
        if group not in inventory["all"]["children"]:
            inventory["all"]["children"].append(group)
    return inventory


def run_hosts(
    spec: Spec,
    target: str,
    vm_outputs: Mapping[str, Mapping[str, Any]] | None,
    *,
    check: bool = False,
    on_step: Step | None = None,
    limit: str | None = None,
) -> HostsReport:
    """Run site.yml on every host; ``check`` is the plan (``--check --diff``)."""
    from dcctl.engines.ansible.runner import run_playbook

    role_vars = collect(spec, spec.state_dir, target)
    inventory = inventory_for(spec, vm_outputs, role_vars)
    report = HostsReport()

    def on_event(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        host = data.get("host")
        kind = event.get("event", "")
        if not host:
            return
        task = str(data.get("task") or "")
        if kind == "runner_on_ok" and (data.get("res") or {}).get("changed"):
            report.changed_tasks.append({"host": host, "task": task})
            if on_step:
                on_step("changed" if not check else "would change", f"host {host}: {task}")
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                return
            res = data.get("res") or {}
            msg = str(res.get("msg") or res.get("stderr") or "failed").strip().splitlines()
            what = "unreachable" if kind == "runner_on_unreachable" else f"{task} failed"
            report.failures.setdefault(host, f"{what}: {msg[0][:200] if msg else ''}")
            if on_step:
                on_step("failed", f"host {host}: {report.failures[host]}")

    extravars = {**role_vars.public, **role_vars.secret, "dcctl_target": target}
    result = run_playbook(
        PLAYBOOK,
        inventory,
        extravars=extravars,
        check=check,
        ssh_key=ssh_key(spec, target),
        limit=limit,
        on_event=on_event,
    )
    report.status = result.status
    for name, h in result.hosts.items():
        report.hosts[name] = {
            "ok": h.ok,
            "changed": h.changed,
            "failed": h.failed,
            "unreachable": h.unreachable,
            "skipped": h.skipped,
        }
        if (h.failed or h.unreachable) and name not in report.failures:
            report.failures[name] = "unreachable" if h.unreachable else "failed"
    if result.status != "successful" and not report.failures:
        why = "; ".join(result.errors) or f"ansible-runner ended {result.status} (rc {result.rc})"
        report.failures["(playbook)"] = why
    return report
