"""The lab gateway's L3 filter between each OPD's DMZ and everything internal.

Why on the gateway as well as on each VM: a public VM is the one most likely to be
taken over, and a taken-over VM controls its own nftables. The gateway (the lab's
edge router, the regency's in production) is outside its reach: a DMZ network may
not open connections into any internal network (management, every OPD's servers,
LANs and cameras, the VPN tunnels; DNS to the site's resolvers and a backed-up DMZ VM's
SFTP to its backup VMs excepted), and into a
DMZ only the flows its VMs need pass (``dcctl.firewall.flows``, the same flows their
own firewalls open), from the internet and from inside alike. Replies pass
(conntrack). Offices' traffic that the VPN hub (a DMZ VM) routes for them comes from
the offices' own LANs and is filtered by the hub, not here.

The rules are one iptables chain in the gateway namespace, ``DCCTL-DMZ``, jumped to
from ``FORWARD``; ``lab up`` sets it from the spec (as it sets the gateway's
networks) and replaces it when the spec's flows changed (a digest rule at its end).
"""

from __future__ import annotations

import hashlib
import json

import netaddr

from dcctl.backup.repositories import sftp_clients
from dcctl.firewall.flows import Flow, vm_flows
from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import UpRun
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec

__all__ = ["CHAIN", "apply_filter", "rules"]

CHAIN = "DCCTL-DMZ"
_DIGEST = "dcctl-dmz "


def _internal(spec: Spec) -> list[str]:
    site = spec.site
    nets = [site.management.prefix, site.ipam.server_pool, site.ipam.lan_pool, site.ipam.cctv_pool]
    if site.vpn is not None:
        nets.append(site.vpn.tunnel_pool)
    return [str(n) for n in netaddr.cidr_merge([netaddr.IPNetwork(n) for n in nets])]


def _accept(flow: Flow, address: str) -> list[list[str]]:
    dest = ["-d", f"{netaddr.IPAddress(address)}/32"]
    match: list[str]
    if flow.protocol == "icmp":
        match = ["-p", "icmp", "-m", "icmp", "--icmp-type", "8"]
    else:
        ports = ",".join(str(int(p)) for p in flow.ports)
        match = ["-p", flow.protocol, "-m", "multiport", "--dports", ports]
    sources = [None] if flow.sources is None else [str(netaddr.IPNetwork(s)) for s in flow.sources]
    return [[*(["-s", s] if s else []), *dest, *match, "-j", "ACCEPT"] for s in sources]


def rules(spec: Spec, state: DesiredState | None = None) -> list[list[str]]:
    """The chain's rules (``iptables -A DCCTL-DMZ`` arguments), in order; [] without a DMZ."""
    state = desired_state(spec) if state is None else state
    dmz = {k: n["prefix"] for k, n in state["networks"].items() if k.endswith("/dmz")}
    if not dmz:
        return []
    flows = vm_flows(spec, state)
    internal = _internal(spec)
    out: list[list[str]] = [
        ["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
        ["-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"],
    ]
    for key in sorted(dmz):
        prefix, opd = dmz[key], key.split("/")[0]
        for dns in spec.site.dns:
            for proto in ("udp", "tcp"):
                out.append(
                    ["-s", prefix, "-d", f"{dns}/32", "-p", proto, "-m", proto,
                     "--dport", "53", "-j", "ACCEPT"]
                )  # fmt: skip
        # The one way in from a DMZ besides DNS: its backed-up VMs' SFTP to their backup VMs.
        for repo_vm, clients in sftp_clients(state).items():
            target = state["vms"].get(repo_vm)
            for client in clients:
                address = state["vms"][client]["address"].split("/")[0]
                if target is None or netaddr.IPAddress(address) not in netaddr.IPNetwork(prefix):
                    continue
                out.append(
                    ["-s", f"{address}/32", "-d", target["address"].split("/")[0] + "/32",
                     "-p", "tcp", "-m", "tcp", "--dport", "22", "-j", "ACCEPT"]
                )  # fmt: skip
        out += [["-s", prefix, "-d", n, "-j", "DROP"] for n in internal]
        for vm_key, vm in sorted(state["vms"].items()):
            address = vm["address"].split("/")[0]
            if vm["opd"] != opd or netaddr.IPAddress(address) not in netaddr.IPNetwork(prefix):
                continue
            for flow in flows[vm_key]:
                out += _accept(flow, address)
        out.append(["-d", prefix, "-j", "DROP"])
    return out


def _ipt(netns: str, *args: str, check: bool = True) -> str:
    cmd = ["ip", "netns", "exec", netns, "iptables", "-w", "5", *args]
    return net.run(cmd, check=check).stdout


def apply_filter(run: UpRun) -> None:
    """Set the gateway's ``DCCTL-DMZ`` chain to the plan's rules (unchanged: nothing done)."""
    plan = run.plan
    want = plan.dmz_filter
    ns = plan.gateway_netns
    digest = hashlib.sha256(json.dumps(want).encode()).hexdigest()[:16]
    listed = _ipt(ns, "-S", CHAIN, check=False)
    jump = f"-A FORWARD -j {CHAIN}" in _ipt(ns, "-S", "FORWARD")
    if (_DIGEST + digest) in listed and jump == bool(want):
        return
    if not listed:
        _ipt(ns, "-N", CHAIN)
    _ipt(ns, "-F", CHAIN)
    for rule in want:
        _ipt(ns, "-A", CHAIN, *rule)
    _ipt(ns, "-A", CHAIN, "-m", "comment", "--comment", _DIGEST + digest, "-j", "RETURN")
    if want and not jump:
        # After the edge chain's jump (dcctl.lab.edge, always first): its drops (guests
        # to the internet only) come before this chain's accepts.
        _ipt(ns, "-A", "FORWARD", "-j", CHAIN)
    elif not want and jump:
        _ipt(ns, "-D", "FORWARD", "-j", CHAIN)
    run.change(_("DMZ filter rules set on the gateway"), len(want))
