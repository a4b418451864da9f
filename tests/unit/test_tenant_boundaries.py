"""Tenant boundaries at validation: each hostile spec edit is refused, naming file and field.

Issue 15's audit put a tenant on the management VLAN, an office LAN over half the
internet, a VM on its own gateway and a dinkes camera into disdukcapil's building;
each case below is one of those edits on a copy of the example, and the test fails
if the spec still validates or the error points elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from dcctl.plan.desired import desired_state
from dcctl.spec import SpecErrors, load_spec
from dcctl.spec.ipam import LOCK_FILE, RESERVED_VLANS
from tests.helpers import assert_edit_refused, edit_file

# (id, file, old text, new text, field path expected in the error, message fragment)
CASES: list[tuple[str, str, str, str, str, str]] = [
    # Reserved VLANs and pins outside the range.
    (
        "pin-mgmt-vlan",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 99}",
        "network.servers",
        "management VLAN",
    ),
    (
        "pin-vlan-1",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 1}",
        "network.servers.vlan",
        "greater than or equal to 2",
    ),
    (
        "pin-vlan-1002",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 1002}",
        "network.servers",
        "reserved by switch vendors",
    ),
    (
        "pin-vlan-outside-range",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 950}",
        "network.servers",
        "outside ipam.vlan_range 100-899",
    ),
    (
        "pin-vlan-4095",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 4095}",
        "network.servers.vlan",
        "less than or equal to 4094",
    ),
    # Prefix pins outside their pools.
    (
        "pin-server-prefix-public",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 140, prefix: 8.8.8.0/24}",
        "network.servers",
        "outside ipam.server_pool",
    ),
    (
        "pin-server-prefix-cctv-pool",
        "opd/disdukcapil.yaml",
        "{vlan: 140}",
        "{vlan: 140, prefix: 10.40.200.0/24}",
        "network.servers",
        "outside ipam.server_pool",
    ),
    (
        "pin-cctv-prefix-in-server-pool",
        "opd/dinkes.yaml",
        "server_room:",
        "network:\n  cctv: {prefix: 10.20.200.0/26}\nserver_room:",
        "network.cctv",
        "outside ipam.cctv_pool",
    ),
    (
        "office-lan-half-internet",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 198.51.100.42, lan_prefix: 128.0.0.0/1",
        "offices[1].lan_prefix",
        "outside ipam.lan_pool",
    ),
    (
        "office-lan-public",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 198.51.100.42, lan_prefix: 8.8.8.0/24",
        "offices[1].lan_prefix",
        "outside ipam.lan_pool",
    ),
    (
        "office-lan-server-pool",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 198.51.100.42, lan_prefix: 10.20.100.0/24",
        "offices[1].lan_prefix",
        "outside ipam.lan_pool",
    ),
    # Office WAN addresses that are not an office's public unicast address.
    (
        "wan-loopback",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 127.0.0.1",
        "offices[1].wan_address",
        "loopback",
    ),
    (
        "wan-unspecified",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 0.0.0.0",
        "offices[1].wan_address",
        "unspecified",
    ),
    (
        "wan-multicast",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 224.0.0.5",
        "offices[1].wan_address",
        "multicast",
    ),
    (
        "wan-broadcast",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 255.255.255.255",
        "offices[1].wan_address",
        "broadcast",
    ),
    (
        "wan-link-local",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 169.254.10.1",
        "offices[1].wan_address",
        "link-local",
    ),
    (
        "wan-hub-itself",
        "opd/dpmd.yaml",
        "wan_address: 198.51.100.42",
        "wan_address: 203.0.113.10",
        "offices[1].wan_address",
        "hub's own",
    ),
    (
        "hub-endpoint-loopback",
        "site.yaml",
        "endpoint: 203.0.113.10:51820",
        "endpoint: 127.0.0.1:51820",
        "vpn.endpoint",
        "loopback",
    ),
    # VM and camera address pins on infrastructure addresses.
    (
        "vm-pin-gateway",
        "opd/disdukcapil.yaml",
        "{name: siak-gw,",
        "{name: siak-gw, address: 10.20.5.1,",
        "vms[0].address",
        "gateway",
    ),
    (
        "vm-pin-network",
        "opd/disdukcapil.yaml",
        "{name: siak-gw,",
        "{name: siak-gw, address: 10.20.5.0,",
        "vms[0].address",
        "network address",
    ),
    (
        "vm-pin-broadcast",
        "opd/disdukcapil.yaml",
        "{name: siak-gw,",
        "{name: siak-gw, address: 10.20.5.255,",
        "vms[0].address",
        "broadcast address",
    ),
    (
        "vm-pin-dns",
        "opd/bapenda.yaml",
        "{name: sismiop,",
        "{name: sismiop, address: 10.20.0.53,",
        "vms[0].address",
        "DNS",
    ),
    (
        "vm-pin-other-opd",
        "opd/disdukcapil.yaml",
        "{name: siak-gw,",
        "{name: siak-gw, address: 10.20.3.20,",
        "vms[0].address",
        "not a host of",
    ),
    (
        "camera-pin-gateway",
        "opd/dishub.yaml",
        "{name: simpang-kauman,",
        "{name: simpang-kauman, address: 10.40.0.65,",
        "cameras[0].address",
        "gateway",
    ),
    # Switch ports belong to their switch's owner.
    (
        "camera-on-other-opd-switch",
        "opd/dinkes.yaml",
        'port: "sw-dinkes:Gi1/0/9"',
        'port: "sw-disdukcapil:Gi1/0/9"',
        "cameras[0].port",
        "disdukcapil's access switch",
    ),
    (
        "building-on-other-opd-switch",
        "opd/dinkes.yaml",
        "switch: sw-dinkes,",
        "switch: sw-dishub,",
        "buildings[0].switch",
        "dishub's access switch",
    ),
    (
        "hypervisor-on-opd-switch",
        "site.yaml",
        'uplink: "sw-core:Te1/1/2"',
        'uplink: "sw-dinkes:Gi1/0/8"',
        "hypervisors.nodes[1].uplink",
        "dinkes's access switch",
    ),
    (
        "switch-owner-unknown",
        "site.yaml",
        "owner: dishub",
        "owner: dishubb",
        "switches[7].owner",
        "unknown OPD",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_boundary_refused_with_location(
    case: tuple[str, str, str, str, str, str], spec_repo: Path
) -> None:
    assert_edit_refused(spec_repo, *case[1:])


def _widen(repo: Path, low: int, high: int, drop_lock: bool = True) -> None:
    edit_file(repo, "site.yaml", "vlan_range: [100, 899]", f"vlan_range: [{low}, {high}]")
    if drop_lock:
        (repo / LOCK_FILE).unlink()


@pytest.mark.parametrize("rng", [(2, 899), (95, 140), (990, 1040)])
def test_ipam_never_hands_out_reserved_vlans(spec_repo: Path, rng: tuple[int, int]) -> None:
    """A vlan_range widened over the management VLAN or 1002-1005 skips them."""
    _widen(spec_repo, *rng)
    # The pinned capil VLAN 140 must stay inside the range for this test.
    edit_file(spec_repo, "opd/disdukcapil.yaml", "  servers: {vlan: 140}", "  servers: {}")
    spec = load_spec(spec_repo)
    given = set(spec.allocation.vlans.values())
    assert given and given.isdisjoint({spec.site.management.vlan, *RESERVED_VLANS})
    assert all(rng[0] <= v <= rng[1] for v in given)


def test_locked_reserved_vlan_is_reallocated(spec_repo: Path) -> None:
    """A hand-edited lock that gives an OPD the management VLAN does not keep it."""
    _widen(spec_repo, 2, 899, drop_lock=False)
    lock = spec_repo / LOCK_FILE
    text = lock.read_text()
    assert "  bapenda/servers: 100\n" in text
    lock.write_text(text.replace("  bapenda/servers: 100\n", "  bapenda/servers: 99\n"))
    spec = load_spec(spec_repo)
    assert 99 not in spec.allocation.vlans.values()
    assert spec.lock_changed


def test_ipam_skips_gateway_and_dns(tmp_path: Path, spec_repo: Path) -> None:
    """Auto-allocated VM addresses never take the gateway or the site DNS address."""
    # Put the DNS server at .10 of bapenda's subnet, where IPAM would start.
    edit_file(spec_repo, "site.yaml", "dns: [10.20.0.53]", "dns: [10.20.0.10]")
    (spec_repo / LOCK_FILE).unlink()
    spec = load_spec(spec_repo)
    addresses = set(spec.allocation.addresses.values())
    assert "10.20.0.10" not in addresses
    assert spec.allocation.addresses["bapenda/servers/sismiop"] == "10.20.0.11"
    gateways = {spec.allocation.gateway(k) for k in spec.allocation.prefixes if "/" in k}
    assert addresses.isdisjoint(gateways - {spec.allocation.addresses.get("vpn/hub")})


def test_owned_switch_ports_carry_only_the_owners_networks(spec_repo: Path) -> None:
    """On every OPD-owned switch, access ports and trunks carry that OPD's VLANs (and MGMT).

    The one other VLAN is the site's guest Wi-Fi network (issue 20), which is no OPD's
    and reaches only the internet: only on a switch whose OPD broadcasts the guest SSID,
    and there never on a port to the OPD's staff LAN or cameras.
    """
    spec = load_spec(spec_repo)
    state = desired_state(spec)
    mgmt = spec.site.management.vlan
    guest = spec.site.wifi.guest.vlan if spec.site.wifi and spec.site.wifi.guest else None
    owned = [sw for sw in spec.site.switches if sw.owner]
    assert owned, "the example has OPD access switches"
    guests_seen = 0
    for sw in owned:
        theirs = {n["vlan"] for n in state["networks"].values() if n["opd"] == sw.owner}
        wifi = spec.opds[sw.owner].wifi
        allowed = theirs | {mgmt} | ({guest} if wifi and wifi.guest else set())
        ports = state["switches"][sw.name]["ports"]
        for name, port in ports.items():
            vlans = {port["vlan"]} if port["mode"] == "access" else set(port["trunk_vlans"])
            assert vlans <= allowed, (sw.name, name, vlans, theirs)
            if guest in vlans:
                guests_seen += 1
                assert port["description"].startswith(("FO ", "CU ", "RF ", "WIFI guest")), port
    assert guests_seen, "the example's guest SSID reaches its access points"


def test_boundary_errors_name_the_ticket_free_path(spec_repo: Path) -> None:
    """Several boundary violations at once are all reported (one validate shows them all)."""
    edit_file(spec_repo, "opd/disdukcapil.yaml", "{vlan: 140}", "{vlan: 99, prefix: 8.8.8.0/24}")
    edit_file(spec_repo, "opd/dpmd.yaml", "wan_address: 198.51.100.42", "wan_address: 127.0.0.1")
    with pytest.raises(SpecErrors) as exc:
        load_spec(spec_repo)
    text = str(exc.value)
    assert "management VLAN" in text and "outside ipam.server_pool" in text
    assert re.search(r"opd/dpmd\.yaml:\d+:\d+: offices\[1\]\.wan_address: .*loopback", text)


def test_lock_of_example_is_unchanged_by_the_rules() -> None:
    """The example already respects every boundary: its lock needs no change."""
    from tests.conftest import EXAMPLE

    spec = load_spec(EXAMPLE)
    assert not spec.lock_changed
    assert yaml.safe_load((EXAMPLE / LOCK_FILE).read_text())["vlans"]
