"""The hosts layer: configure inside the VMs (and office routers) with playbooks/site.yml.

Why its own layer after Pulumi: the inventory needs the addresses Pulumi placed
the VMs on, and role variables come from the spec through each domain's
provider (:mod:`dcctl.engines.ansible.vars`). A plan runs the same playbook in
check+diff mode, so it reports what an apply would change on each host. One
host failing or unreachable is a per-host result; the others complete.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from dcctl import targets
from dcctl.engines import interrupt
from dcctl.engines.ansible.converged import Digester, Record, hmac_key, record_path, resolve_hosts
from dcctl.engines.ansible.inventory import build_inventory
from dcctl.engines.ansible.vars import RoleVars, collect, prepare
from dcctl.engines.layer import WAITING, Context, Item, LayerResult, Status
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec
from dcctl.ssh.knownhosts import HostKeyError, openssh_refusal
from dcctl.targets import Target

__all__ = ["HostLayer", "HostsReport", "inventory_for", "run_hosts"]

if TYPE_CHECKING:
    from dcctl.engines.ansible.runner import PlaybookResult

Step = Callable[[str, str], None]
PLAYBOOK = "site.yml"


@dataclass
class HostsReport:
    """Per-host task counts, plus which hosts changed, failed or were unreachable."""

    hosts: dict[str, dict[str, int]] = field(default_factory=dict)
    changed_tasks: list[dict[str, str]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    status: str = ""
    #: Hosts no play ran on, each with why: its inputs did not change since it converged.
    skipped: dict[str, str] = field(default_factory=dict)

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
        for name in self.skipped:
            if name not in self.hosts:
                out["same"] = out.get("same", 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": self.changes(),
            "changed_tasks": sum(c.get("changed", 0) for c in self.hosts.values()),
            "hosts": self.hosts,
            "tasks": self.changed_tasks,
            "failures": self.failures,
            "skipped": self.skipped,
        }


def ssh_key(spec: Spec, target: Target | str) -> Path | None:
    """The key Ansible logs in with, as the target says (the lab's own key, or the agent's)."""
    return targets.get(target).ssh_key(spec)


def inventory_for(
    spec: Spec,
    vm_outputs: Mapping[str, Mapping[str, Any]] | None,
    role_vars: RoleVars,
    state: DesiredState | None = None,
    known_hosts: Path | None = None,
) -> dict[str, Any]:
    """VM inventory (spec + Pulumi outputs) joined with the domains' extra hosts.

    With `known_hosts` (the target's pinned keys) every host carries the strict
    host key options too, so plain ``ansible-playbook`` with the inventory script
    checks keys exactly as dcctl's runner does.
    """
    inventory = build_inventory(spec, vm_outputs, state)
    hostvars = inventory["_meta"]["hostvars"]
    for name, hv in role_vars.hosts.items():
        if name in hostvars:
            raise ValueError(_("inventory host {name} defined twice").format(name=name))
        hostvars[name] = dict(hv)
    for name, hv in role_vars.hostvars.items():
        if name not in hostvars:
            raise ValueError(
                _("role variables for {name}, which is no inventory host").format(name=name)
            )
        clash = set(hostvars[name]) & set(hv)
        if clash:
            raise ValueError(
                _("inventory host {name}: {keys} defined twice").format(
                    name=name, keys=sorted(clash)
                )
            )
        hostvars[name].update(hv)
    if known_hosts is not None:
        from dcctl.engines.ansible.runner import ssh_trust

        for hv in hostvars.values():
            hv["ansible_ssh_common_args"] = " ".join(ssh_trust(known_hosts))
    for group, members in role_vars.groups.items():
        body = inventory.setdefault(group, {"hosts": []})
        body["hosts"] = sorted(set(body["hosts"]) | set(members))
        if group not in inventory["all"]["children"]:
            inventory["all"]["children"].append(group)
    return inventory


def run_hosts(
    spec: Spec,
    target: Target | str,
    vm_outputs: Mapping[str, Mapping[str, Any]] | None,
    *,
    check: bool = False,
    on_step: Step | None = None,
    limit: str | None = None,
    state: DesiredState | None = None,
    converge: bool = False,
) -> HostsReport:
    """Run site.yml on every host whose inputs changed; ``check`` is the plan (``--check --diff``).

    Each play runs only on the hosts whose digest of inputs differs from the one
    recorded when it last converged there (:mod:`dcctl.engines.ansible.converged`);
    a play with no such host is skipped. ``converge`` (and an explicit ``limit``)
    runs every matching host. Only an apply (not ``check``) records digests.
    ``state`` is the run's desired state (the layer passes the one the run
    computed); without it, it is computed here once.
    """
    from dcctl.engines.ansible.runner import run_playbook

    target = targets.get(target)
    state = desired_state(spec) if state is None else state
    role_vars = collect(spec, spec.state_dir, target, state=state)
    # Every login is checked strictly against the target's pinned keys (issue 15).
    known = target.known_hosts(spec)
    inventory = inventory_for(spec, vm_outputs, role_vars, state, known)
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
                on_step(
                    "changed" if not check else "would change",
                    _("host {name}: {task}").format(name=host, task=task),
                )
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            if kind == "runner_on_failed" and data.get("ignore_errors"):
                return
            res = data.get("res") or {}
            text = str(res.get("msg") or res.get("stderr") or _("failed")).strip()
            msg = text.splitlines()
            unreachable = kind == "runner_on_unreachable"
            refused = openssh_refusal(host, text, known) if unreachable else None
            said = _("unreachable: {problem}") if unreachable else _("{task} failed: {problem}")
            said = said.format(task=task, problem=msg[0][:200] if msg else "")
            report.failures.setdefault(host, refused or said)
            if on_step:
                on_step(
                    "failed", _("host {name}: {task}").format(name=host, task=report.failures[host])
                )

    extravars = {**role_vars.public, **role_vars.secret, "dcctl_target": target.name}
    key = ssh_key(spec, target)

    def run_play(index: int, play: dict[str, Any], tmp: Path, limit: str | None) -> PlaybookResult:
        path = tmp / f"play-{index}.yml"
        path.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")

        return run_playbook(
            path,
            inventory,
            extravars=extravars,
            check=check,
            ssh_key=key,
            limit=limit,
            on_event=on_event,
            known_hosts=known,
            control_dir=tmp / "cp",
        )

    plays = _plays()
    names = [str(p.get("name") or f"play {i}") for i, p in enumerate(plays)]
    matched = resolve_hosts(
        inventory, {n: str(p.get("hosts", "all")) for n, p in zip(names, plays, strict=True)}
    )
    record = Record(record_path(spec, target))
    digester = _digester(spec, target, extravars, inventory, vm_outputs, known)
    ran: set[str] = set()
    skipped_at: dict[str, str] = {}
    results: list[PlaybookResult] = []
    with tempfile.TemporaryDirectory(prefix="dcctl-plays-") as tmp:
        # One run per play, in order: a play whose hosts all fail makes Ansible end
        # the whole playbook, which must not keep the other services from running.
        for i, (name, play) in enumerate(zip(names, plays, strict=True)):
            if interrupt.requested():  # a safe point: no new play starts
                report.failures["(playbook)"] = _(
                    "interrupted ({signal}): {left} of {total} plays not started"
                ).format(signal=interrupt.signal_name(), left=len(plays) - i, total=len(plays))
                break
            hosts = matched[name]
            digests = {h: digester.digest(play, h) for h in hosts} if digester else {}
            todo = hosts
            if not converge and limit is None and digester is not None:
                todo = []
                for host in hosts:
                    at = record.converged_at(name, host, digests[host])
                    if at is None:
                        todo.append(host)
                    else:
                        skipped_at[host] = max(at, skipped_at.get(host, ""))
                if not todo:
                    continue
            ran.update(todo)
            if not check:
                record.forget(name, todo)
            run_limit = limit if todo is hosts else ",".join(todo)
            result = run_play(i, play, Path(tmp), run_limit)
            results.append(result)
            if not check and digests and not result.errors:
                record.converged(name, {h: digests[h] for h in todo if _converged(result, h)})
    report.skipped = {
        h: _("inputs unchanged since converged at {at}").format(at=at)
        for h, at in sorted(skipped_at.items())
        if h not in ran
    }
    statuses = {r.status for r in results}
    stopped = "(playbook)" in report.failures
    report.status = "successful" if statuses <= {"successful"} and not stopped else "failed"
    merged: dict[str, dict[str, int]] = {}
    for r in results:
        for name, h in r.hosts.items():
            if name not in ran and not any(getattr(h, a) for a in _COUNTS):
                continue  # the runner lists every inventory host; this one did not run
            counts = merged.setdefault(name, dict.fromkeys(_COUNTS, 0))
            for attr in _COUNTS:
                counts[attr] += getattr(h, attr)
    report.hosts = merged
    for name, counts in merged.items():
        if (counts["failed"] or counts["unreachable"]) and name not in report.failures:
            report.failures[name] = _("unreachable") if counts["unreachable"] else _("failed")
    for r in results:
        if r.errors:  # that play never ran (syntax error, missing role)
            report.failures.setdefault("(playbook)", "; ".join(r.errors))
    if report.status != "successful" and not report.failures:
        report.failures["(playbook)"] = _("ansible-runner ended {statuses}").format(
            statuses=sorted(statuses)
        )
    return report


_COUNTS = ("ok", "changed", "failed", "unreachable", "skipped")


def _converged(result: PlaybookResult, host: str) -> bool:
    """The play ran on ``host`` (some task ok) and nothing failed or was unreachable there."""
    h = result.hosts.get(host)
    return h is not None and h.ok > 0 and not h.failed and not h.unreachable


def _digester(
    spec: Spec,
    target: Target,
    run_vars: Mapping[str, Any],
    inventory: Mapping[str, Any],
    vm_outputs: Mapping[str, Mapping[str, Any]] | None,
    known: Path,
) -> Digester | None:
    """The run's digester; None (every host runs) when the passphrase or pins are unreadable."""
    from dcctl.engines.ansible.vars import roles_dir
    from dcctl.engines.credentials import passphrase

    try:
        digester = Digester(
            key=hmac_key(passphrase()),
            all_roles=tuple(sorted(p.name for p in roles_dir().iterdir() if p.is_dir())),
            run_vars=run_vars,
            inventory=inventory,
            vm_outputs=vm_outputs,
            known_hosts=known,
        )
        digester.pinned_lines()  # read (and check) the pinned keys once, here
    except (OSError, HostKeyError):
        return None
    return digester


