"""Wireless in the lab (issue 20): radio links' air, Wi-Fi clients on the APs' SSIDs,
and the gateway's edge (guest network to the internet only, staff LANs apart).

Why this shape: radios and access points are switches of the spec (roles `radio`
and `ap`, RouterOS), so the lab runs them as switch daemons and a radio link is a
link veth like fiber (`fabric.plan_links`). What only wireless needs is here:

* each radio link's two wireless ports share an air directory, so they forward only
  while both ends join (`dcctl.lab.switchd.air`): a wrong key or band breaks the
  link as it would on a mast;
* each AP gets one Wi-Fi client namespace per SSID of its first radio, on the lab
  port of the interface broadcasting it (the guest SSID's virtual AP is a virtual
  port of the AP's daemon). Which SSIDs an AP has comes from the switch intent, the
  one place that decides it, so the lab tests what dcctl pushes;
* the guest network's gateway address sits on the gateway like an OPD network's,
  and an internet stand-in namespace on the WAN bridge is what guests may reach.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections import defaultdict

from dcctl.i18n import _
from dcctl.lab.plan import (
    EdgePlan,
    LabPlanError,
    Namespace,
    Route,
    StationPlan,
    Veth,
    VethEnd,
)
from dcctl.lab.planners import fabric
from dcctl.lab.planners.wiring import FACTORY_VLAN, WAN_PREFIX_LEN, Wiring, cidr, host_at
from dcctl.plan.switching import switch_intents
from dcctl.spec.site import canonical_port

#: Where a Wi-Fi client sits in its subnet: counted down from the top of an OPD's
#: staff LAN (building hosts count up from .10), up from .10 in the guest subnet.
STATION_FROM_TOP = 10
GUEST_FIRST_HOST = 10
#: The gateway's WAN address when the spec has no VPN hub to give it one (TEST-NET-1).
EDGE_WAN = "192.0.2.1"
GUEST_KEY = "guest"


def guest_network(w: Wiring) -> tuple[int, str] | None:
    """(VLAN, prefix) of the site's guest network when some OPD broadcasts it."""
    site = w.spec.site
    guest = site.wifi.guest if site.wifi is not None else None
    if guest is None or not any(o.wifi and o.wifi.guest for o in w.spec.opds.values()):
        return None
    return guest.vlan, guest.prefix


def plan_guest_gateway(w: Wiring) -> None:
    """The guest network's gateway on the gateway, like an OPD network (its first host)."""
    found = guest_network(w)
    if found is not None:
        vlan, prefix = found
        fabric.gateway_network(w, GUEST_KEY, vlan, prefix, host_at(prefix, 1))


def plan_radio_air(w: Wiring) -> None:
    """Both wireless ports of each radio link share the link's air."""
    vendors = {s.name: s.vendor for s in w.spec.site.switches}
    for link in w.spec.site.links:
        if link.medium != "radio":
            continue
        for end in (link.a, link.b):
            sw, _, port = end.partition(":")
            w.air[sw].append((canonical_port(vendors[sw], port), link.name))


def plan_stations(w: Wiring) -> None:
    """A Wi-Fi client namespace per SSID of each AP's first radio."""
    alloc, plan = w.spec.allocation, w.plan
    guest = guest_network(w)
    taken: dict[str, int] = defaultdict(int)  # subnet -> clients placed in it
    for name, intent in switch_intents(w.spec).items():
        if intent.role != "ap" or not intent.wireless:
            continue
        first = sorted(intent.wireless)[0]
        for ssid in intent.wireless[first]["ssids"]:
            iface = ssid["interface"]
            opd = None if ssid.get("guest") else ssid.get("opd")
            if opd is not None:
                key = f"{opd}/lan"
                if key not in alloc.prefixes:
                    continue
                prefix, gw = alloc.prefixes[key], alloc.gateway(key)
                addr = host_at(prefix, -(STATION_FROM_TOP + taken[prefix]))
            elif guest is not None:
                prefix = guest[1]
                gw = host_at(prefix, 1)
                addr = host_at(prefix, GUEST_FIRST_HOST + taken[prefix])
            else:
                continue
            taken[prefix] += 1
            end = _ap_port(w, name, iface)
            ns = f"{w.p}-w-{name}-{iface}"
            dev = end.ifname + "d"
            plan.namespaces.append(Namespace(ns, "wifi-client"))
            plan.veths.append(
                Veth(
                    "wifi",
                    f"Wi-Fi client of {ssid['ssid']} on {name}",
                    end,
                    VethEnd(dev, netns=ns, addresses=(cidr(addr, prefix),), tx_off=True),
                )
            )
            plan.routes.append(Route(ns, "default", dev, via=gw))
            plan.stations.append(
                StationPlan(name, iface, ssid["ssid"], opd, ns, dev, cidr(addr, prefix), gw)
            )


