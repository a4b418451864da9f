"""Fast tests of the lab switch CLIs (IOS, RouterOS) against a recording fake OVS.

The lab tests prove forwarding; these prove the dialects: prompts, abbreviations,
error texts, VLAN arithmetic, what reaches OVS, and that the outputs feed
ntc-templates and hier-config the way a real switch's would.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from dcctl.lab.switchd.ovs import Ovs
from dcctl.lab.switchd.state import (
    Faults,
    MemoryBackend,
    PortSettings,
    Switch,
    SwitchdConfig,
    format_vlan_list,
    load_vendor,
    parse_vlan_list,
)
from dcctl.vendors.cisco_ios.lab import short_ifname
from tests.helpers import free_port

IOS_PORTS = {
    "GigabitEthernet1/0/1": "p1",
    "GigabitEthernet1/0/2": "p2",
    "GigabitEthernet1/0/3": "p3",
    "TenGigabitEthernet1/1/1": "p4",
}
ROS_PORTS = {"ether1": "q1", "ether2": "q2", "ether3": "q3", "ether4": "q4"}
INVALID = "% Invalid input detected at '^' marker."
NO_FAULTS = Faults()


class Cli:
    """A switch plus one session, driven line by line like a terminal."""

    def __init__(self, switch: Switch, username: str = "admin") -> None:
        self.switch = switch
        self.session = switch.vendor.session(switch, username)
        self.backend = switch.backend
        assert isinstance(self.backend, MemoryBackend)

    def __call__(self, *lines: str, faults: Faults = NO_FAULTS) -> str:
        out = []
        for line in lines:
            out.append(self.switch.run(self.session, line, faults).output)
        return "".join(out)

    def prompt(self) -> str:
        return self.session.prompt()

    def port(self, ovs: str) -> PortSettings:
        return self.backend.state[ovs]


def make_switch(tmp_path: Path, vendor: str, ports: dict[str, str], name: str) -> Switch:
    sw = Switch(name, load_vendor(vendor), dict(ports), MemoryBackend(), tmp_path, secret="s3cret")
    sw.boot()
    return sw


@pytest.fixture
def ios(tmp_path: Path) -> Cli:
    cli = Cli(make_switch(tmp_path, "cisco_ios", IOS_PORTS, "sw-core"))
    cli("enable", "s3cret")
    assert cli.prompt() == "sw-core#"
    return cli


@pytest.fixture
def ros(tmp_path: Path) -> Cli:
    return Cli(make_switch(tmp_path, "mikrotik_routeros", ROS_PORTS, "sw-ros"), "admin+ct511w4098h")


# --------------------------------------------------------------------------
# shared helpers


def test_vlan_lists_round_trip() -> None:
    assert parse_vlan_list("10,20-22") == {10, 20, 21, 22}
    assert format_vlan_list({1, 2, 3, 10, 11}) == "1-3,10,11"
    for bad in ("", "0", "4095", "10-5", "a", "1,,2"):
        with pytest.raises(ValueError):
            parse_vlan_list(bad)


def test_ovs_argument_lists() -> None:
    args = Ovs.vsctl_args
    assert args("p", PortSettings.access(110)) == [
        *("set", "port", "p", "vlan_mode=access", "tag=110"),
        *("--", "clear", "port", "p", "trunks"),
    ]
    assert args("p", PortSettings.trunk({120, 110}, None)) == [
        *("set", "port", "p", "vlan_mode=trunk", "trunks=110,120"),
        *("--", "clear", "port", "p", "tag"),
    ]
    assert args("p", PortSettings.trunk({110}, 1)) == [
        *("set", "port", "p", "vlan_mode=native-untagged", "tag=1", "trunks=1,110"),
    ]
    assert args("p", PortSettings.trunk(set(), None)) == [
        *("set", "port", "p", "vlan_mode=access", "tag=4095"),
        *("--", "clear", "port", "p", "trunks"),
    ]
    assert args("p", PortSettings("transparent")) == [
        *("clear", "port", "p", "tag", "trunks", "vlan_mode"),
    ]


def test_daemon_config_contract(tmp_path: Path) -> None:
    base = {
        "name": "sw-core",
        "vendor": "cisco_ios",
        "bridge": "labsw1",
        "ports": {"GigabitEthernet1/0/1": "sw1p1"},
        "listen": "10.255.0.11",
        "port": 22,
        "username": "admin",
        "password_file": str(tmp_path / "pw"),
        "state_dir": str(tmp_path / "state"),
        "host_key": str(tmp_path / "key"),
    }
    SwitchdConfig.model_validate(base)
    for patch in (
        {"ports": {"Gi1/0/1": "a-very-long-ifname"}},
        {"ports": {"Gi1/0/1": "has/slash"}},
        {"vendor": "juniper_junos"},
        {"listen": "not-an-ip"},
        {"extra": 1},
    ):
        with pytest.raises(ValidationError):
            SwitchdConfig.model_validate({**base, **patch})


def test_faults_parse() -> None:
    f = Faults.from_dict({"drop_after": 3, "reject": ["^vlan 9"], "delay": 0.5})
    assert f.drop_after == 3 and f.delay == 0.5 and f.rejects(" vlan 99")
    for bad in ({"drop_after": -1}, {"reject": "x"}, {"delay": "1"}, {"typo": 1}):
        with pytest.raises((TypeError, ValueError)):
            Faults.from_dict(bad)


def test_faults_file_is_read_per_command(tmp_path: Path) -> None:
    assert Faults.load(tmp_path) == Faults()
    (tmp_path / "faults.json").write_text("{not json")
    assert Faults.load(tmp_path) == Faults()
    (tmp_path / "faults.json").write_text(json.dumps({"delay": 2}))
    assert Faults.load(tmp_path).delay == 2.0


# --------------------------------------------------------------------------
# IOS


def test_ios_factory_default_applies_vlan1_everywhere(ios: Cli) -> None:
    assert {p: ios.port(p) for p in IOS_PORTS.values()} == {
        p: PortSettings.access(1) for p in IOS_PORTS.values()
    }


def test_ios_modes_and_prompts(tmp_path: Path) -> None:
    cli = Cli(make_switch(tmp_path, "cisco_ios", IOS_PORTS, "sw-core"))
    assert cli.prompt() == "sw-core>"
    out = cli("configure terminal")
    assert INVALID in out
    cli("enable")
    assert cli.prompt() == "Password: " and cli.session.secret_input
    cli("wrong")
    cli("wrong")
    assert "% Bad secrets" in cli("wrong")
    assert cli.prompt() == "sw-core>"
    cli("en", "s3cret")
    assert cli.prompt() == "sw-core#"
    assert cli("conf t").startswith("Enter configuration commands")
    assert cli.prompt() == "sw-core(config)#"
    cli("int gi1/0/1")
    assert cli.prompt() == "sw-core(config-if)#"
    cli("vlan 10")  # global command from a sub-mode moves there, as on IOS
    assert cli.prompt() == "sw-core(config-vlan)#"
    cli("exit")
    assert cli.prompt() == "sw-core(config)#"
    cli("hostname dinkes-core", "end")
    assert cli.prompt() == "dinkes-core#"
    cli("disable")
    assert cli.prompt() == "dinkes-core>"
    assert cli.session.handle("exit").close


def test_ios_invalid_input_caret_is_under_the_bad_word(ios: Cli) -> None:
    out = ios("show vlna")
    assert out == " " * len("sw-core#show ") + "^\n" + INVALID + "\n\n"
    ios("conf t", "interface Gi1/0/1")
    out = ios("switchport mode acess")
    caret = " " * len("sw-core(config-if)#switchport mode ") + "^"
    assert out.splitlines()[0] == caret
    assert ios("switchport mode") == "% Incomplete command.\n\n"
    assert ios("s").startswith('% Ambiguous command:  "s"')


def test_ios_nonexistent_interface_is_invalid(ios: Cli) -> None:
    ios("conf t")
    out = ios("interface GigabitEthernet1/0/48")
    assert out.splitlines()[0] == " " * len("sw-core(config)#interface ") + "^"
    assert INVALID in out
    assert ios.prompt() == "sw-core(config)#"


@pytest.mark.parametrize(
    "typed", ["Gi1/0/2", "gi1/0/2", "GigabitEthernet1/0/2", "g1/0/2", "gig 1/0/2", "Gi 1/0/2"]
)
def test_ios_interface_abbreviations(ios: Cli, typed: str) -> None:
    ios("conf t")
    assert ios(f"interface {typed}") == ""
    assert ios.session.iface == "GigabitEthernet1/0/2"  # type: ignore[attr-defined]


def test_ios_short_names() -> None:
    assert short_ifname("GigabitEthernet1/0/1") == "Gi1/0/1"
    assert short_ifname("TenGigabitEthernet1/1/1") == "Te1/1/1"
    assert short_ifname("TwentyFiveGigE1/0/1") == "Twe1/0/1"


def test_ios_access_port_and_ovs(ios: Cli) -> None:
    ios("conf t", "vlan 110", "name DINKES-SRV", "interface Gi1/0/1")
    ios("switchport mode access", "switchport access vlan 110", "description to hostA")
    assert ios.port("p1") == PortSettings.access(110)
    ios("shutdown")
    assert ios.port("p1") == PortSettings.access(110, admin_up=False)
    ios("no shutdown")
    assert ios.port("p1") == PortSettings.access(110)


def test_ios_access_vlan_created_on_demand_and_inactive_when_deleted(ios: Cli) -> None:
    ios("conf t", "int Gi1/0/2")
    assert ios("sw acc vlan 130") == "% Access VLAN does not exist. Creating vlan 130\n"
    assert ios.port("p2") == PortSettings.access(130)
    ios("exit", "no vlan 130")
    assert ios.port("p2") == PortSettings.parked()
    status = ios("do show interfaces status")
    assert "Gi1/0/2" in status and "inactive" in status
    assert ios("no vlan 1") == "%Default VLAN 1 may not be deleted.\n"


def test_ios_trunk_allowed_arithmetic(ios: Cli) -> None:
    ios("conf t", "vlan 110,120,130", "exit", "interface Te1/1/1", "switchport mode trunk")
    ifc = ios.session.config.interfaces["TenGigabitEthernet1/1/1"]  # type: ignore[attr-defined]
    # default allowed = all: every existing VLAN, native 1 untagged
    assert ios.port("p4") == PortSettings.trunk({1, 110, 120, 130}, 1)
    ios("switchport trunk allowed vlan 110,120")
    assert ifc.allowed == {110, 120}
    assert ios.port("p4") == PortSettings.trunk({110, 120}, None)
    ios("switchport trunk allowed vlan add 130-132")
    assert ifc.allowed == {110, 120, 130, 131, 132}
    assert ios.port("p4") == PortSettings.trunk({110, 120, 130}, None)  # 131/132 do not exist
    ios("switchport trunk allowed vlan remove 120,131")
    assert ifc.allowed == {110, 130, 132}
    ios("switchport trunk allowed vlan except 1-109")
    assert ifc.allowed == set(range(110, 4095))
    ios("switchport trunk allowed vlan none")
    assert ifc.allowed == frozenset()
    assert ios.port("p4") == PortSettings.parked()
    ios("switchport trunk allowed vlan add 120")
    assert ios.port("p4") == PortSettings.trunk({120}, None)
    ios("switchport trunk allowed vlan all")
    assert ifc.allowed is None
    ios("switchport trunk allowed vlan 110", "no switchport trunk allowed vlan 110")
    assert ifc.allowed is None
    ios("switchport trunk native vlan 110", "switchport trunk allowed vlan 110,120")
    assert ios.port("p4") == PortSettings.trunk({110, 120}, 110)
    run = ios("do show running-config interface Te1/1/1")
    assert " switchport trunk native vlan 110\n" in run
    assert " switchport trunk allowed vlan 110,120\n" in run


def test_ios_running_config_layout(ios: Cli) -> None:
    ios("conf t", "vlan 110", "name DINKES-SRV", "vlan 120")
    ios("interface Gi1/0/1", "description uplink to hostA", "switchport access vlan 110")
    ios("switchport mode access", "shutdown", "end")
    run = ios("show running-config")
    assert run.startswith("Building configuration...\n\nCurrent configuration : ")
    body = run.split("\n", 3)[3]
    assert body.startswith("!\nhostname sw-core\n!\nvlan 110\n name DINKES-SRV\n!\nvlan 120\n!\n")
    assert (
        "interface GigabitEthernet1/0/1\n description uplink to hostA\n"
        " switchport access vlan 110\n switchport mode access\n shutdown\n!\n"
    ) in body
    assert body.endswith("!\nend\n")
    assert ios("write memory") == "Building configuration...\n[OK]\n"
    assert "hostname sw-core" in ios("show startup-config")


def test_ios_show_filters_and_do(ios: Cli) -> None:
    ios("conf t", "vlan 110", "interface Gi1/0/1", "switchport access vlan 110")
    out = ios("do show running-config | section interface GigabitEthernet1/0/1")
    assert out == "interface GigabitEthernet1/0/1\n switchport access vlan 110\n"
    assert ios("do sh run | i ^hostname") == "hostname sw-core\n"
    assert "Gi1/0/1" not in ios("do show vlan brief | exclude ^110")
    assert INVALID in ios("do show run | frobnicate x")


def test_ios_copy_run_start_asks_for_destination(ios: Cli) -> None:
    assert ios("copy running-config startup-config") == ""
    assert ios.prompt() == "Destination filename [startup-config]? "
    assert ios("") == "Building configuration...\n[OK]\n"
    assert ios.switch.startup_path.exists()


def test_ios_control_characters_rejected(ios: Cli) -> None:
    ios("conf t")
    out = ios("vlan 1\x0010")
    assert INVALID in out and out.index("^") == len("sw-core(config)#vlan 1")
    assert 10 not in ios.session.config.vlans  # type: ignore[attr-defined]
    assert INVALID in ios("hostname \x1b[Aevil")
    assert ios.session.config.hostname == "sw-core"  # type: ignore[attr-defined]


def test_ios_reject_fault(ios: Cli) -> None:
    faults = Faults.from_dict({"reject": [r"^switchport access vlan 120"]})
    ios("conf t", "interface Gi1/0/3")
    out = ios("  switchport access vlan 120", faults=faults)
    assert out == " " * len("sw-core(config-if)#  ") + "^\n" + INVALID + "\n\n"
    assert 120 not in ios.session.config.vlans  # type: ignore[attr-defined]
    assert ios.port("p3") == PortSettings.access(1)


def test_ios_startup_config_survives_reboot_unsaved_does_not(tmp_path: Path) -> None:
    sw = make_switch(tmp_path, "cisco_ios", IOS_PORTS, "sw-core")
    cli = Cli(sw)
    cli("en", "s3cret", "conf t", "vlan 110", "name DINKES-SRV", "int Gi1/0/1")
    cli("switchport mode access", "switchport access vlan 110", "end", "write")
    cli("conf t", "int Gi1/0/1", "shutdown", "end")  # not saved

    again = make_switch(tmp_path, "cisco_ios", IOS_PORTS, "sw-core")
    backend = again.backend
    assert isinstance(backend, MemoryBackend)
    assert backend.state["p1"] == PortSettings.access(110)  # saved, applied at boot
    cfg = again.config
    assert cfg.interfaces["GigabitEthernet1/0/1"].shutdown is False  # type: ignore[attr-defined]
    assert cfg.vlans[110] == "DINKES-SRV"  # type: ignore[attr-defined]


def test_ios_backend_failure_does_not_break_the_cli(tmp_path: Path) -> None:
    sw = make_switch(tmp_path, "cisco_ios", IOS_PORTS, "sw-core")
    backend = sw.backend
    assert isinstance(backend, MemoryBackend)
    backend.fail.add("p1")
    cli = Cli(sw)
    cli("en", "s3cret", "conf t", "int gi1/0/1")
    assert cli("switchport access vlan 110").startswith("% Access VLAN does not exist")
    backend.fail.clear()
    cli("description retry")  # any later change retries the port
    assert backend.state["p1"] == PortSettings.access(110)


def test_ios_hier_config_round_trip(ios: Cli) -> None:
    """hier-config reads the emulator's running-config as it reads a real IOS switch's.

    Round trip: the remediation hier-config computes from the emulator's output is
    exactly the delta to the intent; pasted back it leaves nothing to remediate in
    either direction; the rollback hier-config computed beforehand restores the
    original running-config line for line.
    """
    pytest.importorskip("hier_config")
    from hier_config import HConfig, Platform, WorkflowRemediation, get_hconfig

    ios("conf t", "vlan 110", "name DINKES-SRV", "interface Gi1/0/1", "sw acc vlan 110")
    ios("sw mode acc", "interface Te1/1/1", "sw mode trunk", "sw trunk allowed vlan 110", "end")
    intended = "\n".join(
        [
            "hostname sw-core",
            "vlan 110",
            " name DINKES-SRV",
            "vlan 120",
            " name BAPPEDA",
            "interface GigabitEthernet1/0/1",
            " description hostA",
            " switchport access vlan 120",
            " switchport mode access",
            "interface GigabitEthernet1/0/2",
            " shutdown",
            "interface GigabitEthernet1/0/3",  # IOS lists every port; hier-config would negate
            "interface TenGigabitEthernet1/1/1",
            " switchport trunk allowed vlan 110,120",
            " switchport mode trunk",
        ]
    )

    def body() -> str:
        """The running-config without the banner and its byte count."""
        return ios("show running-config").split("\n", 3)[3]

    def workflow() -> WorkflowRemediation:
        running = get_hconfig(Platform.CISCO_IOS, ios("show running-config"))
        return WorkflowRemediation(running, get_hconfig(Platform.CISCO_IOS, intended))

    def lines(config: HConfig) -> list[str]:
        return [c.cisco_style_text() for c in config.all_children_sorted()]

    def paste(commands: list[str]) -> None:
        ios("conf t")
        assert "%" not in ios(*commands)
        ios("end")

    original = body()
    parsed = get_hconfig(Platform.CISCO_IOS, ios("show running-config"))
    assert lines(parsed) == [
        "hostname sw-core",
        "vlan 110",
        "  name DINKES-SRV",
        "interface GigabitEthernet1/0/1",
        "  switchport access vlan 110",
        "  switchport mode access",
        "interface GigabitEthernet1/0/2",
        "interface GigabitEthernet1/0/3",
        "interface TenGigabitEthernet1/1/1",
        "  switchport trunk allowed vlan 110",
        "  switchport mode trunk",
    ], "the banner, '!' separators and 'end' are not read as configuration"
    first = workflow()
    remediation, rollback = lines(first.remediation_config), lines(first.rollback_config)
    assert remediation == [
        "vlan 120",
        "  name BAPPEDA",
        "interface GigabitEthernet1/0/1",
        "  no switchport access vlan 110",
        "  description hostA",
        "  switchport access vlan 120",
        "interface GigabitEthernet1/0/2",
        "  shutdown",
        "interface TenGigabitEthernet1/1/1",
        "  no switchport trunk allowed vlan 110",
        "  switchport trunk allowed vlan 110,120",
    ]

    paste(remediation)
    done = workflow()
    assert lines(done.remediation_config) == [] and lines(done.rollback_config) == []
    assert ios.port("p1") == PortSettings.access(120)
    assert ios.port("p4") == PortSettings.trunk({110, 120}, None)
    assert ios.port("p2").admin_up is False

    paste(rollback)
    assert body() == original
    assert ios.port("p1") == PortSettings.access(110)
    assert ios.port("p4") == PortSettings.trunk({110}, None)
    assert ios.port("p2").admin_up is True


def test_ios_ntc_templates_parse_show_outputs(ios: Cli) -> None:
    pytest.importorskip("ntc_templates")
    from ntc_templates.parse import parse_output

    ios("conf t", "vlan 110", "name DINKES-SRV", "vlan 120", "name BAPPEDA")
    ios("interface Gi1/0/1", "description to hostA", "switchport access vlan 110")
    ios("interface Gi1/0/2", "switchport access vlan 120", "shutdown")
    ios("interface Te1/1/1", "switchport mode trunk", "switchport trunk allowed vlan 110,120")
    ios("end")

    def parse(cmd: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = parse_output(
            platform="cisco_ios", command=cmd, data=ios(cmd)
        )
        return rows

    vlans = {r["vlan_id"]: r for r in parse("show vlan brief")}
    assert vlans["110"]["vlan_name"] == "DINKES-SRV"
    assert vlans["110"]["interfaces"] == ["Gi1/0/1"]
    assert vlans["1"]["interfaces"] == ["Gi1/0/3"]
    assert vlans["1002"]["status"] == "act/unsup"

    status = {r["port"]: r for r in parse("show interfaces status")}
    assert set(status) == {"Gi1/0/1", "Gi1/0/2", "Gi1/0/3", "Te1/1/1"}
    assert status["Gi1/0/1"]["name"] == "to hostA"
    assert status["Gi1/0/1"]["vlan_id"] == "110"
    assert status["Gi1/0/2"]["status"] == "disabled"
    assert status["Te1/1/1"]["vlan_id"] == "trunk"

    sp = {r["interface"]: r for r in parse("show interfaces switchport")}
    assert sp["Te1/1/1"]["admin_mode"] == "trunk"
    assert sp["Te1/1/1"]["trunking_vlans"] == ["110", "120"]
    assert sp["Gi1/0/1"]["access_vlan"] == "110"
    assert sp["Gi1/0/3"]["trunking_vlans"] == ["ALL"]

    desc = {r["port"]: r for r in parse("show interfaces description")}
    assert desc["Gi1/0/1"]["description"] == "to hostA"

    ver = parse("show version")[0]
    assert ver["hostname"] == "sw-core"
    assert ver["version"] == "15.2(7)E8"
    assert ver["mac_address"]


# --------------------------------------------------------------------------
# RouterOS


def test_ros_prompt_strips_netmiko_login_options(ros: Cli) -> None:
    assert ros.prompt() == "[admin@sw-ros] > "
    ros("/interface bridge vlan")
    assert ros.prompt() == "[admin@sw-ros] /interface/bridge/vlan> "
    ros("..")
    assert ros.prompt() == "[admin@sw-ros] /interface/bridge> "
    ros("/")
    assert ros.prompt() == "[admin@sw-ros] > "
    assert load_vendor("mikrotik_routeros").login_name("admin+ct511w4098h") == "admin"


def test_ros_factory_default_forwards_nothing(ros: Cli) -> None:
    assert all(ros.port(p) == PortSettings.parked() for p in ROS_PORTS.values())
    assert "add name=bridge1 vlan-filtering=yes" in ros("/export")


def test_ros_access_and_trunk(ros: Cli) -> None:
    out = ros(
        "/interface bridge port add bridge=bridge1 interface=ether1",
        "/interface bridge port add bridge=bridge1 interface=ether3 pvid=110 comment=hostD",
        "/interface bridge vlan add bridge=bridge1 vlan-ids=110 tagged=ether1 untagged=ether3"
        ' comment="DINKES srv"',
    )
    assert out == ""
    assert ros.port("q3") == PortSettings.access(110)
    assert ros.port("q1") == PortSettings.trunk({110}, 1)
    ros("/interface bridge vlan", "add bridge=bridge1 vlan-ids=120 tagged=ether1")
    assert ros.port("q1") == PortSettings.trunk({110, 120}, 1)
    ros("set [find vlan-ids=120] tagged=ether1,ether2", "/")
    assert ros.port("q2") == PortSettings.parked()  # tagged but not a bridge port
    ros("/interface bridge port set [find interface=ether1] frame-types=admit-only-vlan-tagged")
    assert ros.port("q1") == PortSettings.trunk({110, 120}, None)
    ros("/interface bridge vlan remove [find vlan-ids=110]")
    assert ros.port("q1") == PortSettings.trunk({120}, None)
    assert ros.port("q3") == PortSettings.access(110)  # pvid membership is dynamic
    ros("/interface ethernet set [find default-name=ether3] disabled=yes comment=spare")
    assert ros.port("q3") == PortSettings.access(110, admin_up=False)
    ros("/interface ethernet enable ether3")
    assert ros.port("q3").admin_up
    ros("/interface bridge set bridge1 vlan-filtering=no")
    assert ros.port("q3") == PortSettings("transparent")
    ros("/interface bridge port remove [find interface=ether3]")
    assert ros.port("q3") == PortSettings.parked()


def test_ros_numbers_and_print(ros: Cli) -> None:
    ros("/interface bridge vlan add bridge=bridge1 vlan-ids=110 comment=a")
    ros("/interface bridge vlan add bridge=bridge1 vlan-ids=120")
    table = ros("/interface bridge vlan print")
    assert "Columns: BRIDGE, VLAN-IDS, CURRENT-TAGGED, CURRENT-UNTAGGED" in table
    assert ";;; a" in table
    ros("/interface bridge vlan remove numbers=0")
    assert "vlan-ids=110" not in ros("/interface bridge vlan print terse")
    assert ros("/interface bridge vlan remove 5") == "no such item\n"
    assert ros("/system identity print") == "  name: sw-ros\n"
    assert "bridge1" in ros("/interface print")
    assert ros("/interface bridge vlan print count-only") == "1\n"


def test_ros_errors(ros: Cli) -> None:
    assert ros("/interface brige print") == "bad command name brige (line 1 column 12)\n"
    assert ros("frobnicate") == "bad command name frobnicate (line 1 column 1)\n"
    assert (
        ros("/interface bridge vlan add bridge=bridge1 vlan-ids=5 foo=bar")
        == "expected end of command (line 1 column 54)\n"
    )
    assert ros('/system identity set name="oops') == "syntax error (line 1 column 27)\n"
    assert ros("/interface bridge port add bridge=nope interface=ether1") == (
        "input does not match any value of bridge\n"
    )
    assert ros("/interface bridge port add bridge=bridge1 interface=ether1 pvid=5000") == (
        "value of pvid out of range (1..4094)\n"
    )
    ros("/interface bridge port add bridge=bridge1 interface=ether1")
    assert ros("/interface bridge port add bridge=bridge1 interface=ether1") == (
        "failure: device already added as bridge port\n"
    )
    assert ros("/system identity set name=x\x01y") == "syntax error (line 1 column 28)\n"
    assert ros.session.config.identity == "sw-ros"  # type: ignore[attr-defined]


def test_ros_reject_fault(ros: Cli) -> None:
    faults = Faults.from_dict({"reject": ["vlan-ids=110"]})
    out = ros("/interface bridge vlan add bridge=bridge1 vlan-ids=110", faults=faults)
    assert out.startswith("failure:")
    assert "vlan-ids=110" not in ros("/export")


def test_ros_persists_every_change_and_boots_from_it(tmp_path: Path) -> None:
    sw = make_switch(tmp_path, "mikrotik_routeros", ROS_PORTS, "sw-ros")
    cli = Cli(sw)
    cli("/interface bridge port add bridge=bridge1 interface=ether2 pvid=120")
    cli('/interface bridge vlan add bridge=bridge1 vlan-ids=120 tagged=ether1 comment="a \\"b\\""')
    cli("/system identity set name=ros-lab")
    saved = sw.startup_path.read_text()
    assert "add bridge=bridge1 interface=ether2 pvid=120" in saved
    assert 'comment="a \\"b\\""' in saved

    again = make_switch(tmp_path, "mikrotik_routeros", ROS_PORTS, "sw-ros")
    assert again.config.render_startup() == saved
    backend = again.backend
    assert isinstance(backend, MemoryBackend)
    assert backend.state["q2"] == PortSettings.access(120)
    assert Cli(again).prompt() == "[admin@ros-lab] > "


def test_ros_path_then_command_and_slash_form(ros: Cli) -> None:
    ros("/interface/bridge/port/add bridge=bridge1 interface=ether4 pvid=130")
    ros("/interface", "bridge vlan", "add bridge=bridge1 vlan-ids=130 untagged=ether4")
    assert ros.port("q4") == PortSettings.access(130)
    assert "/interface bridge vlan add bridge=bridge1 untagged=ether4 vlan-ids=130" in ros(
        "/export terse"
    )


# --------------------------------------------------------------------------
# The real SSH server on loopback, with netmiko, in-memory OVS


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[SwitchdConfig, MemoryBackend]]:
    pytest.importorskip("asyncssh")
    from dcctl.lab.switchd.server import Daemon

    (tmp_path / "pw").write_text("s3cret\n")
    cfg = SwitchdConfig(
        name="sw-core",
        vendor="cisco_ios",
        bridge="nobr",
        ports=IOS_PORTS,
        listen="127.0.0.1",
        port=free_port(),
        password_file=tmp_path / "pw",
        state_dir=tmp_path / "state",
        host_key=tmp_path / "state" / "key",
    )
    backend = MemoryBackend()
    loop = asyncio.new_event_loop()
    d = Daemon(cfg, backend)
    loop.run_until_complete(asyncio.wait_for(d.start(), 20))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield cfg, backend
    finally:
        asyncio.run_coroutine_threadsafe(d.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.timeout(60)
def test_netmiko_against_the_ssh_server(
    daemon: tuple[SwitchdConfig, MemoryBackend], caplog: pytest.LogCaptureFixture
) -> None:
    netmiko = pytest.importorskip("netmiko")
    from netmiko.exceptions import ReadException, ReadTimeout

    caplog.set_level("INFO")
    cfg, backend = daemon
    params = {
        "device_type": "cisco_ios",
        "host": "127.0.0.1",
        "port": cfg.port,
        "username": "admin",
        "password": "s3cret",
        "secret": "s3cret",
        "conn_timeout": 10,
    }
    with netmiko.ConnectHandler(**params) as conn:
        conn.enable()
        out = conn.send_config_set(["vlan 110", "interface Gi1/0/1", "switchport access vlan 110"])
        assert "%" not in out
        assert "Building configuration" in conn.save_config()
        assert backend.state["p1"] == PortSettings.access(110)
        assert conn.send_command("show vlan brief", use_textfsm=True)[1]["vlan_id"] == "110"
    assert "switchport access vlan 110" in (cfg.state_dir / "startup-config.txt").read_text()
    assert "session 1 cmd: 'vlan 110'" in caplog.text
    assert "s3cret" not in caplog.text

    conn = netmiko.ConnectHandler(**params)  # terminal width + terminal length
    try:
        conn.enable()  # third command
        (cfg.state_dir / "faults.json").write_text(json.dumps({"drop_after": 4}))
        assert "uptime is" in conn.send_command("show version")  # fourth, answered, then cut
        with pytest.raises((OSError, EOFError, ReadException, ReadTimeout)):
            conn.send_command("show vlan brief", read_timeout=5)
    finally:
        (cfg.state_dir / "faults.json").unlink()
        conn.disconnect()
