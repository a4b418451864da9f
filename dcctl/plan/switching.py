"""Which VLAN every switch port must carry, derived from the spec's topology.

Access ports follow what is plugged in (a building LAN, a camera); trunks on
fiber, copper and radio links carry exactly the VLANs that have members on both
sides of the link (pruning), and hypervisor uplinks carry every OPD VLAN because the
inter-VLAN gateway and firewall sit on the hypervisors. Vendor syntax is not
known here: renderers turn this intent into IOS or RouterOS lines.

Radios and access points (issue 20) are switches of the same graph: a radio's
wireless interface is a trunk port of its link, an access point's SSIDs are
members of their VLANs (the OPD's staff LAN, the site's guest VLAN), so pruning
carries a VLAN to an AP exactly when one of its SSIDs needs it. Their wireless
settings are the intent's ``wireless`` part; secrets stay references.

The site's gateway (``role: gateway``) is a switch of the graph as well; its
intent's ``edge`` part is the edge policy (:mod:`dcctl.plan.edge`) with the
addresses of its zones, for the vendor driver to render as a firewall.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from dcctl.plan.edge import GUEST, MGMT, edge_policy, staff
from dcctl.spec.checks import opd_networks, vlan_name
from dcctl.spec.interfaces import model_caps
from dcctl.spec.ipam import first_host
from dcctl.spec.loader import Spec
from dcctl.spec.site import Site, canonical_port
from dcctl.spec.wireless_checks import wireless_caps

#: The guest network's VLAN name on every switch (issue 20).
GUEST_VLAN_NAME = "GUEST-WIFI"
#: Link descriptions by medium: what a port's description says it carries.
_LINK_TAG = {"fiber": "FO", "copper": "CU", "radio": "RF"}


@dataclass
class PortIntent:
    name: str
    mode: str  # "access" | "trunk"
    vlan: int | None = None
    trunk_vlans: list[int] = field(default_factory=list)
    description: str = ""

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"mode": self.mode, "description": self.description}
        if self.mode == "access":
            d["vlan"] = self.vlan
        else:
            d["trunk_vlans"] = self.trunk_vlans
        return d


@dataclass
class SwitchIntent:
    name: str
    vendor: str
    mgmt_address: str
    managed: str
    vlans: dict[int, str] = field(default_factory=dict)  # id -> name
    ports: dict[str, PortIntent] = field(default_factory=dict)
    #: The model speaks ISL too: trunks need `encapsulation dot1q` (ModelCaps).
    dot1q_encapsulation: bool = False
    #: Radios and APs: wireless interface -> its settings (mode, band, SSIDs with
    #: credential references, never secrets). Empty for a wired switch.
    wireless: dict[str, dict[str, Any]] = field(default_factory=dict)
    role: str = ""
    #: The gateway only: its WAN port, each zone's prefixes, its own address in a
    #: zone, and the ordered edge rules (:func:`edge_intent`). Empty otherwise.
    edge: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "vendor": self.vendor,
            "mgmt_address": self.mgmt_address,
            "managed": self.managed,
            "vlans": {str(k): v for k, v in sorted(self.vlans.items())},
            "ports": {k: p.to_dict() for k, p in sorted(self.ports.items())},
        }
        if self.dot1q_encapsulation:  # only then: intents of other models stay as they were
            out["dot1q_encapsulation"] = True
        if self.wireless:  # radios and APs only: wired switches' intents stay as they were
            out["role"] = self.role
            out["wireless"] = {k: self.wireless[k] for k in sorted(self.wireless)}
        if self.edge:  # the gateway only
            out["role"] = self.role
            out["edge"] = self.edge
        return out


def switch_intents(spec: Spec) -> dict[str, SwitchIntent]:
    site, alloc = spec.site, spec.allocation
    sws = {s.name: s for s in site.switches}
    out = {
        s.name: SwitchIntent(
            s.name,
            s.vendor,
            s.mgmt_address,
            s.managed,
            dot1q_encapsulation=bool(
                (caps := model_caps(s.vendor, s.model)) and caps.dot1q_encapsulation
            ),
        )
        for s in site.switches
    }
    names: dict[int, str] = {site.management.vlan: "MGMT"}
    # VLAN members: switch -> vlans with an access port or hypervisor uplink on it.
    members: dict[int, set[str]] = defaultdict(set)
    all_vlans: set[int] = set()
    for code, opd in spec.opds.items():
        for net in opd_networks(opd):
            vid = alloc.vlans.get(f"{code}/{net}")
            if vid is not None:
                names[vid] = vlan_name(code, net)
                all_vlans.add(vid)
        for b in opd.buildings:
            vid = alloc.vlans.get(f"{code}/lan")
            sw = sws[b.switch]
            for port in b.lan_ports:
                p = canonical_port(sw.vendor, port)
                out[b.switch].ports[p] = PortIntent(p, "access", vid, [], f"LAN {code} {b.name}")
                if vid is not None:
                    members[vid].add(b.switch)
        for cam in opd.cameras:
            sw_name, _, port = cam.port.partition(":")
            vid = alloc.vlans.get(f"{code}/cctv")
            p = canonical_port(sws[sw_name].vendor, port)
            out[sw_name].ports[p] = PortIntent(p, "access", vid, [], f"CCTV {code} {cam.name}")
            if vid is not None:
                members[vid].add(sw_name)
    guest = site.wifi.guest if site.wifi is not None else None
    if guest is not None and any(o.wifi and o.wifi.guest for o in spec.opds.values()):
        names[guest.vlan] = GUEST_VLAN_NAME
        all_vlans.add(guest.vlan)  # its gateway sits on the hypervisors, like the OPDs'
    _access_points(spec, out, members)
    _radios(site, out)
    for sw in site.switches:
        if sw.role == "gateway":
            out[sw.name].role = "gateway"
            out[sw.name].edge = edge_intent(spec, canonical_port(sw.vendor, str(sw.wan_port)))
    mgmt = site.management.vlan
    uplink_vlans = sorted(all_vlans | {mgmt})
    for node in site.hypervisors.nodes:
        sw_name, _, port = node.uplink.partition(":")
        p = canonical_port(sws[sw_name].vendor, port)
        out[sw_name].ports[p] = PortIntent(p, "trunk", None, uplink_vlans, f"HV {node.name}")
        for vid in uplink_vlans:
            members[vid].add(sw_name)
    members[mgmt].update(sws)  # every switch is managed in-band as well
    # Trunk pruning over the link graph: a VLAN crosses a link when members of
    # that VLAN sit on both sides of it (the link graph is a tree in practice;
    # for a cycle, both sides are found by walking without that link).
    ends = [(link.a.partition(":")[0], link.b.partition(":")[0]) for link in site.links]
    carried_by = carried_vlans(ends, members)
    for i, link in enumerate(site.links):
        a_sw, _, a_port = link.a.partition(":")
        b_sw, _, b_port = link.b.partition(":")
        carried = carried_by[i]
        tag = _LINK_TAG[link.medium]
        for sw_name, port, peer in ((a_sw, a_port, b_sw), (b_sw, b_port, a_sw)):
            p = canonical_port(sws[sw_name].vendor, port)
            desc = f"{tag} {link.name} {peer}"
            out[sw_name].ports[p] = PortIntent(p, "trunk", None, carried, desc)
    for sw in out.values():
        used = {p.vlan for p in sw.ports.values() if p.vlan} | {
            v for p in sw.ports.values() for v in p.trunk_vlans
        }
        sw.vlans = {v: names[v] for v in sorted(used) if v in names}
    return out


def edge_intent(spec: Spec, wan_port: str) -> dict[str, Any]:
    """The gateway's ``edge`` intent: the policy for the OPDs with a staff LAN (spec
    order) and the site's guest network, with the prefixes each zone stands for."""
    site, alloc = spec.site, spec.allocation
    staff_lans = {code: alloc.prefixes[f"{code}/lan"] for code in spec.opds
                  if f"{code}/lan" in alloc.prefixes}  # fmt: skip
    guest = site.wifi.guest if site.wifi is not None else None
    zones = {staff(code): [prefix] for code, prefix in staff_lans.items()}
    zones[MGMT] = [str(site.management.prefix)]
    me: dict[str, str] = {}
    if guest is not None:
        zones[GUEST] = [str(guest.prefix)]
        me[GUEST] = first_host(str(guest.prefix))
    return {
        "wan_port": wan_port,
        "zones": zones,
        "self": me,
        "rules": [asdict(r) for r in edge_policy(list(staff_lans), guest is not None)],
    }


