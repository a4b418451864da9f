"""Inventory rows per OPD, and the fabric views: what `dcctl show` prints and `-o json` returns.

Values are typed (numbers stay numbers, a use against a quota is `{"used", "quota"}`),
so JSON and YAML parse into data; :func:`cell` makes the text table's "1/3" from them.
"""

from __future__ import annotations

from typing import Any

from dcctl.i18n import N_, _
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
                "vms": _use(len(opd.vms), opd.quota.vms),
                "vcpu": _use(sum(v.vcpu for v in opd.vms), opd.quota.vcpu),
                "memory_gb": _use(sum(v.memory_gb for v in opd.vms), opd.quota.memory_gb),
                "disk_gb": _use(sum(v.disk_gb for v in opd.vms), opd.quota.disk_gb),
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
                        "backup": {
                            "schedule": vm["backup"]["schedule"],
                            "retention_days": vm["backup"]["retention_days"],
                        },
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
                "opd": TOTAL_ROW,
                "vm_disk_gb": _use(
                    sum(r["vm_disk_gb"] for r in inv["storage"]),
                    spec.site.storage.vm_capacity_gb,
                    "capacity",
                ),
                "recording_gb": _use(
                    round(sum(r["recording_gb"] for r in inv["storage"]), 1),
                    spec.site.storage.recording_capacity_gb,
                    "capacity",
                ),
            }
        )
    return inv


def _use(used: float, limit: float, of: str = "quota") -> dict[str, float]:
    return {"used": used, of: limit}


#: The storage table's last row (the site's capacity): English in the data (JSON, YAML),
#: in the language in force in the text table (:func:`cell`).
TOTAL_ROW = N_("TOTAL (site capacity)")


def cell(value: Any) -> str:
    """A typed value as the text table shows it: `1/3`, `daily/14d`, `-` for nothing.

    Fractions in the language's format (id: 331,8); IDs (VLAN, port) plain.
    """
    from dcctl.i18n import number

    if isinstance(value, float):
        return number(value, 1)
    if isinstance(value, dict):
        if "used" in value:
            limit = value.get("quota", value.get("capacity"))
            return f"{cell(value['used'])}/{cell(limit)}"
        if "schedule" in value:
            return f"{value['schedule']}/{value['retention_days']}d"
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None:
        return "-"
    if value == TOTAL_ROW:
        return _(TOTAL_ROW)
    return str(value)


#: `dcctl show PATH VIEW`: the physical fabric, where a free port is found.
VIEWS = ("switches", "ports", "links", "buildings")

#: What a port nobody uses says in the ports view (grep for it).
FREE = "free"


def fabric(spec: Spec, view: str) -> dict[str, list[dict[str, Any]]]:
    """One of :data:`VIEWS`: switches (ports used/free), every port with its user
    (free ones marked), the links, and the OPDs' buildings with their ports."""
    from dcctl.spec.checks import port_users

    users = port_users(spec)
    if view == "ports":
        rows = []
        for sw in spec.site.switches:
            for port in sw.port_names():
                user = users.get((sw.name, port))
                rows.append(
                    {
                        "switch": sw.name,
                        "port": port,
                        "status": "used" if user else FREE,
                        "used_by": user,
                        "owner": sw.owner,
                    }
                )
        return {"ports": rows}
    if view == "switches":
        rows = []
        for sw in spec.site.switches:
            names = sw.port_names()
            used = sum(1 for p in names if (sw.name, p) in users)
            rows.append(
                {
                    "switch": sw.name,
                    "vendor": sw.vendor,
                    "model": sw.model,
                    "role": sw.role,
                    "location": sw.location,
                    "mgmt_address": str(sw.mgmt_address),
                    "managed": sw.managed,
                    "owner": sw.owner,
                    "ports": len(names),
                    "used": used,
                    "free": len(names) - used,
                }
            )
        return {"switches": rows}
    if view == "links":
        return {
            "links": [
                {
                    "link": link.name,
                    "a": link.a,
                    "b": link.b,
                    "medium": link.medium,
                    "length_m": link.length_m,
                    "description": link.description,
                }
                for link in spec.site.links
            ]
        }
    if view == "buildings":
        return {
            "buildings": [
                {
                    "building": f"{code}/{b.name}",
                    "opd": code,
                    "location": b.location,
                    "switch": b.switch,
                    "lan_ports": list(b.lan_ports),
                    "access_points": list(b.access_points),
                }
                for code, opd in spec.opds.items()
                for b in opd.buildings
            ]
        }
    raise ValueError(_("unknown view {view!r}").format(view=view))
