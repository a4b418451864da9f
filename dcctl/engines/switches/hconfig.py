"""What the hier-config-backed vendor drivers (IOS, Huawei VRP) share.

hier_config's own model (a platform driver returning its rules) is the model
here too: each vendor names its platform, its host-name command, the interface
lines that replace rather than add, and how a section is left; ownership
(partial scope, full mode minus the management plane) and flattening are the
same for every such vendor, so they live once, here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hier_config import HConfig, MatchRule, Platform, get_hconfig, get_hconfig_driver
from hier_config.models import IdempotentCommandsRule


def hconfig_driver(
    platform: Platform, host_command: str, replacing: Iterable[str], vlan_name: bool = False
) -> Any:
    """The platform's hier-config driver with dcctl's rules added.

    `host_command` (`hostname `/`sysname `) and each interface line in
    `replacing` replace the old value instead of negating it first (a new
    access VLAN or allowed list must not pass through "no list" on the way);
    `vlan_name`: a VLAN's ` name ` line replaces the old name too.
    """
    drv = get_hconfig_driver(platform)
    rules = drv.rules.idempotent_commands
    rules.append(IdempotentCommandsRule(match_rules=(MatchRule(startswith=host_command),)))
    for cmd in replacing:
        rules.append(
            IdempotentCommandsRule(
                match_rules=(MatchRule(startswith="interface "), MatchRule(startswith=cmd))
            )
        )
    if vlan_name:
        rules.append(
            IdempotentCommandsRule(
                match_rules=(MatchRule(re_search=r"^vlan \d+$"), MatchRule(startswith="name "))
            )
        )
    return drv


def scope(
    config: HConfig,
    driver: Any,
    host_command: str,
    managed_vlans: set[int],
    ports: set[str],
    full: bool,
    protect: set[str] | None = None,
) -> HConfig:
    """The part of a config dcctl owns: in partial mode the host name, the
    `vlan N` sections of `managed_vlans` and the `interface X` sections of
    `ports`; in full mode everything but `protect` (the management plane)."""
    out = get_hconfig(driver, "")
    for child in config.children:
        words = child.text.split()
        if full:
            keep = child.text not in (protect or set())
        else:
            keep = (
                words[0] == host_command.strip()
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


def mgmt_vlans(config: HConfig) -> set[int]:
    """The management VLAN(s) of a config: the VLANs dcctl names ``MGMT``."""
    return {
        int(c.text.split()[1])
        for c in config.children
        if re.fullmatch(r"vlan \d+", c.text) and any(g.text == "name MGMT" for g in c.children)
    }


def flatten(config: HConfig, leave: str) -> list[str]:
    """A remediation as lines, each section left with `leave` (`exit`, `quit`) so
    the next top-level line runs in global configuration again."""
    out: list[str] = []
    for child in config.children:
        out.append(child.text)
        if child.children:
            out.extend(grand.text for grand in child.all_children_sorted())
            out.append(leave)
    return out
