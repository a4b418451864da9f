"""Generate a large synthetic regency spec repo for benchmarks.

Sized like a big kabupaten after full consolidation: 60 OPDs, 400 VMs,
48 switches, 150 offices and 800 cameras; ``--scale N`` multiplies every count
(the references to the VPN, monitoring and NVR VMs and the tunnel pool follow).
Output is a normal spec repo, so every dcctl command can be timed against it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

from dcctl.spec.types import Sector

#: The canonical sectors: Sector is ``Annotated[Literal[...], <alias resolver>]``.
SECTORS = list(get_args(get_args(Sector)[0]))


def generate(
    dest: Path,
    opds: int = 60,
    vms: int = 400,
    switches: int = 48,
    offices: int = 150,
    cameras: int = 800,
) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "opd").mkdir(exist_ok=True)
    access = switches - 1  # one core, the rest access switches hung off it
    ports_per_access = 24
    sw_lines = [
        "  - {name: sw-core, vendor: cisco_ios, role: core, location: DC, "
        f"mgmt_address: 10.255.0.2, credential: env:SW_PASS, ports: [Te1/1/1-2, Gi1/0/1-{access}]}}"
    ]
    links = []
    for s in range(access):
        vendor = "cisco_ios" if s % 2 == 0 else "mikrotik_routeros"
        ports = (
            f"[Gi1/0/1-{ports_per_access}]"
            if vendor == "cisco_ios"
            else f"[ether1-{ports_per_access}]"
        )
        sw_lines.append(
            f"  - {{name: sw-a{s}, vendor: {vendor}, role: access, location: Gedung {s}, "
            f"mgmt_address: 10.255.{1 + s // 200}.{10 + s % 200}, credential: env:SW_PASS, "
            f"ports: {ports}}}"
        )
        up = "Gi1/0/24" if vendor == "cisco_ios" else "ether24"
        links.append(f'  - {{name: fo-{s}, a: "sw-core:Gi1/0/{s + 1}", b: "sw-a{s}:{up}"}}')
    # OPD 0 holds vm0, vm<opds>, vm<2*opds>, vm<3*opds> (VMs go round the OPDs); one tunnel
    # address per office and the hub, with room to spare.
    tunnel_prefix = 32 - max(10, (offices + 2).bit_length() + 1)
    (dest / "site.yaml").write_text(f"""apiVersion: dcctl/v1
kind: Site
name: bench
domain: dc.bench.go.id
dns: [10.20.0.53]
credentials:
  - {{ref: env:PVE_TOKEN, kind: hypervisor}}
  - {{ref: env:SW_PASS, kind: switch}}
hypervisors:
  type: proxmox
  credential: env:PVE_TOKEN
  nodes:
    - {{name: pve1, uplink: "sw-core:Te1/1/1", vcpu: 512, memory_gb: 4096}}
    - {{name: pve2, uplink: "sw-core:Te1/1/2", vcpu: 512, memory_gb: 4096}}
storage: {{vm_capacity_gb: 10000000, recording_capacity_gb: 10000000}}
management: {{prefix: 10.255.0.0/16, gateway: 10.255.0.1, vlan: 99}}
ipam:
  vlan_range: [100, 3999]
  server_pool: 10.20.0.0/14
  cctv_pool: 10.40.0.0/14
  lan_pool: 10.64.0.0/12
switches:
{chr(10).join(sw_lines)}
links:
{chr(10).join(links)}
vpn: {{vm: opd0/vm0, endpoint: "203.0.113.10:51820", tunnel_pool: 10.99.0.0/{tunnel_prefix}}}
monitoring: {{vm: opd0/vm{opds}}}
cctv: {{nvr_vm: opd0/vm{2 * opds}}}
backup:
  vm: opd0/vm{3 * opds}
  proxmox_storage: pbs-dc
  policy:
    publik: {{schedule: weekly, retention_days: 28}}
    terbatas: {{schedule: daily, retention_days: 14}}
    rahasia: {{schedule: daily, retention_days: 14}}
""")
    # Ports 1..22 of each access switch are free for buildings and cameras.
    free_ports = [(s, p) for s in range(access) for p in range(1, 23)]
    cursor = 0
    for o in range(opds):
        my_vms = [v for v in range(vms) if v % opds == o]
        my_offices = [f for f in range(offices) if f % opds == o]
        my_cams = [c for c in range(cameras) if c % opds == o]
        lines = [
            "apiVersion: dcctl/v1",
            "kind: Opd",
            f"code: opd{o}",
            f"name: Dinas Nomor {o}",
            f"sector: {SECTORS[o % len(SECTORS)]}",
            "classification: terbatas",
            "contacts: [{name: Admin, role: Operator, email: admin@bench.go.id}]",
            "quota: {vcpu: 1000, memory_gb: 4000, disk_gb: 100000, vms: 100, cameras: 100}",
        ]
        s, p = free_ports[cursor]
        cursor += 1
        port = f"Gi1/0/{p}" if s % 2 == 0 else f"ether{p}"
        lines.append(
            f"buildings: [{{name: kantor, location: Gedung {o}, switch: sw-a{s}, "
            f"lan_ports: [{port}]}}]"
        )
        lines.append("vms:")
        for v in my_vms:
            # the backup VM (site.yaml backup.vm) is not backed up into itself
            backup = "" if v == 3 * opds else ", backup: {schedule: daily, retention_days: 14}"
            lines.append(
                f"  - {{name: vm{v}, description: Layanan {v}, vcpu: 2, memory_gb: 4, "
                f"disk_gb: 50{backup}}}"
            )
        lines.append("offices:" if my_offices else "offices: []")
        for f in my_offices:
            lines.append(
                f"  - {{name: kantor{f}, location: Kecamatan {f}, router: "
                f"{'linux' if f % 2 else 'mikrotik'}, "
                f"wan_address: 198.51.{100 + f // 250}.{1 + f % 250}}}"
            )
        if my_cams:
            lines.append(f"credentials: [{{ref: env:BENCH_OPD{o}_CAMERA_PASSWORD, kind: camera}}]")
        lines.append("cameras:" if my_cams else "cameras: []")
        for c in my_cams:
            s, p = free_ports[cursor]
            cursor += 1
            port = f"Gi1/0/{p}" if s % 2 == 0 else f"ether{p}"
            lines.append(
                f'  - {{name: cam{c}, location: Titik {c}, port: "sw-a{s}:{port}", '
                f"credential: env:BENCH_OPD{o}_CAMERA_PASSWORD, bitrate_kbps: 2048, "
                "retention_days: 14}"
            )
        (dest / "opd" / f"opd{o}.yaml").write_text("\n".join(lines) + "\n")


def scaled(scale: int) -> dict[str, int]:
    """The counts of ``scale`` times the benchmark regency."""
    base = {"opds": 60, "vms": 400, "switches": 48, "offices": 150, "cameras": 800}
    return {k: v * scale for k, v in base.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dest", type=Path)
    ap.add_argument("--scale", type=int, default=1, help="multiply every count (10: x10)")
    args = ap.parse_args()
    generate(args.dest, **scaled(args.scale))
    print(args.dest)


if __name__ == "__main__":
    main()
