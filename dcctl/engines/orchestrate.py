"""Apply, destroy and drift across layers, under one lock, with an audit trail.

The order is the data flow: IPAM lock -> switches (the fabric carries the VLANs)
-> VMs and networks (Pulumi) -> hosts (Ansible, with Pulumi's addresses) -> snapshot.
The snapshot and the IPAM lock are only written after the engines succeeded, so a
failed or interrupted apply is simply re-run: every engine converges from whatever
state it finds.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from dcctl import targets
from dcctl.engines import interrupt
from dcctl.engines.ansible.layer import HostLayer
from dcctl.engines.audit import audited
from dcctl.engines.layer import Context, Layer, LayerResult, Step
from dcctl.engines.lock import apply_lock
from dcctl.engines.pulumi.layer import VmLayer
from dcctl.engines.switches.layer import SwitchLayer
from dcctl.i18n import _
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.plan.diff import Change, target_changes, write_snapshot
from dcctl.spec.loader import Spec
from dcctl.targets import Target

#: ``--allow-destroy`` value that allows every change that loses data.
ALLOW_ALL = "all"


class DestroyRefused(ValueError):
    """An apply would lose data the engineer did not allow; nothing was applied."""

    def __init__(self, losses: list[Change], unknown: Collection[str] = ()) -> None:
        self.losses = losses
        if unknown:
            # An allowance that matches nothing is a typo or a stale approval: never
            # let it look as if it had allowed something.
            named = ", ".join(c.name for c in losses) or _("none")
            super().__init__(
                _(
                    "refusing to apply: --allow-destroy {names}: no change "
                    "of this plan loses data under that name (those that do: {named})"
                ).format(names=", ".join(sorted(unknown)), named=named)
            )
            return
        names = " ".join(f"--allow-destroy {c.name}" for c in losses)
        lines = [f"  {c.layer} {c.name}: {c.data_loss}" for c in losses]
        super().__init__(
            _("refusing to apply: {n} change(s) lose data and were not allowed:").format(
                n=len(losses)
            )
            + "\n"
            + "\n".join(lines)
            + "\n"
            + _("review them (dcctl plan), then pass {names} (or --allow-destroy {all})").format(
                names=names, all=ALLOW_ALL
            )
        )


def check_destroy(
    spec: Spec, target: Target | str, state: DesiredState, allowed: Collection[str]
) -> list[Change]:
    """The changes of ``state`` that lose data; DestroyRefused unless all are ``allowed``.

    Compared with what ``target`` last applied (its snapshot), the same diff its
    ``dcctl plan`` shows. ``allowed`` holds exact names as the plan prints them
    (``disdukcapil/arsip-dok``, an OPD's code), or :data:`ALLOW_ALL`; a name that is
    no such change is refused too.
    """
    changes = target_changes(spec, state, target)
    losses = [c for c in changes if c.data_loss]
    unknown = set(allowed) - {c.name for c in losses} - {ALLOW_ALL}
    if unknown:
        raise DestroyRefused(losses, unknown)
    if ALLOW_ALL not in allowed:
        refused = [c for c in losses if c.name not in allowed]
        if refused:
            raise DestroyRefused(refused)
    return losses


@dataclass
class RunReport:
    """One run over the layers: each layer's typed result, in the order they ran."""

    action: str
    target: str
    layers: dict[str, LayerResult] = field(default_factory=dict)
    seconds: float = 0.0
    #: The signal that stopped the run at a safe point (None: it ran to its end).
    interrupted: str | None = None

    def add(self, result: LayerResult) -> None:
        self.layers[result.layer] = result

    @property
    def ok(self) -> bool:
        return self.interrupted is None and all(r.ok for r in self.layers.values())

    @property
    def errors(self) -> list[str]:
        errors = [e for r in self.layers.values() for e in r.errors]
        if self.interrupted:
            errors.append(
                _("interrupted by {signal}: stopped at a safe point").format(
                    signal=self.interrupted
                )
            )
        return errors

    @property
    def has_changes(self) -> bool:
        return any(r.has_changes for r in self.layers.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "target": self.target,
            "ok": self.ok,
            "layers": {name: r.to_dict() for name, r in self.layers.items()},
            "errors": self.errors,
            "seconds": round(self.seconds, 1),
            **({"interrupted": self.interrupted} if self.interrupted else {}),
        }


#: The layers, in data-flow order: the fabric carries the VLANs the VMs are placed on,
#: and the hosts layer logs in to the VMs the VM layer made.
VMS = VmLayer()
LAYERS: tuple[Layer, ...] = (SwitchLayer(), VMS, HostLayer())
#: ``--layer`` choices.
ENGINE_LAYERS = tuple(layer.name for layer in LAYERS)
_METHOD = {"up": "apply", "preview": "plan", "drift": "drift"}


def run(
    spec: Spec,
    action: str,
    target: Target | str,
    on_step: Step | None = None,
    layers: Collection[str] | None = None,
    state: DesiredState | None = None,
    allow_destroy: Collection[str] = (),
    expected: dict[str, Any] | None = None,
    converge: bool = False,
) -> RunReport:
    """Run ``action`` (up | preview | drift | destroy) over ``layers`` (default: all).

    ``state`` is the desired state when the caller has computed it already
    (``dcctl plan`` diffs it offline first, a saved plan carries it); otherwise it
    is computed here. An ``up`` that would lose data (:func:`check_destroy`) raises
    DestroyRefused before anything runs, unless ``allow_destroy`` names every such
    change. ``expected``: a saved plan's reviewed changes per layer
    (:attr:`Context.expected`). SIGINT/SIGTERM stop the run at the next safe point
    (:mod:`dcctl.engines.interrupt`); the report then says ``interrupted``.
    """
    target = targets.get(target)
    chosen = set(layers or ENGINE_LAYERS)
    unknown = chosen - set(ENGINE_LAYERS)
    if unknown:
        raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {ENGINE_LAYERS}")
    if action not in (*_METHOD, "destroy"):
        raise ValueError(f"unknown action {action!r}")
    if action == "up" and "vms" in chosen:
        state = desired_state(spec) if state is None else state
        check_destroy(spec, target, state, allow_destroy)
    report = RunReport(action, target.name)
    changes = action in ("up", "destroy")
    with interrupt.safe_stop(), apply_lock(spec.state_dir, action, create=changes):
        # Computed once: every layer works from the same desired state.
        ctx = Context(spec, target, desired_state(spec) if state is None else state, on_step)
        ctx.expected = dict(expected or {})
        ctx.converge = converge
        if not changes:
            _run_layers(ctx, action, chosen, report)
            return report
        # A change is audited before it starts and however it ends (failed, interrupted).
        with audited(spec.state_dir, spec.root, action, target.name, layers=sorted(chosen)) as rec:
            try:
                _run_layers(ctx, action, chosen, report)
                if action == "up" and report.ok:
                    spec.allocation.lock().write(spec.root)
                    # The snapshot is "what was last applied": only a whole apply writes it.
                    if chosen == set(ENGINE_LAYERS):
                        write_snapshot(spec.state_dir, ctx.state, target)
            finally:  # even a forced stop records what had run
                rec.body = report.to_dict()
            rec.finish(report.ok)
    return report


def _run_layers(ctx: Context, action: str, chosen: set[str], report: RunReport) -> None:
    """The layers in order; a stop asked by a signal ends the run before the next layer."""
    start = time.monotonic()
    try:
        if action == "destroy":
            # destroy removes the VMs whatever layers were named: hosts go with them.
            report.add(VMS.destroy(ctx))
        for layer in LAYERS if action != "destroy" else ():
            if layer.name not in chosen:
                continue
            if interrupt.requested():
                break
            if any(ctx.earlier[n].errors for n in layer.needs if n in ctx.earlier):
                continue
            result: LayerResult = getattr(layer, _METHOD[action])(ctx)
            ctx.earlier[layer.name] = result
            report.add(result)
        report.interrupted = interrupt.signal_name()
    finally:
        report.seconds = time.monotonic() - start
