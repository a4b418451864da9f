"""The lab's fabric: switches and fiber links, hypervisor nodes, the gateway's OPD
networks, the management and WAN networks, unplugged ports, the switch daemons and
the credentials the lab makes secrets for.
"""

from __future__ import annotations

import ipaddress

from dcctl.i18n import _
from dcctl.lab.plan import (
    GatewayNetwork,
    LabPlanError,
    LinuxBridge,
    MgmtPlan,
    Namespace,
    OvsBridge,
    Route,
    SwitchPlan,
    Veth,
    VethEnd,
    WanPlan,
)
from dcctl.lab.planners.wiring import WAN_PREFIX_LEN, Wiring, cidr
from dcctl.spec.credentials import credential_uses


def plan_core_namespaces(w: Wiring) -> None:
    """The gateway (the regency's edge router), management and WAN namespaces."""
    w.plan.gateway_netns = f"{w.p}-gw"
    w.plan.namespaces += [
        Namespace(w.plan.gateway_netns, "gw", forward=True),
        Namespace(w.mgmt_ns, "mgmt"),
        Namespace(w.wan_ns, "wan"),
    ]


def plan_links(w: Wiring) -> None:
    """One OVS bridge per switch; one veth pair per fiber link between two switch ports."""
    for i, sw in enumerate(w.spec.site.switches):
        w.plan.ovs_bridges.append(OvsBridge(f"{w.p}s{i}", "switch", sw.name))
    for link in w.spec.site.links:
        ka = w.claim(link.a, f"link {link.name}")
        kb = w.claim(link.b, f"link {link.name}")
        w.plan.veths.append(Veth("link", link.name, w.switch_end(ka), w.switch_end(kb)))


def plan_nodes(w: Wiring) -> None:
    """A VLAN-aware OVS bridge per hypervisor node (like vmbr0), uplinked to its switch port."""
    for n, node in enumerate(w.spec.site.hypervisors.nodes):
        br = f"{w.p}h{n}"
        w.plan.ovs_bridges.append(OvsBridge(br, "node", node.name))
        key = w.claim(node.uplink, f"hypervisor {node.name}")
        w.plan.veths.append(
            Veth(
                "uplink",
                f"{node.name} -> {node.uplink}",
                w.switch_end(key),
                VethEnd(w.port_if(key) + "d", ovs_bridge=br, ovs_tag=None),
            )
        )


def plan_gateway_networks(w: Wiring) -> None:
    """The gateway: one access port per OPD network on the first node bridge."""
    alloc = w.spec.allocation
    for nkey in sorted(alloc.vlans):
        if nkey not in alloc.prefixes:
            continue
        prefix = alloc.prefixes[nkey]
        gateway_network(w, nkey, alloc.vlans[nkey], prefix, alloc.gateway(nkey))


def gateway_network(w: Wiring, key: str, vlan: int, prefix: str, address: str) -> None:
    """The gateway's access port in `vlan` on the first node bridge, at `address`."""
    gw = cidr(address, prefix)
    ifname = f"{w.p}v{vlan}g"
    w.plan.gateway_networks.append(GatewayNetwork(key, vlan, prefix, gw, ifname))
    w.plan.veths.append(
        Veth(
            "vlan",
            f"gateway {key} (VLAN {vlan})",
            VethEnd(f"{w.p}v{vlan}", ovs_bridge=f"{w.p}h0", ovs_tag=vlan),
            VethEnd(ifname, netns=w.plan.gateway_netns, addresses=(gw,), tx_off=True),
        )
    )


def _root_mgmt_address(w: Wiring) -> str:
    """The highest management address no switch and not the gateway uses: the host's."""
    site = w.spec.site
    mnet = ipaddress.ip_network(site.management.prefix)
    taken = {site.management.gateway, *(s.mgmt_address for s in site.switches)}
    for cand in range(int(mnet.broadcast_address) - 1, int(mnet.network_address), -1):
        if str(ipaddress.ip_address(cand)) not in taken:
            return str(ipaddress.ip_address(cand))
    raise LabPlanError(
        _("management prefix {prefix} has no free address for the host").format(
            prefix=site.management.prefix
        )
    )


def _root_routes(w: Wiring) -> list[str]:
    """The pools the root namespace routes via the gateway (not the management one)."""
    site = w.spec.site
    mnet = ipaddress.ip_network(site.management.prefix)
    pools = [site.ipam.server_pool, site.ipam.cctv_pool, site.ipam.lan_pool]
    if site.vpn is not None:
        pools.append(site.vpn.tunnel_pool)
    routes: list[str] = []
    for pool in pools:
        if pool not in routes and not ipaddress.ip_network(pool).overlaps(mnet):
            routes.append(pool)
    return routes


