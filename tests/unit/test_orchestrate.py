"""`orchestrate.run` on its own: layer order, what a failure skips, snapshot and audit.

The layers are stand-ins that record what they were asked (the engines have
their own tests); everything else is real: the spec, the apply lock, the
snapshot and audit files, the target object.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines import orchestrate
from dcctl.engines.layer import Context, Item, LayerResult, Status
from dcctl.plan import desired
from dcctl.plan.diff import read_snapshot, snapshot_path
from dcctl.spec import load_spec
from dcctl.spec.loader import Spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "wonosobo"


@dataclass
class FakeLayer:
    """Records each call; returns a result with one item, or an error if told to."""

    name: str
    needs: tuple[str, ...] = ()
    fail: bool = False
    calls: list[tuple[str, Context]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    #: The layers whose results this layer saw, per call.
    saw: list[list[str]] = field(default_factory=list)

    def _result(self, method: str, ctx: Context) -> LayerResult:
        self.calls.append((method, ctx))
        self.saw.append(list(ctx.earlier))
        self.log.append(f"{self.name}.{method}")
        if self.fail:
            return LayerResult.broken(self.name, "boom")
        status = Status.changed if method in ("apply", "destroy") else Status.planned
        return LayerResult(self.name, items=[Item(f"{self.name}-1", status, "create")])

    def plan(self, ctx: Context) -> LayerResult:
        return self._result("plan", ctx)

    def apply(self, ctx: Context) -> LayerResult:
        return self._result("apply", ctx)

    def drift(self, ctx: Context) -> LayerResult:
        return self._result("drift", ctx)

    def destroy(self, ctx: Context) -> LayerResult:
        return self._result("destroy", ctx)


@pytest.fixture
def spec(tmp_path: Path) -> Spec:
    repo = tmp_path / "spec"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("state"))
    return load_spec(repo)


@pytest.fixture
def layers(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeLayer]]:
    log: list[str] = []
    fakes = {
        "switches": FakeLayer("switches", log=log),
        "vms": FakeLayer("vms", log=log),
        "hosts": FakeLayer("hosts", needs=("vms",), log=log),
    }
    monkeypatch.setattr(orchestrate, "LAYERS", tuple(fakes.values()))
    monkeypatch.setattr(orchestrate, "VMS", fakes["vms"])
    yield fakes


def _audit(spec: Spec) -> list[dict[str, Any]]:
    path = spec.state_dir / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("action", "method"), [("up", "apply"), ("preview", "plan"), ("drift", "drift")]
)
def test_layers_run_in_data_flow_order_from_one_desired_state(
    spec: Spec,
    layers: dict[str, FakeLayer],
    monkeypatch: pytest.MonkeyPatch,
    action: str,
    method: str,
) -> None:
    computed: list[dict[str, Any]] = []
    real = desired.desired_state

    def counting(s: Spec) -> dict[str, Any]:
        computed.append(real(s))
        return computed[-1]

    monkeypatch.setattr(orchestrate, "desired_state", counting)
    report = orchestrate.run(spec, action, "lab")
    assert layers["vms"].log == [f"switches.{method}", f"vms.{method}", f"hosts.{method}"]
    assert len(computed) == 1
    contexts = [ctx for fake in layers.values() for _m, ctx in fake.calls]
    assert all(ctx.state is computed[0] for ctx in contexts)
    assert {ctx.target.name for ctx in contexts} == {"lab"}
    # Each layer sees the results of the layers before it, nothing after.
    assert [f.saw for f in layers.values()] == [[[]], [["switches"]], [["switches", "vms"]]]
    assert report.ok and report.has_changes
    assert list(report.to_dict()["layers"]) == ["switches", "vms", "hosts"]


def test_failed_vms_skip_hosts_but_a_failed_switch_does_not(
    spec: Spec, layers: dict[str, FakeLayer]
) -> None:
    layers["vms"].fail = True
    report = orchestrate.run(spec, "up", "lab")
    assert layers["vms"].log == ["switches.apply", "vms.apply"]
    assert not report.ok and report.errors == ["vms: boom"]
    assert not snapshot_path(spec.state_dir, "lab").exists()

    layers["vms"].fail, layers["switches"].fail = False, True
    layers["vms"].log.clear()
    report = orchestrate.run(spec, "up", "lab")
    assert layers["vms"].log == ["switches.apply", "vms.apply", "hosts.apply"]
    assert report.errors == ["switches: boom"]
    assert not snapshot_path(spec.state_dir, "lab").exists(), "a failed apply wrote it"


def test_snapshot_only_after_a_whole_successful_apply_and_only_the_targets(
    spec: Spec, layers: dict[str, FakeLayer]
) -> None:
    snapshot = snapshot_path(spec.state_dir, "lab")
    orchestrate.run(spec, "up", "lab", layers=["switches", "vms"])
    assert not snapshot.exists(), "a partial apply is not 'what was last applied'"
    orchestrate.run(spec, "preview", "lab")
    assert not snapshot.exists(), "a plan wrote the snapshot"
    orchestrate.run(spec, "up", "lab")
    expected = json.loads(json.dumps(desired.desired_state(spec), default=str))
    assert json.loads(snapshot.read_text()) == {"target": "lab", "state": expected}
    assert read_snapshot(spec.state_dir, "lab") == expected
    # A rehearsal never becomes production's "last applied".
    assert not snapshot_path(spec.state_dir, "prod").exists()
    assert read_snapshot(spec.state_dir, "prod") == {}
    orchestrate.run(spec, "up", "prod")
    assert read_snapshot(spec.state_dir, "prod") == expected
    assert snapshot_path(spec.state_dir, "prod") == spec.state_dir / "snapshot.json"


def test_destroy_removes_the_vms_whatever_layers_are_named_and_is_audited(
    spec: Spec, layers: dict[str, FakeLayer]
) -> None:
    report = orchestrate.run(spec, "destroy", "prod", layers=["hosts"])
    assert layers["vms"].log == ["vms.destroy"]
    assert layers["vms"].calls[0][1].target.name == "prod"
    entries = _audit(spec)
    # Written before it started, and with its result when it ended (one run id).
    assert [(e["event"], e["action"], e["target"]) for e in entries] == [
        ("started", "destroy", "prod"),
        ("finished", "destroy", "prod"),
    ]
    assert entries[0]["id"] == entries[1]["id"]
    assert (entries[1]["result"], entries[1]["ok"]) == ("ok", True)
    assert report.to_dict()["layers"]["vms"] == {"changes": {}}
    orchestrate.run(spec, "preview", "prod")
    assert len(_audit(spec)) == 2, "a plan was written to the audit log"


def test_unknown_layer_action_or_target_is_refused_before_anything_runs(
    spec: Spec, layers: dict[str, FakeLayer]
) -> None:
    with pytest.raises(ValueError, match="unknown layer"):
        orchestrate.run(spec, "up", "lab", layers=["switchs"])
    with pytest.raises(ValueError, match="unknown action"):
        orchestrate.run(spec, "upp", "lab")
    with pytest.raises(ValueError, match="unknown target"):
        orchestrate.run(spec, "up", "staging")
    assert layers["vms"].log == []


def test_hosts_layer_inputs_come_from_the_runs_desired_state(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Role variables and inventory are built from the state the run hands on, not recomputed.

    Every ``desired_state`` a dcctl module holds is replaced by one that fails, and
    the state handed on is changed (one camera and one office fewer): the variables
    must follow the handed state.
    """
    import sys

    from dcctl.engines.ansible.layer import inventory_for
    from dcctl.engines.ansible.vars import collect

    state = desired.desired_state(spec)

    def recomputed(_spec: Spec) -> dict[str, Any]:
        raise AssertionError("desired_state recomputed inside the hosts layer")

    real = desired.desired_state
    for module in [m for name, m in sys.modules.items() if name.startswith("dcctl.")]:
        if getattr(module, "desired_state", None) is real:
            monkeypatch.setattr(module, "desired_state", recomputed)

    def unpatch_late_imports() -> None:
        # A module first imported while dcctl.plan.desired was patched bound the fake
        # (`from dcctl.plan.desired import desired_state`); monkeypatch knows nothing of
        # it, and every later test would call the fake.
        for module in list(sys.modules.values()):
            if getattr(module, "desired_state", None) is recomputed:
                module.desired_state = real  # type: ignore[attr-defined]

    request.addfinalizer(unpatch_late_imports)
    dropped_cam = sorted(state["cctv"])[0]
    dropped_office = sorted(state["vpn"])[0]
    del state["cctv"][dropped_cam]
    del state["vpn"][dropped_office]

    for cam in (c for opd in spec.opds.values() for c in opd.cameras):
        kind, _, var = cam.credential.partition(":")
        if kind == "env":  # production's references, so no lab needs to be up
            monkeypatch.setenv(var, "not-a-real-camera-password")
    rv = collect(spec, tmp_path, "prod", state=state)
    inventory = inventory_for(spec, None, rv, state)
    recorded = {r["key"] for r in rv.public["cctv_recorder_cameras"]}
    assert recorded == set(state["cctv"]) and dropped_cam not in recorded
    offices = {h for h in inventory["_meta"]["hostvars"] if h.startswith("office-")}
    assert f"office-{dropped_office.replace('/', '-')}" not in offices
    assert set(inventory["_meta"]["hostvars"]) >= {k.replace("/", "-") for k in state["vms"]}


def test_a_state_the_caller_computed_is_the_one_every_layer_gets(
    spec: Spec, layers: dict[str, FakeLayer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``dcctl plan --target`` diffs offline first and hands that state on: no second one."""

    def recomputed(_spec: Spec) -> dict[str, Any]:
        raise AssertionError("desired_state recomputed although the caller passed it")

    state = desired.desired_state(spec)
    monkeypatch.setattr(orchestrate, "desired_state", recomputed)
    orchestrate.run(spec, "preview", "lab", state=state)
    contexts = [ctx for fake in layers.values() for _m, ctx in fake.calls]
    assert contexts and all(ctx.state is state for ctx in contexts)
