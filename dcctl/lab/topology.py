"""Pure planning of the lab: which namespaces, bridges, veths, addresses and processes
replicate the PHYSICAL estate of a spec, before dcctl configures anything.

Why a separate, side-effect-free module: every name and address the lab will use
is decided here, deterministically, from the spec alone. That makes the plan
unit-testable without root, lets `up` be idempotent (it compares this plan with
what exists), and lets `down` find everything again by the lab prefix even when
no plan or state survived a crash.

Naming. A lab has a 3-character id (`[a-z0-9]{3}`, default from the site name,
override with `--lab-id` / `DCCTL_LAB_ID`); its prefix is `dl` + id, e.g.
`dlwon`. Linux interface names are limited to 15 characters, so they are the
prefix plus a short code:

    dlwons3           OVS bridge of switch #3 (index in site.switches)
    dlwons3p12        switch #3 port #12 (index in port_names()), the OVS side
    dlwons3p12d       the device side of that port (host, camera, node bridge, unplugged)
    dlwonh0           OVS bridge of hypervisor node #0 (VLAN-aware, like vmbr0)
    dlwonv104         gateway access port for VLAN 104 on node #0's bridge
    dlwonv104g        ... its peer in the gateway namespace
    dlwonmr / mrb     root namespace <-> management bridge
    dlwonmg / mgb     gateway <-> management bridge
    dlwonmbr          the management Linux bridge (in <prefix>-mgmt)
    dlwonwg / wgb     gateway <-> WAN bridge
    dlwonwbr          the WAN Linux bridge (in <prefix>-wan)
    dlwono2w / o2wb   office #2 router <-> WAN bridge (the WAN fault knob)
    dlwono2l / o2h    office #2 router LAN side / LAN host

A fiber link is one veth pair whose two ends are the two switch port ends. Every
port of every switch exists (unused ones as unplugged veths without carrier),
so the switch daemon knows all of its ports. Namespaces are `<prefix>-gw`,
`-mgmt`, `-wan`, `-b-<opd>-<building>`, `-o-<opd>-<office>` (office router),
`-oh-<opd>-<office>` (office LAN host) and `-c-<opd>-<camera>`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dcctl.spec import Spec
from dcctl.spec.site import canonical_port

IF_PREFIX = "dl"
LAB_ID_RE = re.compile(r"^[a-z0-9]{3}$")
IFNAME_MAX = 15
DEFAULT_STATE_ROOT = Path("/var/lib/dcctl/lab")
FACTORY_VLAN = 1
SWITCH_USER = "admin"
CAMERA_USER = "admin"
SSH_PORT = 22
WAN_PREFIX_LEN = 24
BUILDING_FIRST_HOST = 10
OFFICE_HOST = 10


class LabPlanError(ValueError):
    """The spec cannot be turned into a lab (unknown port, port used twice, ...)."""


# --------------------------------------------------------------------------
# Lab identity


def default_lab_id(site_name: str) -> str:
    """First three letters/digits of the site name (`wonosobo` -> `won`)."""
    clean = re.sub(r"[^a-z0-9]", "", site_name.lower())
    if len(clean) >= 3:
        return clean[:3]
    return (clean + hashlib.sha1(site_name.encode()).hexdigest())[:3]


def resolve_lab_id(site_name: str | None, explicit: str | None = None) -> str:
    """--lab-id, else $DCCTL_LAB_ID, else derived from the site name."""
    lab_id = explicit or os.environ.get("DCCTL_LAB_ID") or ""
    if not lab_id:
        if site_name is None:
            raise LabPlanError("no lab id: give --lab-id or a loadable spec")
        lab_id = default_lab_id(site_name)
    if not LAB_ID_RE.match(lab_id):
        raise LabPlanError(f"lab id {lab_id!r} must be exactly 3 characters of a-z and 0-9")
    return lab_id


def lab_prefix(lab_id: str) -> str:
    return IF_PREFIX + lab_id


def state_root() -> Path:
    return Path(os.environ.get("DCCTL_LAB_ROOT") or DEFAULT_STATE_ROOT)


def lab_state_dir(lab_id: str) -> Path:
    return state_root() / lab_id


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
    key: str  # <opd>/servers|cctv|lan
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
    gateway_networks: list[GatewayNetwork] = field(default_factory=list)
    mgmt: MgmtPlan | None = None
    wan: WanPlan | None = None
    vpn: VpnGatewayPlan | None = None
    gateway_netns: str = ""
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
    known = ", ".join(i.key for i in items) or "none"
    if by_name:
        raise KeyError(f"{what} {ref!r} is ambiguous; use OPD/NAME ({known})")
    raise KeyError(f"no {what} {ref!r}; known: {known}")


def switchd_config(plan: LabPlan, sw: SwitchPlan, password_file: Path) -> dict[str, Any]:
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
    }


# --------------------------------------------------------------------------
# Building the plan


def _host(prefix: str, n: int) -> str:
    net = ipaddress.ip_network(prefix)
    if n < 0:
        return str(net.broadcast_address + n)
    return str(net.network_address + n)


def _cidr(address: str, prefix: str) -> str:
    return f"{address}/{ipaddress.ip_network(prefix).prefixlen}"


def build_plan(spec: Spec, lab_id: str | None = None, state_dir: Path | None = None) -> LabPlan:
    """Compute the whole lab for `spec`; raises LabPlanError on an unbuildable spec."""
    site = spec.site
    alloc = spec.allocation
    lab_id = resolve_lab_id(site.name, lab_id)
    p = lab_prefix(lab_id)
    plan = LabPlan(
        lab_id=lab_id,
        prefix=p,
        site=site.name,
        state_dir=state_dir or lab_state_dir(lab_id),
    )
    gw_ns = f"{p}-gw"
    mgmt_ns = f"{p}-mgmt"
    wan_ns = f"{p}-wan"
    plan.gateway_netns = gw_ns
    plan.namespaces += [
        Namespace(gw_ns, "gw", forward=True),
        Namespace(mgmt_ns, "mgmt"),
        Namespace(wan_ns, "wan"),
    ]

    # -- switches and their ports -------------------------------------------
    sw_index: dict[str, int] = {}
    vendor: dict[str, str] = {}
    port_index: dict[tuple[str, str], int] = {}
    for i, sw in enumerate(site.switches):
        sw_index[sw.name] = i
        vendor[sw.name] = sw.vendor
        for j, port in enumerate(sw.port_names()):
            port_index[(sw.name, port)] = j
        plan.ovs_bridges.append(OvsBridge(f"{p}s{i}", "switch", sw.name))

    used: dict[tuple[str, str], str] = {}

    def claim(ref: str, user: str) -> tuple[str, str]:
        """Canonical (switch, port) of `sw:port`; each port may have one user only."""
        sw, _, name = ref.partition(":")
        if sw not in sw_index:
            raise LabPlanError(f"{user}: unknown switch {sw!r} in {ref!r}")
        canon = canonical_port(vendor[sw], name)
        key = (sw, canon)
        if key not in port_index:
            raise LabPlanError(f"{user}: switch {sw} has no port {name!r}")
        if key in used:
            raise LabPlanError(f"{user}: port {ref} is already used by {used[key]}")
        used[key] = user
        return key

    def port_if(key: tuple[str, str]) -> str:
        return f"{p}s{sw_index[key[0]]}p{port_index[key]}"

    def bridge_of(key: tuple[str, str]) -> str:
        return f"{p}s{sw_index[key[0]]}"

    def switch_end(key: tuple[str, str]) -> VethEnd:
        return VethEnd(port_if(key), ovs_bridge=bridge_of(key), ovs_tag=FACTORY_VLAN)

    for link in site.links:
        ka = claim(link.a, f"link {link.name}")
        kb = claim(link.b, f"link {link.name}")
        plan.veths.append(Veth("link", link.name, switch_end(ka), switch_end(kb)))

    # -- hypervisor nodes -----------------------------------------------------
    for n, node in enumerate(site.hypervisors.nodes):
        br = f"{p}h{n}"
        plan.ovs_bridges.append(OvsBridge(br, "node", node.name))
        key = claim(node.uplink, f"hypervisor {node.name}")
        plan.veths.append(
            Veth(
                "uplink",
                f"{node.name} -> {node.uplink}",
                switch_end(key),
                VethEnd(port_if(key) + "d", ovs_bridge=br, ovs_tag=None),
            )
        )
    node0 = f"{p}h0"

    # -- gateway: one access port per OPD network on the first node bridge ----
    for nkey in sorted(alloc.vlans):
        if nkey not in alloc.prefixes:
            continue
        vlan = alloc.vlans[nkey]
        prefix = alloc.prefixes[nkey]
        gw = _cidr(alloc.gateway(nkey), prefix)
        ifname = f"{p}v{vlan}g"
        plan.gateway_networks.append(GatewayNetwork(nkey, vlan, prefix, gw, ifname))
        plan.veths.append(
            Veth(
                "vlan",
                f"gateway {nkey} (VLAN {vlan})",
                VethEnd(f"{p}v{vlan}", ovs_bridge=node0, ovs_tag=vlan),
                VethEnd(ifname, netns=gw_ns, addresses=(gw,), tx_off=True),
            )
        )

    # -- management network ---------------------------------------------------
    mg = site.management
    mnet = ipaddress.ip_network(mg.prefix)
    taken = {mg.gateway, *(s.mgmt_address for s in site.switches)}
    root_ip = None
    for cand in range(int(mnet.broadcast_address) - 1, int(mnet.network_address), -1):
        if str(ipaddress.ip_address(cand)) not in taken:
            root_ip = str(ipaddress.ip_address(cand))
            break
    if root_ip is None:
        raise LabPlanError(f"management prefix {mg.prefix} has no free address for the host")
    pools = [site.ipam.server_pool, site.ipam.cctv_pool, site.ipam.lan_pool]
    if site.vpn is not None:
        pools.append(site.vpn.tunnel_pool)
    routes: list[str] = []
    for pool in pools:
        if pool not in routes and not ipaddress.ip_network(pool).overlaps(mnet):
            routes.append(pool)
    mbr = f"{p}mbr"
    plan.mgmt = MgmtPlan(
        netns=mgmt_ns,
        bridge=mbr,
        prefix=mg.prefix,
        gateway=mg.gateway,
        root_ifname=f"{p}mr",
        root_address=_cidr(root_ip, mg.prefix),
        root_routes=tuple(routes),
    )
    plan.linux_bridges.append(
        LinuxBridge(mbr, mgmt_ns, tuple(_cidr(s.mgmt_address, mg.prefix) for s in site.switches))
    )
    plan.veths += [
        Veth(
            "mgmt",
            "host -> management",
            VethEnd(f"{p}mr", addresses=(_cidr(root_ip, mg.prefix),)),
            VethEnd(f"{p}mrb", netns=mgmt_ns, linux_bridge=mbr),
        ),
        Veth(
            "mgmt",
            "gateway -> management",
            VethEnd(f"{p}mg", netns=gw_ns, addresses=(_cidr(mg.gateway, mg.prefix),)),
            VethEnd(f"{p}mgb", netns=mgmt_ns, linux_bridge=mbr),
        ),
    ]
    plan.routes.append(Route(mgmt_ns, "default", mbr, via=mg.gateway))
    plan.routes += [Route(None, r, f"{p}mr", via=mg.gateway) for r in routes]

    # -- WAN ------------------------------------------------------------------
    wbr = f"{p}wbr"
    hub_ip = site.vpn.endpoint.rpartition(":")[0] if site.vpn is not None else None
    hub_cidr = f"{hub_ip}/{WAN_PREFIX_LEN}" if hub_ip else None
    plan.wan = WanPlan(wan_ns, wbr, hub_cidr, f"{p}wg")
    plan.linux_bridges.append(LinuxBridge(wbr, wan_ns))
    plan.veths.append(
        Veth(
            "wan",
            "gateway -> WAN",
            VethEnd(f"{p}wg", netns=gw_ns, addresses=(hub_cidr,) if hub_cidr else ()),
            VethEnd(f"{p}wgb", netns=wan_ns, linux_bridge=wbr),
        )
    )

    # -- OPD buildings, offices, cameras --------------------------------------
    office_no = 0
    for code, opd in spec.opds.items():
        lan_key = f"{code}/lan"
        for k, b in enumerate(opd.buildings):
            if not b.lan_ports or lan_key not in alloc.prefixes:
                continue
            key = claim(f"{b.switch}:{b.lan_ports[0]}", f"building {code}/{b.name}")
            ns = f"{p}-b-{code}-{b.name}"
            lan = alloc.prefixes[lan_key]
            addr = _cidr(_host(lan, BUILDING_FIRST_HOST + k), lan)
            gw = alloc.gateway(lan_key)
            dev = port_if(key) + "d"
            plan.namespaces.append(Namespace(ns, "building"))
            plan.veths.append(
                Veth(
                    "building",
                    f"{code}/{b.name} LAN host",
                    switch_end(key),
                    VethEnd(dev, netns=ns, addresses=(addr,), tx_off=True),
                )
            )
            plan.routes.append(Route(ns, "default", dev, via=gw))
            plan.buildings.append(
                BuildingPlan(code, b.name, ns, dev, addr, gw, f"{key[0]}:{key[1]}")
            )

        for off in opd.offices:
            m = office_no
            office_no += 1
            okey = f"{code}/office/{off.name}"
            olan = off.lan_prefix or alloc.prefixes.get(okey)
            if olan is None:
                raise LabPlanError(f"office {code}/{off.name} has no LAN prefix allocated")
            rns = f"{p}-o-{code}-{off.name}"
            hns = f"{p}-oh-{code}-{off.name}"
            wan_cidr = f"{off.wan_address}/{WAN_PREFIX_LEN}"
            router_lan = _cidr(_host(olan, 1), olan)
            host = _cidr(_host(olan, OFFICE_HOST), olan)
            plan.veths += [
                Veth(
                    "wan",
                    f"{code}/{off.name} -> WAN",
                    VethEnd(f"{p}o{m}w", netns=rns, addresses=(wan_cidr,)),
                    VethEnd(f"{p}o{m}wb", netns=wan_ns, linux_bridge=wbr),
                ),
                Veth(
                    "office-lan",
                    f"{code}/{off.name} LAN",
                    VethEnd(f"{p}o{m}l", netns=rns, addresses=(router_lan,)),
                    VethEnd(f"{p}o{m}h", netns=hns, addresses=(host,)),
                ),
            ]
            plan.routes.append(Route(hns, "default", f"{p}o{m}h", via=_host(olan, 1)))
            container = None
            if hub_ip:
                plan.routes.append(Route(rns, f"{hub_ip}/32", f"{p}o{m}w"))
                plan.routes.append(Route(gw_ns, f"{off.wan_address}/32", f"{p}wg"))
                if off.router == "linux":
                    # dcctl reaches a Linux office router over the WAN, as in production:
                    # the host routes its WAN address via the gateway, and the router
                    # answers the management network via the gateway's WAN address.
                    container = f"{p}-or-{code}-{off.name}"
                    plan.routes.append(Route(rns, mg.prefix, f"{p}o{m}w", via=hub_ip))
                    plan.routes.append(
                        Route(None, f"{off.wan_address}/32", f"{p}mr", via=mg.gateway)
                    )
            # An emulated router (MikroTik) is the namespace itself, so the lab turns
            # its forwarding on; a Linux router is a lab machine whose role does that,
            # as in production (its namespace starts with forwarding off, like a VM).
            plan.namespaces += [Namespace(rns, "office-router", forward=container is None)]
            plan.namespaces += [Namespace(hns, "office-host")]
            plan.offices.append(
                OfficePlan(
                    code,
                    off.name,
                    off.router,
                    rns,
                    hns,
                    f"{p}o{m}w",
                    f"{p}o{m}wb",
                    wan_cidr,
                    olan,
                    router_lan,
                    host,
                    container,
                )
            )

        for cam in opd.cameras:
            key = claim(cam.port, f"camera {code}/{cam.name}")
            akey = f"{code}/cctv/{cam.name}"
            pkey = f"{code}/cctv"
            if akey not in alloc.addresses or pkey not in alloc.prefixes:
                raise LabPlanError(f"camera {code}/{cam.name} has no address allocated")
            ns = f"{p}-c-{code}-{cam.name}"
            addr = _cidr(alloc.addresses[akey], alloc.prefixes[pkey])
            gw = alloc.gateway(pkey)
            dev = port_if(key) + "d"
            plan.namespaces.append(Namespace(ns, "camera"))
            plan.veths.append(
                Veth(
                    "camera",
                    f"camera {code}/{cam.name}",
                    switch_end(key),
                    VethEnd(dev, netns=ns, addresses=(addr,), tx_off=True),
                )
            )
            plan.routes.append(Route(ns, "default", dev, via=gw))
            plan.cameras.append(
                CameraPlan(
                    code,
                    cam.name,
                    ns,
                    dev,
                    addr,
                    gw,
                    cam.rtsp_port,
                    cam.rtsp_path,
                    cam.credential,
                    f"{key[0]}:{key[1]}",
                )
            )

    plan.vpn = _vpn_gateway(spec, plan, hub_ip)

    # -- unplugged ports: present (no carrier) so the switch knows all its ports
    for sw in site.switches:
        for name in sw.port_names():
            key = (sw.name, name)
            if key in used:
                continue
            plan.veths.append(
                Veth(
                    "unplugged",
                    f"{sw.name}:{name}",
                    switch_end(key),
                    VethEnd(port_if(key) + "d", up=False),
                )
            )

    for sw in site.switches:
        plan.switches.append(
            SwitchPlan(
                name=sw.name,
                vendor=sw.vendor,
                bridge=f"{p}s{sw_index[sw.name]}",
                ports=tuple((name, port_if((sw.name, name))) for name in sw.port_names()),
                mgmt_address=sw.mgmt_address,
                credential=sw.credential,
                netns=mgmt_ns,
            )
        )

    refs = {sw.credential for sw in site.switches}
    refs |= {c.credential for c in plan.cameras}
    refs.add(site.hypervisors.credential)
    plan.credential_refs = tuple(sorted(refs))
    _check(plan)
    return plan


def _vpn_gateway(spec: Spec, plan: LabPlan, hub_ip: str | None) -> VpnGatewayPlan | None:
    """Port forward and routes on the gateway for the VPN hub VM, if the spec has one."""
    vpn, alloc = spec.site.vpn, spec.allocation
    if vpn is None or hub_ip is None:
        return None
    code, _, vm = vpn.vm.partition("/")
    addr = alloc.addresses.get(f"{code}/servers/{vm}")
    net = next((g for g in plan.gateway_networks if g.key == f"{code}/servers"), None)
    if addr is None or net is None:
        raise LabPlanError(f"vpn.vm {vpn.vm} has no address on {code}/servers")
    routed = [o.lan_prefix for o in plan.offices]
    routed.append(alloc.prefixes.get("vpn/tunnel", vpn.tunnel_pool))
    plan.routes += [Route(plan.gateway_netns, r, net.ifname, via=addr) for r in routed]
    return VpnGatewayPlan(
        netns=plan.gateway_netns,
        table=f"{plan.prefix}_vpn",
        public_address=hub_ip,
        port=int(vpn.listen_port),
        hub_address=addr,
        ifname=net.ifname,
        routed=tuple(routed),
    )


def _check(plan: LabPlan) -> None:
    """Invariants the kernel would otherwise report one confusing error at a time."""
    names = plan.ifnames()
    too_long = [n for n in names if len(n) > IFNAME_MAX]
    if too_long:
        raise LabPlanError(f"interface names over {IFNAME_MAX} characters: {too_long}")
    bad = [n for n in names if not re.match(r"^[a-z0-9]+$", n)]
    if bad:
        raise LabPlanError(f"interface names with unexpected characters: {bad}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise LabPlanError(f"interface names used twice: {dup}")
    ns_names = [n.name for n in plan.namespaces]
    dup = sorted({n for n in ns_names if ns_names.count(n) > 1})
    if dup:
        raise LabPlanError(f"namespace names used twice: {dup}")
    known = set(ns_names)
    for e in plan.ends():
        if e.netns is not None and e.netns not in known:
            raise LabPlanError(f"{e.ifname} refers to unknown namespace {e.netns}")
