"""Build a small, valid spec repo from Python, so a test states the numbers it checks.

Why: tests that load the demo regency (examples/wonosobo) and assert its counts break
whenever the demo is edited, and "== 19" says nothing about why 19 is right. A test
that builds its own spec with ``build_spec`` sets every count itself, so its expected
values follow from the test's own lines.

The builder reuses the example's Site document as a template (pools, DNS, keys,
management network), replaces the switches, links and hypervisor nodes with what the
test asks for, and hands out switch ports in order: hypervisor uplinks and the star of
links on the first switch, then each OPD's cameras and LAN ports on its switch. The
result goes through ``load_spec`` exactly like a hand-written repo.

Example::

    root = build_spec(
        tmp_path,
        switches=["cisco_ios", "mikrotik_routeros"],
        opds=[OpdSpec("dinkes", vms=[VmSpec("simpus", disk_gb=200)], cameras=2, offices=1)],
        services="dinkes",
    )
    spec = load_spec(root)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcctl.spec.loader import Spec
from dcctl.spec.site import expand_ports
from dcctl.spec.types import API_VERSION
from tests.conftest import EXAMPLE

#: Ports each generated switch offers, by vendor: enough for a uplinks, links and a
#: few OPDs. Written in the spec's range syntax; ``expand_ports`` gives the names.
VENDOR_PORTS: dict[str, str] = {"cisco_ios": "Gi1/0/1-48", "mikrotik_routeros": "ether1-48"}

#: The VMs ``services=`` adds to its OPD: the VPN hub, monitoring and the NVR the Site
#: points at. A test counting VMs adds ``len(SERVICE_VMS)`` for that OPD.
SERVICE_VMS: dict[str, dict[str, Any]] = {
    "vpn-gw": {"role": "vpn-hub", "vcpu": 1, "memory_gb": 1, "disk_gb": 10},
    "monitor": {"role": "monitoring", "vcpu": 1, "memory_gb": 2, "disk_gb": 20},
    "nvr": {"role": "nvr", "vcpu": 2, "memory_gb": 2, "disk_gb": 100},
}


#: The backup VMs ``backup=True`` adds to the services OPD (the Site's ``backup.vm`` and
#: ``backup.offsite_vm``); a test counting VMs adds ``len(BACKUP_VMS)`` for that OPD.
BACKUP_VMS: dict[str, dict[str, Any]] = {
    "backup": {"role": "backup", "vcpu": 1, "memory_gb": 1, "disk_gb": 20},
    "backup-dr": {"role": "backup", "vcpu": 1, "memory_gb": 1, "disk_gb": 20},
}


def camera_credential(code: str) -> str:
    """OPD ``code``'s camera credential: an OPD's env: references carry its code."""
    return f"env:WSB_{code.upper().replace('-', '_')}_CAMERA_PASSWORD"


SWITCH_CREDENTIAL = "env:WSB_SWITCH_PASSWORD"


@dataclass
class VmSpec:
    """One VM; ``extra`` passes any other Vm field (exposure, backup, node, ...)."""

    name: str
    vcpu: int = 1
    memory_gb: int = 1
    disk_gb: int = 10
    role: str = "app"
    extra: dict[str, Any] = field(default_factory=dict)

    def doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "vcpu": self.vcpu,
            "memory_gb": self.memory_gb,
            "disk_gb": self.disk_gb,
            **self.extra,
        }


@dataclass
class OpdSpec:
    """One OPD: its VMs, how many cameras, remote offices and building LAN ports.

    ``switch`` is the index into the site's switches that its cameras and LAN ports
    plug into (default: the last switch). ``quota`` overrides the generous default;
    ``server_room`` is (status, legacy servers).
    """

    code: str
    vms: Sequence[VmSpec] = ()
    cameras: int = 0
    offices: int = 0
    office_router: str = "linux"
    lan_ports: int = 0
    switch: int = -1
    classification: str = "terbatas"
    server_room: tuple[str, int] = ("running", 0)
    quota: dict[str, int] | None = None
    camera_kbps: int = 1024
    camera_days: int = 30


def contact_email(code: str) -> str:
    """The e-mail of OPD ``code``'s one contact (a ticket's requester must be a contact)."""
    return f"admin@{code}.wonosobokab.go.id"


def _example_site() -> dict[str, Any]:
    return yaml.safe_load((EXAMPLE / "site.yaml").read_text())


class _Ports:
    """Hands out each switch's ports in order, so no port is claimed twice."""

    def __init__(self, switches: list[dict[str, Any]]) -> None:
        self._free = {sw["name"]: expand_ports(sw["vendor"], sw["ports"])[::-1] for sw in switches}

    def take(self, switch: str) -> str:
        try:
            return f"{switch}:{self._free[switch].pop()}"
        except IndexError:
            raise ValueError(f"{switch} has no free port left; raise VENDOR_PORTS") from None


