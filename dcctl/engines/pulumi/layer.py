"""The VM layer: every VM and network of the desired state, through the Pulumi engine.

Why a layer: the orchestrator and the CLI see the Pulumi stack's outcome as the
layer contract's result (one item per resource that changes), and the hosts
layer receives the VMs' addresses through :attr:`LayerResult.outputs`. The
target decides the hypervisor and the stack, so ``stacks/__main__.py`` builds
exactly the program ``dcctl apply`` does (:func:`program_for`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dcctl.engines.layer import Context, Item, LayerResult, Status
from dcctl.i18n import _

if TYPE_CHECKING:
    from dcctl.engines.pulumi.stack import StackResult
    from dcctl.spec.loader import Spec
    from dcctl.targets import Target

__all__ = ["VmLayer", "program_for"]


def program_inputs(spec: Spec, target: Target, state: dict[str, Any]) -> dict[str, Any]:
    """Everything the program is built from: the desired state, site inputs, hypervisor."""
    from dcctl.engines.pulumi.program import site_inputs

    site = {**site_inputs(spec, state), **target.site_inputs(spec, state)}
    return {"state": state, "site": site, "hypervisor": target.hypervisor(spec)}


def program_for(spec: Spec, target: Target, state: dict[str, Any]) -> Callable[[], None]:
    """The Pulumi program of `spec` on `target` (also what ``stacks/__main__.py`` runs)."""
    from dcctl.engines.pulumi.program import regency_program

    inputs = program_inputs(spec, target, state)
    return lambda: regency_program(state, inputs["site"], inputs["hypervisor"])


def layer_result(res: StackResult, status: Status) -> LayerResult:
    """A stack run as the contract's result; the JSON keeps the stack's own keys."""
    detail = res.to_dict()
    out = LayerResult("vms", changes=detail.pop("changes"), detail=detail)
    for step in res.steps:
        if step["op"] in ("create-replacement", "delete-replaced"):
            continue  # the two halves of a replace step: one item, not three
        fields = tuple(f for f in step["fields"].split(",") if f)
        # The item's action is the plan's change class (create, update, replace, delete).
        action = step.get("class", step["op"])
        out.items.append(Item(step["name"], status, action, step["opd"], fields))
    vms = res.outputs.get("vms")
    if vms is not None:
        out.outputs["vms"] = vms
    return out


class VmLayer:
    """VMs after switches (their VLANs must exist), before hosts (which log in to them)."""

    name = "vms"
    needs: tuple[str, ...] = ()

    def _run(self, ctx: Context, action: str, status: Status) -> LayerResult:
        from dcctl.engines.pulumi import stack

        try:
            program = program_for(ctx.spec, ctx.target, ctx.state)
            res = stack.run(ctx.spec.state_dir, ctx.target.stack, program, action, ctx.on_step)
        except Exception as exc:  # engine errors are reported, never tracebacks
            return LayerResult.broken(self.name, str(exc))
        return layer_result(res, status)

    def _proof(self, ctx: Context) -> tuple[Any, str | None]:
        """The target's record and this run's digest (None: no proof, the engine runs)."""
        from dcctl.engines.credentials import passphrase
        from dcctl.engines.pulumi.converged import Record, digest, record_path

        record = Record(record_path(ctx.spec.state_dir, ctx.target))
        try:
            inputs = program_inputs(ctx.spec, ctx.target, ctx.state)
            inputs["live"] = ctx.target.converge_evidence(ctx.spec)
            value = digest(ctx.spec.state_dir, ctx.target.stack, inputs, passphrase(create=False))
        except Exception:  # an unreadable input or passphrase: no proof, so the engine runs
            value = None
        return record, value

    def _skipped(self, ctx: Context, record: Any, value: str | None) -> LayerResult | None:
        """The result of leaving the engine alone, when the record proves nothing moved."""
        found = None if ctx.converge else record.matches(value)
        if found is None:
            return None
        why = _("inputs and Pulumi checkpoint unchanged since converged at {at}").format(
            at=found.at
        )
        out = LayerResult(self.name, detail={"skipped": why})
        out.items.append(Item(f"stack {ctx.target.stack}", Status.same, note=why))
        if "vms" in found.outputs:
            out.outputs["vms"] = found.outputs["vms"]
        return out

    def plan(self, ctx: Context) -> LayerResult:
        record, value = self._proof(ctx)
        skipped = self._skipped(ctx, record, value)
        if skipped is not None:
            return skipped  # a preview would compare the same program with the same state
        return self._run(ctx, "preview", Status.planned)

    def apply(self, ctx: Context) -> LayerResult:
        from dcctl.ssh.vmkeys import ensure

        try:
            # Host keys before the VMs: known (and pinned) before anyone logs in.
            notes = ensure(ctx.spec, ctx.state, ctx.target)
        except Exception as exc:  # a keystore or known_hosts problem, reported
            return LayerResult.broken(self.name, _("SSH host keys: {problem}").format(problem=exc))
        for note in notes:
            ctx.step("changed", note)
        record, value = self._proof(ctx)
        skipped = None if notes else self._skipped(ctx, record, value)
        if skipped is not None:
            return skipped
        record.forget()
        out = self._run(ctx, "up", Status.changed)
        if out.ok:
            # The checkpoint this up wrote is part of the proof the next run checks.
            _record, after = self._proof(ctx)
            record.converged(after, {"vms": out.outputs["vms"]} if "vms" in out.outputs else {})
        return out

    def drift(self, ctx: Context) -> LayerResult:
        import os

        from dcctl.engines.pulumi.stack import checkpoint

        if not os.environ.get("DCCTL_PULUMI_BACKEND") and (
            checkpoint(ctx.spec.state_dir, ctx.target.stack) is None
        ):
            # Nothing applied yet: nothing to refresh, and a read creates no stack.
            return LayerResult(
                self.name,
                detail={
                    "note": _("nothing applied to {target} yet").format(target=ctx.target.name)
                },
            )
        # A drifted resource is work for the next apply (it puts the resource back), so
        # the proof that the stack converged no longer holds: the next apply runs it.
        out = self._run(ctx, "drift", Status.planned)
        if out.has_changes or not out.ok:
            from dcctl.engines.pulumi.converged import Record, record_path

            Record(record_path(ctx.spec.state_dir, ctx.target)).forget()
        return out

    def destroy(self, ctx: Context) -> LayerResult:
        """Remove every VM and network of the stack (the hosts go with them)."""
        return self._run(ctx, "destroy", Status.changed)
