"""The Site document: the physical data center every OPD is consolidated into.

It holds what Diskominfo owns: hypervisors, address pools, switches and the
fiber links between them, the VPN hub and monitoring. Tenants live in `Opd`.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from dcctl import plugins
from dcctl.i18n import _
from dcctl.spec.backup import SiteBackup
from dcctl.spec.credentials import Credential, registry_field
from dcctl.spec.gitops import Review, ServiceLevels
from dcctl.spec.interfaces import canonical_port
from dcctl.spec.types import (
    CredentialRef,
    Document,
    Endpoint,
    Hostname,
    IPv4,
    Name,
    PortName,
    Prefix,
    Strict,
    SwitchPort,
    Text,
    VlanId,
)
from dcctl.spec.wireless import RadioSettings, SiteWifi

#: The choices come from the plugin registry: a hypervisor module is its type.
HypervisorType = Literal[plugins.hypervisors()]  # type: ignore[valid-type]
#: Switch vendors: a folder under dcctl/vendors/ is a vendor (dcctl.plugins).
Vendor = Literal[plugins.vendors()]  # type: ignore[valid-type]

#: The one admin account dcctl manages machines as, lab and prod alike: cloud-init
#: creates it on every VM with the infra team's keys, the lab creates it on office
#: routers, and the Ansible inventories log in as it. One home, so they cannot drift.
ADMIN_USER = "dcctl"

_RANGE_RE = re.compile(r"^(?P<base>.*?)(?P<lo>[0-9]+)-(?P<hi>[0-9]+)$")
#: Bounds on what a `ports` list may expand to, checked before anything expands it
#: (issue 15: `Gi1/0/1-2000000` took 49 s and 1 GB). The largest chassis have a few
#: hundred ports; these leave room and keep a hostile spec cheap to refuse.
MAX_RANGE_PORTS = 1024
MAX_SWITCH_PORTS = 4096


def expand_ports(vendor: str, specs: list[str]) -> list[str]:
    """Expand `Gi1/0/1-24` style ranges into canonical port names, in order."""
    return list(_expand_ports(vendor, tuple(specs)))


@functools.lru_cache(maxsize=4096)
def _expand_ports(vendor: str, specs: tuple[str, ...]) -> tuple[str, ...]:
    """:func:`expand_ports`, once per distinct list (checks and plans ask per switch,
    several times; 480 switches at ten times the benchmark)."""
    out: list[str] = []
    for item in specs:
        m = _RANGE_RE.fullmatch(item)
        if m and int(m["lo"]) <= int(m["hi"]):
            for n in range(int(m["lo"]), int(m["hi"]) + 1):
                out.append(canonical_port(vendor, f"{m['base']}{n}"))
        else:
            out.append(canonical_port(vendor, item))
    return tuple(out)


class HypervisorNode(Strict):
    name: Name
    uplink: SwitchPort = Field(description="Switch port the node's VM bridge is trunked to")
    bridge: Name = Field("vmbr0", description="Node bridge that VM NICs attach to")
    vcpu: int = Field(ge=1, le=4096, description="Physical threads offered to VMs")
    memory_gb: int = Field(ge=1, le=65536)


class Hypervisors(Strict):
    type: HypervisorType = Field(description="proxmox in production, lab for rehearsal")
    endpoint: str = Field(
        "https://pve.invalid:8006",
        pattern=r"^https://[a-z0-9.-]+(:[0-9]{1,5})?/?$",
        description="Proxmox VE API URL",
    )
    credential: CredentialRef = Field(description="API token reference, never the token itself")
    datastore: Name = "local-lvm"
    nodes: list[HypervisorNode] = Field(min_length=1)


class Storage(Strict):
    vm_capacity_gb: int = Field(ge=1, description="Usable VM datastore capacity")
    recording_capacity_gb: int = Field(ge=0, description="NVR storage offered for CCTV")


class Management(Strict):
    prefix: Prefix = Field(description="Out-of-band management network of switches and hosts")
    gateway: IPv4
    vlan: VlanId = 99


class Ipam(Strict):
    vlan_range: list[VlanId] = Field(
        min_length=2, max_length=2, description="[low, high] VLAN IDs dcctl may allocate"
    )
    server_pool: Prefix = Field(description="Pool for per-OPD server subnets")
    server_prefix_length: int = Field(24, ge=16, le=29)
    cctv_pool: Prefix
    cctv_prefix_length: int = Field(26, ge=16, le=29)
    lan_pool: Prefix = Field(description="Pool for OPD building LANs and remote-office LANs")
    lan_prefix_length: int = Field(24, ge=16, le=29)

    @model_validator(mode="after")
    def _range_order(self) -> Ipam:
        if self.vlan_range[0] > self.vlan_range[1]:
            raise ValueError(_("vlan_range must be [low, high]"))
        return self


class Port(Strict):
    name: PortName
    description: Text | None = None


class Switch(Strict):
    """A managed device of the site: a switch, a radio, an access point or the gateway.

    The gateway (``role: gateway``, issue 20) is the site's edge router: it is an
    entry here, not a section of its own, so the switch layer renders, diffs, pushes,
    verifies and rolls back its firewall as it does an AP's Wi-Fi (its trunk ports
    come from ``links`` like any switch's). It needs ``wan_port``: the guest network
    leaves by it, behind NAT. At most one per site, ``mikrotik_routeros`` only
    (:mod:`dcctl.spec.wireless_checks`).
    """

    name: Name
    vendor: Vendor
    model: Text | None = None
    role: Literal["core", "distribution", "access", "radio", "ap", "gateway"] = Field(
        description="radio: one end of a point-to-point radio link; ap: a Wi-Fi access "
        "point; gateway: the site's edge router, which keeps guest Wi-Fi to the internet "
        "and OPD staff LANs apart (all mikrotik_routeros, managed like any switch)"
    )
    location: Text
    mgmt_address: IPv4
    credential: CredentialRef
    enable_credential: CredentialRef | None = Field(
        None, description="Enable secret reference, when it differs from the login password"
    )
    managed: Literal["partial", "full"] = Field(
        "partial", description="full: lines dcctl did not create are removed"
    )
    owner: Name | None = Field(
        None,
        description="OPD code whose access switch this is: its ports serve only that OPD's "
        "buildings and cameras (links may still end on it); unset: a site switch",
    )
    ports: list[str] = Field(
        min_length=1, max_length=512, description="Physical ports; ranges like Gi1/0/1-24 expand"
    )
    radio: RadioSettings | None = Field(
        None, description="role radio only: band, channel width, frequency of its radio"
    )
    wan_port: PortName | None = Field(
        None,
        description="role gateway only: its internet port (guests leave by it, behind NAT)",
    )

    @model_validator(mode="after")
    def _radio_role(self) -> Switch:
        if self.role == "radio" and self.radio is None:
            raise ValueError(_("a radio (role: radio) needs its radio settings (radio: band, ...)"))
        if self.role != "radio" and self.radio is not None:
            raise ValueError(_("radio settings belong to a radio (role: radio) only"))
        if self.role == "gateway" and self.wan_port is None:
            raise ValueError(_("a gateway (role: gateway) needs wan_port: its internet port"))
        if self.role != "gateway" and self.wan_port is not None:
            raise ValueError(_("wan_port belongs to a gateway (role: gateway) only"))
        return self

    @field_validator("ports")
    @classmethod
    def _ports_valid(cls, v: list[str]) -> list[str]:
        from dcctl.spec.types import _port  # one definition of a port name

        total = 0
        for item in v:
            if len(item) > 40:
                raise ValueError(
                    _("{item!r}...: a port (or range) is at most 40 characters").format(
                        item=item[:40]
                    )
                )
            m = _RANGE_RE.fullmatch(item)
            _port(f"{m['base']}{m['lo']}" if m else item)
            if any(len(n) > 5 for n in re.findall(r"[0-9]+", item)):
                raise ValueError(
                    _("{item!r}: port numbers have at most 5 digits").format(item=item)
                )
            if m is None:
                total += 1
                continue
            lo, hi = int(m["lo"]), int(m["hi"])
            if lo > hi:
                raise ValueError(
                    _("{item!r}: a range runs from low to high, like Gi1/0/1-24").format(item=item)
                )
            if hi - lo + 1 > MAX_RANGE_PORTS:
                raise ValueError(
                    _("{item!r} names {count} ports; a range names at most {max}").format(
                        item=item, count=hi - lo + 1, max=MAX_RANGE_PORTS
                    )
                )
            total += hi - lo + 1
        if total > MAX_SWITCH_PORTS:
            raise ValueError(
                _("{total} ports; a switch has at most {max}").format(
                    total=total, max=MAX_SWITCH_PORTS
                )
            )
        return v

    def port_names(self) -> list[str]:
        return expand_ports(self.vendor, self.ports)


class Link(Strict):
    """A link between two switch ports: fiber, copper, or a point-to-point radio link.

    A radio link joins the wireless ports (``wlan1``) of two ``role: radio`` devices:
    ``a`` is the bridge (access-point) end, ``b`` the station-bridge end; ``length_m``
    is its path distance and ``key`` the reference of its WPA2 key (the site's).
    """

    name: Name
    a: SwitchPort
    b: SwitchPort
    medium: Literal["fiber", "copper", "radio"] = "fiber"
    length_m: int | None = Field(
        None, ge=1, le=200000, description="Cable length, or a radio link's path distance"
    )
    key: CredentialRef | None = Field(
        None, description="radio only: the link's encryption key reference, never the key"
    )
    description: Text | None = None

    @model_validator(mode="after")
    def _radio_fields(self) -> Link:
        if self.medium == "radio":
            if self.key is None:
                raise ValueError(_("a radio link needs key: the reference of its encryption key"))
            if self.length_m is None:
                raise ValueError(_("a radio link needs length_m: its path distance in metres"))
        elif self.key is not None:
            raise ValueError(_("key belongs to a radio link (medium: radio) only"))
        return self


class VpnHub(Strict):
    vm: str = Field(pattern=r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$", description="OPD/VM hosting it")
    endpoint: Endpoint = Field(description="Public address:port offices dial")
    tunnel_pool: Prefix
    listen_port: int = Field(51820, ge=1, le=65535)


class Monitoring(Strict):
    vm: str = Field(pattern=r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")
    scrape_interval_s: int = Field(30, ge=5, le=3600)
    camera_down_after_s: int = Field(120, ge=10, le=86400)
    alert_email: str | None = Field(None, pattern=r"^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+$")


class Cctv(Strict):
    nvr_vm: str = Field(pattern=r"^[a-z][a-z0-9-]*/[a-z][a-z0-9-]*$")


class Site(Document):
    kind: Literal["Site"]
    name: Name
    description: Text | None = None
    domain: Hostname
    dns: list[IPv4] = Field(min_length=1)
    ssh_keys: list[str] = Field(
        default_factory=list, description="Infra team public SSH keys (ssh-ed25519 ...)"
    )
    hypervisors: Hypervisors
    storage: Storage
    management: Management
    ipam: Ipam
    switches: list[Switch] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    vpn: VpnHub | None = None
    monitoring: Monitoring | None = None
    cctv: Cctv | None = None
    wifi: SiteWifi | None = Field(None, description="Wi-Fi country and the guest network")
    backup: SiteBackup | None = Field(
        None, description="Backup repositories and the minimum policy per classification"
    )
    review: Review | None = Field(None, description="Reviewers of every change (CODEOWNERS)")
    service_levels: ServiceLevels = ServiceLevels()
    credentials: list[Credential] = registry_field()

    @field_validator("ssh_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        pat = re.compile(
            r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256) [A-Za-z0-9+/=]{20,1024}( [\w.@-]{1,64})?$"
        )
        for k in v:
            if not pat.fullmatch(k):
                raise ValueError(
                    _("each key must be one OpenSSH public key line: TYPE BASE64 [comment]")
                )
        return v
