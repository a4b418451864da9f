"""Render a switch's intended configuration with the vendor's template set.

The intent (dcctl.plan.switching) is vendor-neutral; the templates hold all
syntax. As defense in depth every string is re-checked here, so even a caller
that bypasses spec validation cannot smuggle a line into a device config.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from dcctl import plugins
from dcctl.i18n import _
from dcctl.spec.types import is_safe_text
from dcctl.spec.vlanlist import format_vlan_list


class UnsafeValue(ValueError):
    """A string that would change the meaning of a device config."""


def _check(value: Any, where: str) -> None:
    if isinstance(value, str) and not is_safe_text(value):
        raise UnsafeValue(
            _("{where}: {value!r} contains characters not allowed in a device config").format(
                where=where, value=value
            )
        )
    if isinstance(value, dict):
        for k, v in value.items():
            _check(k, where)
            _check(v, f"{where}.{k}")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check(v, f"{where}[{i}]")


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        # Each vendor's templates live in its folder (dcctl/vendors/<vendor>/templates).
        loader=jinja2.PrefixLoader(
            {
                v: jinja2.FileSystemLoader(plugins.vendor_dir(v) / "templates")
                for v in plugins.vendors()
            }
        ),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def vlan_ranges(vlans: list[int]) -> str:
    """110,111,112,120 -> '110-112,120' (how IOS prints allowed lists: runs of three)."""
    return format_vlan_list(vlans, min_range=3)


def render_switch(name: str, intent: dict[str, Any]) -> str:
    """Full intended config of the lines dcctl manages on one switch."""
    _check(name, "name")
    _check(intent, name)
    template = _env().get_template(f"{intent['vendor']}/switch.j2")
    return template.render(name=name, sw=intent, vlan_ranges=vlan_ranges)
