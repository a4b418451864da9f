"""`lab up`'s kernel objects: namespaces, OVS bridges and ports, veth pairs, addresses,
links, routes, sysctls and offloads, reconciled against what exists.

Why a reconciliation: each step observes first (a handful of `ip -j` /
`ovs-vsctl --format=json` calls), then creates only what is missing and removes
lab-prefixed leftovers the plan no longer has, in one batch per namespace. A second
`up` changes nothing; after a partial crash it repairs. What a step changed is
recorded in the `UpRun`, so later steps (the switch daemons) know what to restart.
"""

from __future__ import annotations

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import UpRun, parallel, wan_up
from dcctl.lab.plan import LabPlan, OfficePlan, VethEnd
from dcctl.lab.podman import is_vm_part

#: links seen per namespace (None: the root namespace)
Seen = dict[str | None, dict[str, net.Link]]


def remove_stale(run: UpRun) -> None:
    """Remove lab-prefixed namespaces, bridges, ports and links the plan no longer has.

    The lab VMs' namespaces and ports (Pulumi's) are left alone.
    """
    plan, p = run.plan, run.plan.prefix
    want_ns = {n.name for n in plan.namespaces}
    stale_ns = [
        n
        for n in net.netns_list()
        if n.startswith(p + "-") and n not in want_ns and not is_vm_part(p, n)
    ]
    if stale_ns:
        pids = [pid for ns in stale_ns for pid in net.netns_pids(ns)]
        net.stop_pids(pids)
        net.ip_batch(None, (f"netns del {ns}" for ns in stale_ns), force=True)
        run.change(_("stale namespaces removed"), len(stale_ns))
    ovs = net.ovs_state()
    want_br = {b.name for b in plan.ovs_bridges}
    want_ports = {e.ifname: e.ovs_bridge for e in plan.ends() if e.ovs_bridge}
    args: list[str] = []
    for br in sorted(ovs.bridges):
        if br.startswith(p) and br not in want_br:
            args += ["--", "--if-exists", "del-br", br]
    for port, br in sorted(ovs.ports.items()):
        if br in want_br and want_ports.get(port) != br and not is_vm_part(p, port):
            args += ["--", "--if-exists", "del-port", br, port]
    if args:
        net.vsctl(args)
        run.change(_("stale OVS bridges/ports removed"), len(args) // 4)
    want_root = {e.ifname for e in plan.ends() if e.netns is None} | want_br
    stale_links = [
        n
        for n in net.links(None)
        if n.startswith(p) and n not in want_root and not is_vm_part(p, n)
    ]
    if stale_links:
        net.ip_batch(None, (f"link del {n}" for n in stale_links), force=True)
        run.change(_("stale interfaces removed"), len(stale_links))


def namespaces(run: UpRun) -> None:
    """Add the missing namespaces in one `ip -batch` (existing ones keep their processes)."""
    have = set(net.netns_list())
    missing = [n.name for n in run.plan.namespaces if n.name not in have]
    if missing:
        net.ip_batch(None, (f"netns add {n}" for n in missing))
        run.change(_("namespaces created"), len(missing))


def ovs_bridges(run: UpRun) -> net.OvsState:
    """Add missing bridges (userspace datapath: no kernel module); the OVS state after."""
    ovs = net.ovs_state()
    args: list[str] = []
    for br in run.plan.ovs_bridges:
        if br.name not in ovs.bridges:
            run.new_bridges.add(br.name)
            args += ["--", "--may-exist", "add-br", br.name]
        if ovs.bridges.get(br.name) != "netdev":
            args += ["--", "set", "bridge", br.name, "datapath_type=netdev"]
    if args:
        net.vsctl(args)
        run.change(_("OVS bridges created"), len(run.new_bridges))
        ovs = net.ovs_state()
    return ovs


def observe(plan: LabPlan) -> Seen:
    """The links of the root namespace and of every planned namespace, read in parallel."""
    names: list[str | None] = [None, *(n.name for n in plan.namespaces)]
    found = parallel(net.links, names)
    return dict(zip(names, found, strict=True))


def veths(run: UpRun, seen: Seen) -> None:
    """Create missing pairs; `seen` learns them, so `configure` sets them up in the same run."""
    lines: list[str] = []
    for v in run.plan.veths:
        a_ok = v.a.ifname in seen.get(v.a.netns, {})
        b_ok = v.b.ifname in seen.get(v.b.netns, {})
        if a_ok and b_ok:
            continue
        for end, ok in ((v.a, a_ok), (v.b, b_ok)):
            if ok:  # half a pair: remove it and make the pair again
                net.ip(end.netns, "link", "del", end.ifname, check=False)
        a_ns = f" netns {v.a.netns}" if v.a.netns else ""
        b_ns = f" netns {v.b.netns}" if v.b.netns else ""
        lines.append(f"link add {v.a.ifname}{a_ns} type veth peer name {v.b.ifname}{b_ns}")
        for end in v.ends():
            run.created_ifs.add(end.ifname)
            seen.setdefault(end.netns, {})[end.ifname] = net.Link(end.ifname, False, None)
    if lines:
        net.ip_batch(None, lines)
        run.change(_("veth pairs created"), len(lines))


def _kept_port_settings(ovs: net.OvsState, port: str) -> list[str]:
    """The VLAN settings the switch daemon gave a port, to re-attach it with them."""
    cfg = ovs.port_config.get(port, {})
    settings = []
    if cfg.get("tag") is not None:
        settings.append(f"tag={cfg['tag']}")
    if cfg.get("trunks"):
        settings.append("trunks=" + ",".join(str(t) for t in cfg["trunks"]))
    if cfg.get("vlan_mode"):
        settings.append(f"vlan_mode={cfg['vlan_mode']}")
    return settings


def ovs_ports(run: UpRun, ovs: net.OvsState) -> None:
    """Attach veth ends to their bridges; a new port gets the plan's tag, a re-attached
    one keeps what the switch daemon configured (the switch's running config)."""
    args: list[str] = []
    added = 0
    for end in run.plan.ends():
        if not end.ovs_bridge:
            continue
        port, br = end.ifname, end.ovs_bridge
        cur = ovs.ports.get(port)
        settings: list[str]
        if cur is None:
            settings = [f"tag={end.ovs_tag}"] if end.ovs_tag is not None else []
            run.new_ports.add(port)
        elif cur != br or port in run.created_ifs or ovs.ofport.get(port, -1) < 0:
            # Re-attach a re-created device, keeping what the switch daemon set.
            settings = _kept_port_settings(ovs, port)
            args += ["--", "--if-exists", "del-port", cur, port]
        else:
            continue
        args += ["--", "add-port", br, port, *settings]
        added += 1
    if args:
        net.vsctl(args)
        run.change(_("OVS ports attached"), added)


def _desired_up(plan: LabPlan, end: VethEnd, wan_ports: dict[str, OfficePlan]) -> bool:
    office = wan_ports.get(end.ifname)
    if office is not None:
        return wan_up(plan, office)
    return end.up


def _link_lines(
    plan: LabPlan, seen: Seen, ns_names: list[str | None]
) -> dict[str | None, list[str]]:
    """Per namespace: `ip -batch` lines for loopback, Linux bridges, veth ends."""
    wan_ports = {o.wan_bridge_port: o for o in plan.offices}
    batches: dict[str | None, list[str]] = {ns: [] for ns in ns_names}
    for ns in ns_names:
        have = seen.get(ns, {})
        lines = batches[ns]
        if ns is not None and not (have.get("lo") and have["lo"].up):
            lines.append("link set lo up")
        for br in plan.linux_bridges:
            if br.netns != ns:
                continue
            link = have.get(br.name)
            if link is None:
                lines.append(f"link add {br.name} type bridge")
            for a in br.addresses:
                if link is None or a not in link.addresses:
                    lines.append(f"addr add {a} dev {br.name}")
            if link is None or not link.up:
                lines.append(f"link set {br.name} up")
    for end in plan.ends():
        link = seen.get(end.netns, {}).get(end.ifname)
        lines = batches[end.netns]
        if end.linux_bridge and (link is None or link.master != end.linux_bridge):
            lines.append(f"link set {end.ifname} master {end.linux_bridge}")
        for a in end.addresses:
            if link is None or a not in link.addresses:
                lines.append(f"addr add {a} dev {end.ifname}")
        want_up = _desired_up(plan, end, wan_ports)
        if link is None or link.up != want_up:
            lines.append(f"link set {end.ifname} {'up' if want_up else 'down'}")
    return batches


def _route_lines(run: UpRun, ns_names: list[str | None]) -> dict[str | None, list[str]]:
    """Per namespace: route lines; a root route another device has is warned about, kept."""
    route_lines: dict[str | None, list[str]] = {ns: [] for ns in ns_names}
    have_routes = dict(zip(ns_names, parallel(net.routes, ns_names), strict=True))
    for r in run.plan.routes:
        cur = have_routes[r.netns].get(r.dst)
        via = f" via {r.via}" if r.via else ""
        if r.netns is None:
            if cur is None:
                route_lines[None].append(f"route add {r.dst}{via} dev {r.dev}")
            elif cur.get("dev") != r.dev:
                run.warn(
                    _("root route {dst} already goes via {dev}; not routed via {want}").format(
                        dst=r.dst, dev=cur.get("dev"), want=r.dev
                    )
                )
            continue
        if cur is None or cur.get("dev") != r.dev or cur.get("gateway") != r.via:
            route_lines[r.netns].append(f"route replace {r.dst}{via} dev {r.dev}")
    return route_lines


def configure(run: UpRun, seen: Seen) -> None:
    """Addresses, links and then routes (after the devices they use are up)."""
    ns_names: list[str | None] = [None, *(n.name for n in run.plan.namespaces)]
    batches = _link_lines(run.plan, seen, ns_names)
    route_lines = _route_lines(run, ns_names)

    def apply(ns: str | None) -> int:
        lines = batches[ns] + route_lines[ns]
        if lines:
            net.ip_batch(ns, lines)
        return len(lines)

    # Root first: the OVS sides must be up before namespaces route over them.
    n = apply(None)
    n += sum(parallel(apply, ns_names[1:]))
    if n:
        run.change(_("link/address/route settings applied"), n)


def sysctls(run: UpRun) -> None:
    """Forwarding on in the namespaces that route (gateway, emulated office routers)."""
    for ns in run.plan.namespaces:
        if ns.forward and net.sysctl_get(ns.name, "net.ipv4.ip_forward") != "1":
            net.sysctl_set(ns.name, "net.ipv4.ip_forward", "1")
            run.change(_("namespaces with ip_forward enabled"))


def offloads(run: UpRun) -> None:
    """TX checksum offload off on new ends that carry an IP stack (`tx_off`): OVS's
    userspace datapath does not complete the checksums, so TCP across it would break."""
    ends = [e for e in run.plan.ends() if e.tx_off and e.ifname in run.created_ifs]
    parallel(lambda e: net.disable_tx_offload(e.netns, e.ifname), ends)
