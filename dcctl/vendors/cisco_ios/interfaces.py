"""Cisco IOS interface names: the table, and the spelling every layer uses.

``show running-config`` writes the full type (``GigabitEthernet``), the ``show
interfaces status``/``show vlan`` family writes the abbreviation in
:data:`IOS_TYPES`, and the parser accepts any unambiguous prefix of the full
type plus those abbreviations (which is how ``Tw`` means TwoGigabitEthernet
although it is also a prefix of TwentyFiveGigE). Shared by the spec, this
vendor's driver and its lab dialect (see :mod:`dcctl.spec.interfaces` for why).
"""

from __future__ import annotations

import re
from typing import Final

from dcctl.spec.interfaces import IfType, ModelCaps, VendorLimits, split_ifname

#: IOS 15 Catalyst: `name` in VLAN mode takes one word of 1-32 characters;
#: an interface `description` at most 240 characters.
LIMITS: Final = VendorLimits(vlan_name_max=32, vlan_name_chars=r"A-Za-z0-9_.-", description_max=240)

#: Models whose config dcctl writes differently, or whose port count it checks.
#: Catalyst 3560/3750 trunks also speak ISL: `switchport mode trunk` is refused
#: ("Command rejected: An interface whose trunk encapsulation is "Auto" can not
#: be configured to "trunk" mode.") until `switchport trunk encapsulation dot1q`.
MODELS: Final[dict[str, ModelCaps]] = {
    "Catalyst 3560": ModelCaps(dot1q_encapsulation=True),
    "Catalyst 3750": ModelCaps(dot1q_encapsulation=True),
    "Catalyst 3560-24": ModelCaps(ports=28, dot1q_encapsulation=True),
    "Catalyst 3750-24": ModelCaps(ports=28, dot1q_encapsulation=True),
    "Catalyst 2960X-24": ModelCaps(ports=28),
    "Catalyst 2960X-48": ModelCaps(ports=52),
    "Catalyst 9200-24": ModelCaps(ports=28),
    "Catalyst 9200-48": ModelCaps(ports=52),
    "Catalyst 9300-24": ModelCaps(ports=28),
    "Catalyst 9300-48": ModelCaps(ports=52),
}

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

_BY_NAME: Final = {t.name.lower(): t for t in IOS_TYPES}
_BY_SHORT: Final = {t.short.lower(): t for t in IOS_TYPES}
# Fewer letters than this are too ambiguous to trust ("G1/0/1", "T1/0/1").
_MIN_ABBREVIATION = 2


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


def is_physical(name: str) -> bool:
    """Whether ``name`` is a hardware port (which a device refuses to delete)."""
    t = _BY_NAME.get(split_ifname(name)[0].lower())
    return t is not None and t.physical


def canonical(name: str) -> str:
    """The full name, as the switch prints it in ``show running-config`` (hier-config
    compares text)."""
    return ios_long(name)
