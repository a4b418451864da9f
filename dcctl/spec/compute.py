"""Shared VMs an OPD runs on the regency's hypervisors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dcctl.spec.types import Classification, IPv4, Name, Strict, Text


class Backup(Strict):
    schedule: Literal["hourly", "daily", "weekly", "none"] = "daily"
    retention_days: int = Field(14, ge=0, le=3650)


class Vm(Strict):
    name: Name
    description: Text | None = None
    role: Literal["app", "db", "web", "file", "nvr", "vpn-hub", "monitoring"] = "app"
    vcpu: int = Field(ge=1, le=128)
    memory_gb: int = Field(ge=1, le=1024)
    disk_gb: int = Field(ge=4, le=65536)
    image: Literal["debian-12", "ubuntu-24.04", "rocky-9"] = "debian-12"
    classification: Classification | None = Field(
        None, description="Defaults to the OPD's classification"
    )
    exposure: Literal["internal", "public"] = "internal"
    backup: Backup = Backup()
    node: Name | None = Field(None, description="Pin to a hypervisor node")
    address: IPv4 | None = Field(None, description="Pin; otherwise IPAM allocates")