def _plays() -> list[dict[str, Any]]:
    """The plays of playbooks/site.yml (the file plain ``ansible-playbook`` runs too)."""
    from dcctl.engines.ansible.runner import PLAYBOOKS

    plays = yaml.safe_load((PLAYBOOKS / PLAYBOOK).read_text(encoding="utf-8"))
    if not isinstance(plays, list) or not plays:
        raise ValueError(_("{file}: expected a list of plays").format(file=PLAYBOOKS / PLAYBOOK))
    return plays


def layer_result(hosts: HostsReport, check: bool) -> LayerResult:
    """A hosts run as the contract's result; the JSON keeps the hosts report's keys.

    In a plan (check mode) a host that cannot be reached yet and did not fail is
    pending work, not an error: before the first apply there is no VM to log in
    to, and the apply reports a host that is still unreachable.
    """
    detail = hosts.to_dict()
    out = LayerResult("hosts", changes=detail.pop("changes"), detail=detail)
    pending = Status.planned if check else Status.changed
    waiting: list[str] = []
    if check:
        waiting = sorted(
            h for h, c in hosts.hosts.items() if c.get("unreachable") and not c.get("failed")
        )
        out.detail["unreachable"] = waiting
    tasks: dict[str, list[str]] = {}
    for t in hosts.changed_tasks:
        tasks.setdefault(t["host"], []).append(t["task"])
    for name, why in hosts.skipped.items():
        if name not in hosts.hosts and name not in hosts.failures:
            out.items.append(Item(name, Status.same, note=why))
    for name in sorted(set(hosts.hosts) | set(hosts.failures)):
        counts = hosts.hosts.get(name, {})
        lines = tuple(tasks.get(name, ()))
        if name in waiting:
            out.items.append(Item(name, Status.planned, WAITING))
        elif name in hosts.failures:
            status = Status.unreachable if counts.get("unreachable") else Status.failed
            out.items.append(Item(name, status, lines=lines, error=hosts.failures[name]))
            out.errors.append(_("host {name}: {task}").format(name=name, task=hosts.failures[name]))
        elif counts.get("changed"):
            action = _("{count} tasks").format(count=counts["changed"])
            out.items.append(Item(name, pending, action, lines=lines))
        else:
            out.items.append(Item(name, Status.same))
    return out


