"""The per-vendor interface-name tables (dcctl.spec.interfaces) against real device names.

The expected names come from public captures, not memory:

- networktocode/ntc-templates, tests/cisco_ios/: ``show interfaces status``
  (``..._status_pvlan.raw``: ``Twe1/0/17 ... SFP-10GBase-SR``), ``show interface
  link`` (``..._link2.raw``: ``Tw1/0/48``; ``..._link3.raw``: ``Twe5/0/1``;
  ``..._link4.raw``: ``Hu1/1/1``), ``show interfaces`` (``..._interfaces6.raw``:
  ``TwentyFiveGigE2/0/32 is administratively down``), ``show vlans``
  (``..._vlans_07.raw``: ``HundredGigE2/0/0``), ``show power inline``
  (``..._whitespace.raw``: ``Fi1/0/1`` powering IP phones, a multigig copper port);
- networktocode/netutils, netutils/constants.py: ``BASE_INTERFACES`` maps ``Tw`` to
  TwoGigabitEthernet and ``Twe`` to TwentyFiveGigE (it maps ``Fi`` to FiftyGigabitEthernet,
  a router type dcctl does not manage; on Catalyst access switches ``Fi`` is the 5G
  copper port, as the PoE capture above shows);
- ``Ap1/0/1`` (AppGigabitEthernet) from a public Catalyst 9300 ``show interfaces
  description`` capture found by code search.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dcctl.lab.switchd.state import Faults, MemoryBackend, Switch, load_vendor
from dcctl.spec import interfaces
from dcctl.spec.interfaces import canonical_port, is_physical
from dcctl.spec.site import canonical_port as site_canonical_port
from dcctl.spec.site import expand_ports
from dcctl.vendors.cisco_ios import driver as ios_engine
from dcctl.vendors.cisco_ios import interfaces as ios_interfaces
from dcctl.vendors.cisco_ios import lab as ios_emulator
from dcctl.vendors.cisco_ios.interfaces import IOS_TYPES, ios_long, ios_short, ios_type

# (as `show interfaces status` & co print it, as `show running-config` prints it)
IOS_CAPTURED = [
    ("Tw1/0/48", "TwoGigabitEthernet1/0/48"),
    ("Tw2/0/33", "TwoGigabitEthernet2/0/33"),
    ("Twe1/0/17", "TwentyFiveGigE1/0/17"),
    ("Twe5/0/1", "TwentyFiveGigE5/0/1"),
    ("Hu1/1/1", "HundredGigE1/1/1"),
    ("Fi1/0/1", "FiveGigabitEthernet1/0/1"),
    ("Gi1/0/1", "GigabitEthernet1/0/1"),
    ("Te1/1/4", "TenGigabitEthernet1/1/4"),
    ("Fo1/1/1", "FortyGigabitEthernet1/1/1"),
    ("Fa0/1", "FastEthernet0/1"),
    ("Ap1/0/1", "AppGigabitEthernet1/0/1"),
    ("Po1", "Port-channel1"),
]


@pytest.mark.parametrize(("short", "full"), IOS_CAPTURED)
def test_ios_short_and_long_names_round_trip(short: str, full: str) -> None:
    assert ios_long(short) == full
    assert ios_short(full) == short
    assert ios_long(full) == full


def test_tw_is_two_gigabit_and_twe_is_twenty_five() -> None:
    """The bug issue 12 found: the spec made `Tw1/0/1` a 25G port."""
    assert canonical_port("cisco_ios", "Tw1/0/1") == "TwoGigabitEthernet1/0/1"
    assert canonical_port("cisco_ios", "Twe1/0/1") == "TwentyFiveGigE1/0/1"
    assert canonical_port("cisco_ios", "tw1/0/1") == "TwoGigabitEthernet1/0/1"
    # an unambiguous longer prefix still works, as on the IOS parser
    assert canonical_port("cisco_ios", "Two1/0/1") == "TwoGigabitEthernet1/0/1"
    assert canonical_port("cisco_ios", "TwentyFive1/1/1") == "TwentyFiveGigE1/1/1"
    assert expand_ports("cisco_ios", ["Tw1/0/1-2"]) == [
        "TwoGigabitEthernet1/0/1",
        "TwoGigabitEthernet1/0/2",
    ]


def test_spec_abbreviations_kept() -> None:
    assert site_canonical_port is canonical_port
    assert canonical_port("cisco_ios", "gi1/0/1") == "GigabitEthernet1/0/1"
    assert canonical_port("cisco_ios", "Gig1/0/1") == "GigabitEthernet1/0/1"
    assert canonical_port("cisco_ios", "Ten1/1/1") == "TenGigabitEthernet1/1/1"
    assert canonical_port("cisco_ios", "Eth1/1") == "Ethernet1/1"
    # too short or unknown: left as written, for validation to report
    assert canonical_port("cisco_ios", "T1/0/1") == "T1/0/1"
    assert canonical_port("cisco_ios", "Vlan10") == "Vlan10"
    assert ios_type("T") is None


def test_routeros_names_are_not_abbreviated() -> None:
    for name in ("ether1", "sfp-sfpplus1", "sfp28-1", "qsfpplus1-1", "combo1", "sfp1"):
        assert canonical_port("mikrotik_routeros", name) == name
        assert is_physical("mikrotik_routeros", name)
    assert canonical_port("mikrotik_routeros", "Gi1/0/1") == "Gi1/0/1"
    assert not is_physical("mikrotik_routeros", "bridge1")
    assert not is_physical("mikrotik_routeros", "vlan110")


def test_physical_ports_from_the_table() -> None:
    for t in IOS_TYPES:
        assert is_physical("cisco_ios", f"{t.name}1/0/1") is t.physical
    assert not is_physical("cisco_ios", "Port-channel1")
    assert not is_physical("cisco_ios", "Vlan10")


def test_table_shortcuts_are_unique() -> None:
    shorts = [t.short.lower() for t in IOS_TYPES]
    names = [t.name.lower() for t in IOS_TYPES]
    assert len(set(shorts)) == len(shorts)
    assert len(set(names)) == len(names)
    for t in IOS_TYPES:
        assert ios_type(t.short) is t
        assert ios_type(t.name.upper()) is t


def test_engine_reads_every_abbreviation_the_device_prints() -> None:
    """`verify` matches `show interfaces switchport` names (`Tw1/0/1`) to the intent."""
    show_vlan = "VLAN Name                             Status    Ports\n" + (
        "---- -------------------------------- --------- -------------------------------\n"
        "110  dinkes-publik                    active    Tw1/0/1, Twe1/1/1\n"
    )
    rows = []
    for short in ("Tw1/0/1", "Twe1/1/1"):
        rows.append(
            f"Name: {short}\nSwitchport: Enabled\nAdministrative Mode: static access\n"
            "Operational Mode: static access\nAccess Mode VLAN: 110 (dinkes-publik)\n"
            "Trunking Native Mode VLAN: 1 (default)\nTrunking VLANs Enabled: ALL\n"
        )
    intent = {
        "vlans": {110: "dinkes-publik"},
        "ports": {
            "TwoGigabitEthernet1/0/1": {"mode": "access", "vlan": 110},
            "TwentyFiveGigE1/1/1": {"mode": "access", "vlan": 110},
        },
    }
    assert ios_engine.verify(show_vlan, "\n".join(rows), intent) == []


def test_emulator_prints_and_parses_with_the_same_table() -> None:
    assert ios_emulator.short_ifname is ios_interfaces.ios_short
    assert ios_emulator.split_ifname is interfaces.split_ifname


def test_emulator_resolves_tw_like_ios(tmp_path: Path) -> None:
    """With 2.5G and 25G ports side by side, `interface Tw1/0/1` is the 2.5G one."""
    ports = {"TwoGigabitEthernet1/0/1": "p1", "TwentyFiveGigE1/0/1": "p2"}
    sw = Switch("sw-multi", load_vendor("cisco_ios"), ports, MemoryBackend(), tmp_path, "s3cret")
    sw.boot()
    session = sw.vendor.session(sw, "admin")

    def run(line: str) -> str:
        return sw.run(session, line, Faults()).output

    run("enable")
    run("s3cret")
    run("configure terminal")
    for typed, meant in (
        ("interface Tw1/0/1", "TwoGigabitEthernet1/0/1"),
        ("interface Twe1/0/1", "TwentyFiveGigE1/0/1"),
    ):
        run(typed)
        run(f"description via {typed.split()[1]}")
        run("exit")
        assert f"interface {meant}\n description via {typed.split()[1]}" in run(
            "do show running-config"
        ).replace("\r", "")
