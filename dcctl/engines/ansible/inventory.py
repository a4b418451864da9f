"""Build an Ansible inventory from the spec plus Pulumi's stack outputs.

Why: the spec says *what* every VM is (OPD, sector, classification, role) while
Pulumi knows *where* it really landed (address, node, VLAN). Joining both here
gives playbooks groups to target (``class_rahasia`` gets stricter SSH) without
a hand-kept hosts file that drifts. When no outputs exist yet (plan before the
first apply) the IPAM address from ``desired_state`` is used instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from dcctl.engines.pulumi.program import ADMIN_USER
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec

__all__ = ["ansible_name", "build_inventory", "host_name"]


def ansible_name(text: str) -> str:
    """A valid Ansible group/host name: ``vpn-hub`` -> ``vpn_hub`` (no dashes in groups)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return name if not name[:1].isdigit() else "_" + name


def host_name(key: str) -> str:
    """``"dinkes/simpus"`` -> ``"dinkes-simpus"``: unique, DNS-ish, valid as an Ansible host."""
    return key.replace("/", "-")


def build_inventory(
    spec: Spec,
    vm_outputs: Mapping[str, Mapping[str, Any]] | None,
    state: DesiredState | None = None,
) -> dict[str, Any]:
    """The ``ansible-inventory --list`` JSON shape for every VM of ``spec``.

    ``state`` is the run's desired state when the caller has it (an apply).
    """
    vms = (state or desired_state(spec))["vms"]
    outputs = vm_outputs or {}
    hostvars: dict[str, dict[str, Any]] = {}
    groups: dict[str, set[str]] = {}
    for key in sorted(vms):
        vm = vms[key]
        out = outputs.get(key, {})
        address = str(out.get("address") or vm["address"]).split("/")[0]
        host = host_name(key)
        hostvars[host] = {
            "ansible_host": address,
            "ansible_user": ADMIN_USER,
            "opd": vm["opd"],
            "sector": vm["sector"],
            "classification": vm["classification"],
            "role": vm["role"],
            "vlan": out.get("vlan", vm["vlan"]),
            "node": out.get("node", vm["node"]),
        }
        for prefix, value in (
            ("opd", vm["opd"]),
            ("sector", vm["sector"]),
            ("class", vm["classification"]),
            ("role", vm["role"]),
        ):
            groups.setdefault(ansible_name(f"{prefix}_{value}"), set()).add(host)
    inventory: dict[str, Any] = {"_meta": {"hostvars": hostvars}}
    for group in sorted(groups):
        inventory[group] = {"hosts": sorted(groups[group])}
    inventory["all"] = {"children": ["ungrouped", *sorted(groups)]}
    inventory["ungrouped"] = {"hosts": []}
    return inventory