def plan_management(w: Wiring) -> None:
    """The management bridge with every switch's address, joined by the host and gateway."""
    site, p, mgmt_ns = w.spec.site, w.p, w.mgmt_ns
    mg = site.management
    root_ip = _root_mgmt_address(w)
    routes = _root_routes(w)
    mbr = f"{p}mbr"
    w.plan.mgmt = MgmtPlan(
        netns=mgmt_ns,
        bridge=mbr,
        prefix=mg.prefix,
        gateway=mg.gateway,
        root_ifname=f"{p}mr",
        root_address=cidr(root_ip, mg.prefix),
        root_routes=tuple(routes),
    )
    w.plan.linux_bridges.append(
        LinuxBridge(mbr, mgmt_ns, tuple(cidr(s.mgmt_address, mg.prefix) for s in site.switches))
    )
    w.plan.veths += [
        Veth(
            "mgmt",
            "host -> management",
            VethEnd(f"{p}mr", addresses=(cidr(root_ip, mg.prefix),)),
            VethEnd(f"{p}mrb", netns=mgmt_ns, linux_bridge=mbr),
        ),
        Veth(
            "mgmt",
            "gateway -> management",
            VethEnd(f"{p}mg", netns=w.plan.gateway_netns, addresses=(cidr(mg.gateway, mg.prefix),)),
            VethEnd(f"{p}mgb", netns=mgmt_ns, linux_bridge=mbr),
        ),
    ]
    w.plan.routes.append(Route(mgmt_ns, "default", mbr, via=mg.gateway))
    w.plan.routes += [Route(None, r, f"{p}mr", via=mg.gateway) for r in routes]


def plan_wan(w: Wiring) -> None:
    """The WAN bridge: the gateway holds the VPN hub's public address on it."""
    site, p, wbr = w.spec.site, w.p, w.wan_bridge
    w.hub_ip = site.vpn.endpoint.rpartition(":")[0] if site.vpn is not None else None
    hub_cidr = f"{w.hub_ip}/{WAN_PREFIX_LEN}" if w.hub_ip else None
    w.plan.wan = WanPlan(w.wan_ns, wbr, hub_cidr, f"{p}wg")
    w.plan.linux_bridges.append(LinuxBridge(wbr, w.wan_ns))
    w.plan.veths.append(
        Veth(
            "wan",
            "gateway -> WAN",
            VethEnd(
                f"{p}wg", netns=w.plan.gateway_netns, addresses=(hub_cidr,) if hub_cidr else ()
            ),
            VethEnd(f"{p}wgb", netns=w.wan_ns, linux_bridge=wbr),
        )
    )


def plan_unplugged(w: Wiring) -> None:
    """Unplugged ports: present (no carrier) so the switch knows all its ports."""
    for sw in w.spec.site.switches:
        for name in sw.port_names():
            key = (sw.name, name)
            if key in w.claims:
                continue
            w.plan.veths.append(
                Veth(
                    "unplugged",
                    f"{sw.name}:{name}",
                    w.switch_end(key),
                    VethEnd(w.port_if(key) + "d", up=False),
                )
            )


def plan_switches(w: Wiring) -> None:
    """What each switch daemon serves: its bridge, its ports and its management address."""
    for sw in w.spec.site.switches:
        w.plan.switches.append(
            SwitchPlan(
                name=sw.name,
                vendor=sw.vendor,
                bridge=f"{w.p}s{w.sw_index[sw.name]}",
                ports=tuple((name, w.port_if((sw.name, name))) for name in sw.port_names())
                + tuple(w.virtual.get(sw.name, ())),
                mgmt_address=sw.mgmt_address,
                credential=sw.credential,
                netns=w.mgmt_ns,
                model=sw.model,
                enable_credential=sw.enable_credential,
                virtual_ports=tuple(port for port, _ in w.virtual.get(sw.name, ())),
                air=tuple(w.air.get(sw.name, ())),
            )
        )


def plan_credentials(w: Wiring) -> None:
    """The credential refs the lab makes secrets for: every reference of the spec."""
    site, plan = w.spec.site, w.plan
    refs = {sw.credential for sw in site.switches}
    refs |= {sw.enable_credential for sw in site.switches if sw.enable_credential}
    refs |= {c.credential for c in plan.cameras}
    refs.add(site.hypervisors.credential)
    # Radio keys and Wi-Fi passphrases too (issue 20): the lab plays their vault as well.
    refs |= {u.ref for u in credential_uses(site, w.spec.opds)}
    plan.credential_refs = tuple(sorted(refs))
