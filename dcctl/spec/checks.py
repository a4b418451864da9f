"""Cross-document checks: references, uniqueness, capacity and policy.

Pydantic validates each document alone; these rules need the whole regency
(a camera's switch port lives in the Site, a VM's quota in its OPD).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import netaddr

from dcctl.i18n import N_, _
from dcctl.spec.age import DocumentAge
from dcctl.spec.backup import WEAKER_HINT, effective, explicit, weaker
from dcctl.spec.compute import DISK_SHRINK_HINT, Vm, disk_shrink
from dcctl.spec.credentials import (
    SITE,
    Declaration,
    credential_uses,
    declarations,
    namespace_problem,
)
from dcctl.spec.errors import SpecError
from dcctl.spec.interfaces import is_physical, limits, model_caps, vlan_name_max
from dcctl.spec.ipam import (
    AddressRequest,
    Allocation,
    Lock,
    Pool,
    PrefixRequest,
    VlanRequest,
    address_value,
    allocate,
)
from dcctl.spec.ports import PortClaimError, PortClaims
from dcctl.spec.site import Site
from dcctl.spec.source import SourceDoc
from dcctl.spec.tenancy import Opd
from dcctl.spec.wireless_checks import guest_lock_errors, wireless_errors

NETWORKS = ("servers", "dmz", "cctv", "lan")


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
    code, _sep, vm = ref.partition("/")
    return code in opds and any(v.name == vm for v in opds[code].vms)


def check_spec(
    site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc], root: Path | None = None
) -> list[SpecError]:
    """Every cross-document rule, each error with its file, line and field.

    The order of the checks is the order of the errors a person reads, and port
    claims are first-come: site ports (hypervisor uplinks, links) before OPD ports.
    When two documents collide (a port, a WAN address), the error goes on the newer
    one (:mod:`dcctl.spec.age`, from the files under ``root``), naming the other.
    """
    return _run_checks(site, opds, sources, root).errors


def port_users(spec: Any) -> dict[tuple[str, str], str]:
    """Who uses each switch port of a loaded spec: (switch, canonical port) -> user.

    The checks' own claims, so `dcctl show PATH ports` marks free exactly the ports
    validation would let a new building, camera or link take.
    """
    return dict(_run_checks(spec.site, spec.opds, spec.sources, spec.root).claims.users)


def _run_checks(
    site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc], root: Path | None = None
) -> _Checker:
    check = _Checker(site, opds, sources)
    check.age = DocumentAge(root)
    check.site_names()
    check.switch_owners()
    check.management()
    check.site_ports()
    pools = check.pools()
    check.service_vms()
    internal = [netaddr.IPNetwork(p) for p in pools.values()]
    for code, opd in opds.items():
        check.opd(code, opd, internal)
    check.storage()
    check.backups()
    check.vendor_limits()
    check.credentials()
    check.errors.extend(wireless_errors(site, opds, sources))
    return check


class _Checker:
    """The rules of :func:`check_spec`, one method per concern, sharing what they collect."""

    def __init__(self, site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc]) -> None:
        self.site, self.opds, self.sources = site, opds, sources
        self.sd = sources["site"]
        self.errors: list[SpecError] = []
        self.sw_by_name = {s.name: s for s in site.switches}
        self.claims = PortClaims(site.switches)
        self.node_names = {n.name for n in site.hypervisors.nodes}
        self.total_disk = 0
        self.total_rec = 0.0
        self.wan_seen: dict[str, str] = {}
        self.age = DocumentAge(None)
        # Where each claim was made, so a collision can be reported on the newer side.
        self.port_at: dict[tuple[str, str], tuple[SourceDoc, tuple[Any, ...]]] = {}
        self.wan_at: dict[str, tuple[SourceDoc, tuple[Any, ...]]] = {}

    def use_port(self, ref: str, who: str, doc: SourceDoc, path: tuple[Any, ...]) -> None:
        try:
            key = self.claims.claim(ref, who)
        except PortClaimError as exc:
            try:
                key = self.claims.resolve(ref)
            except PortClaimError:
                key = None
            holder = self.port_at.get(key) if key is not None else None
            if holder is not None and self.age.newer(holder[0].file, doc.file):
                # The holder's document is the new one: the error belongs there.
                held = self.claims.users[key]
                self.errors.append(
                    holder[0].error(
                        holder[1],
                        _("port {port} is already used by {user} ({file})").format(
                            port=f"{key[0]}:{key[1]}", user=who, file=doc.file
                        ),
                        exc.hint,
                    )
                )
                self.claims.users[key] = f"{held} / {who}"
                return
            if holder is not None:
                exc = PortClaimError(f"{exc} ({holder[0].file})", exc.hint)
            self.errors.append(doc.error(path, str(exc), exc.hint or _choices(self.sw_by_name)))
            return
        self.port_at[key] = (doc, path)

    def site_names(self) -> None:
        sd, site = self.sd, self.site
        for field in ("switches", "links"):
            for i, name in _dupes(getattr(site, field), "name"):
                self.errors.append(
                    sd.error((field, i, "name"), _("duplicate name {name!r}").format(name=name))
                )
        for i, name in _dupes(site.hypervisors.nodes, "name"):
            self.errors.append(
                sd.error(
                    ("hypervisors", "nodes", i, "name"),
                    _("duplicate node {name!r}").format(name=name),
                )
            )

    def management(self) -> None:
        sd, site = self.sd, self.site
        mgmt = netaddr.IPNetwork(site.management.prefix)
        if netaddr.IPAddress(site.management.gateway) not in mgmt:
            self.errors.append(
                sd.error(("management", "gateway"), _("gateway is outside {net}").format(net=mgmt))
            )
        seen_mgmt: dict[str, str] = {}
        for i, sw in enumerate(site.switches):
            if netaddr.IPAddress(sw.mgmt_address) not in mgmt:
                self.errors.append(
                    sd.error(
                        ("switches", i, "mgmt_address"),
                        _("{address} is outside the management network {net}").format(
                            address=sw.mgmt_address, net=mgmt
                        ),
                    )
                )
            if sw.mgmt_address in seen_mgmt or sw.mgmt_address == site.management.gateway:
                self.errors.append(
                    sd.error(
                        ("switches", i, "mgmt_address"),
                        _("{address} is already used by {user}").format(
                            address=sw.mgmt_address,
                            user=seen_mgmt.get(sw.mgmt_address, _("the gateway")),
                        ),
                    )
                )
            seen_mgmt[sw.mgmt_address] = sw.name
            names = sw.port_names()
            if len(names) != len(set(names)):
                self.errors.append(sd.error(("switches", i, "ports"), _("a port is listed twice")))

    def owned_by_other(
        self, switch: str, code: str | None, doc: SourceDoc, path: tuple[Any, ...], what: str
    ) -> bool:
        """Refuse `what` (of OPD `code`, None: the site) on a switch owned by another OPD.

        A switch's ports belong to its owner: a building's or camera's port carries
        its OPD's VLANs, so a port of another OPD's access switch would carry them
        into that OPD's building.
        """
        sw = self.sw_by_name.get(switch)
        if sw is None or sw.owner is None or sw.owner == code:
            return False
        self.errors.append(
            doc.error(
                path,
                _(
                    "switch {switch} is {owner}'s access switch; {what} may not use its ports"
                ).format(switch=switch, owner=sw.owner, what=what),
                _("use a port of your own or a site switch (switches[].owner in site.yaml)"),
            )
        )
        return True

    def switch_owners(self) -> None:
        for i, sw in enumerate(self.site.switches):
            if sw.owner is not None and sw.owner not in self.opds:
                self.errors.append(
                    self.sd.error(
                        ("switches", i, "owner"),
                        _("unknown OPD {opd!r}").format(opd=sw.owner),
                        _choices(self.opds),
                    )
                )

    def vendor_limits(self) -> None:
        """Names dcctl writes to switches fit each vendor, ports exist on each model.

        Generated VLAN names are shortened to fit (see :func:`vlan_name`); this
        checks they also use the vendor's characters and stay unique, so a spec
        that a device would refuse (and never converge on) fails here instead.
        """
        sd = self.sd
        vendors = {sw.vendor for sw in self.site.switches}
        seen: dict[str, str] = {}
        for code, opd in self.opds.items():
            od = self.sources.get(f"opd/{code}", sd)
            for net in opd_networks(opd):
                name = vlan_name(code, net)
                if name in seen:
                    self.errors.append(
                        od.error(
                            ("code",),
                            _("VLAN name {name} is also {other}'s").format(
                                name=name, other=seen[name]
                            ),
                        )
                    )
                seen[name] = f"{code}/{net}"
                for vendor in sorted(vendors):
                    lim = limits(vendor)
                    if len(name) > lim.vlan_name_max or not re.fullmatch(
                        f"[{lim.vlan_name_chars}]+", name
                    ):
                        self.errors.append(
                            od.error(
                                ("code",),
                                _(
                                    "VLAN name {name} does not fit {vendor} "
                                    "(at most {max} of {chars})"
                                ).format(
                                    name=name,
                                    vendor=vendor,
                                    max=lim.vlan_name_max,
                                    chars=lim.vlan_name_chars,
                                ),
                            )
                        )
        for i, sw in enumerate(self.site.switches):
            names = sw.port_names()
            bad = [p for p in names if not is_physical(sw.vendor, p)]
            if bad:
                self.errors.append(
                    sd.error(
                        ("switches", i, "ports"),
                        _("{ports}: not a port name of {vendor}").format(
                            ports=", ".join(bad[:3]), vendor=sw.vendor
                        ),
                    )
                )
            caps = model_caps(sw.vendor, sw.model)
            if caps is not None and caps.ports is not None and len(names) > caps.ports:
                self.errors.append(
                    sd.error(
                        ("switches", i, "ports"),
                        _("{listed} ports listed, a {model} has {ports}").format(
                            listed=len(names), model=sw.model, ports=caps.ports
                        ),
                    )
                )

    def site_ports(self) -> None:
        sd, site = self.sd, self.site
        for i, node in enumerate(site.hypervisors.nodes):
            where = ("hypervisors", "nodes", i, "uplink")
            sw = node.uplink.partition(":")[0]
            who = _("hypervisor node {node}").format(node=node.name)
            if self.owned_by_other(sw, None, sd, where, who):
                continue
            self.use_port(node.uplink, who, sd, where)
        for i, link in enumerate(site.links):
            if link.a.partition(":")[0] == link.b.partition(":")[0]:
                self.errors.append(
                    sd.error(("links", i), _("a link must join two different switches"))
                )
            who = _("link {link}").format(link=link.name)
            self.use_port(link.a, who, sd, ("links", i, "a"))
            self.use_port(link.b, who, sd, ("links", i, "b"))

    def pools(self) -> dict[str, str]:
        """The site's address pools, which must be disjoint (returned for later checks)."""
        site = self.site
        pools = {
            "ipam.server_pool": site.ipam.server_pool,
            "ipam.cctv_pool": site.ipam.cctv_pool,
            "ipam.lan_pool": site.ipam.lan_pool,
            "management.prefix": site.management.prefix,
        }
        if site.vpn:
            pools["vpn.tunnel_pool"] = site.vpn.tunnel_pool
        if site.wifi is not None and site.wifi.guest is not None:
            pools["wifi.guest.prefix"] = site.wifi.guest.prefix
        names = list(pools)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                na, nb = netaddr.IPNetwork(pools[a]), netaddr.IPNetwork(pools[b])
                if na in nb or nb in na:
                    self.errors.append(
                        self.sd.error(
                            tuple(b.split(".")),
                            _("{pool} overlaps {other} {other_pool}").format(
                                pool=pools[b], other=a, other_pool=pools[a]
                            ),
                            _("site pools must be disjoint"),
                        )
                    )
        return pools

    def service_vms(self) -> None:
        """The VPN hub, monitoring and NVR VMs the site names must exist."""
        sd, site = self.sd, self.site
        for attr, ref in (("vpn", site.vpn), ("monitoring", site.monitoring)):
            if ref is not None and not _vm_ref(ref.vm, self.opds):
                self.errors.append(
                    sd.error(
                        (attr, "vm"),
                        _("unknown VM {ref!r}").format(ref=ref.vm),
                        _("write it as OPD/VM"),
                    )
                )
        if site.vpn is not None:
            bad = _not_unicast(site.vpn.endpoint.rpartition(":")[0])
            if bad is not None:
                self.errors.append(
                    sd.error(
                        ("vpn", "endpoint"),
                        _("the hub's public address {problem}").format(problem=bad),
                    )
                )
        if site.cctv is not None and not _vm_ref(site.cctv.nvr_vm, self.opds):
            self.errors.append(
                sd.error(
                    ("cctv", "nvr_vm"),
                    _("unknown VM {ref!r}").format(ref=site.cctv.nvr_vm),
                    _("write it as OPD/VM"),
                )
            )

    def opd(self, code: str, opd: Opd, internal: list[netaddr.IPNetwork]) -> None:
        od = self.sources[f"opd/{code}"]
        for field in ("vms", "offices", "cameras", "buildings"):
            for i, name in _dupes(getattr(opd, field), "name"):
                self.errors.append(
                    od.error(
                        (field, i, "name"),
                        _("duplicate {what} name {name!r}").format(what=field[:-1], name=name),
                    )
                )
        self.opd_ports(code, opd, od)
        self.opd_vms(opd, od)
        self.opd_offices(code, opd, od, internal)
        if opd.offices and self.site.vpn is None:
            self.errors.append(od.error(("offices",), _("the Site has no vpn hub for offices")))
        if opd.cameras and self.site.cctv is None:
            self.errors.append(
                od.error(("cameras",), _("the Site has no cctv.nvr_vm to record cameras"))
            )

    def opd_ports(self, code: str, opd: Opd, od: SourceDoc) -> None:
        for i, b in enumerate(opd.buildings):
            if b.switch not in self.sw_by_name:
                self.errors.append(
                    od.error(
                        ("buildings", i, "switch"),
                        _("unknown switch {switch!r}").format(switch=b.switch),
                        _choices(self.sw_by_name),
                    )
                )
                continue
            what = _("{opd} building {building}").format(opd=code, building=b.name)
            if self.owned_by_other(b.switch, code, od, ("buildings", i, "switch"), what):
                continue
            for j, port in enumerate(b.lan_ports):
                where = ("buildings", i, "lan_ports", j)
                self.use_port(f"{b.switch}:{port}", what, od, where)
        for i, cam in enumerate(opd.cameras):
            what = _("{opd} camera {camera}").format(opd=code, camera=cam.name)
            where = ("cameras", i, "port")
            if not self.owned_by_other(cam.port.partition(":")[0], code, od, where, what):
                self.use_port(cam.port, what, od, where)
            self.total_rec += cam.storage_gb()

    def renames(self, opd: Opd, od: SourceDoc) -> None:
        """A ``renamed_from`` names a VM that is gone, and only one VM claims it."""
        names = {vm.name for vm in opd.vms}
        claimed: dict[str, str] = {}
        for i, vm in enumerate(opd.vms):
            old = vm.renamed_from
            if old is None:
                continue
            where = ("vms", i, "renamed_from")
            if old in names:
                self.errors.append(
                    od.error(
                        where,
                        _("VM {vm} is renamed_from {old!r}, but a VM {old!r} is still here").format(
                            vm=vm.name, old=old
                        ),
                        _("a rename keeps one VM: remove the old entry, or drop renamed_from"),
                    )
                )
            elif old in claimed:
                self.errors.append(
                    od.error(
                        where,
                        _("{first} and {vm} both renamed_from {old!r}").format(
                            first=claimed[old], vm=vm.name, old=old
                        ),
                    )
                )
            claimed.setdefault(old, vm.name)

    def vm_services(self, vm: Vm, i: int, od: SourceDoc) -> None:
        """A service open to anyone only on a public VM; one entry per port and protocol."""
        seen: set[tuple[int, str]] = set()
        for j, svc in enumerate(vm.services):
            if svc.source == "public" and vm.exposure != "public":
                self.errors.append(
                    od.error(
                        ("vms", i, "services", j, "from"),
                        _(
                            "VM {vm} is internal; its service {protocol}/{port} "
                            "cannot be open to the public"
                        ).format(vm=vm.name, protocol=svc.protocol, port=svc.port),
                        _("use from: opd or from: regency, or set exposure: public after review"),
                    )
                )
            if (svc.port, svc.protocol) in seen:
                self.errors.append(
                    od.error(
                        ("vms", i, "services", j, "port"),
                        _("VM {vm} declares {protocol}/{port} twice").format(
                            vm=vm.name, protocol=svc.protocol, port=svc.port
                        ),
                    )
                )
            seen.add((svc.port, svc.protocol))

    def opd_vms(self, opd: Opd, od: SourceDoc) -> None:
        vcpu = mem = disk = 0
        for i, vm in enumerate(opd.vms):
            vcpu += vm.vcpu
            mem += vm.memory_gb
            disk += vm.disk_gb
            cls = vm.classification or opd.classification
            if cls == "rahasia" and vm.exposure == "public":
                self.errors.append(
                    od.error(
                        ("vms", i, "exposure"),
                        _("VM {vm} is classified rahasia and cannot be public").format(vm=vm.name),
                        _("set exposure: internal, or reclassify after review"),
                    )
                )
            self.vm_services(vm, i, od)
            if vm.node is not None and vm.node not in self.node_names:
                self.errors.append(
                    od.error(
                        ("vms", i, "node"),
                        _("unknown hypervisor node {node!r}").format(node=vm.node),
                        _choices(self.node_names),
                    )
                )
        self.total_disk += disk
        self.renames(opd, od)
        q = opd.quota
        for what, used, limit in (
            ("vcpu", vcpu, q.vcpu),
            ("memory_gb", mem, q.memory_gb),
            ("disk_gb", disk, q.disk_gb),
            ("vms", len(opd.vms), q.vms),
            ("cameras", len(opd.cameras), q.cameras),
        ):
            if used > limit:
                self.errors.append(
                    od.error(
                        ("quota", what),
                        _("quota exceeded: {what} {used} > {limit}").format(
                            what=what, used=used, limit=limit
                        ),
                        _("raise the quota (needs approval) or shrink the request"),
                    )
                )

    def opd_offices(
        self, code: str, opd: Opd, od: SourceDoc, internal: list[netaddr.IPNetwork]
    ) -> None:
        for i, off in enumerate(opd.offices):
            here = ("offices", i, "wan_address")
            if off.wan_address in self.wan_seen:
                other_doc, other_path = self.wan_at[off.wan_address]
                newer = self.age.newer(other_doc.file, od.file)
                doc, path = (other_doc, other_path) if newer else (od, here)
                other = f"{code}/{off.name}" if newer else self.wan_seen[off.wan_address]
                other_file = od.file if newer else other_doc.file
                self.errors.append(
                    doc.error(
                        path,
                        _("WAN address {address} already used by {other} ({file})").format(
                            address=off.wan_address, other=other, file=other_file
                        ),
                    )
                )
            else:
                self.wan_seen[off.wan_address] = f"{code}/{off.name}"
                self.wan_at[off.wan_address] = (od, here)
            bad = _not_unicast(off.wan_address)
            hub = self.site.vpn.endpoint.rpartition(":")[0] if self.site.vpn else None
            if bad is None and off.wan_address == hub:
                bad = _("is the VPN hub's own public address")
            if bad is not None:
                self.errors.append(
                    od.error(
                        ("offices", i, "wan_address"),
                        _("WAN address {address} {problem}").format(
                            address=off.wan_address, problem=bad
                        ),
                        _("use the public unicast address the office dials out from"),
                    )
                )
            elif _inside(off.wan_address, internal):
                self.errors.append(
                    od.error(
                        ("offices", i, "wan_address"),
                        _("WAN address lies inside an internal pool"),
                        _("use the office's public address"),
                    )
                )

    def credentials(self) -> None:
        """Each reference declared once, by its owner, with the kind its uses need (issue 15)."""
        registry: dict[str, Declaration] = {}

        def whose(owner: str) -> str:
            return _("the site") if owner == SITE else _("OPD {opd}").format(opd=owner)

        for dec in declarations(self.site, self.opds):
            doc = self.sources[dec.source]
            bad = namespace_problem(dec.ref, dec.owner)
            if bad is not None:
                self.errors.append(
                    doc.error(
                        dec.path,
                        _("credential {ref} cannot be {owner}'s: {problem}").format(
                            ref=dec.ref, owner=dec.owner, problem=bad
                        ),
                        _(
                            "each owner (the site, an OPD) has its own secrets; see README "
                            "'Credentials'"
                        ),
                    )
                )
                continue
            seen = registry.setdefault(dec.ref, dec)
            if seen is not dec:
                self.errors.append(
                    doc.error(
                        dec.path,
                        _(
                            "credential {ref} is already declared by {owner} ({source}, as "
                            "{kind}); a reference has one owner and one kind"
                        ).format(
                            ref=dec.ref, owner=whose(seen.owner), source=seen.source, kind=seen.kind
                        ),
                        _("give this credential of {owner} its own reference").format(
                            owner=dec.owner
                        ),
                    )
                )
        for use in credential_uses(self.site, self.opds):
            doc = self.sources[use.source]
            dec = registry.get(use.ref)
            owner = whose(use.owner)
            if dec is None:
                self.errors.append(
                    doc.error(
                        use.path,
                        _("credential {ref} is not in {owner}'s credential registry").format(
                            ref=use.ref, owner=owner
                        ),
                        _("declare it in {file} under credentials: {entry}").format(
                            file=doc.file, entry=f"- {{ref: {use.ref}, kind: {use.kind}}}"
                        ),
                    )
                )
            elif dec.owner != use.owner:
                self.errors.append(
                    doc.error(
                        use.path,
                        _("credential {ref} is {theirs}'s ({source}), not {owner}'s").format(
                            ref=use.ref, theirs=whose(dec.owner), source=dec.source, owner=owner
                        ),
                        _("use one of {owner}'s own {kind} credentials").format(
                            owner=owner, kind=use.kind
                        ),
                    )
                )
            elif dec.kind != use.kind:
                self.errors.append(
                    doc.error(
                        use.path,
                        _("credential {ref} is declared as {kind}, used here as {use}").format(
                            ref=use.ref, kind=dec.kind, use=use.kind
                        ),
                        _("declare a {kind} credential of its own").format(kind=use.kind),
                    )
                )

    def _offsite_apart(self, conf: Any) -> None:
        """The off-site backup VM is pinned to another node than the backup VM.

        An off-site copy on the same hypervisor node (or placed there by the name hash,
        unpinned) is lost with the primary in one fire or one failed node: the plan would
        promise two copies where there is one place.
        """
        if conf.offsite_vm is None:
            return

        def node(ref: str) -> str | None:
            code, _sep, name = ref.partition("/")
            return next(v.node for v in self.opds[code].vms if v.name == name)

        if not (_vm_ref(conf.vm, self.opds) and _vm_ref(conf.offsite_vm, self.opds)):
            return  # named unknown above
        first, second = node(conf.vm), node(conf.offsite_vm)
        if first is None or second is None:
            self.errors.append(
                self.sd.error(
                    ("backup", "offsite_vm"),
                    _(
                        "the backup VMs {vm} and {offsite} are not both pinned to a node: "
                        "placed by name, the off-site copy may share the primary's node"
                    ).format(vm=conf.vm, offsite=conf.offsite_vm),
                    _("pin each to its own node (node: in its OPD file), in another building"),
                )
            )
        elif first == second:
            self.errors.append(
                self.sd.error(
                    ("backup", "offsite_vm"),
                    _(
                        "the off-site backup VM {offsite} runs on node {node}, like the backup "
                        "VM {vm}: one lost node loses both copies"
                    ).format(offsite=conf.offsite_vm, node=first, vm=conf.vm),
                    _("pin it to another node (node: in its OPD file), in another building"),
                )
            )

    def backups(self) -> None:
        """Backup repositories exist, VM policies never undercut their class (issue 18).

        A VM with a policy and nowhere to back it up is an error, never a silent skip:
        no Site backup section, no off-site repository for a second copy, or (production
        on Proxmox VE) no vzdump storage.
        """
        sd, conf = self.sd, self.site.backup
        if conf is not None:
            for attr in ("vm", "offsite_vm"):
                ref = getattr(conf, attr)
                if ref is not None and not _vm_ref(ref, self.opds):
                    self.errors.append(
                        sd.error(
                            ("backup", attr),
                            _("unknown VM {ref!r}").format(ref=ref),
                            _("write it as OPD/VM"),
                        )
                    )
        service = set(conf.service_vms()) if conf is not None else set()
        active: list[str] = []
        second: list[str] = []
        for code, opd in self.opds.items():
            od = self.sources[f"opd/{code}"]
            for i, vm in enumerate(opd.vms):
                key, where = f"{code}/{vm.name}", ("vms", i, "backup")
                if not explicit(vm.backup) and (conf is None or key in service):
                    continue
                if conf is None:
                    self.errors.append(
                        od.error(
                            where,
                            _(
                                "VM {vm} has a backup policy, but the Site names no backup "
                                "repository"
                            ).format(vm=vm.name),
                            _(
                                "add backup (vm: OPD/VM, policy) to site.yaml, or drop the "
                                "VM's backup"
                            ),
                        )
                    )
                    continue
                if key in service:
                    self.errors.append(
                        od.error(
                            where,
                            _(
                                "VM {vm} is a backup VM (site.yaml backup): its repositories "
                                "are the backups and it is not backed up into itself"
                            ).format(vm=vm.name),
                            _("drop the VM's backup policy; the off-site copy is the second one"),
                        )
                    )
                    continue
                cls = vm.classification or opd.classification
                for bad in weaker(getattr(conf.policy, cls), cls, vm.backup):
                    self.errors.append(
                        od.error(
                            (*where, bad.field),
                            _("VM {vm} {problem}").format(vm=vm.name, problem=bad.message),
                            _(WEAKER_HINT),
                        )
                    )
                policy = effective(conf, cls, vm.backup)
                if policy.active:
                    active.append(key)
                if policy.copies > 1:
                    second.append(key)
        if conf is None:
            return

        def few(keys: list[str]) -> str:
            more = _(" and {n} more").format(n=len(keys) - 3) if len(keys) > 3 else ""
            return ", ".join(keys[:3]) + more

        if second and conf.offsite_vm is None:
            self.errors.append(
                sd.error(
                    ("backup",),
                    _(
                        "{n} VM(s) need a second, off-site copy ({vms}), but "
                        "backup.offsite_vm names no off-site backup VM"
                    ).format(n=len(second), vms=few(second)),
                    _("add backup.offsite_vm: OPD/VM (a backup VM in another building)"),
                )
            )
        self._offsite_apart(conf)
        if self.site.hypervisors.type != "proxmox":
            return
        if active and conf.proxmox_storage is None:
            self.errors.append(
                sd.error(
                    ("backup",),
                    _(
                        "{n} VM(s) have a backup policy ({vms}), but backup.proxmox_storage "
                        "names no Proxmox VE storage for their vzdump jobs"
                    ).format(n=len(active), vms=few(active)),
                    _("add backup.proxmox_storage: STORAGE_ID (e.g. a Proxmox Backup Server)"),
                )
            )
        if second and conf.proxmox_offsite_storage is None:
            self.errors.append(
                sd.error(
                    ("backup",),
                    _(
                        "{n} VM(s) need an off-site copy ({vms}), but "
                        "backup.proxmox_offsite_storage names no Proxmox VE storage for it"
                    ).format(n=len(second), vms=few(second)),
                    _("add backup.proxmox_offsite_storage: STORAGE_ID"),
                )
            )

    def storage(self) -> None:
        sd, st = self.sd, self.site.storage
        if self.total_disk > st.vm_capacity_gb:
            self.errors.append(
                sd.error(
                    ("storage", "vm_capacity_gb"),
                    _("VMs need {need} GB, the site offers {have} GB").format(
                        need=self.total_disk, have=st.vm_capacity_gb
                    ),
                )
            )
        if self.total_rec > st.recording_capacity_gb:
            self.errors.append(
                sd.error(
                    ("storage", "recording_capacity_gb"),
                    _("cameras need {need} GB of recordings, the site offers {have} GB").format(
                        need=f"{self.total_rec:,.0f}", have=st.recording_capacity_gb
                    ),
                    _("lower bitrate or retention, or add NVR storage"),
                )
            )