def _access_points(spec: Spec, out: dict[str, SwitchIntent], members: dict[int, set[str]]) -> None:
    """Each AP's SSIDs on its radios, each an access port of its VLAN (a member of it).

    The OPD's SSID rides the AP's wireless interface itself (untagged in the OPD's
    staff LAN VLAN); the guest SSID is a virtual AP on each radio (``wlan1-guest``)
    in the guest VLAN. Passphrases stay references (the key store resolves them).
    """
    site, alloc = spec.site, spec.allocation
    guest = site.wifi.guest if site.wifi is not None else None
    sws = {s.name: s for s in site.switches}
    for code, opd in spec.opds.items():
        if opd.wifi is None:
            continue
        lan = alloc.vlans.get(f"{code}/lan")
        for b in opd.buildings:
            for ap_name in b.access_points:
                sw, intent = sws.get(ap_name), out.get(ap_name)
                caps = wireless_caps(sw) if sw is not None else None
                if intent is None or caps is None or lan is None:
                    continue
                intent.role = "ap"
                for iface, band in zip(caps.interfaces(), caps.bands, strict=True):
                    ssids: list[dict[str, Any]] = [
                        {
                            "interface": iface,
                            "ssid": opd.wifi.ssid,
                            "vlan": lan,
                            "security": opd.wifi.security,
                            "passphrase": opd.wifi.passphrase,
                            "opd": code,
                        }
                    ]
                    intent.ports[iface] = PortIntent(
                        iface, "access", lan, [], f"WIFI {code} {opd.wifi.ssid}"
                    )
                    members[lan].add(ap_name)
                    if opd.wifi.guest and guest is not None:
                        virtual = f"{iface}-guest"
                        ssids.append(
                            {
                                "interface": virtual,
                                "ssid": guest.ssid,
                                "vlan": guest.vlan,
                                "security": "wpa2" if guest.passphrase else "open",
                                "passphrase": guest.passphrase,
                                "guest": True,
                            }
                        )
                        intent.ports[virtual] = PortIntent(
                            virtual, "access", guest.vlan, [], f"WIFI guest {guest.ssid}"
                        )
                        members[guest.vlan].add(ap_name)
                    intent.wireless[iface] = {
                        "mode": "ap-bridge",
                        "band": band,
                        "country": site.wifi.country if site.wifi else "indonesia",
                        "building": f"{code}/{b.name}",
                        "ssids": ssids,
                    }


