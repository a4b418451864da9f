"""The Opd document: one tenant agency with its buildings, VMs, offices and cameras.

An OPD's whole footprint lives in one file so a reviewer sees a request in one
place and a ticket edits one file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dcctl.spec.cctv import Camera
from dcctl.spec.compute import Vm
from dcctl.spec.credentials import Credential, registry_field
from dcctl.spec.gitops import Handle
from dcctl.spec.types import (
    Classification,
    Document,
    Email,
    Name,
    Phone,
    PortName,
    Prefix,
    RoomStatus,
    Sector,
    Strict,
    Text,
    VlanId,
)
from dcctl.spec.vpn import Office
from dcctl.spec.wireless import OpdWifi


class Contact(Strict):
    name: Text
    role: Text
    email: Email | None = None
    phone: Phone | None = None
    reviewer: Handle | None = Field(
        None, description="Code-host handle; reviews changes to this OPD (CODEOWNERS)"
    )


class Quota(Strict):
    vcpu: int = Field(ge=0, le=4096)
    memory_gb: int = Field(ge=0, le=65536)
    disk_gb: int = Field(ge=0, le=10_000_000)
    vms: int = Field(20, ge=0, le=1000)
    cameras: int = Field(50, ge=0, le=10000)


class NetworkPin(Strict):
    vlan: VlanId | None = None
    prefix: Prefix | None = None


class NetworkPins(Strict):
    """Explicit VLAN/prefix pins; anything left out is allocated by IPAM."""

    servers: NetworkPin | None = None
    dmz: NetworkPin | None = None  # the network of the OPD's public VMs
    cctv: NetworkPin | None = None
    lan: NetworkPin | None = None


class Building(Strict):
    name: Name
    location: Text
    switch: Name = Field(description="Access switch in this building")
    lan_ports: list[PortName] = Field(
        default_factory=list, description="Ports given to the OPD's staff LAN"
    )
    access_points: list[Name] = Field(
        default_factory=list,
        description="Wi-Fi access points in this building (site switches with role: ap); "
        "they broadcast the OPD's SSID (wifi)",
    )


class ServerRoom(Strict):
    """The OPD's own legacy server room, tracked until it is consolidated."""

    status: RoomStatus = "running"
    servers: int = Field(0, ge=0, le=1000)
    note: Text | None = None


class Opd(Document):
    kind: Literal["Opd"]
    code: Name = Field(description="Short code, e.g. dinkes")
    name: Text = Field(description="Full name, e.g. Dinas Kesehatan")
    sector: Sector
    classification: Classification = Field(description="Default classification of its data")
    contacts: list[Contact] = Field(min_length=1)
    quota: Quota
    network: NetworkPins = NetworkPins()
    server_room: ServerRoom = ServerRoom()
    buildings: list[Building] = Field(default_factory=list)
    vms: list[Vm] = Field(default_factory=list)
    offices: list[Office] = Field(default_factory=list)
    cameras: list[Camera] = Field(default_factory=list)
    credentials: list[Credential] = registry_field()
    wifi: OpdWifi | None = Field(
        None, description="The OPD's SSID on the APs of its buildings, on its staff LAN VLAN"
    )