#: Address blocks that are never an office's (or the hub's) public address.
_NOT_UNICAST = (
    ("0.0.0.0/8", N_("is an unspecified ('this network') address")),
    ("127.0.0.0/8", N_("is a loopback address (it would configure the controller itself)")),
    ("169.254.0.0/16", N_("is a link-local address")),
    ("224.0.0.0/4", N_("is a multicast address")),
    ("240.0.0.0/4", N_("is a reserved or broadcast address")),
)


def _not_unicast(address: str) -> str | None:
    """Why `address` cannot be a device's own unicast address, or None if it can."""
    version, value = address_value(address)  # parsed once, not once per block
    return next(
        (_(why) for block, why in _not_unicast_blocks() if _holds(block, version, value)), None
    )


def _inside(address: str, nets: Iterable[netaddr.IPNetwork]) -> bool:
    """Whether `address` lies in one of `nets`, as ``IPAddress(address) in net`` says,
    without making an address object per office (a x10 regency has 1,500)."""
    version, value = address_value(address)
    return any(_holds(n, version, value) for n in nets)


def _holds(net: netaddr.IPNetwork, version: int, value: int) -> bool:
    return net.version == version and net.first <= value <= net.last


@functools.cache
def _not_unicast_blocks() -> tuple[tuple[netaddr.IPNetwork, str], ...]:
    """:data:`_NOT_UNICAST` parsed once (each office's WAN address is checked against it)."""
    return tuple((netaddr.IPNetwork(block), why) for block, why in _NOT_UNICAST)