def _radios(site: Site, out: dict[str, SwitchIntent]) -> None:
    """Each radio link's two ends: the ``a`` end bridges, the ``b`` end is its station."""
    sws = {s.name: s for s in site.switches}
    for link in site.links:
        if link.medium != "radio":
            continue
        for side, mode in (("a", "bridge"), ("b", "station-bridge")):
            sw_name, _, port = getattr(link, side).partition(":")
            sw = sws.get(sw_name)
            if sw is None or sw.radio is None:
                continue
            iface = canonical_port(sw.vendor, port)
            out[sw_name].role = "radio"
            out[sw_name].wireless[iface] = {
                "mode": mode,
                "band": sw.radio.band,
                "channel_width_mhz": sw.radio.channel_width_mhz,
                "frequency_mhz": sw.radio.frequency_mhz,
                "protocol": sw.radio.protocol,
                "country": site.wifi.country if site.wifi else "indonesia",
                "ssid": link.name,
                "link": link.name,
                "distance_m": link.length_m,
                "key": link.key,
            }


def carried_vlans(ends: list[tuple[str, str]], members: dict[int, set[str]]) -> list[list[int]]:
    """For each link (its two switches), the VLANs with members on both of its sides, sorted.

    A side of a link is what its end reaches without that link. A link on a cycle
    (or beside a parallel link) has the whole connected part on both sides, so it
    carries every VLAN with a member there; a bridge (every link of a tree) splits its
    part in two: the subtree below it in a depth-first tree, and the rest. So one
    depth-first search finds the bridges and each VLAN's members are counted up the
    tree; a bridge carries a VLAN when the subtree below it holds some of the VLAN's
    members of that part, but not all. Linear in switches, links and VLAN
    memberships times the tree's depth, where walking both sides of every link for
    every VLAN was quadratic (issue 17: half a second at ten times the benchmark).
    """
    adj: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, (a, b) in enumerate(ends):
        adj[a].append((b, i))
        adj[b].append((a, i))
    parent: dict[str, tuple[str, int] | None] = {}  # node -> (parent, link) in the tree
    root: dict[str, str] = {}
    tin: dict[str, int] = {}
    low: dict[str, int] = {}
    bridge_child: dict[int, str] = {}  # a bridge -> the node below it
    for start in adj:
        if start in tin:
            continue
        parent[start], root[start] = None, start
        tin[start] = low[start] = len(tin)
        stack = [(start, iter(adj[start]))]
        while stack:
            node, todo = stack[-1]
            step = next(todo, None)
            if step is None:
                stack.pop()
                up = parent[node]
                if up is not None:
                    above, link = up
                    low[above] = min(low[above], low[node])
                    if low[node] > tin[above]:
                        bridge_child[link] = node
                continue
            nxt, link = step
            if nxt not in tin:
                parent[nxt], root[nxt] = (node, link), start
                tin[nxt] = low[nxt] = len(tin)
                stack.append((nxt, iter(adj[nxt])))
            elif parent[node] is None or parent[node][1] != link:  # type: ignore[index]
                low[node] = min(low[node], tin[nxt])
    on_cycles: dict[str, list[int]] = defaultdict(list)  # part -> its links that are no bridge
    for i, (a, _) in enumerate(ends):
        if i not in bridge_child:
            on_cycles[root[a]].append(i)
    carried: list[list[int]] = [[] for _ in ends]
    for vid in sorted(members):
        here: dict[str, int] = defaultdict(int)  # part (its root) -> members of vid in it
        below: dict[int, int] = defaultdict(int)  # tree link -> members of vid under it
        for sw in members[vid]:
            if sw not in root:
                continue  # on no link
            here[root[sw]] += 1
            up = parent[sw]
            while up is not None:
                below[up[1]] += 1
                up = parent[up[0]]
        for part in here:
            for i in on_cycles.get(part, ()):
                carried[i].append(vid)
        for i, count in below.items():
            if i in bridge_child and count < here[root[ends[i][0]]]:
                carried[i].append(vid)
    for links in carried:
        links.sort()
    return carried
