"""Interface names per switch vendor: one table each, shared by spec, engines and lab.

Why one table: the spec canonicalises the ports an operator writes, the switch
engine matches the names a device prints in ``show`` output, and the lab
emulator prints them. When each kept its own abbreviations they disagreed
(``Tw1/0/1`` became TwentyFiveGigE in the spec, TwoGigabitEthernet on a real
switch, and the engine knew neither). Interface naming is a fact about the
vendor's CLI, not behaviour under test, so the emulator shares this table
rather than acting as an independent oracle for it; the unit tests pin the
table to names taken from public device captures (ntc-templates' IOS fixtures,
netutils' interface map).

Cisco IOS: ``show running-config`` writes the full type (``GigabitEthernet``),
the ``show interfaces status``/``show vlan`` family writes the abbreviation in
:data:`IOS_TYPES`, and the parser accepts any unambiguous prefix of the full
type plus those abbreviations (which is how ``Tw`` means TwoGigabitEthernet
although it is also a prefix of TwentyFiveGigE).

MikroTik RouterOS: names are not abbreviated and are case-sensitive; the
factory names of physical ports are a type prefix and a number
(``ether1``, ``sfp-sfpplus1``, ``sfp28-1``, ``qsfpplus1-1``, ``combo1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "IOS_TYPES",
    "ROUTEROS_PORT_TYPES",
    "IfType",
    "canonical_port",
    "ios_long",
    "ios_short",
    "ios_type",
    "is_physical",
    "split_ifname",
]


@dataclass(frozen=True)
class IfType:
    """One interface type: the full name, the abbreviation IOS prints, hardware or not."""

    name: str
    short: str
    physical: bool = True


#: Cisco IOS / IOS-XE interface types dcctl manages. ``short`` is what the
#: ``show interfaces status`` family prints (ntc-templates cisco_ios fixtures:
#: ``Tw1/0/48``, ``Twe1/0/17``, ``Fi1/0/1``, ``Hu1/1/1``; netutils' interface map
#: agrees on ``Tw``/``Twe``; ``Ap1/0/1`` from a public Catalyst 9300 capture).
IOS_TYPES: Final[tuple[IfType, ...]] = (
    IfType("FastEthernet", "Fa"),
    IfType("GigabitEthernet", "Gi"),
    IfType("TwoGigabitEthernet", "Tw"),
    IfType("FiveGigabitEthernet", "Fi"),
    IfType("TenGigabitEthernet", "Te"),
    IfType("TwentyFiveGigE", "Twe"),
    IfType("FortyGigabitEthernet", "Fo"),
    IfType("HundredGigE", "Hu"),
    IfType("AppGigabitEthernet", "Ap"),
    IfType("Ethernet", "Et"),
    IfType("Port-channel", "Po", physical=False),
)

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

_BY_NAME: Final = {t.name.lower(): t for t in IOS_TYPES}
_BY_SHORT: Final = {t.short.lower(): t for t in IOS_TYPES}
# Fewer letters than this are too ambiguous to trust ("G1/0/1", "T1/0/1").
_MIN_ABBREVIATION = 2
_IF_RE = re.compile(r"^([A-Za-z][A-Za-z-]*?)(\d[\d/.:]*)$")
_ROUTEROS_PORT = re.compile(
    "^(?:" + "|".join(re.escape(p) for p in ROUTEROS_PORT_TYPES) + r")\d+(?:-\d+)?$"
)


def split_ifname(name: str) -> tuple[str, str]:
    """``GigabitEthernet1/0/1`` -> (``GigabitEthernet``, ``1/0/1``); (name, "") if no number."""
    m = _IF_RE.match(name)
    return (m[1], m[2]) if m else (name, "")


def ios_type(word: str) -> IfType | None:
    """The IOS type ``word`` names, as the IOS parser reads it; None if unknown or ambiguous.

    The full name or the printed abbreviation (case-insensitive) wins; else the
    one type ``word`` is a prefix of.
    """
    key = word.lower()
    hit = _BY_NAME.get(key) or _BY_SHORT.get(key)
    if hit is not None:
        return hit
    if len(key) < _MIN_ABBREVIATION:
        return None
    matches = [t for t in IOS_TYPES if t.name.lower().startswith(key)]
    return matches[0] if len(matches) == 1 else None


def ios_long(name: str) -> str:
    """``Tw1/0/1`` -> ``TwoGigabitEthernet1/0/1``: the form ``show running-config`` uses.

    Names of other types (``Vlan10``, ``Loopback0``) are returned unchanged.
    """
    m = re.match(r"^([A-Za-z][A-Za-z-]*?)(\s*\d.*)$", name)
    if not m:
        return name
    t = ios_type(m[1])
    return t.name + m[2].lstrip() if t is not None else name


def ios_short(name: str) -> str:
    """``TwentyFiveGigE1/1/1`` -> ``Twe1/1/1``: the form ``show interfaces status`` uses."""
    typ, num = split_ifname(name)
    t = _BY_NAME.get(typ.lower())
    return (t.short if t is not None else typ[:2]) + num


def is_physical(vendor: str, name: str) -> bool:
    """Whether ``name`` is a hardware port (which a device refuses to delete)."""
    if vendor == "cisco_ios":
        t = _BY_NAME.get(split_ifname(name)[0].lower())
        return t is not None and t.physical
    if vendor == "mikrotik_routeros":
        return bool(_ROUTEROS_PORT.fullmatch(name))
    return False


def canonical_port(vendor: str, name: str) -> str:
    """The one spelling of a port every layer uses, so ``Gi1/0/1`` and
    ``GigabitEthernet1/0/1`` are one port.

    IOS: the full name, as the switch prints it in ``show running-config``
    (hier-config compares text). RouterOS: the name as written (no abbreviations).
    """
    return ios_long(name) if vendor == "cisco_ios" else name
