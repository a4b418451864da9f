"""Each OPD's part of the lab: its buildings' LAN hosts, its offices (router and LAN
host namespaces on the WAN) and its cameras, and the gateway's port forward to the VPN
hub VM the offices dial.
"""

from __future__ import annotations

from dcctl.i18n import _
from dcctl.lab.plan import (
    BuildingPlan,
    CameraPlan,
    LabPlanError,
    Namespace,
    OfficePlan,
    Route,
    Veth,
    VethEnd,
    VpnGatewayPlan,
)
from dcctl.lab.planners.wiring import (
    BUILDING_FIRST_HOST,
    OFFICE_HOST,
    WAN_PREFIX_LEN,
    Wiring,
    cidr,
    host_at,
)
from dcctl.spec.checks import vm_network
from dcctl.spec.ports import PortKey
from dcctl.spec.tenancy import Opd
from dcctl.spec.vpn import Office


def _port_host(w: Wiring, key: PortKey, ns: str, role: str, label: str, addr: str, gw: str) -> str:
    """A namespace (a building's LAN host, a camera) on switch port `key`, its default
    route via `gw`; returns its device name."""
    dev = w.port_if(key) + "d"
    w.plan.namespaces.append(Namespace(ns, role))
    w.plan.veths.append(
        Veth(role, label, w.switch_end(key), VethEnd(dev, netns=ns, addresses=(addr,), tx_off=True))
    )
    w.plan.routes.append(Route(ns, "default", dev, via=gw))
    return dev


def plan_buildings(w: Wiring, code: str, opd: Opd) -> None:
    """A LAN host namespace per OPD building, on the building's first LAN port."""
    alloc, plan = w.spec.allocation, w.plan
    lan_key = f"{code}/lan"
    for k, b in enumerate(opd.buildings):
        if not b.lan_ports or lan_key not in alloc.prefixes:
            continue
        key = w.claim(f"{b.switch}:{b.lan_ports[0]}", f"building {code}/{b.name}")
        ns = f"{w.p}-b-{code}-{b.name}"
        lan = alloc.prefixes[lan_key]
        addr = cidr(host_at(lan, BUILDING_FIRST_HOST + k), lan)
        gw = alloc.gateway(lan_key)
        dev = _port_host(w, key, ns, "building", f"{code}/{b.name} LAN host", addr, gw)
        plan.buildings.append(BuildingPlan(code, b.name, ns, dev, addr, gw, f"{key[0]}:{key[1]}"))


def _office_routes(w: Wiring, code: str, off: Office, rns: str, m: int) -> str | None:
    """Routes between an office and the gateway; the router container's name (Linux) or None."""
    p, plan, wan = w.p, w.plan, off.wan_address
    if not w.hub_ip:
        return None
    plan.routes.append(Route(rns, f"{w.hub_ip}/32", f"{p}o{m}w"))
    plan.routes.append(Route(plan.gateway_netns, f"{wan}/32", f"{p}wg"))
    if off.router != "linux":
        return None
    # dcctl reaches a Linux office router over the WAN, as in production:
    # the host routes its WAN address via the gateway, and the router
    # answers the management network via the gateway's WAN address.
    mg = w.spec.site.management
    plan.routes.append(Route(rns, mg.prefix, f"{p}o{m}w", via=w.hub_ip))
    plan.routes.append(Route(None, f"{wan}/32", f"{p}mr", via=mg.gateway))
    return f"{p}-or-{code}-{off.name}"


def plan_offices(w: Wiring, code: str, opd: Opd) -> None:
    """An office router and LAN host namespace per office, its WAN side on the WAN bridge."""
    p, plan = w.p, w.plan
    for off in opd.offices:
        m = w.office_no
        w.office_no += 1
        olan = off.lan_prefix or w.spec.allocation.prefixes.get(f"{code}/office/{off.name}")
        if olan is None:
            raise LabPlanError(
                _("office {office} has no LAN prefix allocated").format(office=f"{code}/{off.name}")
            )
        rns = f"{p}-o-{code}-{off.name}"
        hns = f"{p}-oh-{code}-{off.name}"
        wan_cidr = f"{off.wan_address}/{WAN_PREFIX_LEN}"
        router_lan = cidr(host_at(olan, 1), olan)
        host = cidr(host_at(olan, OFFICE_HOST), olan)
        plan.veths += [
            Veth(
                "wan",
                f"{code}/{off.name} -> WAN",
                VethEnd(f"{p}o{m}w", netns=rns, addresses=(wan_cidr,)),
                VethEnd(f"{p}o{m}wb", netns=w.wan_ns, linux_bridge=w.wan_bridge),
            ),
            Veth(
                "office-lan",
                f"{code}/{off.name} LAN",
                VethEnd(f"{p}o{m}l", netns=rns, addresses=(router_lan,)),
                VethEnd(f"{p}o{m}h", netns=hns, addresses=(host,)),
            ),
        ]
        plan.routes.append(Route(hns, "default", f"{p}o{m}h", via=host_at(olan, 1)))
        container = _office_routes(w, code, off, rns, m)
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


def plan_cameras(w: Wiring, code: str, opd: Opd) -> None:
    """A namespace per camera on its switch port, at its IPAM address in the CCTV network."""
    alloc, plan = w.spec.allocation, w.plan
    for cam in opd.cameras:
        key = w.claim(cam.port, f"camera {code}/{cam.name}")
        akey = f"{code}/cctv/{cam.name}"
        pkey = f"{code}/cctv"
        if akey not in alloc.addresses or pkey not in alloc.prefixes:
            raise LabPlanError(
                _("camera {camera} has no address allocated").format(camera=f"{code}/{cam.name}")
            )
        ns = f"{w.p}-c-{code}-{cam.name}"
        addr = cidr(alloc.addresses[akey], alloc.prefixes[pkey])
        gw = alloc.gateway(pkey)
        dev = _port_host(w, key, ns, "camera", f"camera {code}/{cam.name}", addr, gw)
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


def plan_vpn_gateway(w: Wiring) -> None:
    """Port forward and routes on the gateway for the VPN hub VM, if the spec has one."""
    vpn, alloc, plan = w.spec.site.vpn, w.spec.allocation, w.plan
    if vpn is None or w.hub_ip is None:
        plan.vpn = None
        return
    code, _slash, vm = vpn.vm.partition("/")
    opd = w.spec.opds.get(code)
    hub = next((v for v in opd.vms if v.name == vm), None) if opd is not None else None
    where = f"{code}/{vm_network(hub) if hub is not None else 'servers'}"  # public: the DMZ
    addr = alloc.addresses.get(f"{where}/{vm}")
    net = next((g for g in plan.gateway_networks if g.key == where), None)
    if addr is None or net is None:
        raise LabPlanError(
            _("vpn.vm {vm} has no address on {network}").format(vm=vpn.vm, network=where)
        )
    routed = [o.lan_prefix for o in plan.offices]
    routed.append(alloc.prefixes.get("vpn/tunnel", vpn.tunnel_pool))
    plan.routes += [Route(plan.gateway_netns, r, net.ifname, via=addr) for r in routed]
    plan.vpn = VpnGatewayPlan(
        netns=plan.gateway_netns,
        table=f"{plan.prefix}_vpn",
        public_address=w.hub_ip,
        port=int(vpn.listen_port),
        hub_address=addr,
        ifname=net.ifname,
        routed=tuple(routed),
    )