class HostLayer:
    """Hosts after VMs: Ansible needs the machines Pulumi made (check mode for plan/drift)."""

    name = "hosts"
    #: Failed VMs stop the hosts: there would be nothing sound to log in to. A failed
    #: switch does not (its own error is reported).
    needs: tuple[str, ...] = ("vms",)

    def _run(self, ctx: Context, check: bool, converge: bool = False) -> LayerResult:
        vms = ctx.earlier.get("vms")
        vm_outputs = vms.outputs.get("vms") if vms is not None else None
        try:
            if not check:  # an apply creates what the roles need (VPN keys) first
                for note in prepare(ctx.spec, ctx.spec.state_dir, ctx.target, state=ctx.state):
                    ctx.step("created", note)
            hosts = run_hosts(
                ctx.spec,
                ctx.target,
                vm_outputs,
                check=check,
                on_step=ctx.on_step,
                state=ctx.state,
                converge=converge,
            )
        except Exception as exc:  # a missing credential or key: the layer fails, reported
            broken = LayerResult.broken(self.name, str(exc))
            if os.environ.get("DCCTL_DEBUG"):
                broken.errors.append(traceback.format_exc())
            return broken
        return layer_result(hosts, check)

    def plan(self, ctx: Context) -> LayerResult:
        # A VM about to change (recreated, moved) changes what its host depends on, but
        # the preview only has the outputs deployed now: with any VM change pending no
        # host is skipped, so the plan never claims a host the apply would run.
        vms = ctx.earlier.get("vms")
        pending = vms is not None and vms.has_changes
        return self._run(ctx, check=True, converge=ctx.converge or pending)

    def apply(self, ctx: Context) -> LayerResult:
        return self._run(ctx, check=False, converge=ctx.converge)

    def drift(self, ctx: Context) -> LayerResult:
        # Drift is what changed on a host out of band: every host is checked, always.
        return self._run(ctx, check=True, converge=True)
