"""The VM layer leaves the Pulumi engine alone only with proof (issue 17).

The engine is replaced by a fake that writes a checkpoint like the file backend does;
what is tested is the proof: a second apply with nothing changed skips ``up`` (and a
plan skips the preview), handing on the recorded outputs and saying why; a changed
input, a changed checkpoint or ``--converge`` each run the engine again, and a failed
``up`` is never skipped next time.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from dcctl import targets
from dcctl.engines.layer import Context, Status
from dcctl.engines.pulumi import layer as vm_layer
from dcctl.engines.pulumi import stack
from dcctl.engines.pulumi.converged import record_path
from dcctl.plan.desired import desired_state
from dcctl.spec.loader import Spec, load_spec
from tests.conftest import EXAMPLE


class FakeEngine:
    """``stack.run``: counts its calls, writes the checkpoint, returns the VMs' outputs."""

    def __init__(self, spec: Spec) -> None:
        self.calls: list[str] = []
        self.fail = False
        self.checkpoint = spec.state_dir / "pulumi" / ".pulumi" / "stacks" / "dcctl-regency"

    def __call__(self, state_dir: Path, target: str, program: Any, action: str, on_step: Any):  # type: ignore[no-untyped-def]
        self.calls.append(action)
        if self.fail:
            raise stack.EngineError("resource dinkes/simpus: boom")
        if action == "up":  # a preview or a preview-only refresh writes no checkpoint
            self.checkpoint.mkdir(parents=True, exist_ok=True)
            (self.checkpoint / f"{target}.json").write_text(f'{{"run": {len(self.calls)}}}')
        res = stack.StackResult(changes=Counter({"same": 3}))
        res.outputs = {"vms": {"dinkes/simpus": {"address": "10.20.0.10"}}}
        return res


