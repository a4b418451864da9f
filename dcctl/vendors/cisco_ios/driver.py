"""Cisco IOS: hier-config computes the delta, ntc-templates parse what we verify.

Partial management means dcctl only looks at the lines it owns (the VLANs of
its range, the ports in the intent, the hostname); everything else on the
switch is invisible to the diff and therefore never removed.
"""

from __future__ import annotations

import re
from typing import Any

from hier_config import (
    HConfig,
    MatchRule,
    Platform,
    WorkflowRemediation,
    get_hconfig,
    get_hconfig_driver,
)
from hier_config.models import IdempotentCommandsRule

from dcctl.engines.switches.ntc import parse_show
from dcctl.engines.switches.session import paste
from dcctl.render.switch import render_switch
from dcctl.spec.interfaces import is_physical
from dcctl.spec.vlanlist import VLAN_MAX, VLAN_MIN, parse_vlan_list
from dcctl.vendors.cisco_ios.interfaces import ios_long

PLATFORM = Platform.CISCO_IOS
ERROR_PATTERN = r"% ?(Invalid input|Incomplete command|Ambiguous command|Unknown)"
_ERROR = re.compile(ERROR_PATTERN, re.M)
#: Any IOS prompt, exec or config mode, whatever the hostname (a push may change it).
_PROMPT = re.compile(r"[A-Za-z0-9][\w.-]*(?:\([\w-]+\))?[#>]")


def _driver() -> Any:
    drv = get_hconfig_driver(PLATFORM)
    drv.rules.idempotent_commands.append(
        IdempotentCommandsRule(match_rules=(MatchRule(startswith="hostname "),))
    )
    # A new allowed-VLAN list or access VLAN replaces the old one on IOS; without
    # these rules hier-config would first negate the old list (briefly allowing all).
    for cmd in ("switchport trunk allowed vlan ", "switchport access vlan ", "switchport mode "):
        drv.rules.idempotent_commands.append(
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith=cmd))
            )
        )
    return drv


def _parse(text: str) -> HConfig:
    return get_hconfig(_driver(), text)


def scope(config: HConfig, managed_vlans: set[int], ports: set[str], full: bool) -> HConfig:
    """The part of a config dcctl owns; in full mode, everything."""
    if full:
        return config
    out = get_hconfig(_driver(), "")
    for child in config.children:
        words = child.text.split()
        keep = (
            (words[0] == "hostname")
            or (
                words[0] == "vlan"
                and len(words) == 2
                and words[1].isdigit()
                and int(words[1]) in managed_vlans
            )
            or (words[0] == "interface" and len(words) == 2 and words[1] in ports)
        )
        if keep:
            out.add_deep_copy_of(child)
    return out


def intended_config(name: str, intent: dict[str, Any]) -> str:
    return render_switch(name, intent)


def _physical(line: str) -> bool:
    """Whether a config line opens a hardware port: `no interface X` is refused on them."""
    word, _, name = line.partition(" ")
    return word == "interface" and is_physical("cisco_ios", name)


def remediation(running: str, intended: str, managed_vlans: set[int], full: bool) -> list[str]:
    """Config lines that turn `running` into `intended`, within dcctl's scope.

    VLANs the intent uses are always in scope (else they would be re-added on
    every run). In full mode a physical port the intent does not mention is
    cleared and shut down: hier-config would emit `no interface X`, which IOS
    refuses for hardware ports.
    """
    target = _parse(intended)
    ports = {
        c.text.split(maxsplit=1)[1] for c in target.children if c.text.startswith("interface ")
    }
    vlans = {int(c.text.split()[1]) for c in target.children if re.fullmatch(r"vlan \d+", c.text)}
    current = scope(_parse(running), managed_vlans | vlans, ports, full)
    if full:
        wanted = {c.text for c in target.children}
        for child in current.children:
            if _physical(child.text) and child.text not in wanted:
                target.add_child(child.text).add_child("shutdown")
    return _with_exits(WorkflowRemediation(current, target).remediation_config)


