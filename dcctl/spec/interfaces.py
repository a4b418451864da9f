"""Interface names per switch vendor: the one table each, shared by spec, engines and lab.

Why one table per vendor: the spec canonicalises the ports an operator writes,
the switch engine matches the names a device prints in ``show`` output, and the
lab emulator prints them. When each kept its own abbreviations they disagreed
(``Tw1/0/1`` became TwentyFiveGigE in the spec, TwoGigabitEthernet on a real
switch, and the engine knew neither). Interface naming is a fact about the
vendor's CLI, not behaviour under test, so the emulator shares the table rather
than acting as an independent oracle for it; the unit tests pin the tables to
names taken from public device captures (ntc-templates' IOS fixtures, netutils'
interface map). Each vendor's table is its folder's ``interfaces.py``
(``dcctl/vendors/<vendor>/``, found by :mod:`dcctl.plugins`); this module holds
what all vendors share and asks the vendor for the rest.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from dcctl import plugins

__all__ = [
    "IfType",
    "ModelCaps",
    "VendorLimits",
    "WirelessCaps",
    "canonical_port",
    "is_physical",
    "limits",
    "model_caps",
    "split_ifname",
    "vlan_name_max",
]


@dataclass(frozen=True)
class IfType:
    """One interface type: the full name, the abbreviation the CLI prints, hardware or not."""

    name: str
    short: str
    physical: bool = True


@dataclass(frozen=True)
class VendorLimits:
    """What a vendor's CLI accepts in the strings dcctl writes (from its command reference)."""

    vlan_name_max: int
    #: Characters of a VLAN name (a regex character class body).
    vlan_name_chars: str
    description_max: int


@dataclass(frozen=True)
class WirelessCaps:
    """What a radio or access point model offers (issue 20), from the vendor's data sheet.

    `bands`: the bands of its radios, in interface order (``wlan1`` is the first:
    a cAP ac's wlan1 is 2 GHz, wlan2 5 GHz). `widths_mhz`: channel widths it can use.
    `reach_m`: the point-to-point distance dcctl plans a link of this model for
    (None: an access point, never a link end). `wpa3`: its RouterOS wireless package
    offers WPA3 (the legacy ``wireless`` package stops at WPA2). `package`: which
    RouterOS package drives its radios: ``wireless`` (legacy, ``wlanN``) or ``wifi``
    (RouterOS 7.13+ on 802.11ax models, ``wifiN``, WPA3).
    """

    bands: tuple[str, ...]
    widths_mhz: tuple[int, ...] = (20, 40)
    reach_m: int | None = None
    wpa3: bool = False
    package: str = "wireless"

    def interfaces(self) -> tuple[str, ...]:
        """The wireless interfaces of the model, one per radio: wlan1, wlan2, ... (wifi1,
        wifi2, ... on a ``wifi``-package model: the names RouterOS gives them)."""
        prefix = "wifi" if self.package == "wifi" else "wlan"
        return tuple(f"{prefix}{i}" for i in range(1, len(self.bands) + 1))


@dataclass(frozen=True)
class ModelCaps:
    """What one switch model can do, where it changes the config dcctl writes.

    `ports`: physical ports on the chassis (front + uplinks), None if it varies
    (stacks, modules). `dot1q_encapsulation`: the model also speaks ISL, so a
    trunk needs `switchport trunk encapsulation dot1q` first (Catalyst 3560/3750).
    `wireless`: a radio or access point model's radios (None: a wired switch).
    """

    ports: int | None = None
    dot1q_encapsulation: bool = False
    wireless: WirelessCaps | None = None


_IF_RE = re.compile(r"^([A-Za-z][A-Za-z-]*?)(\d[\d/.:]*)$")


def split_ifname(name: str) -> tuple[str, str]:
    """``GigabitEthernet1/0/1`` -> (``GigabitEthernet``, ``1/0/1``); (name, "") if no number."""
    m = _IF_RE.match(name)
    return (m[1], m[2]) if m else (name, "")


@cache
def _vendor(vendor: str) -> ModuleType | None:
    if vendor not in plugins.vendors():
        return None
    return importlib.import_module(f"dcctl.vendors.{vendor}.interfaces")


def is_physical(vendor: str, name: str) -> bool:
    """Whether ``name`` is a hardware port of ``vendor`` (which a device refuses to delete)."""
    table = _vendor(vendor)
    return table is not None and bool(table.is_physical(name))


@functools.lru_cache(maxsize=1 << 16)
def canonical_port(vendor: str, name: str) -> str:
    """The one spelling of a port every layer uses, so ``Gi1/0/1`` and
    ``GigabitEthernet1/0/1`` are one port (the vendor decides; unknown vendors
    keep the name as written). Cached: a plan asks for the same ports many times."""
    table = _vendor(vendor)
    return str(table.canonical(name)) if table is not None else name


def limits(vendor: str) -> VendorLimits:
    """The vendor's string limits (each vendor's ``interfaces.py`` has ``LIMITS``)."""
    table = _vendor(vendor)
    if table is None:
        raise KeyError(vendor)
    found: VendorLimits = table.LIMITS
    return found


def vlan_name_max() -> int:
    """The longest VLAN name every registered vendor accepts: one name fits all switches."""
    return min(limits(v).vlan_name_max for v in plugins.vendors())


def wpa3_models(vendor: str) -> list[str]:
    """The vendor's access point models that offer WPA3 (RouterOS: the `wifi` package's)."""
    table = _vendor(vendor)
    models: dict[str, ModelCaps] = getattr(table, "MODELS", {}) if table is not None else {}
    return [k for k, m in models.items() if m.wireless is not None and m.wireless.wpa3]


def model_caps(vendor: str, model: str | None) -> ModelCaps | None:
    """The vendor's entry for ``model`` (its ``MODELS`` table; the longest matching
    prefix wins, so ``Catalyst 3560`` covers ``Catalyst 3560-24PS``); None if unknown."""
    table = _vendor(vendor)
    if table is None or not model:
        return None
    models: dict[str, ModelCaps] = getattr(table, "MODELS", {})
    key = max((k for k in models if model.lower().startswith(k.lower())), key=len, default=None)
    return models[key] if key is not None else None
