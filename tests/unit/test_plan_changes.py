"""What a plan says about each change (issue 13): class, reason, data loss, readability.

The diff is fed the example regency's desired state and a doctored "last applied"
one; the CLI and the orchestrator are run on a copy of the example with a snapshot
written as an apply would. The engines are stand-ins: the refusal to lose data
happens before any of them runs.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dcctl import plugins
from dcctl.cli import app
from dcctl.engines import orchestrate
from dcctl.lab.hypervisor import REPLACES as LAB_REPLACES
from dcctl.lab.hypervisor.inputs import RENAMED, REPLACE_ON
from dcctl.plan.desired import desired_state
from dcctl.plan.diff import (
    Change,
    diff_states,
    natural_key,
    read_snapshot,
    summarize,
    write_snapshot,
)
from dcctl.plan.render import by_opd, field_change, plain, render_markdown
from dcctl.spec import load_spec
from dcctl.spec.ipam import Lock
from tests.conftest import EXAMPLE
from tests.unit.test_orchestrate import FakeLayer

PROXMOX = plugins.hypervisor_replaces("proxmox")
LAB = plugins.hypervisor_replaces("lab")
ARSIP = "disdukcapil/arsip-dok"


@pytest.fixture(scope="module")
def applied() -> dict[str, Any]:
    return desired_state(load_spec(EXAMPLE))


def _one(changes: list[Change], layer: str, key: str) -> Change:
    found = [c for c in changes if (c.layer, c.key) == (layer, key)]
    assert len(found) == 1, [(c.layer, c.key, c.action) for c in changes]
    return found[0]


def _edit(repo: Path, rel: str, old: str, new: str) -> None:
    path = repo / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


# --- change classes -------------------------------------------------------------------


def test_the_drivers_state_what_replaces_a_vm() -> None:
    # Production replaces a VM only for a new image (import_from); node changes migrate.
    assert set(PROXMOX) == {"image"}
    # The lab's rule is its provider's REPLACE_ON in desired-state terms, kept in step.
    assert LAB == LAB_REPLACES
    wiring = {"node": "bridge", "vlan": "vlan", "address": "address", "gateway": "gateway"}
    wiring["dns"] = "dns"
    assert {wiring[f] for f in LAB} == set(REPLACE_ON) - {"image", "admin_user"}
    # A rename changes names only: in place in the lab as in production.
    assert not set(RENAMED) & set(REPLACE_ON)


def test_each_change_has_its_class_and_a_replace_says_why(applied: dict[str, Any]) -> None:
    new = copy.deepcopy(applied)
    new["vms"]["dinkes/simpus"]["image"] = "rocky-9"  # replace (both targets)
    new["vms"]["bapenda/sismiop"]["memory_gb"] = 8  # in place
    new["vms"]["bapenda/sismiop"]["vlan"] = 999  # in place on Proxmox, replace in the lab
    del new["vms"]["bpkad/simda-keu"]
    new["vms"]["bpkad/new"] = dict(applied["vms"]["bpkad/simda-keu"])
    changes = diff_states(applied, new, PROXMOX)

    simpus = _one(changes, "vms", "dinkes/simpus")
    assert simpus.action == "replace"
    assert simpus.reasons == [
        "image changes: forces replacement (the system disk is imported from the image)"
    ]
    assert simpus.data_loss and "empty disks" in simpus.data_loss
    sismiop = _one(changes, "vms", "bapenda/sismiop")
    assert (sismiop.action, sismiop.data_loss, sismiop.reasons) == ("update", None, [])
    assert _one(changes, "vms", "bpkad/new").action == "create"
    deleted = _one(changes, "vms", "bpkad/simda-keu")
    assert deleted.action == "delete" and "disk" in (deleted.data_loss or "")
    assert deleted.fields["disk_gb"] == (applied["vms"]["bpkad/simda-keu"]["disk_gb"], None)

    in_lab = _one(diff_states(applied, new, LAB), "vms", "bapenda/sismiop")
    assert in_lab.action == "replace" and in_lab.reasons[0].startswith("vlan changes: forces")
    n = summarize(changes)
    assert n["replace"] == 1 and n["delete"] == 1 and n["create"] >= 1
    assert n["data_loss"] == 2  # the replaced and the deleted VM

    as_json = simpus.to_dict()
    assert as_json["action"] == "replace" and as_json["data_loss"] is True
    assert as_json["reasons"] and "empty disks" in as_json["data_loss_reason"]
    assert sismiop.to_dict()["data_loss"] is False


def test_recording_disk_shrink_and_opd_deletion_lose_data(applied: dict[str, Any]) -> None:
    new = copy.deepcopy(applied)
    nvr = next(k for k, v in new["vms"].items() if v.get("recording_disk_gb"))
    old_gb = new["vms"][nvr]["recording_disk_gb"]
    new["vms"][nvr]["recording_disk_gb"] = old_gb // 2
    for layer in new.values():
        for key in [k for k, v in layer.items() if isinstance(v, dict) and v.get("opd") == "dpmd"]:
            del layer[key]
    changes = diff_states(applied, new, PROXMOX)
    shrunk = _one(changes, "vms", nvr)
    assert shrunk.action == "update" and "recording disk shrinks" in (shrunk.data_loss or "")
    opd = _one(changes, "opds", "dpmd")
    assert opd.action == "delete" and "OPD dpmd deleted" in (opd.data_loss or "")
    # Growing a disk loses nothing.
    new["vms"][nvr]["recording_disk_gb"] = old_gb * 2
    assert _one(diff_states(applied, new, PROXMOX), "vms", nvr).data_loss is None


# --- renames --------------------------------------------------------------------------


def test_a_declared_rename_is_an_in_place_update_that_keeps_address_and_node(
    cli: CliRunner, spec_repo: Path
) -> None:
    before = load_spec(spec_repo)
    old = desired_state(before)
    write_snapshot(before.state_dir, old, "prod")
    _edit(
        spec_repo,
        "opd/disdukcapil.yaml",
        "name: arsip-dok, role",
        "name: arsip-dokumen, renamed_from: arsip-dok, role",
    )
    spec = load_spec(spec_repo)
    new = desired_state(spec)
    vm = new["vms"]["disdukcapil/arsip-dokumen"]
    was = old["vms"][ARSIP]
    assert (vm["address"], vm["node"]) == (was["address"], was["node"])
    # The lock moves the address to the new name (the old key is released).
    lock = spec.allocation.lock()
    assert lock.addresses["disdukcapil/servers/arsip-dokumen"] == was["address"].split("/")[0]
    assert "disdukcapil/servers/arsip-dok" not in lock.addresses

    changes = diff_states(old, new, PROXMOX)
    renamed = _one(changes, "vms", "disdukcapil/arsip-dokumen")
    assert (renamed.action, renamed.renamed_from, renamed.fields) == ("update", ARSIP, {})
    assert renamed.data_loss is None
    assert not [c for c in changes if c.layer == "vms" and c.key == ARSIP]

    r = cli.invoke(app, ["--no-color", "plan", str(spec_repo)])
    assert r.exit_code == 0, r.output
    assert f"~ {ARSIP} -> disdukcapil/arsip-dokumen (renamed)" in r.output
    assert "LOSE DATA" not in r.output
    data = json.loads(cli.invoke(app, ["plan", str(spec_repo), "-o", "json"]).output)
    vms = [c for c in data["changes"] if c["layer"] == "vms"]
    assert vms == [renamed.to_dict()] and vms[0]["renamed_from"] == ARSIP
    md = cli.invoke(app, ["plan", str(spec_repo), "-o", "markdown"]).output
    assert (
        f"| ~ update | vms | `{ARSIP} -> disdukcapil/arsip-dokumen (renamed)` | renamed in place"
        in md
    )


def test_a_bad_rename_is_refused_with_file_line_and_field(cli: CliRunner, spec_repo: Path) -> None:
    _edit(
        spec_repo,
        "opd/disdukcapil.yaml",
        "name: arsip-dok, role",
        "name: x, renamed_from: siak-gw, role",
    )
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1
    assert re.search(r"opd/disdukcapil.yaml:\d+:\d+: vms\[1\]\.renamed_from: .*siak-gw", r.output)


def test_renamed_vms_carry_aliases_into_the_proxmox_program(
    applied: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulumi
    import pulumi_proxmoxve as proxmoxve

    from dcctl.engines.pulumi.program import site_inputs
    from tests.unit.test_proxmox_program import deploy

    seen: dict[str, list[str]] = {}

    class Recording(proxmoxve.VmLegacy):  # type: ignore[misc]
        def __init__(self, resource: str, *args: Any, opts: pulumi.ResourceOptions, **kw: Any):
            seen[resource] = [a.name for a in opts.aliases or [] if isinstance(a, pulumi.Alias)]
            super().__init__(resource, *args, opts=opts, **kw)

    monkeypatch.setattr(proxmoxve, "VmLegacy", Recording)
    state = copy.deepcopy(applied)
    state["vms"]["disdukcapil/arsip-dokumen"] = state["vms"].pop(ARSIP) | {"renamed_from": ARSIP}
    site = site_inputs(load_spec(EXAMPLE))
    deploy(state, site)
    assert seen["disdukcapil-arsip-dokumen"] == ["disdukcapil-arsip-dok"]
    assert seen["dinkes-simpus"] == []


# --- disks never shrink ---------------------------------------------------------------


def test_validate_refuses_a_disk_smaller_than_locked(cli: CliRunner, spec_repo: Path) -> None:
    assert Lock.read(spec_repo).disks[ARSIP] == 600
    _edit(spec_repo, "opd/disdukcapil.yaml", "disk_gb: 600", "disk_gb: 300")
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1
    line = next(ln for ln in r.output.splitlines() if "disk_gb" in ln)
    # the path from the current directory: the spec path as given, then the file
    where = re.escape(str(spec_repo / "opd/disdukcapil.yaml"))
    assert re.match(rf"error {where}:18:\d+: vms\[1\]\.disk_gb: ", line), line
    assert "disk_gb 300 is smaller than the current 600" in line and "only grow" in line
    assert "Traceback" not in r.output
    # A renamed VM is held to its old name's size.
    _edit(
        spec_repo,
        "opd/disdukcapil.yaml",
        "name: arsip-dok, role",
        "name: arsip-baru, renamed_from: arsip-dok, role",
    )
    r = cli.invoke(app, ["validate", str(spec_repo)])
    assert r.exit_code == 1 and "smaller than the current 600" in r.output
    # Growing is fine, and the lock then records the larger size.
    _edit(spec_repo, "opd/disdukcapil.yaml", "disk_gb: 300", "disk_gb: 700")
    assert cli.invoke(app, ["validate", str(spec_repo)]).exit_code == 0
    assert cli.invoke(app, ["lock", str(spec_repo)]).exit_code == 0
    assert Lock.read(spec_repo).disks == {
        **{k: v for k, v in Lock.read(EXAMPLE).disks.items() if k != ARSIP},
        "disdukcapil/arsip-baru": 700,
    }


# --- --allow-destroy ------------------------------------------------------------------


@pytest.fixture
def deleted_vm(spec_repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeLayer]:
    """The lab applied the example; the spec then drops arsip-dok without a word."""
    spec = load_spec(spec_repo)
    write_snapshot(spec.state_dir, desired_state(spec), "lab")
    _edit(
        spec_repo,
        "opd/disdukcapil.yaml",
        "  - {name: arsip-dok, role: file, description: Arsip dokumen kependudukan, vcpu: 2, "
        "memory_gb: 4, disk_gb: 600, backup: {schedule: daily, retention_days: 90}}\n",
        "",
    )
    fakes = {n: FakeLayer(n) for n in ("switches", "vms", "hosts")}
    monkeypatch.setattr(orchestrate, "LAYERS", tuple(fakes.values()))
    monkeypatch.setattr(orchestrate, "VMS", fakes["vms"])
    return fakes


def test_an_undeclared_vm_delete_is_refused_without_allow_destroy(
    cli: CliRunner, spec_repo: Path, deleted_vm: dict[str, FakeLayer]
) -> None:
    spec = load_spec(spec_repo)
    with pytest.raises(orchestrate.DestroyRefused) as refused:
        orchestrate.run(spec, "up", "lab")
    assert [c.name for c in refused.value.losses] == [ARSIP]
    assert not any(f.calls for f in deleted_vm.values())
    with pytest.raises(orchestrate.DestroyRefused, match="under that name"):
        # Another VM's name allows nothing (and is refused: it matches no loss).
        orchestrate.run(spec, "up", "lab", allow_destroy=["disdukcapil/siak-gw"])
    with pytest.raises(orchestrate.DestroyRefused, match="under that name"):
        orchestrate.run(spec, "up", "lab", allow_destroy=[ARSIP, "disdukcapil/arsip"])

    args = ["apply", str(spec_repo), "--target", "lab", "--auto-approve"]
    r = cli.invoke(app, args)
    assert r.exit_code == 1
    assert f"--allow-destroy {ARSIP}" in r.output and "600 GB disk" in r.output
    assert not any(f.calls for f in deleted_vm.values())  # nothing applied
    assert not (spec.state_dir / "audit.log").exists()

    assert cli.invoke(app, [*args, "--allow-destroy", ARSIP]).exit_code == 0
    assert [m for m, _ in deleted_vm["vms"].calls] == ["apply"]
    # Switches alone lose no data: no refusal.
    assert cli.invoke(app, [*args, "--layer", "switches"]).exit_code == 0


def test_data_loss_refusal_in_indonesian(
    cli: CliRunner, spec_repo: Path, deleted_vm: dict[str, FakeLayer]
) -> None:
    """`--lang id apply`: the refusal and what to do about it in Indonesian (issue 19)."""
    args = ["--lang", "id", "apply", str(spec_repo), "--target", "lab", "--auto-approve"]
    r = cli.invoke(app, args)
    assert r.exit_code == 1
    assert "apply ditolak: 1 perubahan menghilangkan data dan tidak diizinkan:" in r.output
    assert f"vms {ARSIP}: VM dihapus beserta disk 600 GB" in r.output
    assert f"tinjau dulu (dcctl plan), lalu berikan --allow-destroy {ARSIP}" in r.output
    r = cli.invoke(app, [*args, "--allow-destroy", "disdukcapil/siak-gw"])
    assert "tidak ada perubahan dalam plan ini yang menghilangkan data dengan nama itu" in (
        " ".join(r.output.split())
    )
    assert not any(f.calls for f in deleted_vm.values())


def test_allow_destroy_all(spec_repo: Path, deleted_vm: dict[str, FakeLayer]) -> None:
    report = orchestrate.run(load_spec(spec_repo), "up", "lab", allow_destroy=["all"])
    assert report.ok and deleted_vm["vms"].calls


def test_the_plan_marks_data_loss_in_text_markdown_and_json(
    cli: CliRunner, spec_repo: Path, deleted_vm: dict[str, FakeLayer]
) -> None:
    spec = load_spec(spec_repo)
    # The same last apply for production: the offline plan compares with it.
    write_snapshot(spec.state_dir, read_snapshot(spec.state_dir, "lab"), "prod")
    text = cli.invoke(app, ["--no-color", "plan", str(spec_repo)]).output
    assert f"- {ARSIP} (delete)" in text
    assert "DATA LOSS: VM deleted with its 600 GB disk" in text
    assert re.search(r"Plan: 0 to create, \d+ to update, 0 to replace, \d+ to delete; 1 LOSE", text)
    md = cli.invoke(app, ["plan", str(spec_repo), "-o", "markdown"]).output
    assert "**1 change(s) lose data**" in md and f"- `{ARSIP}`: VM deleted" in md
    section = md.split("#### OPD `disdukcapil`")[1].split("####")[0]
    assert f"| - delete | vms | `{ARSIP}` | **DATA LOSS**: VM deleted" in section
    data = json.loads(cli.invoke(app, ["plan", str(spec_repo), "-o", "json"]).output)
    assert data["summary"]["data_loss"] == 1
    vm = next(c for c in data["changes"] if c["key"] == ARSIP and c["layer"] == "vms")
    assert vm["action"] == "delete" and vm["data_loss"] is True


# --- readable -------------------------------------------------------------------------


def test_values_are_plain_and_lists_show_what_is_added_and_removed() -> None:
    assert field_change(None, "access") == "(none) -> access"
    assert field_change([110, 120, 130], [110, 130, 140]) == "added 140; removed 120"
    assert field_change(None, [110, 120]) == "(none) -> 110, 120"
    assert plain(True) == "yes" and plain([]) == "(empty)" and plain("daily") == "daily"
    ports = ["Gi1/0/11", "Gi1/0/4", "Gi1/0/1", "Te1/1/2"]
    assert sorted(ports, key=natural_key) == ["Gi1/0/1", "Gi1/0/4", "Gi1/0/11", "Te1/1/2"]


def test_switch_changes_read_naturally(applied: dict[str, Any], cli: CliRunner) -> None:
    new = copy.deepcopy(applied)
    sw = next(
        k
        for k, v in applied["switches"].items()
        if any(p["mode"] == "trunk" and len(p["trunk_vlans"]) > 1 for p in v["ports"].values())
    )
    ports = new["switches"][sw]["ports"]
    trunk = next(p for p, v in ports.items() if v["mode"] == "trunk" and len(v["trunk_vlans"]) > 1)
    ports[trunk]["trunk_vlans"] = [*ports[trunk]["trunk_vlans"][1:], 3999]
    for p in ("Gi1/0/40", "Gi1/0/5"):
        ports[p] = {"mode": "access", "description": "new", "vlan": 110}
    change = _one(diff_states(applied, new), "switches", sw)
    names = [f for f in change.fields if f.startswith("ports.Gi1/0/")]
    assert names == sorted(names, key=natural_key)
    assert names.index("ports.Gi1/0/5.mode") < names.index("ports.Gi1/0/40.mode")
    old_trunk = applied["switches"][sw]["ports"][trunk]["trunk_vlans"]
    assert field_change(*change.fields[f"ports.{trunk}.trunk_vlans"]) == (
        f"added 3999; removed {old_trunk[0]}"
    )
    assert change.to_dict()["fields"][f"ports.{trunk}.trunk_vlans"]["added"] == [3999]
    # A created switch lists its ports in natural order too (-v and JSON show them all).
    created = _one(diff_states({**new, "switches": {}}, new), "switches", sw)
    ports = list(dict.fromkeys(f.split(".")[1] for f in created.fields if f.startswith("ports.")))
    assert ports == sorted(ports, key=natural_key) and ports != sorted(ports)


def test_creates_show_their_important_fields(cli: CliRunner, spec_repo: Path) -> None:
    out = cli.invoke(app, ["--no-color", "plan", str(spec_repo)]).output
    lines = out.splitlines()
    at = lines.index("  + dinkes/simpus")
    assert re.match(
        r"\s+node: \S+, vlan: \d+, address: 10\.20\.\d+\.\d+/24, vcpu: \d+", lines[at + 1]
    )
    assert "None" not in out and "'" not in out


def test_markdown_groups_changes_per_opd(applied: dict[str, Any]) -> None:
    new = copy.deepcopy(applied)
    new["vms"]["dinkes/simpus"]["memory_gb"] = 64
    new["vms"]["bapenda/sismiop"]["memory_gb"] = 64
    sw = next(iter(new["switches"]))
    new["switches"][sw]["managed"] = "full"
    changes = diff_states(applied, new)
    groups = by_opd(changes)
    assert list(groups) == ["bapenda", "dinkes", "site"]
    assert [c.key for c in groups["site"]] == [sw]
    md = render_markdown(load_spec(EXAMPLE), changes)
    assert md.index("#### OPD `bapenda`") < md.index("#### OPD `dinkes`")
    assert md.index("#### OPD `dinkes`") < md.index("#### site-wide")


def test_example_lock_is_up_to_date_with_disks() -> None:
    spec = load_spec(EXAMPLE)
    assert not spec.lock_changed
    assert spec.allocation.disks[ARSIP] == 600


def test_engine_steps_carry_class_reason_and_data_loss() -> None:
    from dcctl.engines.pulumi.stack import classify_step
    from dcctl.plan.render import engine_step_lines

    lab_vm, pool = "pulumi-python:dynamic/dcctl:LabVm", "proxmoxve:index/poolLegacy:PoolLegacy"
    assert classify_step("update", lab_vm, None) == {"class": "update"}
    replaced = classify_step("replace", lab_vm, ["vlan"])
    assert replaced["class"] == "replace"
    assert replaced["reason"] == "vlan changes: forces replacement"
    assert "empty disks" in replaced["data_loss"]
    assert classify_step("delete-replaced", lab_vm, None)["class"] == "replace"
    assert classify_step("delete", pool, None) == {"class": "delete"}
    vm = "proxmoxve:index/vmLegacy:VmLegacy"
    steps = [
        {"op": op, "name": "dinkes-simpus", **classify_step(op, vm, ["image"])}
        for op in ("delete-replaced", "replace", "create-replacement")
    ] + [{"op": "delete", "name": "bpkad-pool", **classify_step("delete", pool, None)}]
    assert engine_step_lines(steps) == [
        "-/+ dinkes-simpus (replace): image changes: forces replacement; "
        "DATA LOSS: VM replaced by a new one with empty disks",
        "- bpkad-pool (delete)",
    ]


def test_a_replacement_is_one_vm_item_of_class_replace() -> None:
    from collections import Counter

    from dcctl.engines.layer import Status
    from dcctl.engines.pulumi.layer import layer_result
    from dcctl.engines.pulumi.stack import StackResult, classify_step

    vm = "proxmoxve:index/vmLegacy:VmLegacy"
    res = StackResult(changes=Counter({"replace": 1, "create-replacement": 1}))
    for op in ("delete-replaced", "replace", "create-replacement"):
        step = {"op": op, "type": vm, "name": "dinkes-simpus", "opd": "dinkes", "fields": ""}
        res.steps.append(step | classify_step(op, vm, ["image"]))
    result = layer_result(res, Status.planned)
    assert [(i.name, i.action) for i in result.items] == [("dinkes-simpus", "replace")]
    assert result.by_opd() == {"dinkes": Counter({"replace": 1})}
