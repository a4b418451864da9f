"""The lab hypervisor's regency program: every VM becomes a :class:`LabVm` container.

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

* Typed like production: :func:`build` turns the plain state and site into records
  (:class:`~dcctl.engines.pulumi.program.DesiredVm`, :class:`LabSite`) with
  :func:`~dcctl.engines.pulumi.program.program_inputs` and each :class:`LabOpd` takes
  a :class:`LabOpdArgs`, so a missing field or a wrong type (``lab_ssh_keys`` given
  as one string, which used to be read character by character) is one error naming
  the key before any container is made. Every lab key starts with ``lab_``, so a ``lab_``
  key this target does not know is a misspelling (``lab_cpu``) and refused too,
  instead of being ignored and the default silently used.

Site keys read here (besides the production ones ``ssh_keys`` and ``admin_user``,
both optional here):

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
``lab_known_hosts`` optional: the lab's ``known_hosts`` file (absolute); each VM's SSH
                  host key is pinned there under its inventory name when it is made.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

from dcctl.engines.pulumi.program import (
    DesiredVm,
    ProgramInputError,
    from_plain,
    program_inputs,
    resource_aliases,
    resource_name,
)
from dcctl.i18n import N_, _
from dcctl.lab import podman
from dcctl.lab.hypervisor.provider import LabVm

__all__ = [
    "DEFAULT_CPUS",
    "DEFAULT_MEMORY_MB",
    "OPD_TYPE",
    "LabNames",
    "LabOpd",
    "LabOpdArgs",
    "LabSite",
    "build",
    "lab_cpus",
    "lab_memory_mb",
    "lab_names",
    "lab_site",
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


@dataclass(frozen=True, kw_only=True)
class LabSite:
    """The site facts this target reads (each key's meaning: the module docstring)."""

    lab_id: str
    lab_image: str
    lab_bridges: Mapping[str, str] = dataclasses.field(default_factory=dict)
    lab_ssh_keys: tuple[str, ...] = ()
    ssh_keys: tuple[str, ...] = ()
    admin_user: str | None = None
    lab_dns: tuple[str, ...] | None = None  # None: each VM's own dns
    lab_memory_mb: int | Mapping[str, int] = DEFAULT_MEMORY_MB
    lab_cpus: float = DEFAULT_CPUS
    lab_known_hosts: str | None = None


@dataclass(frozen=True, kw_only=True)
class LabOpdArgs:
    """What one :class:`LabOpd` is built from: the OPD's own VMs and the lab site."""

    vms: Mapping[str, DesiredVm]
    site: LabSite


# Required keys whose empty value is as useless as a missing one, and how to get them.
_NEEDED = {"lab_id": "", "lab_image": N_("(run scripts/build-lab-image)")}


def lab_site(site: Mapping[str, Any]) -> LabSite:
    """The :class:`LabSite` in the plain ``site``; refuse a bad, missing or unknown lab key."""
    known = {f.name for f in dataclasses.fields(LabSite)}
    unknown = sorted(k for k in site if k.startswith("lab_") and k not in known)
    if unknown:
        raise ProgramInputError(
            _("site.{key}: not a key of the lab target (its keys: {keys})").format(
                key=unknown[0], keys=", ".join(sorted(k for k in known if k.startswith("lab_")))
            )
        )
    for need, hint in _NEEDED.items():
        if site.get(need, "") == "":
            said = (
                _("site.{key} is empty; the lab target needs it")
                if need in site
                else _("site.{key} is missing; the lab target needs it")
            ).format(key=need)
            raise ProgramInputError(said + (" " + _(hint) if hint else ""))
    return from_plain(LabSite, "site", site)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "vm"


def lab_names(lab_id: str, key: str) -> LabNames:
    """Deterministic names of VM ``key`` (``"dinkes/simpus"``) in lab ``lab_id``."""
    if not _LAB_ID.match(lab_id):
        raise ValueError(
            _("lab_id {lab_id}: 1-8 lowercase letters/digits").format(lab_id=repr(lab_id))
        )
    slug = _slug(key.replace("/", "-"))
    container = podman.vm_container(lab_id, slug)
    return LabNames(
        container=container,
        netns=container,
        port=podman.vm_port(lab_id, key),
        hostname=slug[:63].rstrip("-"),
    )


def lab_memory_mb(key: str, vm: DesiredVm, site: LabSite) -> int:
    """Memory of VM ``key`` in the lab (see the module docstring for why it is scaled)."""
    setting = site.lab_memory_mb
    if isinstance(setting, Mapping):
        if key in setting:
            return setting[key]
        cap = DEFAULT_MEMORY_MB
    else:
        cap = setting
    return min(vm.memory_gb * 1024, cap)


def lab_cpus(vm: DesiredVm, site: LabSite) -> float:
    """CPU quota of a VM in the lab: its vCPUs, capped (see the module docstring)."""
    return min(vm.vcpu, site.lab_cpus)


def _keys(site: LabSite) -> str:
    keys: list[str] = []
    for k in [*site.lab_ssh_keys, *site.ssh_keys]:
        k = k.strip()
        if k and k not in keys:
            keys.append(k)
    if not keys:
        raise ValueError(_("no SSH public key for the lab VMs (site ssh_keys / lab_ssh_keys)"))
    return "\n".join(keys)


class LabOpd(pulumi.ComponentResource):
    """Everything one OPD owns in the lab: its VMs."""

    def __init__(
        self, code: str, args: LabOpdArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(OPD_TYPE, code, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        site = args.site
        keys = _keys(site) if args.vms else ""
        self.vms: dict[str, LabVm] = {}
        self.outputs: dict[str, pulumi.Output[dict[str, Any]]] = {}
        for key, vm in sorted(args.vms.items()):
            names = lab_names(site.lab_id, key)
            name = resource_name(key)  # the production resource name
            machine = LabVm(
                name,
                name=names.container,
                netns=names.netns,
                bridge=site.lab_bridges[vm.node],
                port=names.port,
                vlan=vm.vlan,
                address=vm.address,
                gateway=vm.gateway,
                memory_mb=lab_memory_mb(key, vm, site),
                cpus=lab_cpus(vm, site),
                image=site.lab_image,
                ssh_pubkey=keys,
                hostname=names.hostname,
                admin_user=site.admin_user,
                dns=list(vm.dns if site.lab_dns is None else site.lab_dns),
                known_hosts=site.lab_known_hosts,
                host_alias=name if site.lab_known_hosts else None,
                # A renamed VM: the old resource, renamed in place (container and data kept).
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(aliases=resource_aliases(vm.renamed_from))
                ),
            )
            self.vms[key] = machine
            self.outputs[key] = pulumi.Output.from_input(
                {
                    "name": name,
                    "address": vm.address.split("/")[0],
                    "node": vm.node,
                    "vlan": vm.vlan,
                    "container_id": machine.container_id,
                    "netns": names.netns,
                }
            )
        self.register_outputs({"vms": self.outputs})


def _validate(vms: Mapping[str, DesiredVm], site: LabSite) -> None:
    """Check what the records cannot say, before registering a single resource."""
    if vms:
        _keys(site)
    ports: dict[str, str] = {}
    containers: dict[str, str] = {}
    for key, vm in sorted(vms.items()):
        if vm.node not in site.lab_bridges:
            raise ValueError(
                _("{vm}: node {node} has no lab bridge (site lab_bridges: {bridges})").format(
                    vm=key,
                    node=repr(vm.node),
                    bridges=", ".join(sorted(site.lab_bridges)) or "empty",
                )
            )
        names = lab_names(site.lab_id, key)
        for seen, value in ((ports, names.port), (containers, names.container)):
            if value in seen:
                raise ValueError(
                    _("{vm} and {other} map to the same lab name {name}").format(
                        vm=key, other=seen[value], name=value
                    )
                )
            seen[value] = key


def build(
    state: Mapping[str, Any], site: Mapping[str, Any]
) -> dict[str, pulumi.Output[dict[str, Any]]]:
    """Create the whole regency as lab containers; return the inventory facts per VM."""
    inputs = program_inputs(state, site, lab_site)
    vms, conf = inputs.vms, inputs.site
    _validate(vms, conf)  # all or nothing: before registering a single resource
    components = {
        code: LabOpd(
            code, LabOpdArgs(vms={k: v for k, v in vms.items() if v.opd == code}, site=conf)
        )
        for code in inputs.opds()
    }
    return {key: comp.outputs[key] for comp in components.values() for key in comp.outputs}
