"""Public VMs live in their OPD's own DMZ network, never beside internal (rahasia) VMs.

Issue 15: a public VM shared its VLAN and subnet with a rahasia VM of the same OPD,
so one compromised web server sat on the medical records' layer-2 segment. Each OPD
with a public VM now has a ``<opd>/dmz`` network (its own VLAN and /24 from the
server pool); its public VMs are addressed there and nowhere else.
"""

from __future__ import annotations

from pathlib import Path

import netaddr

from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from dcctl.spec.interfaces import canonical_port
from tests.helpers import assert_edit_refused, edit_file


def test_public_vms_never_share_a_network_with_internal_vms(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    state = desired_state(spec)
    vms = state["vms"]
    public = {k: v for k, v in vms.items() if v["exposure"] == "public"}
    internal = {k: v for k, v in vms.items() if v["exposure"] != "public"}
    assert public and any(v["classification"] == "rahasia" for v in internal.values())
    for key, vm in public.items():
        net = state["networks"][f"{vm['opd']}/dmz"]
        assert vm["vlan"] == net["vlan"]
        assert netaddr.IPAddress(vm["address"].split("/")[0]) in netaddr.IPNetwork(net["prefix"])
        for other, iv in internal.items():
            assert iv["vlan"] != vm["vlan"], (key, other)
            a = netaddr.IPNetwork(vm["address"]).cidr
            assert a != netaddr.IPNetwork(iv["address"]).cidr, (key, other)


def test_dmz_only_where_there_are_public_vms(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    state = desired_state(spec)
    with_public = {c for c, o in spec.opds.items() if any(v.exposure == "public" for v in o.vms)}
    dmz = {k.split("/")[0] for k in state["networks"] if k.endswith("/dmz")}
    assert dmz == with_public and dmz
    # The DMZ VLANs reach the hypervisors (the nodes' uplinks trunk every VM network).
    node = spec.site.hypervisors.nodes[0]
    sw, _, port = node.uplink.partition(":")
    vendor = next(s.vendor for s in spec.site.switches if s.name == sw)
    trunk = set(state["switches"][sw]["ports"][canonical_port(vendor, port)]["trunk_vlans"])
    assert {state["networks"][f"{c}/dmz"]["vlan"] for c in dmz} <= trunk


def test_dmz_pins_follow_the_pool_rules(spec_repo: Path) -> None:
    assert_edit_refused(
        spec_repo,
        "opd/dinkes.yaml",
        "server_room:",
        "network:\n  dmz: {prefix: 8.8.8.0/24}\nserver_room:",
        "network.dmz",
        "outside ipam.server_pool",
    )


def test_dmz_pin_cannot_take_the_servers_vlan(spec_repo: Path) -> None:
    spec = load_spec(spec_repo)
    vlan = spec.allocation.vlans["dinkes/servers"]
    assert_edit_refused(
        spec_repo,
        "opd/dinkes.yaml",
        "server_room:",
        f"network:\n  dmz: {{vlan: {vlan}}}\nserver_room:",
        "network.dmz",
        "already used by dinkes/servers",
    )


def test_a_vm_made_public_moves_to_the_dmz(spec_repo: Path) -> None:
    """Turning an internal VM public changes its network (a reviewed re-addressing)."""
    edit_file(
        spec_repo,
        "opd/bapenda.yaml",
        "{name: sismiop,",
        "{name: sismiop, exposure: public,",
    )
    spec = load_spec(spec_repo)
    state = desired_state(spec)
    assert state["vms"]["bapenda/sismiop"]["vlan"] == state["networks"]["bapenda/dmz"]["vlan"]
    assert "bapenda/dmz/sismiop" in spec.allocation.addresses
