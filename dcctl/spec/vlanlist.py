"""VLAN lists as switches write them: ``10,20-22``, one home for parsing and printing.

IOS (``switchport trunk allowed vlan``) and RouterOS (``vlan-ids=``) share the
notation: comma-separated IDs and ``lo-hi`` runs. The renderer, both switch
engines and the lab emulator all read or write it, so the rule lives here once;
a parser that drifted from the printer would make a verified config look
different from the one pushed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dcctl.i18n import _

__all__ = ["VLAN_MAX", "VLAN_MIN", "format_vlan_list", "is_vlan_list", "parse_vlan_list"]

VLAN_MIN = 1
VLAN_MAX = 4094

_ITEM = re.compile(r"(\d{1,4})(?:-(\d{1,4}))?")
_LIST = re.compile(r"\d{1,4}(?:-\d{1,4})?(?:,\d{1,4}(?:-\d{1,4})?)*")


def parse_vlan_list(text: str, lo: int = VLAN_MIN, hi: int = VLAN_MAX) -> set[int]:
    """``10,20-22`` -> {10, 20, 21, 22}; ValueError on anything else.

    Strict on purpose: an empty list, a blank item, a reversed run or an ID out
    of ``lo``-``hi`` is an error, never silently dropped (a trunk that lost a
    VLAN would pass verification).
    """
    if not text:
        raise ValueError(_("empty VLAN list"))
    out: set[int] = set()
    for part in text.split(","):
        m = _ITEM.fullmatch(part)
        if not m:
            raise ValueError(_("bad VLAN list item {part!r}").format(part=part))
        a = int(m[1])
        b = int(m[2]) if m[2] else a
        if not (lo <= a <= b <= hi):
            raise ValueError(
                _("VLAN {part!r} out of range {lo}-{hi}").format(part=part, lo=lo, hi=hi)
            )
        out.update(range(a, b + 1))
    return out


def is_vlan_list(text: str) -> bool:
    """Whether ``text`` is written in VLAN-list notation (digits, commas, runs) only.

    The syntax check a device command needs before the text is sent; it does
    not judge ranges (the device does).
    """
    return bool(_LIST.fullmatch(text))


def format_vlan_list(vlans: Iterable[int], min_range: int | None = 3) -> str:
    """{1,2,3,10,11} -> ``1-3,10,11``.

    Runs of at least ``min_range`` IDs are written ``lo-hi`` (IOS collapses runs
    of three in ``show running-config``, RouterOS runs of two); ``None`` lists
    every ID, for commands that must repeat a device's text exactly.
    """
    ids = sorted(set(vlans))
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        if min_range is not None and j - i + 1 >= min_range:
            parts.append(f"{ids[i]}-{ids[j]}")
        else:
            parts.extend(str(v) for v in ids[i : j + 1])
        i = j + 1
    return ",".join(parts)
