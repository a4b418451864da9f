"""The lab plan's elements: the namespaces, bridges, veths, routes and devices `lab up` makes.

Why plain frozen dataclasses apart from the planner (`dcctl.lab.planners`): `up`,
`status`, `down`'s callers and the engines (via `dcctl.lab.integration`) read a
plan without caring how it was computed, and `lab.json` is `LabPlan.to_dict()`,
so the shape is one contract, kept in one small module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dcctl.i18n import _

SWITCH_USER = "admin"
CAMERA_USER = "admin"
SSH_PORT = 22


class LabPlanError(ValueError):
    """The spec cannot be turned into a lab (unknown port, port used twice, ...)."""


# --------------------------------------------------------------------------
# Plan elements


@dataclass(frozen=True)
class Namespace:
    name: str
    role: str  # gw | mgmt | wan | building | office-router | office-host | camera
    forward: bool = False  # net.ipv4.ip_forward=1


@dataclass(frozen=True)
class OvsBridge:
    name: str
    role: str  # switch | node
    owner: str  # switch or hypervisor node name


@dataclass(frozen=True)
class LinuxBridge:
    name: str
    netns: str
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class VethEnd:
    ifname: str
    netns: str | None = None  # None: the root namespace
    ovs_bridge: str | None = None
    ovs_tag: int | None = None  # access VLAN set when the port is added; None: trunk
    linux_bridge: str | None = None
    addresses: tuple[str, ...] = ()  # CIDR, e.g. 10.64.0.1/24
    up: bool = True
    # The OVS userspace datapath does not complete checksums a veth left to
    # "hardware": TCP from an IP stack across OVS breaks unless tx offload is off.
    tx_off: bool = False


@dataclass(frozen=True)
class Veth:
    purpose: str  # link | uplink | vlan | building | camera | unplugged | mgmt | wan | office-lan
    label: str
    a: VethEnd
    b: VethEnd

    def ends(self) -> tuple[VethEnd, VethEnd]:
        return (self.a, self.b)


@dataclass(frozen=True)
class Route:
    netns: str | None
    dst: str  # prefix or "default"
    dev: str
    via: str | None = None


@dataclass(frozen=True)
class SwitchPlan:
    name: str
    vendor: str
    bridge: str
    ports: tuple[tuple[str, str], ...]  # (spec port name, OVS port) in port_names() order
    mgmt_address: str
    credential: str
    netns: str
    model: str | None = None  # the emulator behaves as this model (trunk encapsulation)
    enable_credential: str | None = None  # its own enable secret, if the spec gives one
    #: Ports (also in `ports`) that exist once the config makes them: an AP's virtual APs.
    virtual_ports: tuple[str, ...] = ()
    #: (radio port, radio link name): the port forwards only while the far end joins.
    air: tuple[tuple[str, str], ...] = ()

    def port_map(self) -> dict[str, str]:
        return dict(self.ports)


@dataclass(frozen=True)
class CameraPlan:
    opd: str
    name: str
    netns: str
    ifname: str
    address: str  # CIDR
    gateway: str
    rtsp_port: int
    rtsp_path: str
    credential: str
    switch_port: str

    @property
    def key(self) -> str:
        return f"{self.opd}/{self.name}"

    @property
    def ip(self) -> str:
        return self.address.split("/")[0]


@dataclass(frozen=True)
class BuildingPlan:
    opd: str
    name: str
    netns: str
    ifname: str
    address: str
    gateway: str
    switch_port: str


@dataclass(frozen=True)
class StationPlan:
    """A Wi-Fi client: a namespace "on" one SSID of one access point.

    The lab's stand-in for a phone that joined the SSID: a veth on the AP's lab port
    of the wireless interface that broadcasts it (`wlan1` for the OPD's SSID, the
    virtual `wlan1-guest` for the guest SSID), so it lands in whatever VLAN the AP's
    config puts that interface in.
    """

    ap: str
    interface: str  # the AP's wireless interface (its lab port)
    ssid: str
    opd: str | None  # the OPD whose SSID it is; None: the guest network
    netns: str
    ifname: str
    address: str  # CIDR
    gateway: str

    @property
    def key(self) -> str:
        return f"{self.ap}/{self.interface}"


@dataclass(frozen=True)
class EdgePlan:
    """What the gateway keeps apart (issue 20): the guest network reaches only the
    internet (the `internet` namespace on the WAN, through NAT) and the gateway's own
    guest address; staff LANs of different OPDs never reach each other."""

    netns: str  # the gateway
    chain: str  # the iptables chain (filter table) holding the rules
    staff_lans: tuple[tuple[str, str], ...]  # (OPD, gateway interface on its staff LAN)
    guest_ifname: str | None = None  # the gateway's interface on the guest VLAN
    guest_prefix: str | None = None
    guest_gateway: str | None = None  # the gateway's address there (no mask)
    wan_ifname: str | None = None
    internet_netns: str | None = None  # the internet stand-in, on the WAN bridge
    internet_address: str | None = None  # CIDR


@dataclass(frozen=True)
class OfficePlan:
    opd: str
    name: str
    router: str  # linux | mikrotik (what the spec says the real router is)
    router_netns: str
    host_netns: str
    wan_ifname: str  # router side, holds wan_address
    wan_bridge_port: str  # WAN-namespace side; the fault knob sets it down
    wan_address: str  # CIDR
    lan_prefix: str
    router_lan: str  # CIDR
    host_address: str  # CIDR
    # Linux office routers are hosts Ansible logs into: a lab-image container run in
    # the router namespace (None for MikroTik offices, configured by a rendered script).
    container: str | None = None

    @property
    def key(self) -> str:
        return f"{self.opd}/{self.name}"


@dataclass(frozen=True)
class VpnGatewayPlan:
    """What the regency's edge router does for the VPN hub VM (port forward + routes).

    The gateway holds the hub's public address; offices dial it, and the edge
    forwards that UDP port to the hub VM's IPAM address. Office LANs and the
    tunnel pool are routed via the hub VM, so replies from OPD servers find it.
    """

    netns: str
    table: str  # nftables table (ip family) in the gateway namespace
    public_address: str
    port: int
    hub_address: str  # the vpn-hub VM's IPAM address
    ifname: str  # the gateway's interface on the hub VM's network
    routed: tuple[str, ...]  # prefixes routed via the hub VM


@dataclass(frozen=True)
class GatewayNetwork:
    key: str  # <opd>/servers|dmz|cctv|lan
    vlan: int
    prefix: str
    address: str  # CIDR of the gateway
    ifname: str  # in the gateway namespace


@dataclass(frozen=True)
class MgmtPlan:
    netns: str
    bridge: str
    prefix: str
    gateway: str
    root_ifname: str
    root_address: str  # CIDR
    root_routes: tuple[str, ...]  # prefixes routed from the root namespace via the gateway


@dataclass(frozen=True)
class WanPlan:
    netns: str
    bridge: str
    hub_address: str | None  # CIDR on the gateway's WAN side
    gateway_ifname: str


@dataclass
class LabPlan:
    lab_id: str
    prefix: str
    site: str
    state_dir: Path
    namespaces: list[Namespace] = field(default_factory=list)
    ovs_bridges: list[OvsBridge] = field(default_factory=list)
    linux_bridges: list[LinuxBridge] = field(default_factory=list)
    veths: list[Veth] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    switches: list[SwitchPlan] = field(default_factory=list)
    cameras: list[CameraPlan] = field(default_factory=list)
    buildings: list[BuildingPlan] = field(default_factory=list)
    offices: list[OfficePlan] = field(default_factory=list)
    stations: list[StationPlan] = field(default_factory=list)
    edge: EdgePlan | None = None
    gateway_networks: list[GatewayNetwork] = field(default_factory=list)
    mgmt: MgmtPlan | None = None
    wan: WanPlan | None = None
    vpn: VpnGatewayPlan | None = None
    gateway_netns: str = ""
    #: The gateway's DMZ filter (``iptables -A DCCTL-DMZ`` arguments; dcctl.lab.dmz).
    dmz_filter: list[list[str]] = field(default_factory=list)
    credential_refs: tuple[str, ...] = ()

    # -- lookups -----------------------------------------------------------

    def ends(self) -> list[VethEnd]:
        return [e for v in self.veths for e in v.ends()]

    def ifnames(self) -> list[str]:
        """Every interface name the lab creates (veth ends and bridges)."""
        names = [e.ifname for e in self.ends()]
        names += [b.name for b in self.ovs_bridges]
        names += [b.name for b in self.linux_bridges]
        return names

    def switch(self, name: str) -> SwitchPlan:
        for s in self.switches:
            if s.name == name:
                return s
        raise KeyError(name)

    def camera(self, ref: str) -> CameraPlan:
        return _find(self.cameras, ref, "camera")

    def office(self, ref: str) -> OfficePlan:
        return _find(self.offices, ref, "office")

    def office_containers(self) -> list[OfficePlan]:
        """Offices whose router is a container Ansible can SSH into (Linux routers)."""
        return [o for o in self.offices if o.container]

    # -- state files -------------------------------------------------------

    def switch_dir(self, name: str) -> Path:
        return self.state_dir / "switches" / name

    def switchd_config_path(self, name: str) -> Path:
        return self.switch_dir(name) / "switchd.json"

    def camera_pid_path(self, cam: CameraPlan) -> Path:
        return self.state_dir / "cameras" / f"{cam.opd}-{cam.name}.pid"

    def camera_log_path(self, cam: CameraPlan) -> Path:
        return self.state_dir / "cameras" / f"{cam.opd}-{cam.name}.log"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state_dir"] = str(self.state_dir)
        return d


_K = TypeVar("_K", CameraPlan, OfficePlan)


def _find(found: Iterable[_K], ref: str, what: str) -> _K:
    items = list(found)
    exact = [i for i in items if i.key == ref]
    if exact:
        return exact[0]
    by_name = [i for i in items if i.name == ref]
    if len(by_name) == 1:
        return by_name[0]
    known = ", ".join(i.key for i in items) or _("none")
    camera = what == "camera"  # the two kinds `_find` is asked for: camera, office
    if by_name:
        ambiguous = (
            _("camera {ref} is ambiguous; use OPD/NAME ({known})")
            if camera
            else _("office {ref} is ambiguous; use OPD/NAME ({known})")
        )
        raise KeyError(ambiguous.format(ref=repr(ref), known=known))
    unknown = (
        _("no camera {ref}; known: {known}") if camera else _("no office {ref}; known: {known}")
    )
    raise KeyError(unknown.format(ref=repr(ref), known=known))


def air_dir(plan: LabPlan, link: str) -> Path:
    """The air of radio link `link`: both radios' daemons publish what they radiate there."""
    return plan.state_dir / "air" / link


def switchd_config(
    plan: LabPlan, sw: SwitchPlan, password_file: Path, enable_file: Path | None = None
) -> dict[str, Any]:
    """The JSON given to `python -m dcctl.lab.switchd --config FILE`."""
    d = plan.switch_dir(sw.name)
    return {
        "name": sw.name,
        "vendor": sw.vendor,
        "bridge": sw.bridge,
        "ports": sw.port_map(),
        "listen": sw.mgmt_address,
        "port": SSH_PORT,
        "username": SWITCH_USER,
        "password_file": str(password_file),
        "state_dir": str(d),
        "host_key": str(d / "ssh_host_ed25519_key"),
        **({"model": sw.model} if sw.model else {}),
        **({"enable_password_file": str(enable_file)} if enable_file else {}),
        **({"virtual_ports": list(sw.virtual_ports)} if sw.virtual_ports else {}),
        **({"air": {p: str(air_dir(plan, link)) for p, link in sw.air}} if sw.air else {}),
    }
