"""MikroTik RouterOS interface names: not abbreviated, case-sensitive.

The factory names of physical ports are a type prefix and a number (``ether1``,
``sfp-sfpplus1``, ``sfp28-1``, ``qsfpplus1-1``, ``combo1``); a radio's or access
point's wireless interfaces are ``wlan1``, ``wlan2`` (one per radio; ``wifi1``,
``wifi2`` on models driven by RouterOS 7.13+'s ``wifi`` package).
"""

from __future__ import annotations

import re
from typing import Final

from dcctl.spec.interfaces import ModelCaps, VendorLimits, WirelessCaps

#: A VLAN's name is its bridge VLAN entry's `comment`, a port's description
#: the bridge port's `comment`: free text, kept to what the console shows whole.
LIMITS: Final = VendorLimits(
    vlan_name_max=255, vlan_name_chars=r"A-Za-z0-9_.-", description_max=255
)

#: What an 802.11ax access point's two radios offer, with the `wifi` package.
_AX: Final = WirelessCaps(("2ghz", "5ghz"), (20, 40, 80), wpa3=True, package="wifi")

#: Port counts of the CRS models in use (front ports + SFP/SFP+ cages).
MODELS: Final[dict[str, ModelCaps]] = {
    "CRS326-24G-2S+": ModelCaps(ports=26),
    "CRS328-24P-4S+": ModelCaps(ports=28),
    "CRS310-8G+2S+": ModelCaps(ports=10),
    "CSS610-8G-2S+": ModelCaps(ports=10),
    # Point-to-point radios (issue 20): one Ethernet port and one 5 GHz radio (wlan1),
    # RouterOS's legacy `wireless` package (WPA2 keys, nv2). `reach_m` is the distance
    # dcctl plans a link for: the order of the vendor's stated reach for the antenna
    # gain (a dish reaches farther than a flat panel), not a link budget.
    "LHG XL 5 ac": ModelCaps(
        ports=2, wireless=WirelessCaps(("5ghz",), (20, 40, 80), reach_m=40_000)
    ),
    "LHG 5 ac": ModelCaps(ports=2, wireless=WirelessCaps(("5ghz",), (20, 40, 80), reach_m=15_000)),
    "SXTsq 5 ac": ModelCaps(
        ports=2, wireless=WirelessCaps(("5ghz",), (20, 40, 80), reach_m=10_000)
    ),
    "DynaDish 5": ModelCaps(ports=2, wireless=WirelessCaps(("5ghz",), (20, 40), reach_m=25_000)),
    # A connectorised radio (external antenna) with an SFP cage: a relay or backbone end.
    "NetMetal ac2": ModelCaps(
        ports=3, wireless=WirelessCaps(("5ghz",), (20, 40, 80), reach_m=30_000)
    ),
    "SXTsq Lite2": ModelCaps(ports=2, wireless=WirelessCaps(("2ghz",), (20, 40), reach_m=5_000)),
    # Indoor access points: wlan1 2 GHz, wlan2 5 GHz, legacy `wireless` package (WPA2).
    "cAP ac": ModelCaps(ports=4, wireless=WirelessCaps(("2ghz", "5ghz"), (20, 40, 80))),
    "wAP ac": ModelCaps(ports=3, wireless=WirelessCaps(("2ghz", "5ghz"), (20, 40, 80))),
    # 802.11ax access points: RouterOS 7.13+'s `wifi` package (wifi-qcom), wifi1 2 GHz,
    # wifi2 5 GHz, WPA2 and WPA3 (rendered by :mod:`.wifi`).
    "cAP ax": ModelCaps(ports=4, wireless=_AX),
    "hAP ax2": ModelCaps(ports=7, wireless=_AX),
    "hAP ax3": ModelCaps(ports=7, wireless=_AX),
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
    "wlan",
    "wifi",
)

_PORT = re.compile("^(?:" + "|".join(re.escape(p) for p in ROUTEROS_PORT_TYPES) + r")\d+(?:-\d+)?$")


def is_physical(name: str) -> bool:
    """Whether ``name`` is a factory port name (a hardware port)."""
    return bool(_PORT.fullmatch(name))


def canonical(name: str) -> str:
    """The name as written: RouterOS has no abbreviations."""
    return name
