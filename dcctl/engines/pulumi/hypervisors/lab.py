"""Lab target of the regency program: every VM becomes a :class:`LabVm` container.

Why it looks like this:

* Same shape as the production target (``dcctl.engines.pulumi.hypervisors.proxmox``): one
  ``dcctl:regency:Opd`` component per OPD owning that OPD's VMs, the same resource
  names (``<opd>-<vm>``) and the same per-VM outputs (``name``, ``address`` without
  prefix length, ``node``, ``vlan``), so a lab plan reads like a production plan and
  the Ansible inventory is built the same way.
* The ``networks`` layer creates nothing here: in the lab the VLANs, OPD gateways and
  node bridges are built by the lab builder (``dcctl.lab``), which also names the
  bridges. The site dict tells this target those names (``lab_bridges``).
* Resources are scaled down, because one lab machine (2 cores, 24 GiB) hosts the whole
  regency (about 20 VMs, 4-16 GiB each in production): memory becomes
  ``min(memory_gb * 1024, 256)`` MiB, which a systemd + sshd container (about 20 MiB
  used) never reaches, and CPUs are capped at 1 (a quota, not a reservation, so
  twenty 1-CPU VMs share 2 cores fine; podman refuses a quota above the host's
  CPU count). Site keys override both.
* Names are derived deterministically from a short lab id and the VM key, so two labs
  (two test runs, two people) on one machine never collide, and re-running the
  program finds the same containers. Interface names must fit Linux's 15 characters,
  so the OVS port is ``<lab_id>n<6 hex of sha256(key)>``; the container and namespace
  names are readable (``<lab_id>-vm-<opd>-<vm>``). Everything starts with the lab id,
  so the lab builder's ``down`` (which sweeps by prefix) finds the VMs' namespaces and
  ports too, and the ``-vm-`` / ``n`` markers keep them apart from the builder's own
  names (``-gw``, ``-b-...``, ``v<vlan>``, ``h<n>``, ...).

Site keys read here (besides the production ones ``ssh_keys`` and ``admin_user``):

``lab_id``        short id, 1-8 of ``[a-z0-9]`` (e.g. ``"dlwsb"``). With the lab builder
                  (``dcctl.lab.topology``) pass its interface prefix,
                  ``lab_prefix(plan.lab_id)`` (``"dl"`` + the 3-character lab id).
``lab_bridges``   ``{node name: OVS bridge}`` for every node a VM is placed on; from the
                  lab builder: ``{b.owner: b.name for b in plan.ovs_bridges
                  if b.role == "node"}`` (``<prefix>h<n>``, VLAN-aware like vmbr0).
``lab_image``     container image, the last line of ``scripts/build-lab-image``.
``lab_memory_mb`` optional: an int (the memory cap for every VM, default 256) or a
                  ``{vm key: MiB}`` mapping (exact memory of those VMs).
``lab_cpus``      optional: CPU cap per VM (default 1).
``lab_ssh_keys``  optional: extra public keys (the lab's own key, whose private half the
                  lab machine holds); installed with the site's ``ssh_keys``.
``lab_dns``       optional: DNS servers of every lab VM instead of each VM's ``dns``
                  (``[]``: none, when the lab has no resolver at those addresses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from dcctl.engines.pulumi.labvm import LabVm
from dcctl.engines.pulumi.program import assert_exposure_allowed
from dcctl.lab import podman

__all__ = [
    "DEFAULT_CPUS",
    "DEFAULT_MEMORY_MB",
    "OPD_TYPE",
    "LabNames",
    "LabOpd",
    "build",
    "lab_cpus",
    "lab_memory_mb",
    "lab_names",
]

OPD_TYPE = "dcctl:regency:Opd"  # same component type as production (proxmox.OPD_TYPE)
DEFAULT_MEMORY_MB = 256
DEFAULT_CPUS = 1

_LAB_ID = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class LabNames:
    """Host-side names of one lab VM."""

    container: str  # podman container name
    netns: str  # named network namespace (/var/run/netns/<netns>)
    port: str  # host end of the veth = OVS port, <= 15 characters
    hostname: str  # the guest's hostname, as in production (<opd>-<vm>)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "vm"


def lab_names(lab_id: str, key: str) -> LabNames:
    """Deterministic names of VM ``key`` (``"dinkes/simpus"``) in lab ``lab_id``."""
    if not _LAB_ID.match(lab_id):
        raise ValueError(f"lab_id {lab_id!r}: 1-8 lowercase letters/digits")
    slug = _slug(key.replace("/", "-"))
    container = podman.vm_container(lab_id, slug)
    return LabNames(
        container=container,
        netns=container,
        port=podman.vm_port(lab_id, key),
        hostname=slug[:63].rstrip("-"),
    )


def lab_memory_mb(key: str, vm: Mapping[str, Any], site: Mapping[str, Any]) -> int:
    """Memory of VM ``key`` in the lab (see the module docstring for why it is scaled)."""
    setting = site.get("lab_memory_mb")
    if isinstance(setting, Mapping):
        if key in setting:
            return int(setting[key])
        cap = DEFAULT_MEMORY_MB
    else:
        cap = int(setting) if setting is not None else DEFAULT_MEMORY_MB
    return min(int(vm["memory_gb"]) * 1024, cap)


def lab_cpus(vm: Mapping[str, Any], site: Mapping[str, Any]) -> int | float:
    """CPU quota of a VM in the lab: its vCPUs, capped (see the module docstring)."""
    cap = site.get("lab_cpus", DEFAULT_CPUS)
    return min(vm["vcpu"], cap)


def _keys(site: Mapping[str, Any]) -> str:
    keys: list[str] = []
    for k in [*site.get("lab_ssh_keys", []), *site.get("ssh_keys", [])]:
        k = k.strip()
        if k and k not in keys:
            keys.append(k)
    if not keys:
        raise ValueError("no SSH public key for the lab VMs (site ssh_keys / lab_ssh_keys)")
    return "\n".join(keys)


class LabOpd(pulumi.ComponentResource):
    """Everything one OPD owns in the lab: its VMs."""

    def __init__(
        self,
        code: str,
        *,
        vms: Mapping[str, Mapping[str, Any]],
        site: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(OPD_TYPE, code, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keys = _keys(site) if vms else ""
        self.vms: dict[str, LabVm] = {}
        self.outputs: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for key, vm in sorted(vms.items()):
            names = lab_names(site["lab_id"], key)
            name = key.replace("/", "-")  # the production resource name
            machine = LabVm(
                name,
                name=names.container,
                netns=names.netns,
                bridge=site["lab_bridges"][vm["node"]],
                port=names.port,
                vlan=vm["vlan"],
                address=vm["address"],
                gateway=vm["gateway"],
                memory_mb=lab_memory_mb(key, vm, site),
                cpus=lab_cpus(vm, site),
                image=site["lab_image"],
                ssh_pubkey=keys,
                hostname=names.hostname,
                admin_user=site.get("admin_user"),
                dns=list(site.get("lab_dns", vm.get("dns", []))),
                opts=child,
            )
            self.vms[key] = machine
            self.outputs[key] = pulumi.Output.from_input(
                {
                    "name": name,
                    "address": vm["address"].split("/")[0],
                    "node": vm["node"],
                    "vlan": vm["vlan"],
                    "container_id": machine.container_id,
                    "netns": names.netns,
                }
            )
        self.register_outputs({"vms": self.outputs})


def _validate(vms: Mapping[str, Mapping[str, Any]], site: Mapping[str, Any]) -> None:
    """Check everything before registering a single resource (all or nothing)."""
    for key in sorted(vms):
        assert_exposure_allowed(key, vms[key])
    for need in ("lab_id", "lab_image"):
        if not site.get(need):
            hint = " (run scripts/build-lab-image)" if need == "lab_image" else ""
            raise ValueError(f"the lab target needs site[{need!r}]{hint}")
    if vms:
        _keys(site)
    bridges: Mapping[str, str] = site.get("lab_bridges") or {}
    ports: dict[str, str] = {}
    containers: dict[str, str] = {}
    for key, vm in sorted(vms.items()):
        if vm["node"] not in bridges:
            raise ValueError(
                f"{key}: node {vm['node']!r} has no lab bridge (site lab_bridges: "
                f"{', '.join(sorted(bridges)) or 'empty'})"
            )
        names = lab_names(site["lab_id"], key)
        for seen, value in ((ports, names.port), (containers, names.container)):
            if value in seen:
                raise ValueError(f"{key} and {seen[value]} map to the same lab name {value}")
            seen[value] = key


def build(
    state: Mapping[str, Any], site: Mapping[str, Any]
) -> dict[str, pulumi.Output[dict[str, Any]]]:
    """Create the whole regency as lab containers; return the inventory facts per VM."""
    networks: Mapping[str, Mapping[str, Any]] = state.get("networks", {})
    vms: Mapping[str, Mapping[str, Any]] = state.get("vms", {})
    _validate(vms, site)
    opds = sorted({n["opd"] for n in networks.values()} | {v["opd"] for v in vms.values()})
    components = {
        code: LabOpd(code, vms={k: v for k, v in vms.items() if v["opd"] == code}, site=site)
        for code in opds
    }
    return {key: comp.outputs[key] for comp in components.values() for key in comp.outputs}