def _ap_port(w: Wiring, ap: str, iface: str) -> VethEnd:
    """The AP's lab port for `iface`: a hardware port (claimed), or a virtual port."""
    if (ap, iface) in w.port_index:
        return w.switch_end(w.claim(f"{ap}:{iface}", f"Wi-Fi client on {ap}:{iface}"))
    k = len(w.virtual[ap])
    ovs = f"{w.p}s{w.sw_index[ap]}v{k}"
    w.virtual[ap].append((iface, ovs))
    return VethEnd(ovs, ovs_bridge=f"{w.p}s{w.sw_index[ap]}", ovs_tag=FACTORY_VLAN)


def plan_edge(w: Wiring) -> None:
    """The gateway's rules' inputs, and the internet stand-in when guests need one."""
    plan = w.plan
    lans = tuple(
        (g.key.partition("/")[0], g.ifname) for g in plan.gateway_networks if g.key.endswith("/lan")
    )
    guest = next((g for g in plan.gateway_networks if g.key == GUEST_KEY), None)
    chain = f"{w.p.upper()}-EDGE"
    if guest is None:
        plan.edge = EdgePlan(plan.gateway_netns, chain, lans) if len(lans) > 1 else None
        return
    assert plan.wan is not None
    wan_ip = w.hub_ip or EDGE_WAN
    if w.hub_ip is None:  # the gateway needs a WAN address to hide the guests behind
        plan.veths = [
            dataclasses.replace(
                v, a=dataclasses.replace(v.a, addresses=(f"{wan_ip}/{WAN_PREFIX_LEN}",))
            )
            if v.a.ifname == plan.wan.gateway_ifname
            else v
            for v in plan.veths
        ]
    inet_ns = f"{w.p}-inet"
    inet = f"{_internet_address(w, wan_ip)}/{WAN_PREFIX_LEN}"
    plan.namespaces.append(Namespace(inet_ns, "internet"))
    plan.veths.append(
        Veth(
            "wan",
            "internet stand-in -> WAN",
            VethEnd(f"{w.p}in", netns=inet_ns, addresses=(inet,)),
            VethEnd(f"{w.p}inb", netns=w.wan_ns, linux_bridge=w.wan_bridge),
        )
    )
    plan.edge = EdgePlan(
        plan.gateway_netns,
        chain,
        lans,
        guest_ifname=guest.ifname,
        guest_prefix=guest.prefix,
        guest_gateway=guest.address.split("/")[0],
        wan_ifname=plan.wan.gateway_ifname,
        internet_netns=inet_ns,
        internet_address=inet,
    )


def _internet_address(w: Wiring, wan_ip: str) -> str:
    """The highest address of the gateway's WAN /24 that no office and no hub holds."""
    net = ipaddress.ip_network(f"{wan_ip}/{WAN_PREFIX_LEN}", strict=False)
    taken = {wan_ip, *(o.wan_address for opd in w.spec.opds.values() for o in opd.offices)}
    for n in range(2, 250):
        cand = host_at(str(net), -n)
        if cand not in taken:
            return cand
    raise LabPlanError(
        _("no free address for the internet stand-in in {prefix}").format(prefix=net)
    )
