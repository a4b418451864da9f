"""Switch rendering: pruned trunks per link, vendor syntax, and no injected lines."""

from __future__ import annotations

import copy

import pytest
from hier_config import Platform, get_hconfig

from dcctl.plan.desired import desired_state
from dcctl.render.switch import UnsafeValue, render_switch, vlan_ranges
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE


@pytest.fixture(scope="module")
def switches() -> dict:
    return desired_state(load_spec(EXAMPLE))["switches"]


def test_vlan_ranges() -> None:
    assert vlan_ranges([120, 110, 111, 112, 99]) == "99,110-112,120"
    assert vlan_ranges([103, 104]) == "103,104"


def test_trunks_are_pruned_per_link(switches: dict) -> None:
    spec = load_spec(EXAMPLE)
    v = spec.allocation.vlans
    kota = switches["sw-dist-kota"]["ports"]
    # The Dinkes building link carries Dinkes' LAN and CCTV and management, and the guest
    # Wi-Fi VLAN for the guest SSID of its access point (issue 20), nothing else.
    guest = spec.site.wifi.guest.vlan  # type: ignore[union-attr]
    assert kota["GigabitEthernet1/0/2"]["trunk_vlans"] == sorted(
        [99, guest, v["dinkes/lan"], v["dinkes/cctv"]]
    )
    # The Setda building has no access point: no guest VLAN towards it.
    assert guest not in kota["GigabitEthernet1/0/1"]["trunk_vlans"]
    # Server VLANs never leave the core towards buildings: VMs live on the hypervisors.
    assert v["dinkes/servers"] not in kota["TenGigabitEthernet1/1/1"]["trunk_vlans"]
    core = switches["sw-core"]["ports"]
    assert v["dinkes/servers"] in core["TenGigabitEthernet1/1/1"]["trunk_vlans"]
    assert v["dishub/cctv"] not in core["TenGigabitEthernet1/1/3"]["trunk_vlans"]  # goes south


def test_ios_render_parses_with_hier_config(switches: dict) -> None:
    text = render_switch("sw-dinkes", switches["sw-dinkes"])
    cfg = get_hconfig(Platform.CISCO_IOS, text)
    intf = cfg.get_child(equals="interface GigabitEthernet1/0/9")
    assert intf is not None
    assert intf.get_child(equals="switchport mode access") is not None
    assert "hostname sw-dinkes" in text


def test_routeros_render(switches: dict) -> None:
    text = render_switch("sw-dishub", switches["sw-dishub"])
    assert "/interface bridge port add bridge=bridge1 interface=ether5 pvid=" in text
    assert all(line.startswith("/") for line in text.splitlines())


@pytest.mark.parametrize(
    "evil",
    [
        "x\ninterface Gi1/0/1",
        "x; /system reset-configuration",
        '[:execute "x"]',
        "{{ 7*7 }}",
        "$(reboot)",
        "a\rb",
        'a" comment="b',
    ],
)
def test_injection_never_reaches_a_rendered_config(switches: dict, evil: str) -> None:
    sw = copy.deepcopy(switches["sw-dishub"])
    port = next(iter(sw["ports"]))
    sw["ports"][port]["description"] = evil
    with pytest.raises(UnsafeValue):
        render_switch("sw-dishub", sw)
    sw = copy.deepcopy(switches["sw-dinkes"])
    sw["vlans"][next(iter(sw["vlans"]))] = evil
    with pytest.raises(UnsafeValue):
        render_switch("sw-dinkes", sw)
