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

import importlib
import re
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from dcctl import plugins

__all__ = ["IfType", "canonical_port", "is_physical", "split_ifname"]


@dataclass(frozen=True)
class IfType:
    """One interface type: the full name, the abbreviation the CLI prints, hardware or not."""

    name: str
    short: str
    physical: bool = True


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


def canonical_port(vendor: str, name: str) -> str:
    """The one spelling of a port every layer uses, so ``Gi1/0/1`` and
    ``GigabitEthernet1/0/1`` are one port (the vendor decides; unknown vendors
    keep the name as written)."""
    table = _vendor(vendor)
    return str(table.canonical(name)) if table is not None else name
