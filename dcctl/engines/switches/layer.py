"""The switch layer: plan and apply every switch's delta, and back them up.

Why a module of its own: `dcctl apply` (through the orchestrator) and `dcctl
switch diff|push|backup` (one switch at a time) must run the same code; the
Typer commands in :mod:`dcctl.engines.switches.cli` only parse and render.

Credentials come from the switch's credential reference in the spec, resolved by
the target at run time (`env:VAR`, `file:path`; the lab's own store for the lab).
Secrets are never printed, logged or put into results.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcctl import targets
from dcctl.engines.credentials import CredentialError, resolve_credential
from dcctl.engines.layer import Context, Item, LayerResult, Status, op_word
from dcctl.engines.switches.engine import (
    Connector,
    SwitchResult,
    SwitchTarget,
    backup_switch,
    change_all,
    netmiko_connect,
    run_all,
)
from dcctl.engines.switches.secrets import device_secrets
from dcctl.i18n import _

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

__all__ = [
    "SwitchLayer",
    "apply_switches",
    "backup_dir",
    "backup_switches",
    "managed_vlans",
    "plan_switches",
    "switch_targets",
]

#: Login name on the switches; the spec only holds the password's reference.
DEFAULT_USERNAME = "admin"
WORKERS = 16

OnDone = Callable[[SwitchResult], None]


def managed_vlans(spec: Spec) -> set[int]:
    """VLANs dcctl owns on every switch: the IPAM range, plus the management VLAN."""
    lo, hi = spec.site.ipam.vlan_range
    return set(range(int(lo), int(hi) + 1)) | {int(spec.site.management.vlan)}


def backup_dir(spec: Spec, target: targets.Target | str) -> Path:
    """`state/switches/<name>.cfg` for production; lab rehearsals keep their own."""
    return targets.get(target).state_path(spec.state_dir / "switches")


def switch_targets(
    spec: Spec,
    target: targets.Target | str,
    names: list[str] | None = None,
    state: dict[str, Any] | None = None,
) -> tuple[list[SwitchTarget], list[SwitchResult]]:
    """Targets to connect to, and failed results for switches without credentials."""
    from dcctl.plan.desired import desired_state

    intents = (state or desired_state(spec))["switches"]
    known = {s.name: s for s in spec.site.switches}
    unknown = sorted(set(names or ()) - set(known))
    if unknown:
        raise KeyError(
            _("unknown switch {names}; known: {known}").format(
                names=", ".join(unknown), known=", ".join(sorted(known))
            )
        )
    user = os.environ.get("DCCTL_SWITCH_USERNAME") or DEFAULT_USERNAME
    tgt = targets.get(target)
    reachable: list[SwitchTarget] = []
    failed: list[SwitchResult] = []
    for name in names or list(known):
        sw = known[name]
        try:
            password = resolve_credential(spec, sw.credential, target)
            secret = (
                resolve_credential(spec, sw.enable_credential, target)
                if sw.enable_credential
                else None
            )
            keys = device_secrets(
                intents[name], password, lambda ref: resolve_credential(spec, ref, target)
            )
        except CredentialError as exc:
            failed.append(
                SwitchResult(name, "failed", error=_("credential: {problem}").format(problem=exc))
            )
            continue
        reachable.append(
            SwitchTarget(
                name,
                intents[name],
                sw.mgmt_address,
                user,
                password,
                known_hosts=tgt.known_hosts(spec),
                enable_secret=secret,
                secrets=keys,
            )
        )
    return reachable, failed


Work = Callable[[list[SwitchTarget]], list[SwitchResult]]


def _over_switches(
    spec: Spec,
    target: targets.Target | str,
    on_done: OnDone | None,
    names: list[str] | None,
    state: dict[str, Any] | None,
    work: Work,
) -> list[SwitchResult]:
    """`work` on every switch with credentials; the others fail (reported first), sorted."""
    reachable, failed = switch_targets(spec, target, names, state)
    for res in failed:
        if on_done:
            on_done(res)
    return sorted(work(reachable) + failed, key=lambda r: r.name)


def plan_switches(
    spec: Spec,
    target: targets.Target | str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
    state: dict[str, Any] | None = None,
) -> list[SwitchResult]:
    """Dry run: read every switch and report the lines an apply would push."""
    vlans = managed_vlans(spec)
    return _over_switches(
        spec, target, on_done, names, state,
        lambda ts: change_all(ts, vlans, None, True, WORKERS, on_done, connect=connect),
    )  # fmt: skip


def apply_switches(
    spec: Spec,
    target: targets.Target | str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
    state: dict[str, Any] | None = None,
    expected: dict[str, str] | None = None,
) -> list[SwitchResult]:
    """Push each switch's delta (backup, verify, save; rollback on failure).

    The caller holds the apply lock (`dcctl apply` does; `dcctl switch push` takes it).
    ``expected``: a saved plan's line digests per switch; a switch whose delta
    differs now is not pushed.
    """
    vlans, dest = managed_vlans(spec), backup_dir(spec, target)
    return _over_switches(
        spec, target, on_done, names, state,
        lambda ts: change_all(
            ts, vlans, dest, False, WORKERS, on_done, connect=connect, expected=expected
        ),
    )  # fmt: skip


def backup_switches(
    spec: Spec,
    target: targets.Target | str,
    on_done: OnDone | None = None,
    names: list[str] | None = None,
    connect: Connector = netmiko_connect,
    state: dict[str, Any] | None = None,
) -> list[SwitchResult]:
    """Save every (named) switch's running config under `backup_dir`, change nothing."""
    dest = backup_dir(spec, target)
    return _over_switches(
        spec, target, on_done, names, state,
        lambda ts: run_all(ts, lambda t: backup_switch(t, dest, connect), WORKERS, on_done),
    )  # fmt: skip


