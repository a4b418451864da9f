"""Full mode never removes the management plane, and secret values are never shown (issue 15).

The running configs are shaped like what the devices print (`show running-config`
of a Catalyst access switch, `/export terse` of a CRS switch): enable secret and
user hashes, AAA, SSH, the management SVI and gateway, vty/console lines with an
access class, SNMP with a community and its ACL; RouterOS users, services, the
management VLAN interface and address, SNMP, WireGuard and RADIUS secrets. The
switch is then brought to the example regency's intent in `managed: full` mode.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dcctl.engines.switches.engine import SwitchResult, SwitchTarget, change_switch, driver_for
from dcctl.engines.switches.masking import MASK
from dcctl.plan.desired import desired_state
from dcctl.spec import load_spec
from tests.conftest import EXAMPLE

FIXTURES = Path(__file__).parent / "fixtures"
IOS_RUNNING = (FIXTURES / "ios_access_switch_running.txt").read_text()
ROS_RUNNING = (FIXTURES / "routeros_access_switch_export.txt").read_text()

#: Every secret value in the two fixtures.
SECRETS = (
    "$9$nhEmQVczB7dqsO$X.HsgL6x1il0RxkOSSvyQYwucySCt7qFm4v7pqCxkKM",
    "$9$2MJBozw/9R3UsU$vBNPLg1Eo6Fg.gdLxdHtjkP1O6QnXj1BqLOSlm0xbPo",
    "0822455D0A165A4F5B", "Wsb-r0-c0mm", "045802150C2E1D1C5A", "05080F1C2243",
    "yHr5pTq0sY4fQ2m0C7xZp8JrTXeWdLd3KcVq9nWbX0E=", "n0vQ1aWJ3pTzR8s2dG6yL4kE7hC9uB5xM1fN3oP2qA0=",
    "S3cure!Passw0rd", "r4d1us-s3cret",
)  # fmt: skip


@pytest.fixture(scope="module")
def intents() -> dict[str, Any]:
    state = desired_state(load_spec(EXAMPLE))
    return {name: {**i, "managed": "full"} for name, i in state["switches"].items()}


def full_remediation(vendor: str, name: str, running: str, intent: dict[str, Any]) -> list[str]:
    drv = driver_for(vendor)
    lines = drv.remediation(running, drv.intended(name, intent), set(range(100, 900)) | {99}, True)
    assert lines, "the fixture differs from the intent: full mode has work to do"
    return lines


def test_ios_full_mode_keeps_the_management_plane(intents: dict[str, Any]) -> None:
    lines = full_remediation("cisco_ios", "sw-dinkes", IOS_RUNNING, intents["sw-dinkes"])
    text = "\n".join(lines)
    for gone in (
        "no enable secret", "no username", "no interface Vlan99", "no ip default-gateway",
        "no line vty", "no line con", "no snmp-server", "no aaa", "no ip ssh", "no crypto",
        "no ip access-list standard MGMT-ONLY", "no access-list 10", "no tacacs-server",
        "no ip domain-name",
    ):  # fmt: skip
        assert gone not in text, (gone, lines)
    # ... and never re-sends management lines (with their secrets) either.
    assert not [ln for ln in lines if re.match(r"(enable|username|snmp-server|line) ", ln)]
    # Full mode still owns the rest: the stray VLAN and the unused port's access VLAN go.
    assert "no vlan 555" in lines
    assert "interface GigabitEthernet1/0/1" in lines


def test_ios_restore_after_a_push_does_not_touch_the_management_plane(
    intents: dict[str, Any],
) -> None:
    drv = driver_for("cisco_ios")
    pushed = IOS_RUNNING.replace("vlan 555\n name OLD-PROJECT\n", "")
    undo = drv.restore(pushed, IOS_RUNNING)
    assert undo and "vlan 555" in undo
    assert not [ln for ln in undo if re.match(r"(no )?(enable|username|snmp-server|line) ", ln)]


def test_routeros_full_mode_keeps_the_management_path(intents: dict[str, Any]) -> None:
    lines = full_remediation("mikrotik_routeros", "sw-dishub", ROS_RUNNING, intents["sw-dishub"])
    text = "\n".join(lines)
    for menu in ("/user", "/ip service", "/ip ssh", "/ip address", "/ip route", "/snmp",
                 "/interface vlan", "/radius", "/interface wireguard"):  # fmt: skip
        assert f"{menu} " not in text, (menu, lines)
    # The out-of-band management port and the bridge's own membership of VLAN 99 stay.
    assert "/interface bridge port remove [find interface=ether24]" not in lines
    vlan99 = [ln for ln in lines if "vlan-ids=99" in ln]
    assert not any(ln.startswith("/interface bridge vlan remove") for ln in vlan99), lines
    assert all("bridge1" in ln for ln in vlan99 if "tagged=" in ln), vlan99
    # The rest is full mode's: the stray access port and its VLAN go.
    assert "/interface bridge port remove [find interface=ether20]" in lines
    assert any(ln.startswith("/interface bridge vlan remove") and "555" in ln for ln in lines)


@pytest.mark.parametrize(
    ("vendor", "line", "shown"),
    [
        ("cisco_ios", "enable secret 9 $9$abc$def", f"enable secret 9 {MASK}"),
        ("cisco_ios", "enable secret level 15 5 $1$x$y", f"enable secret level 15 5 {MASK}"),
        ("cisco_ios", "no username bob privilege 15 secret 9 $9$q",
         f"no username bob privilege 15 secret 9 {MASK}"),
        ("cisco_ios", " password 7 05080F1C2243", f" password 7 {MASK}"),
        ("cisco_ios", "snmp-server community Wsb RO 10", f"snmp-server community {MASK} RO 10"),
        ("cisco_ios", "snmp-server host 10.0.0.5 version 2c Wsb",
         f"snmp-server host 10.0.0.5 version 2c {MASK}"),
        ("cisco_ios", "snmp-server host 10.0.0.5 informs version 3 priv alice",
         f"snmp-server host 10.0.0.5 informs version 3 priv {MASK}"),
        ("cisco_ios", "snmp-server user u g v3 auth sha AuthPw priv aes 128 PrivPw",
         f"snmp-server user u g v3 auth sha {MASK} priv aes 128 {MASK}"),
        ("cisco_ios", "crypto isakmp key Psk123 address 1.2.3.4",
         f"crypto isakmp key {MASK} address 1.2.3.4"),
        ("cisco_ios", "ntp authentication-key 1 md5 NtpPw 7",
         f"ntp authentication-key 1 md5 {MASK} 7"),
        ("cisco_ios", "crypto key generate rsa modulus 2048",
         "crypto key generate rsa modulus 2048"),
        ("cisco_ios", "switchport access vlan 110", "switchport access vlan 110"),
        ("mikrotik_routeros", '/user add name=x group=full password="a b"',
         f"/user add name=x group=full password={MASK}"),
        ("mikrotik_routeros", "/interface wireguard add name=wg0 private-key=\"k=\"",
         f"/interface wireguard add name=wg0 private-key={MASK}"),
        ("mikrotik_routeros", "/interface wireguard peers add preshared-key=abc public-key=P=",
         f"/interface wireguard peers add preshared-key={MASK} public-key=P="),
        ("mikrotik_routeros", "/snmp community set [ find default=yes ] name=Wsb",
         f"/snmp community set [ find default=yes ] name={MASK}"),
        ("mikrotik_routeros", "/snmp community add authentication-password=a encryption-password=b",
         f"/snmp community add authentication-password={MASK} encryption-password={MASK}"),
        ("mikrotik_routeros", "/system identity set name=sw-dishub",
         "/system identity set name=sw-dishub"),
        ("huawei_vrp", " local-user admin password irreversible-cipher $1a$x.y$z",
         f" local-user admin password irreversible-cipher {MASK}"),
        ("huawei_vrp", "snmp-agent community read Wsb acl 2000",
         f"snmp-agent community read {MASK} acl 2000"),
        ("huawei_vrp", "snmp-agent community write cipher %^%#q%^%#",
         f"snmp-agent community write cipher {MASK}"),
        ("huawei_vrp", " radius-server shared-key cipher %^%#k%^%#",
         f" radius-server shared-key cipher {MASK}"),
        ("huawei_vrp", " port default vlan 110", " port default vlan 110"),
    ],
)  # fmt: skip
def test_each_vendor_masks_its_secret_values(vendor: str, line: str, shown: str) -> None:
    assert driver_for(vendor).mask(line) == shown


@pytest.mark.parametrize(("vendor", "running"), [("cisco_ios", IOS_RUNNING),
                                                   ("mikrotik_routeros", ROS_RUNNING)])  # fmt: skip
def test_no_secret_of_a_real_config_survives_masking(vendor: str, running: str) -> None:
    drv = driver_for(vendor)
    shown = "\n".join(drv.mask(line) for line in running.splitlines())
    mine = [s for s in SECRETS if s in running]
    assert mine, "the fixture has secrets to hide"
    assert [s for s in mine if s in shown] == []


def test_lines_and_errors_of_a_result_are_masked_for_every_output(
    tmp_path: Path, intents: dict[str, Any]
) -> None:
    """The engine masks a result where it is made: plan text, JSON and the audit take it."""

    class Conn:
        def disconnect(self) -> None: ...

    class Boom(RuntimeError): ...

    intent = intents["sw-dinkes"]
    # A partial-mode switch whose running config has a secret inside a line the
    # intent owns (an interface), to see masking on remediation lines too.
    running = IOS_RUNNING.replace(
        "interface GigabitEthernet1/0/1\n",
        "interface GigabitEthernet1/0/1\n ppp chap password 7 0822455D0A165A4F5B\n",
    )

    class Driver:
        device_type = "cisco_ios"
        real = driver_for("cisco_ios")

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def read_running(self, conn: Any) -> str:
            return running

        def push(self, conn: Any, lines: list[str]) -> str:
            raise Boom(f"device refused: {lines[:3]} enable secret 9 $9$leak$leak")

    import dcctl.engines.switches.engine as eng

    real_driver_for = eng.driver_for
    eng.driver_for = lambda vendor: Driver()  # type: ignore[assignment,return-value]
    try:
        target = SwitchTarget("sw-dinkes", {**intent, "managed": "partial"}, "127.0.0.1", "a", "p")
        res: SwitchResult = change_switch(
            target, {99, 110}, tmp_path / "b", connect=lambda t, d: Conn()
        )
    finally:
        eng.driver_for = real_driver_for
    shown = json.dumps(res.to_dict())
    assert res.status in ("failed", "rolled_back"), res
    assert any("ppp chap password" in ln for ln in res.lines), res.lines
    assert "0822455D0A165A4F5B" not in shown and "$9$leak$leak" not in shown, shown
    assert MASK in shown


VRP_RUNNING = """#
sysname HUAWEI
#
vlan batch 99 500
#
vlan 99
 name MGMT
#
aaa
 local-user admin password irreversible-cipher $1a$Sec$ret
 local-user admin service-type ssh
#
interface Vlanif99
 ip address 10.255.0.24 255.255.255.0
#
interface GigabitEthernet0/0/1
 port link-type access
 port default vlan 500
#
ip route-static 0.0.0.0 0.0.0.0 10.255.0.1
#
snmp-agent community read cipher %^%#Wsb%^%#
stelnet server enable
user-interface vty 0 4
 authentication-mode aaa
 protocol inbound ssh
#
return
"""


def test_vrp_full_mode_keeps_the_management_plane(intents: dict[str, Any]) -> None:
    drv = driver_for("huawei_vrp")
    intent = intents["sw-dispertan"]
    lines = drv.remediation(VRP_RUNNING, drv.intended("sw-dispertan", intent), set(), True)
    text = "\n".join(lines)
    for kept in ("aaa", "local-user", "Vlanif99", "route-static", "snmp-agent", "stelnet",
                 "user-interface"):  # fmt: skip
        assert kept not in text, (kept, lines)
    assert "undo vlan batch 500" in lines, "a VLAN dcctl does not want goes in full mode"
    assert not any("99" in ln and "undo vlan" in ln for ln in lines), "MGMT VLAN stays"
