"""MikroTik RouterOS interface names: not abbreviated, case-sensitive.

The factory names of physical ports are a type prefix and a number (``ether1``,
``sfp-sfpplus1``, ``sfp28-1``, ``qsfpplus1-1``, ``combo1``).
"""

from __future__ import annotations

import re
from typing import Final

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