#: The engine's switch outcome as the layer contract's status.
_STATUS = {
    "unchanged": Status.same,
    "planned": Status.planned,
    "changed": Status.changed,
    "failed": Status.failed,
    "rolled_back": Status.rolled_back,
    "backed_up": Status.same,
    # Not started because a signal stopped the run: not done, so not ok.
    "skipped": Status.failed,
}


def layer_result(results: list[SwitchResult]) -> LayerResult:
    """Switch results as the layer contract's result (same JSON as before: ``switches``)."""
    out = LayerResult("switches")
    for r in results:
        out.changes[r.status] = out.changes.get(r.status, 0) + 1
        status = _STATUS[r.status]
        action = _("{count} lines").format(count=len(r.lines)) if status.pending else ""
        out.items.append(Item(r.name, status, action, lines=tuple(r.lines), error=r.error))
        if not r.ok:
            out.errors.append(
                _("switch {name}: {status}: {error}").format(
                    name=r.name, status=op_word(r.status), error=r.error
                )
            )
    out.detail["switches"] = [r.to_dict() for r in results]
    return out


class SwitchLayer:
    """Switches first: the fabric must carry the VLANs the VMs are placed on."""

    name = "switches"
    needs: tuple[str, ...] = ()

    def _run(self, ctx: Context, fn: Callable[..., list[SwitchResult]]) -> LayerResult:
        def done(res: SwitchResult) -> None:
            ctx.step(
                res.status,
                _("switch {name}").format(name=res.name) + (f": {res.error}" if res.error else ""),
            )

        try:
            results = fn(ctx.spec, ctx.target, done, state=ctx.state)
        except Exception as exc:  # e.g. an unknown switch: the whole layer fails, reported
            return LayerResult.broken(self.name, str(exc))
        return layer_result(results)

    def plan(self, ctx: Context) -> LayerResult:
        return self._run(ctx, plan_switches)

    def apply(self, ctx: Context) -> LayerResult:
        expected = ctx.expected.get("switches")
        return self._run(ctx, partial(apply_switches, expected=expected))

    def drift(self, ctx: Context) -> LayerResult:
        # A switch's drift is its delta against the desired config: the same read.
        return self._run(ctx, plan_switches)