def _choices(names: Any) -> str:
    names = sorted(names)
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    return _("known: {names}").format(names=shown) if names else _("none defined")


_NET_SUFFIX = {"servers": "SRV", "dmz": "DMZ", "cctv": "CCTV", "lan": "LAN"}


def vlan_name(code: str, net: str) -> str:
    """VLAN names as the switches show them: DINKES-SRV, DISHUB-CCTV...

    The name must fit every vendor's limit (:func:`vlan_name_max`: IOS 32,
    VRP 31), and an OPD code may be 32 characters. A name that would be too
    long keeps the start of the code, then four hex digits of the code's hash
    (so two long codes sharing a start still differ), then the suffix; the
    same code always gives the same name.
    """
    suffix = _NET_SUFFIX[net]
    name = f"{code.upper()}-{suffix}"
    limit = vlan_name_max()
    if len(name) <= limit:
        return name
    tag = hashlib.sha256(code.encode()).hexdigest()[:4].upper()
    keep = limit - len(suffix) - len(tag) - 2
    return f"{code.upper()[:keep].rstrip('-')}-{tag}-{suffix}"


def check_disks(
    opds: dict[str, Opd], sources: dict[str, SourceDoc], lock: Lock
) -> tuple[dict[str, int], list[SpecError]]:
    """Every VM's disk size to lock, and a refusal for each disk smaller than locked.

    The reference is ``dcctl.lock.yaml``: committed with the spec, written by every
    successful apply and by ``dcctl lock``, so a merge request that shrinks a disk
    fails validation on its own, whichever target was applied last. A renamed VM is
    compared with its old name's size.
    """
    disks: dict[str, int] = {}
    errors: list[SpecError] = []
    for code, opd in opds.items():
        for i, vm in enumerate(opd.vms):
            key = f"{code}/{vm.name}"
            current = lock.disks.get(key)
            if current is None and vm.renamed_from:
                current = lock.disks.get(f"{code}/{vm.renamed_from}")
            why = disk_shrink(vm.disk_gb, current)
            if why is not None:
                errors.append(
                    sources[f"opd/{code}"].error(
                        ("vms", i, "disk_gb"),
                        _("VM {vm}: {problem} (dcctl.lock.yaml)").format(vm=vm.name, problem=why),
                        _(DISK_SHRINK_HINT),
                    )
                )
            disks[key] = vm.disk_gb
    return disks, errors


