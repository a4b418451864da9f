"""The inbound flows each VM needs, derived from the spec: everything else is dropped.

Why one function for every target: the hosts layer renders these flows into each
VM's own nftables table (lab and production alike), and the Proxmox program into the
hypervisor's VM firewall, so the two cannot disagree about what a VM accepts. A flow
exists only because the spec says so:

* SSH (Ansible, the infra team) from the management network;
* the node exporter and ICMP echo from the monitoring VM, and echo from management;
* the monitoring VM's Prometheus and Alertmanager from management (the NOC);
* the VPN hub's WireGuard port from anywhere (offices dial in over the internet);
* HTTP and HTTPS from anywhere on a ``exposure: public`` VM;
* each ``services:`` entry from its ``from`` scope: ``opd`` (the OPD's own server,
  DMZ and LAN networks and its offices' LANs), ``regency`` (every OPD's) or
  ``public`` (anywhere; only on a public VM, validation refuses it elsewhere);
* ICMP echo from the VM's own OPD (its networks and offices: reachability checks);
* SSH (SFTP into the OPDs' restic repositories) on a backup VM from exactly the VMs
  that back up into it (``dcctl.backup.repositories.sftp_clients``).

Camera networks are never a source: the NVR pulls the streams, the cameras answer
on that connection (conntrack), and a camera an OPD controls must not open new
connections into a VM. The whole server pool is never a source either: a public
VM in its OPD's DMZ accepts from the OPD's internal networks only what its declared
services allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import netaddr

from dcctl.backup.repositories import sftp_clients
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec

__all__ = [
    "ALERTMANAGER_PORT",
    "NODE_EXPORTER_PORT",
    "PROMETHEUS_PORT",
    "Flow",
    "vm_flows",
]

Protocol = Literal["tcp", "udp", "icmp"]

NODE_EXPORTER_PORT = 9100
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
SSH_PORT = 22


@dataclass(frozen=True)
class Flow:
    """Inbound ``protocol`` to ``ports`` from ``sources`` (None: from anywhere).

    ``ports`` is empty for ICMP (echo requests only). Sources are canonical IPv4
    networks, merged, so the rendered rule is stable whatever order the spec has.
    """

    protocol: Protocol
    ports: tuple[int, ...]
    sources: tuple[str, ...] | None
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "ports": list(self.ports),
            "sources": None if self.sources is None else list(self.sources),
            "why": self.why,
        }


def _nets(prefixes: list[str]) -> tuple[str, ...]:
    """Canonical, merged IPv4 networks (raises on anything that is not one)."""
    nets = [netaddr.IPNetwork(p, version=4) for p in prefixes]
    return tuple(str(n) for n in netaddr.cidr_merge(nets))


def _opd_sources(state: DesiredState, opds: set[str] | None) -> list[str]:
    """The networks of ``opds`` (None: every OPD) that may open connections: no cameras."""
    out = [
        net["prefix"]
        for key, net in state["networks"].items()
        if (opds is None or net["opd"] in opds) and not key.endswith("/cctv")
    ]
    out += [
        peer["lan_prefix"] for peer in state["vpn"].values() if opds is None or peer["opd"] in opds
    ]
    return out


def vm_flows(spec: Spec, state: DesiredState | None = None) -> dict[str, list[Flow]]:
    """``{vm key: flows}`` for every VM of the spec, in a stable order."""
    state = desired_state(spec) if state is None else state
    site = spec.site
    mgmt = [site.management.prefix]
    vms = state["vms"]
    monitor_key = site.monitoring.vm if site.monitoring else None
    monitor = vms.get(monitor_key) if monitor_key else None
    monitor_src = [monitor["address"].split("/")[0] + "/32"] if monitor else []
    hub = site.vpn.vm if site.vpn else None
    declared = {
        f"{code}/{vm.name}": vm.services for code, opd in spec.opds.items() for vm in opd.vms
    }
    regency = _opd_sources(state, None)
    backups = sftp_clients(state)
    out: dict[str, list[Flow]] = {}
    for key in sorted(vms):
        vm = vms[key]
        own = _opd_sources(state, {vm["opd"]})
        flows = [Flow("tcp", (SSH_PORT,), _nets(mgmt), "ssh from management")]
        if monitor_src:
            flows.append(
                Flow(
                    "tcp",
                    (NODE_EXPORTER_PORT,),
                    _nets(monitor_src),
                    "node exporter from monitoring",
                )
            )
        flows.append(
            Flow(
                "icmp",
                (),
                _nets(mgmt + monitor_src + own),
                "echo from management, monitoring, own OPD",
            )
        )
        if key == monitor_key:
            flows.append(
                Flow(
                    "tcp",
                    (PROMETHEUS_PORT, ALERTMANAGER_PORT),
                    _nets(mgmt),
                    "Prometheus and Alertmanager from management",
                )
            )
        if key == hub and site.vpn is not None:
            flows.append(Flow("udp", (site.vpn.listen_port,), None, "WireGuard from offices"))
        if vm["exposure"] == "public":
            flows.append(Flow("tcp", (80, 443), None, "exposure public: HTTP/HTTPS"))
        if backups.get(key):
            clients = [vms[c]["address"].split("/")[0] + "/32" for c in backups[key]]
            flows.append(
                Flow("tcp", (SSH_PORT,), _nets(clients), "SFTP from the VMs backing up here")
            )
        for svc in declared.get(key, []):
            sources = {"opd": own, "regency": regency}.get(svc.source)
            if svc.source != "public" and not sources:
                continue  # no network of that scope exists: nothing may connect
            flows.append(
                Flow(
                    svc.protocol,
                    (svc.port,),
                    None if svc.source == "public" else _nets(list(sources or [])),
                    f"service {svc.protocol}/{svc.port} from {svc.source}",
                )
            )
        out[key] = flows
    return out
