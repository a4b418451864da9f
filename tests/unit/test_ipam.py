"""IPAM: deterministic, pinned values honoured, and nothing moves when OPDs come and go."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dcctl.cli import app
from dcctl.spec import SpecErrors, load_spec
from dcctl.spec.ipam import AddressRequest, Lock, Pool, PrefixRequest, VlanRequest, allocate

NEW_OPD = """apiVersion: dcctl/v1
kind: Opd
code: {code}
name: Dinas Baru
sector: other
classification: terbatas
contacts: [{{name: Admin, role: Operator}}]
quota: {{vcpu: 4, memory_gb: 8, disk_gb: 100}}
buildings:
  - {{name: kantor, location: Jl. Baru, switch: sw-setda, lan_ports: [{port}]}}
vms:
  - {{name: app, vcpu: 1, memory_gb: 1, disk_gb: 10}}
offices:
  - {{name: cabang, location: Cabang, router: linux, wan_address: {wan}}}
"""


def _everything(root: Path) -> Lock:
    return load_spec(root).allocation.lock()


def _assert_kept(before: Lock, after: Lock, removed: tuple[str, ...] = ()) -> None:
    for table in ("vlans", "prefixes", "addresses"):
        old, new = getattr(before, table), getattr(after, table)
        for key, value in old.items():
            if key.startswith(removed) or key.startswith(tuple("vpn/" + r for r in removed)):
                continue
            assert new.get(key) == value, f"{table} {key} moved: {value} -> {new.get(key)}"


def test_allocation_is_deterministic(spec_repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(spec_repo, other)
    assert _everything(spec_repo).to_dict() == _everything(other).to_dict()


def test_adding_and_removing_opds_never_renumbers_others(spec_repo: Path, cli: CliRunner) -> None:
    assert cli.invoke(app, ["lock", str(spec_repo)]).exit_code == 0
    base = Lock.read(spec_repo)
    # "aaa" sorts first: without the lock it would take the lowest VLAN and prefixes.
    for code, port, wan in (
        ("aaa", "Gi1/0/6", "198.51.100.91"),
        ("zzz", "Gi1/0/7", "198.51.100.92"),
    ):
        (spec_repo / "opd" / f"{code}.yaml").write_text(
            NEW_OPD.format(code=code, port=port, wan=wan)
        )
        assert cli.invoke(app, ["lock", str(spec_repo)]).exit_code == 0
    grown = Lock.read(spec_repo)
    _assert_kept(base, grown)
    assert "aaa/servers" in grown.vlans and grown.vlans["aaa/servers"] not in base.vlans.values()
    # Remove an OPD in the middle and one of the new ones: the rest stays put.
    (spec_repo / "opd" / "dinkes.yaml").unlink()
    (spec_repo / "opd" / "aaa.yaml").unlink()
    site = spec_repo / "site.yaml"  # dinkes's access switch becomes a site switch
    site.write_text(re.sub(r"\n *owner: dinkes[^\n]*", "", site.read_text()))
    assert cli.invoke(app, ["lock", str(spec_repo)]).exit_code == 0
    shrunk = Lock.read(spec_repo)
    _assert_kept(grown, shrunk, removed=("dinkes/", "aaa/"))
    assert not any(k.startswith(("dinkes/", "aaa/")) for k in shrunk.prefixes)
    # A freed VLAN is reused by the next newcomer, still without moving anyone.
    (spec_repo / "opd" / "bbb.yaml").write_text(
        NEW_OPD.format(code="bbb", port="Gi1/0/8", wan="198.51.100.93")
    )
    assert cli.invoke(app, ["lock", str(spec_repo)]).exit_code == 0
    again = Lock.read(spec_repo)
    _assert_kept(shrunk, again)
    assert again.vlans["bbb/lan"] in {
        grown.vlans[k] for k in grown.vlans if k.startswith(("dinkes/", "aaa/"))
    }


def test_adding_a_vm_keeps_addresses_and_placement(spec_repo: Path, cli: CliRunner) -> None:
    from dcctl.plan.desired import desired_state

    cli.invoke(app, ["lock", str(spec_repo)])
    before = desired_state(load_spec(spec_repo))["vms"]
    f = spec_repo / "opd" / "dinkes.yaml"
    f.write_text(
        f.read_text().replace(
            "vms:\n", "vms:\n  - {name: aaa-new, vcpu: 1, memory_gb: 1, disk_gb: 10}\n", 1
        )
    )
    after = desired_state(load_spec(spec_repo))["vms"]
    for key, vm in before.items():
        assert (after[key]["address"], after[key]["node"]) == (vm["address"], vm["node"])


def test_pins_are_honoured(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    pins = 0
    for code, opd in spec.opds.items():
        for net in ("servers", "cctv", "lan"):
            pin = getattr(opd.network, net)
            if pin is not None and pin.vlan is not None:
                assert spec.allocation.vlans[f"{code}/{net}"] == pin.vlan
                pins += 1
            if pin is not None and pin.prefix is not None:
                assert spec.allocation.prefixes[f"{code}/{net}"] == pin.prefix
                pins += 1
    assert pins, "the example pins at least one network"


def test_new_pin_conflicting_with_locked_value_is_an_error(spec_repo: Path, cli: CliRunner) -> None:
    cli.invoke(app, ["lock", str(spec_repo)])
    taken = Lock.read(spec_repo).prefixes["bapenda/servers"]
    f = spec_repo / "opd" / "dpmd.yaml"
    f.write_text(
        f.read_text().replace("quota:", f"network: {{servers: {{prefix: {taken}}}}}\nquota:")
    )
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    assert any(
        "overlaps bapenda/servers" in e.message and e.file == "opd/dpmd.yaml"
        for e in exc.value.errors
    )


def test_allocator_exhaustion_and_reuse() -> None:
    lock = Lock()
    pools = {"p": Pool("10.0.0.0/23", 24)}
    alloc, problems = allocate(
        lock,
        (10, 11),
        pools,
        [VlanRequest("a"), VlanRequest("b"), VlanRequest("c")],
        [PrefixRequest("a", "p"), PrefixRequest("b", "p"), PrefixRequest("c", "p")],
        [
            AddressRequest("a/x", "a", 250),
            AddressRequest("a/y", "a", 250),
            AddressRequest("a/z", "a", 250),
            AddressRequest("a/w", "a", 250),
            AddressRequest("a/v", "a", 250),
            AddressRequest("a/u", "a", 250),
        ],
    )
    assert alloc.vlans == {"a": 10, "b": 11}
    assert alloc.prefixes == {"a": "10.0.0.0/24", "b": "10.0.1.0/24"}
    assert sorted(alloc.addresses.values()) == [f"10.0.0.{i}" for i in range(250, 255)]
    assert {p.key for p in problems} == {"c", "a/z"}
    assert any("exhausted" in p.message for p in problems)
    assert any("no free /24" in p.message for p in problems)
    assert any("no free address" in p.message for p in problems)
