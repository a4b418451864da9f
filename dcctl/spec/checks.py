"""Cross-document checks: references, uniqueness, capacity and policy.

Pydantic validates each document alone; these rules need the whole regency
(a camera's switch port lives in the Site, a VM's quota in its OPD).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import netaddr

from dcctl.spec.errors import SpecError
from dcctl.spec.ipam import (
    AddressRequest,
    Allocation,
    Lock,
    Pool,
    PrefixRequest,
    VlanRequest,
    allocate,
)
from dcctl.spec.ports import PortClaimError, PortClaims
from dcctl.spec.site import Site
from dcctl.spec.source import SourceDoc
from dcctl.spec.tenancy import Opd

NETWORKS = ("servers", "cctv", "lan")


def _dupes(items: list[Any], attr: str) -> list[tuple[int, str]]:
    seen: set[str] = set()
    out: list[tuple[int, str]] = []
    for i, item in enumerate(items):
        v = getattr(item, attr)
        if v in seen:
            out.append((i, v))
        seen.add(v)
    return out


def _vm_ref(ref: str, opds: dict[str, Opd]) -> bool:
    code, _, vm = ref.partition("/")
    return code in opds and any(v.name == vm for v in opds[code].vms)


def check_spec(site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc]) -> list[SpecError]:
    errors: list[SpecError] = []
    sd = sources["site"]
    sw_by_name = {s.name: s for s in site.switches}
    claims = PortClaims(site.switches)

    for field in ("switches", "links"):
        for i, name in _dupes(getattr(site, field), "name"):
            errors.append(sd.error((field, i, "name"), f"duplicate name {name!r}"))
    for i, name in _dupes(site.hypervisors.nodes, "name"):
        errors.append(sd.error(("hypervisors", "nodes", i, "name"), f"duplicate node {name!r}"))

    mgmt = netaddr.IPNetwork(site.management.prefix)
    if netaddr.IPAddress(site.management.gateway) not in mgmt:
        errors.append(sd.error(("management", "gateway"), f"gateway is outside {mgmt}"))
    seen_mgmt: dict[str, str] = {}
    for i, sw in enumerate(site.switches):
        if netaddr.IPAddress(sw.mgmt_address) not in mgmt:
            errors.append(
                sd.error(
                    ("switches", i, "mgmt_address"),
                    f"{sw.mgmt_address} is outside the management network {mgmt}",
                )
            )
        if sw.mgmt_address in seen_mgmt or sw.mgmt_address == site.management.gateway:
            errors.append(
                sd.error(
                    ("switches", i, "mgmt_address"),
                    f"{sw.mgmt_address} is already used by "
                    f"{seen_mgmt.get(sw.mgmt_address, 'the gateway')}",
                )
            )
        seen_mgmt[sw.mgmt_address] = sw.name
        names = sw.port_names()
        if len(names) != len(set(names)):
            errors.append(sd.error(("switches", i, "ports"), "a port is listed twice"))

    def use_port(ref: str, who: str, doc: SourceDoc, path: tuple[Any, ...]) -> None:
        try:
            claims.claim(ref, who)
        except PortClaimError as exc:
            errors.append(doc.error(path, str(exc), exc.hint or _choices(sw_by_name)))

    for i, node in enumerate(site.hypervisors.nodes):
        use_port(
            node.uplink, f"hypervisor node {node.name}", sd, ("hypervisors", "nodes", i, "uplink")
        )
    for i, link in enumerate(site.links):
        if link.a.partition(":")[0] == link.b.partition(":")[0]:
            errors.append(sd.error(("links", i), "a link must join two different switches"))
        use_port(link.a, f"link {link.name}", sd, ("links", i, "a"))
        use_port(link.b, f"link {link.name}", sd, ("links", i, "b"))

    pools = {
        "ipam.server_pool": site.ipam.server_pool,
        "ipam.cctv_pool": site.ipam.cctv_pool,
        "ipam.lan_pool": site.ipam.lan_pool,
        "management.prefix": site.management.prefix,
    }
    if site.vpn:
        pools["vpn.tunnel_pool"] = site.vpn.tunnel_pool
    names = list(pools)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            na, nb = netaddr.IPNetwork(pools[a]), netaddr.IPNetwork(pools[b])
            if na in nb or nb in na:
                errors.append(
                    sd.error(
                        tuple(b.split(".")),
                        f"{pools[b]} overlaps {a} {pools[a]}",
                        "site pools must be disjoint",
                    )
                )
    for attr, ref in (("vpn", site.vpn), ("monitoring", site.monitoring)):
        if ref is not None and not _vm_ref(ref.vm, opds):
            errors.append(sd.error((attr, "vm"), f"unknown VM {ref.vm!r}", "write it as OPD/VM"))
    if site.cctv is not None and not _vm_ref(site.cctv.nvr_vm, opds):
        errors.append(
            sd.error(("cctv", "nvr_vm"), f"unknown VM {site.cctv.nvr_vm!r}", "write it as OPD/VM")
        )

    node_names = {n.name for n in site.hypervisors.nodes}
    total_disk = 0
    total_rec = 0.0
    wan_seen: dict[str, str] = {}
    internal = [netaddr.IPNetwork(p) for p in pools.values()]
    for code, opd in opds.items():
        od = sources[f"opd/{code}"]
        for field in ("vms", "offices", "cameras", "buildings"):
            for i, name in _dupes(getattr(opd, field), "name"):
                errors.append(od.error((field, i, "name"), f"duplicate {field[:-1]} name {name!r}"))
        for i, b in enumerate(opd.buildings):
            sw = sw_by_name.get(b.switch)
            if sw is None:
                errors.append(
                    od.error(
                        ("buildings", i, "switch"),
                        f"unknown switch {b.switch!r}",
                        _choices(sw_by_name),
                    )
                )
                continue
            for j, port in enumerate(b.lan_ports):
                use_port(
                    f"{b.switch}:{port}",
                    f"{code} building {b.name}",
                    od,
                    ("buildings", i, "lan_ports", j),
                )
        for i, cam in enumerate(opd.cameras):
            use_port(cam.port, f"{code} camera {cam.name}", od, ("cameras", i, "port"))
            total_rec += cam.storage_gb()
        vcpu = mem = disk = 0
        for i, vm in enumerate(opd.vms):
            vcpu += vm.vcpu
            mem += vm.memory_gb
            disk += vm.disk_gb
            cls = vm.classification or opd.classification
            if cls == "rahasia" and vm.exposure == "public":
                errors.append(
                    od.error(
                        ("vms", i, "exposure"),
                        f"VM {vm.name} is classified rahasia and cannot be public",
                        "set exposure: internal, or reclassify after review",
                    )
                )
            if vm.node is not None and vm.node not in node_names:
                errors.append(
                    od.error(
                        ("vms", i, "node"),
                        f"unknown hypervisor node {vm.node!r}",
                        _choices(node_names),
                    )
                )
        total_disk += disk
        q = opd.quota
        for what, used, limit in (
            ("vcpu", vcpu, q.vcpu),
            ("memory_gb", mem, q.memory_gb),
            ("disk_gb", disk, q.disk_gb),
            ("vms", len(opd.vms), q.vms),
            ("cameras", len(opd.cameras), q.cameras),
        ):
            if used > limit:
                errors.append(
                    od.error(
                        ("quota", what),
                        f"quota exceeded: {what} {used} > {limit}",
                        "raise the quota (needs approval) or shrink the request",
                    )
                )
        for i, off in enumerate(opd.offices):
            if off.wan_address in wan_seen:
                errors.append(
                    od.error(
                        ("offices", i, "wan_address"),
                        f"WAN address {off.wan_address} already used by "
                        f"{wan_seen[off.wan_address]}",
                    )
                )
            wan_seen[off.wan_address] = f"{code}/{off.name}"
            if any(netaddr.IPAddress(off.wan_address) in n for n in internal):
                errors.append(
                    od.error(
                        ("offices", i, "wan_address"),
                        "WAN address lies inside an internal pool",
                        "use the office's public address",
                    )
                )
        if opd.offices and site.vpn is None:
            errors.append(od.error(("offices",), "the Site has no vpn hub for offices"))
        if opd.cameras and site.cctv is None:
            errors.append(od.error(("cameras",), "the Site has no cctv.nvr_vm to record cameras"))
    if total_disk > site.storage.vm_capacity_gb:
        errors.append(
            sd.error(
                ("storage", "vm_capacity_gb"),
                f"VMs need {total_disk} GB, the site offers {site.storage.vm_capacity_gb} GB",
            )
        )
    if total_rec > site.storage.recording_capacity_gb:
        errors.append(
            sd.error(
                ("storage", "recording_capacity_gb"),
                f"cameras need {total_rec:,.0f} GB of recordings, the site offers "
                f"{site.storage.recording_capacity_gb} GB",
                "lower bitrate or retention, or add NVR storage",
            )
        )
    return errors


def _choices(names: Any) -> str:
    names = sorted(names)
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    return f"known: {shown}" if names else "none defined"


def opd_networks(opd: Opd) -> list[str]:
    """The networks an OPD needs: servers always, CCTV and LAN when it has them."""
    nets = ["servers"]
    if opd.cameras:
        nets.append("cctv")
    if opd.buildings:
        nets.append("lan")
    return nets


def plan_ipam(
    site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc], lock: Lock
) -> tuple[Allocation, list[SpecError]]:
    """Turn the spec into keyed IPAM requests, allocate, and locate any problem."""
    where: dict[str, tuple[SourceDoc, tuple[Any, ...]]] = {}
    vreq: list[VlanRequest] = []
    preq: list[PrefixRequest] = []
    areq: list[AddressRequest] = []
    pool_of = {"servers": "server_pool", "cctv": "cctv_pool", "lan": "lan_pool"}
    for code, opd in opds.items():
        od = sources[f"opd/{code}"]
        for net in opd_networks(opd):
            pin = getattr(opd.network, net)
            key = f"{code}/{net}"
            where[key] = (od, ("network", net) if pin else ("code",))
            vreq.append(VlanRequest(key, pin.vlan if pin else None))
            preq.append(PrefixRequest(key, pool_of[net], pin.prefix if pin else None))
        for i, vm in enumerate(opd.vms):
            key = f"{code}/servers/{vm.name}"
            where[key] = (od, ("vms", i, "address") if vm.address else ("vms", i))
            areq.append(AddressRequest(key, f"{code}/servers", 10, vm.address))
        for i, cam in enumerate(opd.cameras):
            key = f"{code}/cctv/{cam.name}"
            where[key] = (od, ("cameras", i, "address") if cam.address else ("cameras", i))
            areq.append(AddressRequest(key, f"{code}/cctv", 2, cam.address))
        for i, off in enumerate(opd.offices):
            key = f"{code}/office/{off.name}"
            where[key] = (od, ("offices", i, "lan_prefix") if off.lan_prefix else ("offices", i))
            preq.append(PrefixRequest(key, "lan_pool", off.lan_prefix))
            tkey = f"vpn/{code}/{off.name}"
            where[tkey] = (
                od,
                ("offices", i, "tunnel_address") if off.tunnel_address else ("offices", i),
            )
            areq.append(AddressRequest(tkey, "vpn/tunnel", 2, off.tunnel_address))
    if site.vpn is not None:
        sd = sources["site"]
        where["vpn/tunnel"] = (sd, ("vpn", "tunnel_pool"))
        where["vpn/hub"] = (sd, ("vpn", "tunnel_pool"))
        preq.append(PrefixRequest("vpn/tunnel", "server_pool", site.vpn.tunnel_pool))
        areq.append(AddressRequest("vpn/hub", "vpn/tunnel", 1, None))
    ip = site.ipam
    pools = {
        "server_pool": Pool(ip.server_pool, ip.server_prefix_length),
        "cctv_pool": Pool(ip.cctv_pool, ip.cctv_prefix_length),
        "lan_pool": Pool(ip.lan_pool, ip.lan_prefix_length),
    }
    allocation, problems = allocate(
        lock, ip.vlan_range, pools, vreq, preq, areq, reserved=[site.management.prefix]
    )
    errors: list[SpecError] = []
    by_doc: dict[str, list[str]] = defaultdict(list)
    for p in problems:
        doc, path = where.get(p.key, (sources["site"], ("ipam",)))
        by_doc[doc.file].append(p.key)
        msg = p.message
        if p.key.startswith("vpn/") and "no free address" in msg:
            msg = f"VPN tunnel pool exhausted: {msg}"
            p = type(p)(p.key, msg, "enlarge vpn.tunnel_pool in the Site")
        errors.append(doc.error(path, f"IPAM {p.key}: {msg}", p.hint))
    return allocation, errors