def opd_networks(opd: Opd) -> list[str]:
    """The networks an OPD needs: servers always, a DMZ, CCTV and LAN when it has them."""
    nets = ["servers"]
    if any(vm.exposure == "public" for vm in opd.vms):
        nets.append("dmz")
    if opd.cameras:
        nets.append("cctv")
    if opd.buildings:
        nets.append("lan")
    return nets


def vm_network(vm: Vm) -> str:
    """The network a VM sits on: ``dmz`` when it is public, else ``servers``.

    A public VM is reachable from the internet; on its OPD's own DMZ (its own VLAN
    and subnet) a compromise of it reaches no internal, let alone rahasia, VM by
    layer 2, and the firewall between the networks decides what passes.
    """
    return "dmz" if vm.exposure == "public" else "servers"


def plan_ipam(
    site: Site, opds: dict[str, Opd], sources: dict[str, SourceDoc], lock: Lock
) -> tuple[Allocation, list[SpecError]]:
    """Turn the spec into keyed IPAM requests, allocate, and locate any problem."""
    where: dict[str, tuple[SourceDoc, tuple[Any, ...]]] = {}
    vreq: list[VlanRequest] = []
    preq: list[PrefixRequest] = []
    areq: list[AddressRequest] = []
    pool_of = {
        "servers": "server_pool",
        "dmz": "server_pool",
        "cctv": "cctv_pool",
        "lan": "lan_pool",
    }
    for code, opd in opds.items():
        od = sources[f"opd/{code}"]
        for net in opd_networks(opd):
            pin = getattr(opd.network, net)
            key = f"{code}/{net}"
            where[key] = (od, ("network", net) if pin else ("code",))
            vreq.append(VlanRequest(key, pin.vlan if pin else None))
            preq.append(PrefixRequest(key, pool_of[net], pin.prefix if pin else None))
        for i, vm in enumerate(opd.vms):
            net = f"{code}/{vm_network(vm)}"
            key = f"{net}/{vm.name}"
            where[key] = (od, ("vms", i, "address") if vm.address else ("vms", i))
            was = f"{net}/{vm.renamed_from}" if vm.renamed_from else None
            areq.append(AddressRequest(key, net, 10, vm.address, was))
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
        preq.append(PrefixRequest("vpn/tunnel", None, site.vpn.tunnel_pool))
        areq.append(AddressRequest("vpn/hub", "vpn/tunnel", 1, None))
    ip = site.ipam
    reserved_vlans = {site.management.vlan: _("the management VLAN")}
    reserved = [site.management.prefix]
    guest = site.wifi.guest if site.wifi is not None else None
    if guest is not None:  # the guest network is never a tenant's (issue 20)
        reserved_vlans[guest.vlan] = _("the guest Wi-Fi VLAN")
        reserved.append(guest.prefix)
    pools = {
        "server_pool": Pool(ip.server_pool, ip.server_prefix_length),
        "cctv_pool": Pool(ip.cctv_pool, ip.cctv_prefix_length),
        "lan_pool": Pool(ip.lan_pool, ip.lan_prefix_length),
    }
    allocation, problems = allocate(
        lock,
        ip.vlan_range,
        pools,
        vreq,
        preq,
        areq,
        reserved=reserved,
        reserved_vlans=reserved_vlans,
        reserved_addresses={dns: _("the site DNS server") for dns in site.dns},
    )
    errors: list[SpecError] = guest_lock_errors(site, sources, lock.vlans)
    by_doc: dict[str, list[str]] = defaultdict(list)
    for p in problems:
        doc, path = where.get(p.key, (sources["site"], ("ipam",)))
        by_doc[doc.file].append(p.key)
        msg = p.message
        # ipam's message in the language in force (its text up to the placeholder).
        exhausted = _("no free address left in {net}").partition("{")[0]
        if p.key.startswith("vpn/") and exhausted in msg:
            msg = _("VPN tunnel pool exhausted: {problem}").format(problem=msg)
            p = type(p)(p.key, msg, _("enlarge vpn.tunnel_pool in the Site"))
        errors.append(
            doc.error(path, _("IPAM {key}: {problem}").format(key=p.key, problem=msg), p.hint)
        )
    return allocation, errors
