"""The complete desired state of every layer, as plain data.

Plain, JSON-ready dicts keyed by stable resource names are what the snapshot
stores and what `plan` diffs; engines read their own layer from here so the
plan shows exactly what an apply would do.
"""

from __future__ import annotations

import zlib
from typing import Any

from dcctl.backup.repositories import OFFSITE, PRIMARY, backup_layer
from dcctl.plan.switching import switch_intents
from dcctl.spec.backup import INTERVAL_S, NONE, data_paths, effective
from dcctl.spec.checks import opd_networks, vlan_name, vm_network
from dcctl.spec.ipam import prefix_length
from dcctl.spec.loader import Spec
from dcctl.speed import gc_paused

LAYERS = ("networks", "vms", "switches", "vpn", "cctv", "monitoring", "backup")

#: Layer name -> stable key -> plain record.
DesiredState = dict[str, dict[str, Any]]


@gc_paused
def desired_state(spec: Spec) -> DesiredState:
    """Every layer's records for `spec`; a run computes it once and hands it on."""
    site, alloc = spec.site, spec.allocation
    nodes = [n.name for n in site.hypervisors.nodes]
    state: DesiredState = {layer: {} for layer in LAYERS}
    for code, opd in spec.opds.items():
        for net in opd_networks(opd):
            key = f"{code}/{net}"
            state["networks"][key] = {
                "opd": code,
                "vlan": alloc.vlans[key],
                "name": vlan_name(code, net),
                "prefix": alloc.prefixes[key],
                "gateway": alloc.gateway(key),
            }
        for vm in opd.vms:
            key = f"{code}/{vm.name}"
            placed = f"{code}/{vm.renamed_from}" if vm.renamed_from else key
            net = f"{code}/{vm_network(vm)}"
            length = prefix_length(alloc.prefixes[net])
            state["vms"][key] = {
                "opd": code,
                "sector": opd.sector,
                "classification": vm.classification or opd.classification,
                "role": vm.role,
                "vcpu": vm.vcpu,
                "memory_gb": vm.memory_gb,
                "disk_gb": vm.disk_gb,
                "image": vm.image,
                "exposure": vm.exposure,
                "backup": _backup_policy(spec, key, vm.classification or opd.classification, vm),
                # Placement by a hash of the VM's key unless pinned: adding or removing
                # another VM never migrates this one; a renamed VM keeps its old key's.
                "node": vm.node or nodes[zlib.crc32(placed.encode()) % len(nodes)],
                "vlan": alloc.vlans[net],
                "address": f"{alloc.addresses[f'{net}/{vm.name}']}/{length}",
                "gateway": alloc.gateway(net),
                "dns": list(site.dns),
            }
            if vm.renamed_from:
                # Not a setting of the VM: where it came from, so the plan, Pulumi
                # (aliases) and the lab rename it in place instead of replacing it.
                state["vms"][key]["renamed_from"] = f"{code}/{vm.renamed_from}"
        for off in opd.offices:
            key = f"{code}/{off.name}"
            state["vpn"][key] = {
                "opd": code,
                "router": off.router,
                "wan_address": off.wan_address,
                "lan_prefix": alloc.prefixes[f"{code}/office/{off.name}"],
                "tunnel_address": alloc.addresses[f"vpn/{code}/{off.name}"],
                # An office may reach only its own OPD's networks.
                "allowed_networks": [
                    alloc.prefixes[f"{code}/{n}"] for n in opd_networks(opd) if n != "cctv"
                ],
            }
        for cam in opd.cameras:
            key = f"{code}/{cam.name}"
            addr = alloc.addresses[f"{code}/cctv/{cam.name}"]
            state["cctv"][key] = {
                "opd": code,
                "address": addr,
                "url": f"rtsp://{addr}:{cam.rtsp_port}{cam.rtsp_path}",
                "credential": cam.credential,  # a reference, never the secret
                "bitrate_kbps": cam.bitrate_kbps,
                "retention_days": cam.retention_days,
                "storage_gb": round(cam.storage_gb(), 1),
            }
    if spec.site.cctv is not None and state["cctv"]:
        from dcctl.cctv.storage import required_gb

        nvr = state["vms"].get(spec.site.cctv.nvr_vm)
        if nvr is not None:
            nvr["recording_disk_gb"] = required_gb(state["cctv"].values())
    state["switches"] = {k: v.to_dict() for k, v in switch_intents(spec).items()}
    state["monitoring"] = _monitoring_targets(spec, state)
    state["backup"] = backup_layer(spec, state["vms"])
    return state


