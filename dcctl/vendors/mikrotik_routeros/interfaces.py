"""MikroTik RouterOS interface names: not abbreviated, case-sensitive.

The factory names of physical ports are a type prefix and a number (``ether1``,
``sfp-sfpplus1``, ``sfp28-1``, ``qsfpplus1-1``, ``combo1``).
"""

from __future__ import annotations

import re
from typing import Final

from dcctl.spec.interfaces import ModelCaps, VendorLimits

#: A VLAN's name is its bridge VLAN entry's `comment`, a port's description
#: the bridge port's `comment`: free text, kept to what the console shows whole.
LIMITS: Final = VendorLimits(
    vlan_name_max=255, vlan_name_chars=r"A-Za-z0-9_.-", description_max=255
)

#: Port counts of the CRS models in use (front ports + SFP/SFP+ cages).
MODELS: Final[dict[str, ModelCaps]] = {
    "CRS326-24G-2S+": ModelCaps(ports=26),
    "CRS328-24P-4S+": ModelCaps(ports=28),
    "CRS310-8G+2S+": ModelCaps(ports=10),
    "CSS610-8G-2S+": ModelCaps(ports=10),
}

#: RouterOS factory names of physical ports, longest prefix first.
ROUTEROS_PORT_TYPES: Final[tuple[str, ...]] = (
    "sfp-sfpplus",
    "qsfp28-",
    "qsfpplus",
    "sfp28-",
    "combo",
    "ether",
    "sfp",
)

_PORT = re.compile("^(?:" + "|".join(re.escape(p) for p in ROUTEROS_PORT_TYPES) + r")\d+(?:-\d+)?$")


def is_physical(name: str) -> bool:
    """Whether ``name`` is a factory port name (a hardware port)."""
    return bool(_PORT.fullmatch(name))


def canonical(name: str) -> str:
    """The name as written: RouterOS has no abbreviations."""
    return name