@pytest.fixture
def spec(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Spec:
    monkeypatch.setenv("DCCTL_PASSPHRASE", "test passphrase")
    monkeypatch.delenv("DCCTL_PULUMI_BACKEND", raising=False)
    monkeypatch.setattr("dcctl.ssh.vmkeys.ensure", lambda *a: [])
    return load_spec(spec_repo)


def run(spec: Spec, engine: FakeEngine, verb: str = "apply", **kw: Any) -> Any:
    ctx = Context(spec, targets.get("prod"), kw.pop("state", None) or desired_state(spec), **kw)
    layer = vm_layer.VmLayer()
    return layer.apply(ctx) if verb == "apply" else layer.plan(ctx)


def test_unchanged_inputs_skip_the_engine_with_proof(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine(spec)
    monkeypatch.setattr(stack, "run", engine)
    first = run(spec, engine)
    assert first.ok and engine.calls == ["up"]
    assert record_path(spec.state_dir, "prod").exists()

    again = run(spec, engine)
    assert engine.calls == ["up"], "the second apply ran the engine"
    assert again.ok and not again.has_changes
    assert again.outputs["vms"] == {"dinkes/simpus": {"address": "10.20.0.10"}}
    (item,) = again.items
    assert item.status is Status.same
    assert item.note.startswith("inputs and Pulumi checkpoint unchanged since converged at ")
    assert again.detail["skipped"] == item.note

    plan = run(spec, engine, "plan")
    assert engine.calls == ["up"] and plan.outputs == again.outputs  # no preview either

    forced = run(spec, engine, converge=True)
    assert engine.calls == ["up", "up"], "--converge did not run the engine"
    assert not any(i.note for i in forced.items)


def test_a_changed_input_a_moved_checkpoint_or_a_failed_up_run_the_engine(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = FakeEngine(spec)
    monkeypatch.setattr(stack, "run", engine)
    run(spec, engine)
    state = desired_state(spec)
    changed = copy.deepcopy(state)
    key = sorted(changed["vms"])[0]
    changed["vms"][key]["memory_gb"] += 1
    run(spec, engine, state=changed)
    assert engine.calls == ["up", "up"], "a changed VM did not reach the engine"
    run(spec, engine, state=changed)
    assert engine.calls == ["up", "up"]

    # Someone else's `pulumi up` or refresh moved the checkpoint.
    (engine.checkpoint / f"{targets.get('prod').stack}.json").write_text('{"run": "elsewhere"}')
    run(spec, engine, state=changed)
    assert engine.calls == ["up"] * 3

    # A failed up drops the record: the next apply runs again, with the same inputs.
    engine.fail = True
    assert not run(spec, engine, state=state).ok
    engine.fail = False
    run(spec, engine, state=state)
    run(spec, engine, state=state)
    assert engine.calls == ["up"] * 5


def test_a_team_backend_is_never_skipped(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakeEngine(spec)
    monkeypatch.setattr(stack, "run", engine)
    monkeypatch.setenv("DCCTL_PULUMI_BACKEND", "s3://bucket")
    run(spec, engine)
    run(spec, engine)
    assert engine.calls == ["up", "up"]


def test_drift_found_or_machines_changed_drop_the_proof(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drift run that finds a drifted VM (someone changed it by hand) makes the next
    apply run the engine, which puts it back; so does a change of what the target sees
    of its live machines (the lab: a VM container removed or made again)."""
    engine = FakeEngine(spec)
    monkeypatch.setattr(stack, "run", engine)
    run(spec, engine)
    real = engine.__call__

    def drifted(state_dir, target, program, action, on_step):  # type: ignore[no-untyped-def]
        res = real(state_dir, target, program, action, on_step)
        res.steps = [{"op": "update", "name": "setda/jdih", "opd": "setda", "fields": "memory"}]
        return res

    monkeypatch.setattr(stack, "run", drifted)
    ctx = Context(spec, targets.get("prod"), desired_state(spec))
    assert vm_layer.VmLayer().drift(ctx).has_changes
    monkeypatch.setattr(stack, "run", engine)
    run(spec, engine)
    assert engine.calls == ["up", "drift", "up"], "the apply after a drift did not run"
    run(spec, engine)
    assert engine.calls == ["up", "drift", "up"]

    monkeypatch.setattr(
        targets.Production, "converge_evidence", lambda self, spec: ["vm made again"]
    )
    run(spec, engine)
    assert engine.calls == ["up", "drift", "up", "up"]


def _podman_rows(status: str, state: str) -> str:
    import json

    return json.dumps(
        [
            {
                "Names": ["dlt01-vm-dinkes-simpus"],
                "Id": "ab" * 32,
                "State": state,
                "Status": status,
            },
            {"Names": ["dlt02-vm-dinkes-simpus"], "Id": "cd" * 32, "State": "running"},
            {"Names": ["dlt01-sw-core"], "Id": "ef" * 32, "State": "running"},
        ]
    )


def test_lab_vm_evidence_is_the_containers_state_not_their_uptime(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """podman 4.3's text column says "Up 9 minutes ago": a proof over it changed every
    minute, and a no-op apply then ran the engine (seen in the lab benchmark). The
    evidence takes the JSON's State: the same while the VMs run, another once one stops;
    only this lab's VM containers count."""
    import subprocess

    from dcctl.lab import podman
    from dcctl.lab.integration import lab_vm_evidence

    monkeypatch.setenv("DCCTL_LAB_ID", "t01")
    spec = load_spec(EXAMPLE)
    rows = {"out": ""}

    def fake(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert "json" in args, args
        return subprocess.CompletedProcess(list(args), 0, rows["out"], "")

    monkeypatch.setattr(podman, "podman", fake)
    seen = []
    for status, state in (
        ("Up 9 minutes ago", "running"),
        ("Up 2 hours ago", "running"),
        ("Exited (0) 1 second ago", "exited"),
    ):
        rows["out"] = _podman_rows(status, state)
        seen.append(lab_vm_evidence(spec)["containers"])
    assert seen[0] == seen[1] == [f"dlt01-vm-dinkes-simpus {'ab' * 6} running"]
    assert seen[2] == [f"dlt01-vm-dinkes-simpus {'ab' * 6} exited"]