def site_doc(
    switches: Sequence[str],
    opds: Sequence[OpdSpec],
    *,
    nodes: int = 1,
    services: str | None = None,
    wireless: bool = False,
    backup: bool = False,
    gateway: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Site and OPD documents (as dicts) for ``build_spec``; see the module docstring."""
    if not switches:
        raise ValueError("a spec needs at least one switch (hypervisor uplinks plug into it)")
    site = _example_site()
    sws: list[dict[str, Any]] = []
    for i, vendor in enumerate(switches):
        sws.append(
            {
                "name": f"sw{i + 1}",
                "vendor": vendor,
                "role": "core" if i == 0 else "access",
                "location": f"Rak {i + 1}",
                "mgmt_address": f"10.255.0.{11 + i}",
                "credential": SWITCH_CREDENTIAL,
                "ports": [VENDOR_PORTS[vendor]],
            }
        )
    ports = _Ports(sws)
    core = sws[0]["name"]
    if backup:
        nodes = max(nodes, 2)  # the off-site backup VM on a node of its own
    site["switches"] = sws
    site["hypervisors"]["nodes"] = [
        {"name": f"pve{n + 1}", "uplink": ports.take(core), "vcpu": 64, "memory_gb": 256}
        for n in range(nodes)
    ]
    site["links"] = [
        {"name": f"fo-{core}-{sw['name']}", "a": ports.take(core), "b": ports.take(sw["name"])}
        for sw in sws[1:]
    ]
    site["storage"] = {"vm_capacity_gb": 1_000_000, "recording_capacity_gb": 1_000_000}
    for key in ("vpn", "monitoring", "cctv", "backup"):
        site.pop(key, None)
    if backup:
        if services is None:
            raise ValueError("backup=True needs services= (the OPD hosting the backup VMs)")
        site["backup"] = {
            **_example_site()["backup"],
            "vm": f"{services}/backup",
            "offsite_vm": f"{services}/backup-dr",
        }
    if services is not None:
        site["vpn"] = {**_example_site()["vpn"], "vm": f"{services}/vpn-gw"}
        site["monitoring"] = {**_example_site()["monitoring"], "vm": f"{services}/monitor"}
        site["cctv"] = {"nvr_vm": f"{services}/nvr"}
    docs = []
    wan = 0
    for o in opds:
        sw = sws[o.switch]["name"]
        vms = [v.doc() for v in o.vms]
        if o.code == services:
            vms += [{"name": name, **copy.deepcopy(body)} for name, body in SERVICE_VMS.items()]
            if backup:
                vms += [
                    {"name": n, **copy.deepcopy(body), "node": f"pve{i + 1}"}
                    for i, (n, body) in enumerate(BACKUP_VMS.items())
                ]
        cams = [
            {
                "name": f"cam{c + 1}",
                "location": f"{o.code} camera {c + 1}",
                "port": ports.take(sw),
                "credential": camera_credential(o.code),
                "bitrate_kbps": o.camera_kbps,
                "retention_days": o.camera_days,
            }
            for c in range(o.cameras)
        ]
        offices = []
        for k in range(o.offices):
            wan += 1
            offices.append(
                {
                    "name": f"office{k + 1}",
                    "location": f"{o.code} office {k + 1}",
                    "router": o.office_router,
                    "wan_address": f"198.51.100.{wan}",
                }
            )
        doc: dict[str, Any] = {
            "apiVersion": API_VERSION,
            "kind": "Opd",
            "code": o.code,
            "name": f"OPD {o.code}",
            "sector": "governance",
            "classification": o.classification,
            "contacts": [{"name": "Admin", "role": "Operator", "email": contact_email(o.code)}],
            "quota": o.quota
            or {"vcpu": 64, "memory_gb": 256, "disk_gb": 100_000, "vms": 50, "cameras": 50},
            "server_room": {"status": o.server_room[0], "servers": o.server_room[1]},
            "vms": vms,
            "offices": offices,
            "cameras": cams,
        }
        if o.lan_ports:
            lan = [ports.take(sw).split(":", 1)[1] for _ in range(o.lan_ports)]
            doc["buildings"] = [
                {"name": "kantor", "location": f"{o.code} kantor", "switch": sw, "lan_ports": lan}
            ]
        docs.append(doc)
    if wireless:
        add_wireless(site, docs, ports)
    if gateway:
        add_gateway(site, ports)
    declare_credentials(site, docs)
    return site, docs


def declare_credentials(site: dict[str, Any], docs: list[dict[str, Any]]) -> None:
    """Put every reference the documents use in its owner's registry (``credentials:``).

    A test that wants an undeclared or misdeclared reference edits the result; the
    rule itself is ``dcctl.spec.credentials`` (this only saves each test the lines).
    """

    def add(doc: dict[str, Any], ref: str | None, kind: str) -> None:
        reg = doc.setdefault("credentials", [])
        if ref and not any(c["ref"] == ref for c in reg):
            reg.append({"ref": ref, "kind": kind})

    site["credentials"] = []
    add(site, site["hypervisors"]["credential"], "hypervisor")
    for sw in site.get("switches", []):
        add(site, sw.get("credential"), "switch")
        add(site, sw.get("enable_credential"), "switch_enable")
    for link in site.get("links", []):
        add(site, link.get("key"), "radio_key")
    add(
        site,
        ((site.get("wifi") or {}).get("guest") or {}).get("passphrase"),
        "guest_wifi_passphrase",
    )
    for doc in docs:
        doc["credentials"] = []
        for cam in doc.get("cameras", []):
            add(doc, cam["credential"], "camera")
        add(doc, (doc.get("wifi") or {}).get("passphrase"), "wifi_passphrase")


#: The radios, APs and Wi-Fi ``build_spec(wireless=True)`` adds (issue 20), by name.
RADIO_MODEL = "LHG XL 5 ac"
AP_MODEL = "cAP ac"
#: The second AP's model: 802.11ax, RouterOS's `wifi` package, its OPD's SSID on WPA3.
AX_AP_MODEL = "cAP ax"
GUEST_WIFI = {"ssid": "Wonosobo Tamu", "vlan": 98, "prefix": "10.98.0.0/24"}
RADIO_KEY = "env:WSB_RADIO_KEY"


def wifi_passphrase(code: str) -> str:
    """OPD ``code``'s Wi-Fi passphrase reference (its code as a word, like cameras')."""
    return f"env:WSB_{code.upper().replace('-', '_')}_WIFI_PASSPHRASE"


def add_wireless(site: dict[str, Any], docs: list[dict[str, Any]], ports: _Ports) -> None:
    """Add one radio link and one AP per OPD with LAN ports, plus the guest network.

    ``radio-dc`` hangs off the core (sw1) by copper and bridges over 5 GHz to
    ``radio-far``, whose ether1 is the first OPD's building ``remote`` (its staff
    LAN, owner that OPD); each OPD with a building gets ``ap-<code>`` on its building
    switch, its SSID (``<CODE>``) and the guest SSID. The second AP is an 802.11ax
    model (``cAP ax``: `wifi` package, interfaces ``wifi1``, ``wifi2``) whose OPD's
    SSID is WPA3 only; the first stays on the legacy package (WPA2).
    """
    core = site["switches"][0]["name"]
    mgmt = 40
    radio = {"band": "5ghz", "channel_width_mhz": 40, "frequency_mhz": 5500}
    owner = docs[0]["code"] if docs else None
    for name, own in (("radio-dc", None), ("radio-far", owner)):
        mgmt += 1
        sw = {
            "name": name,
            "vendor": "mikrotik_routeros",
            "model": RADIO_MODEL,
            "role": "radio",
            "location": f"Menara {name}",
            "mgmt_address": f"10.255.0.{mgmt}",
            "credential": SWITCH_CREDENTIAL,
            "ports": ["ether1", "wlan1"],
            "radio": dict(radio),
        }
        if own is not None:
            sw["owner"] = own
        site["switches"].append(sw)
    site["links"] += [
        {
            "name": "cu-core-radio",
            "a": ports.take(core),
            "b": "radio-dc:ether1",
            "medium": "copper",
        },
        {
            "name": "rf-far",
            "a": "radio-dc:wlan1",
            "b": "radio-far:wlan1",
            "medium": "radio",
            "length_m": 8200,
            "key": RADIO_KEY,
        },
    ]
    site["wifi"] = {"guest": dict(GUEST_WIFI)}
    for doc in docs:
        buildings = doc.get("buildings") or []
        if doc is docs[0]:
            remote = {"name": "remote", "location": "Kantor jauh", "switch": "radio-far"}
            buildings.append({**remote, "lan_ports": ["ether1"]})
            doc["buildings"] = buildings
        if not buildings or buildings[0]["switch"] == "radio-far":
            continue
        code, b = doc["code"], buildings[0]
        mgmt += 1
        ap = f"ap-{code}"
        ax = sum(s.get("role") == "ap" for s in site["switches"]) == 1
        site["switches"].append(
            {
                "name": ap,
                "vendor": "mikrotik_routeros",
                "model": AX_AP_MODEL if ax else AP_MODEL,
                "role": "ap",
                "location": f"{code} kantor",
                "mgmt_address": f"10.255.0.{mgmt}",
                "credential": SWITCH_CREDENTIAL,
                "owner": code,
                "ports": ["ether1-2", "wifi1-2" if ax else "wlan1-2"],
            }
        )
        site["links"].append(
            {
                "name": f"cu-{ap}",
                "a": ports.take(b["switch"]),
                "b": f"{ap}:ether1",
                "medium": "copper",
            }
        )
        b["access_points"] = [ap]
        doc["wifi"] = {"ssid": code.upper(), "passphrase": wifi_passphrase(code), "guest": True}
        if ax:
            doc["wifi"]["security"] = "wpa3"


def add_gateway(site: dict[str, Any], ports: _Ports) -> None:
    """Add the site's gateway ``gw`` (RouterOS, issue 20): ether1 its WAN port, ether2
    linked by copper to the core (sw1)."""
    site["switches"].append(
        {
            "name": "gw",
            "vendor": "mikrotik_routeros",
            "role": "gateway",
            "location": "Rak tepi",
            "mgmt_address": "10.255.0.2",
            "credential": SWITCH_CREDENTIAL,
            "ports": ["ether1-2"],
            "wan_port": "ether1",
        }
    )
    core = site["switches"][0]["name"]
    site["links"].append(
        {"name": "cu-core-gw", "a": ports.take(core), "b": "gw:ether2", "medium": "copper"}
    )


def build_spec(
    root: Path,
    *,
    switches: Sequence[str] = ("cisco_ios",),
    opds: Sequence[OpdSpec] = (),
    nodes: int = 1,
    services: str | None = None,
    wireless: bool = False,
    backup: bool = False,
    gateway: bool = False,
) -> Path:
    """Write a spec repo under ``root / "spec"`` and return its path.

    ``switches`` lists one vendor per switch (named sw1, sw2, ...; sw1 is the core the
    hypervisor nodes and every link end on). ``services`` names the OPD that hosts the
    VPN hub, monitoring and NVR (adding ``SERVICE_VMS`` to it); without it the Site has
    none, so OPDs with cameras or offices need it. No lock is written: IPAM allocates.
    ``wireless`` adds a radio link, APs and Wi-Fi (:func:`add_wireless`); the access
    switches must then be ``access`` switches other than sw1. ``backup`` gives the Site
    the example's backup section, its two backup VMs (``BACKUP_VMS``) in the ``services``
    OPD. ``gateway`` adds the site's gateway (:func:`add_gateway`).
    """
    site, docs = site_doc(
        switches,
        opds,
        nodes=nodes,
        services=services,
        wireless=wireless,
        backup=backup,
        gateway=gateway,
    )
    return write_spec(root / "spec", site, docs)


def write_spec(dest: Path, site: dict[str, Any], docs: list[dict[str, Any]]) -> Path:
    """Write the Site and OPD documents as a spec repo at ``dest`` and return it."""
    (dest / "opd").mkdir(parents=True)
    (dest / "site.yaml").write_text(yaml.safe_dump(site, sort_keys=False))
    for doc in docs:
        (dest / "opd" / f"{doc['code']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


def total(spec: Spec, what: str) -> int:
    """How many ``what`` (vms, cameras, offices, buildings) all OPDs of ``spec`` list.

    Counted from the documents themselves, not from ``desired_state``, so a test that
    compares a layer's output with it also catches an item that every layer dropped.
    """
    return sum(len(getattr(opd, what)) for opd in spec.opds.values())
