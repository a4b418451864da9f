"""Inventory rows per OPD: what `dcctl show` prints and `--output json` returns."""

from __future__ import annotations

from typing import Any

from dcctl.plan.desired import desired_state
from dcctl.spec.loader import Spec


def inventory(spec: Spec, only: str | None = None) -> dict[str, list[dict[str, Any]]]:
    state = desired_state(spec)
    codes = [only] if only else list(spec.opds)
    inv: dict[str, list[dict[str, Any]]] = {
        "opds": [],
        "networks": [],
        "vms": [],
        "offices": [],
        "cameras": [],
        "storage": [],
    }
    for code in codes:
        opd = spec.opds[code]
        rec = sum(c.storage_gb() for c in opd.cameras)
        inv["opds"].append(
            {
                "code": code,
                "name": opd.name,
                "sector": opd.sector,
                "class": opd.classification,
                "vms": f"{len(opd.vms)}/{opd.quota.vms}",
                "vcpu": f"{sum(v.vcpu for v in opd.vms)}/{opd.quota.vcpu}",
                "memory_gb": f"{sum(v.memory_gb for v in opd.vms)}/{opd.quota.memory_gb}",
                "disk_gb": f"{sum(v.disk_gb for v in opd.vms)}/{opd.quota.disk_gb}",
                "offices": len(opd.offices),
                "cameras": len(opd.cameras),
                "server_room": opd.server_room.status,
            }
        )
        for key, net in state["networks"].items():
            if net["opd"] == code:
                inv["networks"].append(
                    {
                        "network": key,
                        "vlan": net["vlan"],
                        "name": net["name"],
                        "prefix": net["prefix"],
                        "gateway": net["gateway"],
                    }
                )
        for key, vm in state["vms"].items():
            if vm["opd"] == code:
                inv["vms"].append(
                    {
                        "vm": key,
                        "address": vm["address"],
                        "vlan": vm["vlan"],
                        "vcpu": vm["vcpu"],
                        "memory_gb": vm["memory_gb"],
                        "disk_gb": vm["disk_gb"],
                        "class": vm["classification"],
                        "exposure": vm["exposure"],
                        "node": vm["node"],
                        "backup": f"{vm['backup']['schedule']}/{vm['backup']['retention_days']}d",
                    }
                )
        for key, off in state["vpn"].items():
            if off["opd"] == code:
                inv["offices"].append(
                    {
                        "office": key,
                        "router": off["router"],
                        "wan": off["wan_address"],
                        "lan": off["lan_prefix"],
                        "tunnel": off["tunnel_address"],
                    }
                )
        for key, cam in state["cctv"].items():
            if cam["opd"] == code:
                inv["cameras"].append(
                    {
                        "camera": key,
                        "address": cam["address"],
                        "bitrate_kbps": cam["bitrate_kbps"],
                        "retention_days": cam["retention_days"],
                        "storage_gb": cam["storage_gb"],
                    }
                )
        inv["storage"].append(
            {
                "opd": code,
                "vm_disk_gb": sum(v.disk_gb for v in opd.vms),
                "recording_gb": round(rec, 1),
            }
        )
    if only is None:
        inv["storage"].append(
            {
                "opd": "TOTAL (site capacity)",
                "vm_disk_gb": f"{sum(r['vm_disk_gb'] for r in inv['storage'])}"
                f"/{spec.site.storage.vm_capacity_gb}",
                "recording_gb": f"{sum(r['recording_gb'] for r in inv['storage']):.1f}"
                f"/{spec.site.storage.recording_capacity_gb}",
            }
        )
    return inv