def served_by(spec: Spec, state: dict[str, dict[str, Any]], device: str) -> str:
    """The OPD a radio or AP serves (its alerts' ``opd`` label), or the site's name.

    An AP serves the OPD whose SSID it broadcasts (the guest SSID serves nobody in
    particular). A radio serves the OPDs whose VLANs cross it: exactly one makes it
    that OPD's radio (a link to its remote building); none or several make it a
    backbone radio, labelled with the site, so its alerts go to the infra team.
    """
    intent = state["switches"].get(device, {})
    opds = {s["opd"] for w in intent.get("wireless", {}).values() for s in w.get("ssids", [])
            if s.get("opd")}  # fmt: skip
    if not opds:
        by_vlan = {n["vlan"]: n["opd"] for n in state["networks"].values()}
        for port in intent.get("ports", {}).values():
            for vid in [port.get("vlan"), *port.get("trunk_vlans", [])]:
                if vid in by_vlan:
                    opds.add(by_vlan[vid])
    return next(iter(opds)) if len(opds) == 1 else spec.site.name


def _backup_policy(spec: Spec, key: str, classification: str, vm: Any) -> dict[str, Any]:
    """A VM's effective backup policy, its repositories and when its last backup is stale.

    The backup VMs themselves get none (their repositories are the backups).
    """
    conf = spec.site.backup
    if conf is not None and key in conf.service_vms():
        policy = NONE
    else:
        policy = effective(conf, classification, vm.backup)
    out: dict[str, Any] = policy.to_dict()
    out["repositories"] = [PRIMARY, OFFSITE][: policy.copies]
    if policy.active:
        out["paths"] = data_paths(vm.backup)
    if policy.active and conf is not None:
        out["stale_after_s"] = conf.stale_after_s or int(
            INTERVAL_S[policy.schedule] * conf.stale_after_factor
        )
    return out


def _monitoring_targets(spec: Spec, state: dict[str, dict[str, Any]]) -> dict[str, Any]:
    targets: dict[str, Any] = {}
    for key, vm in state["vms"].items():
        targets[f"node/{key}"] = {
            "opd": vm["opd"],
            "job": "node",
            "target": vm["address"].split("/")[0] + ":9100",
        }
    for key, cam in state["cctv"].items():
        host = cam["address"]
        port = cam["url"].split(":")[2].split("/")[0]
        targets[f"rtsp/{key}"] = {"opd": cam["opd"], "job": "camera", "target": f"{host}:{port}"}
    for sw in spec.site.switches:
        if sw.role in ("radio", "ap"):
            # Probed like a switch; labelled by the one OPD it serves, else the site.
            targets[f"{sw.role}/{sw.name}"] = {
                "opd": served_by(spec, state, sw.name),
                "job": sw.role,
                "target": f"{sw.mgmt_address}:22",
            }
            continue
        targets[f"switch/{sw.name}"] = {
            "opd": "kominfo",
            "job": "switch",
            "target": f"{sw.mgmt_address}:22",
        }
    for key, peer in state["vpn"].items():
        targets[f"vpn/{key}"] = {
            "opd": peer["opd"],
            "job": "vpn",
            "target": peer["tunnel_address"],
        }
    return targets
