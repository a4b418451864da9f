"""Shared VMs an OPD runs on the regency's hypervisors, and the rules of their disks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dcctl.i18n import N_, _
from dcctl.spec.backup import Backup
from dcctl.spec.types import Classification, Exposure, IPv4, Name, Strict, Text

__all__ = ["DISK_SHRINK_HINT", "Backup", "Vm", "disk_shrink"]


class Service(Strict):
    """A port the VM serves, and who may reach it: the only inbound flows besides dcctl's own.

    Every VM's firewall drops what no flow allows (``dcctl/firewall``); the flows dcctl
    needs itself (SSH and monitoring from management, the hub's WireGuard port, HTTP(S)
    of a public VM) come from the site, the rest only from here.
    """

    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    source: Literal["opd", "regency", "public"] = Field(
        "opd",
        alias="from",
        description=(
            "Who may connect: opd (the OPD's own networks and offices), regency (every "
            "OPD's networks and offices) or public (anywhere; exposure: public VMs only)"
        ),
    )
    description: Text | None = None


class Vm(Strict):
    name: Name
    description: Text | None = None
    role: Literal["app", "db", "web", "file", "nvr", "vpn-hub", "monitoring", "backup"] = "app"
    vcpu: int = Field(ge=1, le=128)
    memory_gb: int = Field(ge=1, le=1024)
    disk_gb: int = Field(ge=4, le=65536)
    image: Literal["debian-12", "ubuntu-24.04", "rocky-9"] = "debian-12"
    classification: Classification | None = Field(
        None, description="Defaults to the OPD's classification"
    )
    exposure: Exposure = "internal"
    backup: Backup = Field(
        Backup(),
        description="Stricter than the classification's minimum (site backup.policy), never "
        "weaker; fields left out are the minimum's",
    )
    services: list[Service] = Field(
        default_factory=list,
        max_length=64,
        description="Ports the VM serves and from where; its firewall drops everything else",
    )
    node: Name | None = Field(None, description="Pin to a hypervisor node")
    address: IPv4 | None = Field(None, description="Pin; otherwise IPAM allocates")
    renamed_from: Name | None = Field(
        None,
        description=(
            "The VM's previous name in this OPD: the VM is renamed in place (same VM, "
            "disks, address and node), not deleted and created. Keep it: without it an "
            "unpinned VM is placed by its new name (pin node to drop it safely)"
        ),
    )


#: Why disks never shrink, the hint of every refusal (validation and tickets).
DISK_SHRINK_HINT = N_("disks only grow; shrinking would lose data")


def disk_shrink(new_gb: int, current_gb: int | None) -> str | None:
    """Why ``new_gb`` is refused for a disk of ``current_gb``, or None when it may be.

    The one home of the rule that disks never shrink: ``dcctl validate`` compares a
    VM's ``disk_gb`` with the size locked in ``dcctl.lock.yaml``, tickets with the
    spec's current size. Hypervisors cannot shrink a disk in place, and a file system
    cut short loses what was beyond the new end.
    """
    if current_gb is not None and new_gb < current_gb:
        return _("disk_gb {new} is smaller than the current {current}").format(
            new=new_gb, current=current_gb
        )
    return None