def _with_exits(config: HConfig) -> list[str]:
    """Flatten sections, leaving each sub-mode so the next top-level line is global."""
    out: list[str] = []
    for child in config.children:
        out.append(child.text)
        if child.children:
            out.extend(grand.text for grand in child.all_children_sorted())
            out.append("exit")
    return out


def verify(show_vlan: str, show_switchport: str, intent: dict[str, Any]) -> list[str]:
    """Compare parsed show output with the intent; return human-readable mismatches."""
    problems: list[str] = []
    vlans = {
        int(r["vlan_id"]): r["vlan_name"]
        for r in parse_show("cisco_ios", "show vlan brief", show_vlan)
    }
    for vid, name in intent["vlans"].items():
        if vlans.get(int(vid)) != name:
            problems.append(f"vlan {vid}: expected name {name}, device has {vlans.get(int(vid))}")
    ports = {
        ios_long(r["interface"]): r
        for r in parse_show("cisco_ios", "show interfaces switchport", show_switchport)
    }
    for port, want in intent["ports"].items():
        got = ports.get(port)
        if got is None:
            problems.append(f"{port}: not reported by the device")
            continue
        mode = got.get("admin_mode", "")
        if want["mode"] == "access":
            if "access" not in mode or str(got.get("access_vlan")) != str(want["vlan"]):
                problems.append(
                    f"{port}: expected access vlan {want['vlan']}, device has {mode} "
                    f"{got.get('access_vlan')}"
                )
        else:
            raw = got.get("trunking_vlans") or []
            try:
                allowed = _expand(raw)
            except ValueError:
                problems.append(f"{port}: device reports trunk VLANs {raw!r}, not a VLAN list")
                continue
            if "trunk" not in mode or allowed != set(want["trunk_vlans"]):
                problems.append(
                    f"{port}: expected trunk {sorted(want['trunk_vlans'])}, device has {mode} "
                    f"{sorted(allowed)}"
                )
    return problems


def _expand(items: list[str] | str) -> set[int]:
    """The VLANs of a parsed `Trunking VLANs Enabled` value (`ALL`, `NONE` or a list).

    ntc-templates splits a long list over several items; ValueError if it is not one.
    """
    if isinstance(items, str):
        items = [items]
    parts = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if any(p.upper() == "ALL" for p in parts):
        return set(range(VLAN_MIN, VLAN_MAX + 1))
    ids = [p for p in parts if p.upper() != "NONE"]
    return parse_vlan_list(",".join(ids)) if ids else set()


_NOISE = ("Building configuration", "Current configuration", "Last configuration change", "end")


def clean_running(text: str) -> str:
    """Drop the banner lines IOS prints around `show running-config`."""
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s == "!" or s.startswith(_NOISE):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep) + "\n"


class IosDriver:
    """netmiko `cisco_ios` device handling for the switch engine."""

    device_type = "cisco_ios"

    def intended(self, name: str, intent: dict[str, Any]) -> str:
        return intended_config(name, intent)

    def read_running(self, conn: Any) -> str:
        return clean_running(conn.send_command("show running-config", read_timeout=60))

    def remediation(
        self, running: str, intended: str, managed_vlans: set[int], full: bool
    ) -> list[str]:
        return remediation(running, intended, managed_vlans, full)

    def restore(self, running: str, backup: str) -> list[str]:
        """Lines that bring the device back to `backup` exactly (every line)."""
        return remediation(running, backup, set(), True)

    def push(self, conn: Any, lines: list[str]) -> str:
        """Paste the lines into one config session; stop at the first IOS error.

        A new hostname changes the prompt netmiko matches output against, so the
        prompt is re-learnt after such a push (else every later `show` would
        carry the prompt in its output and break the ntc-templates parse).
        """
        out = paste(conn, ["configure terminal", *lines, "end"], _PROMPT, _ERROR)
        if any(line.startswith("hostname ") for line in lines):
            conn.set_base_prompt()
        return out

    def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
        return verify(
            conn.send_command("show vlan brief"),
            conn.send_command("show interfaces switchport"),
            intent,
        )

    def save(self, conn: Any) -> None:
        conn.save_config()


#: What :func:`dcctl.plugins.vendor_driver` hands the switch engine.
DRIVER = IosDriver()
