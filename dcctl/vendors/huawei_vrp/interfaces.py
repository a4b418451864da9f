"""Huawei VRP interface names, VLAN-list notation, limits and models.

``display current-configuration`` and ``display port vlan`` write the full type
(``GigabitEthernet0/0/1``), ``display vlan`` the short one (``GE0/0/1``); the CLI
accepts either, any unique prefix of the full type, and a space before the
number. VLAN lists are written ``10 20 30 to 40`` in commands and configs, and
``10 20 30-40`` in ``display port vlan``. Shared by the spec, this vendor's
driver and its lab dialect (see :mod:`dcctl.spec.interfaces` for why).
"""

from __future__ import annotations

import re
from typing import Final

from dcctl.spec.interfaces import IfType, ModelCaps, VendorLimits
from dcctl.spec.vlanlist import format_vlan_list, parse_vlan_list

#: S-series interface types (ntc-templates huawei_vrp fixtures: ``XGE0/0/1``,
#: ``40GE0/0/1``, ``Eth-Trunk0``, ``GigabitEthernet0/0/1``).
VRP_TYPES: Final[tuple[IfType, ...]] = (
    IfType("GigabitEthernet", "GE"),
    IfType("XGigabitEthernet", "XGE"),
    IfType("MultiGE", "MultiGE"),
    IfType("25GE", "25GE"),
    IfType("40GE", "40GE"),
    IfType("100GE", "100GE"),
    IfType("Ethernet", "Eth"),
    IfType("Eth-Trunk", "Eth-Trunk", physical=False),
)

#: VRP V200: a VLAN `name` is 1-31 characters, an interface `description` 1-242.
LIMITS: Final = VendorLimits(vlan_name_max=31, vlan_name_chars=r"A-Za-z0-9_.-", description_max=242)

#: Port counts of common S-series access/distribution models (front + uplinks).
MODELS: Final[dict[str, ModelCaps]] = {
    "S5735-L24T4S": ModelCaps(ports=28),
    "S5735-L48T4S": ModelCaps(ports=52),
    "S5720-28X": ModelCaps(ports=28),
    "S5700-28C": ModelCaps(ports=28),
    "S5700-52C": ModelCaps(ports=52),
    "S6730-H24X6C": ModelCaps(ports=30),
}

_NAME_RE = re.compile(r"^(\d*[A-Za-z][A-Za-z-]*?)\s*(\d+(?:/\d+)*)$")
_BY_KEY: Final = {
    **{t.short.lower(): t for t in VRP_TYPES},
    **{t.name.lower(): t for t in VRP_TYPES},
}


def vrp_type(word: str) -> IfType | None:
    """The type ``word`` names: full or short name, else the one full name it starts."""
    key = word.lower()
    if key in _BY_KEY:
        return _BY_KEY[key]
    matches = [t for t in VRP_TYPES if t.name.lower().startswith(key)]
    return matches[0] if len(matches) == 1 and len(key) >= 2 else None


def canonical(name: str) -> str:
    """``GE0/0/1`` / ``gigabitethernet 0/0/1`` -> ``GigabitEthernet0/0/1``; else unchanged."""
    m = _NAME_RE.match(name.strip())
    t = vrp_type(m[1]) if m else None
    return f"{t.name}{m[2]}" if (m and t) else name


def short(name: str) -> str:
    """``GigabitEthernet0/0/1`` -> ``GE0/0/1`` (how ``display vlan`` lists members)."""
    m = _NAME_RE.match(name)
    t = vrp_type(m[1]) if m else None
    return f"{t.short}{m[2]}" if (m and t) else name


def is_physical(name: str) -> bool:
    """A hardware port: a known physical type with slot/card/port numbering."""
    m = _NAME_RE.match(name)
    t = vrp_type(m[1]) if m else None
    return bool(m and t and t.physical and m[1] == t.name and m[2].count("/") == 2)


def vrp_list(vlans: set[int] | list[int]) -> str:
    """``{10, 20, 30, 31, 32}`` -> ``10 20 30 to 32``: how VRP writes a list in its config.

    The notation is the shared one (:mod:`dcctl.spec.vlanlist`, runs of two
    collapsed) spelt with VRP's blanks and ``to``.
    """
    return format_vlan_list(vlans, min_range=2).replace(",", " ").replace("-", " to ")


def vrp_ids(text: str) -> set[int]:
    """``10 20 30 to 32`` (or ``30-32``, as `display port vlan` writes) -> the ids;
    ValueError if it is not a VLAN list."""
    shared = ",".join(re.sub(r"\s+to\s+", "-", text.strip()).split())
    return parse_vlan_list(shared)
