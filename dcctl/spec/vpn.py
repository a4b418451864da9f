"""Remote offices (puskesmas, kecamatan) joined to the data center as VPN spokes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dcctl.spec.types import IPv4, Name, Prefix, Strict, Text


class Office(Strict):
    name: Name
    location: Text
    router: Literal["linux", "mikrotik"]
    wan_address: IPv4 = Field(description="Public address the office dials out from")
    lan_prefix: Prefix | None = Field(None, description="Pin; otherwise IPAM allocates")
    tunnel_address: IPv4 | None = Field(None, description="Pin in the hub's tunnel pool")
