"""Proxmox VE target of the regency program (production), via pulumi_proxmoxve 8.x.

Why it looks like this:

* One ``dcctl:regency:Opd`` component per OPD owns everything of that tenant
  (resource pool, SDN VNets and subnets, VMs, their firewall and backup jobs),
  so ``pulumi preview`` groups changes by OPD and deleting an OPD is one subtree.
  Site-wide objects (provider, the SDN VLAN zone, cloud images, the SDN apply)
  are created once at the top level.
* Resource types, chosen from what pulumi_proxmoxve 8.6 offers:
  - ``VmLegacy``: the new ``Vm`` resource has no memory, disks, network devices
    or cloud-init ``initialization`` yet, so it cannot build a VM from a cloud
    image; ``VmLegacy`` is the full-featured VM resource (not deprecated; only
    ``Vm2Legacy`` is).
  - ``PoolLegacy``, ``firewall.OptionsLegacy`` / ``firewall.RulesLegacy``: the only
    pool and VM-firewall resources of this provider version.
  - ``sdn.zone.Vlan``, ``sdn.Vnet``, ``sdn.Subnet``, ``sdn.Applier``,
    ``download.File``, ``backup.Job``: the current (non-legacy) resources.
* Disks are imported from cloud images with ``import_from`` (API-only; needs
  Proxmox VE 8.4+ and the ``import`` content type on the image datastore), so
  the provider needs the API token and no SSH access to the nodes.
* The API token is read from the environment variable (or file) the site's
  credential reference names, at program run time, and passed to the provider
  as a secret; it is never exported, logged or put in an error message.
* Typed all the way down: :func:`build` turns the plain state and site into
  records (:class:`~dcctl.engines.pulumi.program.DesiredVm`, :class:`Site`), each
  :class:`OpdComponent` takes an :class:`OpdArgs`, and every nested resource input
  is the SDK's own args class (``VmLegacyDiskArgs``, ``VmLegacyCpuArgs``, ...), never
  a plain dict. A dict with a misspelt key (``agent={"bogus": ...}``) or without a
  required one (a disk without ``interface``) is registered as is and only the real
  provider would refuse it, mid-apply; the args classes refuse it when the program
  runs, so the mock tests see it too.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_proxmoxve as proxmoxve
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from dcctl.engines.pulumi.program import (
    DesiredNetwork,
    DesiredVm,
    assert_exposure_allowed,
    from_plain,
    program_inputs,
    resource_aliases,
    resource_name,
)
from dcctl.i18n import N_, _
from dcctl.spec.credentials import CredentialError as SpecCredentialError
from dcctl.spec.credentials import read_reference

__all__ = [
    "IMAGES",
    "OPD_TYPE",
    "CredentialError",
    "Node",
    "OpdArgs",
    "OpdComponent",
    "Site",
    "VpnHub",
    "api_token",
    "build",
    "missing_backup_storage",
]

OPD_TYPE = "dcctl:regency:Opd"

# spec image -> (URL of the amd64 cloud image, file name in the image datastore).
# "latest" URLs with overwrite=False: each image is downloaded once per node and
# not re-downloaded when upstream publishes a new build, so a routine apply never
# touches images; Ansible keeps the guests' packages current.
IMAGES: dict[str, tuple[str, str]] = {
    "debian-12": (
        "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2",
        "debian-12-genericcloud-amd64.qcow2",
    ),
    "ubuntu-24.04": (
        "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img",
        "ubuntu-24.04-server-cloudimg-amd64.qcow2",
    ),
    "rocky-9": (
        "https://dl.rockylinux.org/pub/rocky/9/images/x86_64/"
        "Rocky-9-GenericCloud-Base.latest.x86_64.qcow2",
        "rocky-9-genericcloud-base-x86_64.qcow2",
    ),
}

#: Which change of a VM's desired state replaces the VM (a new VM, empty disks), and
#: why; the plan reads this (``dcctl.plugins.hypervisor_replaces``), so keep it true to
#: the resources below. The system disk is imported from the image (``import_from``),
#: which the provider cannot change on an existing disk. Everything else changes in
#: place: a node change migrates (``migrate=True``), VLAN, address, DNS and sizes are
#: VM settings and cloud-init, the name is a VM setting (a rename keeps the VM).
REPLACES: dict[str, str] = {
    "image": N_("the system disk is imported from the image"),
}

# Backup schedule -> Proxmox calendar event; {m} staggers OPDs over the hour.
_SCHEDULES = {"hourly": "*:{m:02d}", "daily": "01:{m:02d}", "weekly": "sun 02:{m:02d}"}


@dataclass(frozen=True, kw_only=True)
class Node:
    """A Proxmox VE node and the bridge its VMs' NICs attach to."""

    name: str
    bridge: str


@dataclass(frozen=True, kw_only=True)
class VpnHub:
    """The VM that terminates the offices' WireGuard tunnels, and its UDP port."""

    vm: str
    port: int


@dataclass(frozen=True, kw_only=True)
class FirewallFlow:
    """One inbound flow a VM needs (:class:`dcctl.firewall.flows.Flow` as plain data)."""

    protocol: str  # tcp | udp | icmp
    ports: tuple[int, ...]
    sources: tuple[str, ...] | None  # None: from anywhere
    why: str


@dataclass(frozen=True, kw_only=True)
class Site:
    """The facts of :func:`~dcctl.engines.pulumi.program.site_inputs` this target uses."""

    endpoint: str
    credential: str  # a reference (env:VAR, file:secrets/...), never the token
    spec_root: str  # where the credential's file: reference resolves (the secrets dir)
    insecure: bool = False
    datastore: str
    image_datastore: str
    backup_storage: str | None = None
    backup_offsite_storage: str | None = None
    nodes: tuple[Node, ...]
    ssh_keys: tuple[str, ...]
    admin_user: str
    domain: str
    vlan_zone: str
    vm_firewall: Mapping[str, tuple[FirewallFlow, ...]] = field(default_factory=dict)
    #: VMs that get a dcctl-made SSH host key (dcctl.ssh.vmkeys): key -> public key line
    #: ("" while the first apply has yet to make it); the private halves are read from
    #: the sealed store under ``state_dir`` when the program runs, never passed in.
    host_keys: Mapping[str, str] = field(default_factory=dict)
    state_dir: str = ""
    #: A file storage with the "snippets" content type: cloud-init user data goes there.
    snippets_datastore: str = "local"
    vpn_hub: VpnHub | None = None


@dataclass(frozen=True, kw_only=True)
class OpdArgs:
    """What one :class:`OpdComponent` is built from (the SDK's ``name, args, opts`` style).

    ``networks`` and ``vms`` are the OPD's own; ``zone`` and ``images`` are the
    site-wide resources its VNets and disks hang off.
    """

    networks: Mapping[str, DesiredNetwork]
    vms: Mapping[str, DesiredVm]
    site: Site
    zone: proxmoxve.sdn.zone.Vlan
    images: Mapping[tuple[str, str], proxmoxve.download.File]
    #: Cloud-init user data (a Pulumi secret) of the VMs that get a dcctl-made host key.
    user_data: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)


class CredentialError(RuntimeError):
    """The Proxmox API token cannot be read from where the site says it is."""


def _under_mocks() -> bool:
    return isinstance(get_monitor(), MockMonitor)


def api_token(ref: str, spec_root: str) -> pulumi.Output[str] | None:
    """Resolve a credential reference (``env:VAR`` or ``file:secrets/...``) to a secret.

    Through :func:`dcctl.spec.credentials.read_reference`, the one resolver: a
    ``file:`` reference is read from the spec's secrets directory, whatever the
    current directory of the program is. Returns None only under Pulumi's
    unit-test mocks, which talk to no API.
    """
    try:
        return pulumi.Output.secret(read_reference(Path(spec_root), ref))
    except SpecCredentialError as exc:
        if _under_mocks():
            return None
        raise CredentialError(
            _("the Proxmox API token is missing: {problem}").format(problem=exc)
        ) from None


def _tag(prefix: str, value: Any) -> str:
    # Proxmox tags: lowercase letters, digits, '_' and '-' (plus '+', '.').
    return re.sub(r"[^a-z0-9_-]+", "-", f"{prefix}-{value}".lower()).strip("-")


def _vnet_id(vlan: int) -> str:
    # Proxmox VNet IDs are at most 8 characters; VLAN IDs are unique site-wide.
    return f"v{vlan}"


def _prune(schedule: str, days: int) -> dict[str, str]:
    if days <= 0:
        return {"keep-last": "1"}
    if schedule == "hourly":
        return {"keep-hourly": "24", "keep-daily": str(days)}
    if schedule == "weekly":
        return {"keep-weekly": str(max(1, math.ceil(days / 7)))}
    return {"keep-daily": str(days)}


def _backup_jobs(
    code: str,
    groups: Mapping[tuple[str, str, int], list[proxmoxve.VmLegacy]],
    site: Site,
    opts: pulumi.ResourceOptions,
) -> dict[str, proxmoxve.backup.Job]:
    """One vzdump job per (copy, schedule, retention) of an OPD's VMs (issue 18).

    The primary copy goes to the site's backup storage, the second (VMs keeping two
    copies) to its off-site storage half an hour later, so the two never run at once.
    The minute is a hash of the OPD, spreading the OPDs' jobs over the hour. Inputs
    are the SDK's ``JobArgs``: a misspelt input fails when the program runs.
    """
    minute = zlib.crc32(code.encode()) % 60
    jobs: dict[str, proxmoxve.backup.Job] = {}
    for (copy, schedule, days), members in sorted(groups.items()):
        offsite = copy == "offsite"
        storage = site.backup_offsite_storage if offsite else site.backup_storage
        assert storage is not None  # build() refused a policy without its storage
        job_id = f"dcctl-{code}-{schedule}-{days}d" + ("-offsite" if offsite else "")
        jobs[job_id] = proxmoxve.backup.Job(
            job_id,
            args=proxmoxve.backup.JobArgs(
                resource_id=job_id,
                schedule=_SCHEDULES[schedule].format(m=(minute + 30 * offsite) % 60),
                vmids=[m.vm_id.apply(str) for m in members],
                storage=storage,
                mode="snapshot",
                compress="zstd",
                enabled=True,
                repeat_missed=True,
                prune_backups=_prune(schedule, days),
                notes_template=f"{{{{guestname}}}} (OPD {code}, dcctl {schedule} {days}d {copy})",
            ),
            opts=opts,
        )
    return jobs


def missing_backup_storage(vms: Mapping[str, DesiredVm], site: Site) -> list[str]:
    """Why VMs' backup policies cannot be kept on this site (empty: they can).

    A VM with a policy and no storage to back it up to is refused before anything is
    registered, never skipped with a warning nobody reads (issue 18); ``dcctl
    validate`` refuses such a spec first, this guards doctored or hand-run state.
    """
    problems = []
    for key, vm in sorted(vms.items()):
        if vm.backup.schedule == "none":
            continue
        if not site.backup_storage:
            problems.append(
                _(
                    "{vm}: backup policy {schedule} but the site names no backup "
                    "storage (backup.proxmox_storage)"
                ).format(vm=key, schedule=vm.backup.schedule)
            )
        elif vm.backup.copies > 1 and not site.backup_offsite_storage:
            problems.append(
                _(
                    "{vm}: keeps {copies} copies but the site names no off-site "
                    "backup storage (backup.proxmox_offsite_storage)"
                ).format(vm=key, copies=vm.backup.copies)
            )
    return problems


def _public_rules(
    key: str, vm: DesiredVm, site: Site
) -> list[proxmoxve.firewall.RulesLegacyRuleArgs]:
    assert_exposure_allowed(key, vm)  # second line of defense, right where exposure is made
    rules = [
        proxmoxve.firewall.RulesLegacyRuleArgs(
            type="in",
            action="ACCEPT",
            proto="tcp",
            dport="80,443",
            comment="dcctl: exposure public (HTTP/HTTPS from anywhere)",
        )
    ]
    hub = site.vpn_hub
    if hub and hub.vm == key:
        rules.append(
            proxmoxve.firewall.RulesLegacyRuleArgs(
                type="in",
                action="ACCEPT",
                proto="udp",
                dport=str(hub.port),
                comment="dcctl: WireGuard from remote offices",
            )
        )
    opened = {("tcp", (80, 443)), ("udp", (hub.port,) if hub and hub.vm == key else ())}
    for flow in site.vm_firewall.get(key, ()):
        if flow.sources is None and (flow.protocol, flow.ports) in opened:
            continue  # the two rules above
        rule = proxmoxve.firewall.RulesLegacyRuleArgs(
            type="in",
            action="ACCEPT",
            comment=f"dcctl: {flow.why}",
            source=",".join(flow.sources) if flow.sources is not None else None,
            **(
                {"macro": "Ping"}
                if flow.protocol == "icmp"
                else {"proto": flow.protocol, "dport": ",".join(map(str, flow.ports))}
            ),
        )
        rules.append(rule)
    return rules


def _disks(
    vm: DesiredVm, site: Site, image: proxmoxve.download.File
) -> list[proxmoxve.VmLegacyDiskArgs]:
    """The system disk, imported from the node's cloud image, and the NVR's recording disk.

    The recording disk is sized from the cameras (bitrate x retention + headroom),
    is not in vzdump backups (recordings are kept by retention, not restored), and
    has a stable serial so the role finds it as /dev/disk/by-id/...-dcctl-cctv.
    """
    disks = [
        proxmoxve.VmLegacyDiskArgs(
            interface="scsi0",
            datastore_id=site.datastore,
            import_from=image.id,
            size=vm.disk_gb,
            discard="on",
            iothread=True,
        )
    ]
    if vm.recording_disk_gb:
        disks.append(
            proxmoxve.VmLegacyDiskArgs(
                interface="scsi1",
                datastore_id=site.datastore,
                size=vm.recording_disk_gb,
                file_format="raw",
                discard="on",
                iothread=True,
                backup=False,
                serial="dcctl-cctv",
            )
        )
    return disks


#: The user data of a VM whose host key the first apply will make (a preview shows it).
PENDING_USER_DATA = "#cloud-config\n# the SSH host key is created by the first apply\n"


def host_key_user_data(site: Site, vms: Mapping[str, DesiredVm]) -> dict[str, pulumi.Output[str]]:
    """Each dcctl-made host key's cloud-init user data, as a secret (dcctl.ssh.vmkeys).

    The private halves are decrypted here, in the program, from the sealed store
    (the secrets passphrase, as for the WireGuard keys): they exist in memory and in
    Pulumi's state as secrets only, never in the plain inputs or any output.
    """
    from dcctl.ssh.vmkeys import private_keys, user_data

    wanted = {k: pub for k, pub in site.host_keys.items() if k in vms}
    if not wanted:
        return {}
    privates = private_keys(Path(site.state_dir), {k: p for k, p in wanted.items() if p})
    out: dict[str, pulumi.Output[str]] = {}
    for key, public in sorted(wanted.items()):
        private = privates.get(key)
        text = (
            user_data(
                hostname=resource_name(key),
                domain=site.domain,
                admin_user=site.admin_user,
                authorized_keys=site.ssh_keys,
                private_key=private,
                public_key=public,
            )
            if private and public
            else PENDING_USER_DATA
        )
        out[key] = pulumi.Output.secret(text)
    return out


def _initialization(
    vm: DesiredVm, site: Site, user_data: proxmoxve.FileLegacy | None = None
) -> proxmoxve.VmLegacyInitializationArgs:
    """Cloud-init: static address, DNS, and the admin account with the infra team's keys.

    With ``user_data`` (a dcctl-made host key) the VM reads that file instead of the
    user settings Proxmox would generate (it states the same account and keys).
    """
    return proxmoxve.VmLegacyInitializationArgs(
        datastore_id=site.datastore,
        dns=proxmoxve.VmLegacyInitializationDnsArgs(domain=site.domain, servers=list(vm.dns)),
        ip_configs=[
            proxmoxve.VmLegacyInitializationIpConfigArgs(
                ipv4=proxmoxve.VmLegacyInitializationIpConfigIpv4Args(
                    address=vm.address, gateway=vm.gateway
                )
            )
        ],
        user_account=proxmoxve.VmLegacyInitializationUserAccountArgs(
            username=site.admin_user, keys=list(site.ssh_keys)
        ),
        user_data_file_id=user_data.id if user_data is not None else None,
    )


def _renamed(
    opts: pulumi.ResourceOptions, vm: DesiredVm, suffix: str = ""
) -> pulumi.ResourceOptions:
    """``opts`` with the aliases of a renamed VM's resource (the VM keeps its ``vm_id``)."""
    aliases = resource_aliases(vm.renamed_from, suffix)
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))


class OpdComponent(pulumi.ComponentResource):
    """Everything one OPD owns on the hypervisors."""

    def __init__(
        self, code: str, args: OpdArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(OPD_TYPE, code, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        site = args.site
        bridges = {n.name: n.bridge for n in site.nodes}

        self.pool = proxmoxve.PoolLegacy(
            f"{code}-pool", pool_id=code, comment=f"OPD {code} (managed by dcctl)", opts=child
        )

        self.vnets: dict[str, proxmoxve.sdn.Vnet] = {}
        self.subnets: dict[str, proxmoxve.sdn.Subnet] = {}
        for key, net in sorted(args.networks.items()):
            short = key.split("/", 1)[1]
            vnet = proxmoxve.sdn.Vnet(
                f"{code}-{short}",
                resource_id=_vnet_id(net.vlan),
                zone=args.zone.resource_id,
                tag=net.vlan,
                alias=net.name,
                opts=child,
            )
            self.vnets[key] = vnet
            self.subnets[key] = proxmoxve.sdn.Subnet(
                f"{code}-{short}-subnet",
                vnet=vnet.resource_id,
                cidr=net.prefix,
                gateway=net.gateway,
                snat=False,
                opts=child,
            )

        self.vms: dict[str, proxmoxve.VmLegacy] = {}
        self.outputs: dict[str, pulumi.Output[dict[str, Any]]] = {}
        # (copy, schedule, retention days) -> the VMs of one vzdump job.
        backup_groups: dict[tuple[str, str, int], list[proxmoxve.VmLegacy]] = {}
        for key, vm in sorted(args.vms.items()):
            name = resource_name(key)
            public = vm.exposure == "public"
            backup = vm.backup
            tags = {
                "dcctl",
                _tag("opd", vm.opd),
                _tag("sector", vm.sector),
                _tag("class", vm.classification),
                _tag("role", vm.role),
                _tag("backup", f"{backup.schedule}-{backup.retention_days}d"),
            }
            if public:
                tags.add("exposure-public")
            snippet = None
            if key in args.user_data:
                # Uploaded to the node (the provider's SSH access: Proxmox's API takes
                # no snippets); the data is a secret, so is what the state keeps of it.
                snippet = proxmoxve.FileLegacy(
                    f"{name}-user-data",
                    content_type="snippets",
                    datastore_id=site.snippets_datastore,
                    node_name=vm.node,
                    source_raw=proxmoxve.FileLegacySourceRawArgs(
                        data=args.user_data[key], file_name=f"dcctl-{name}-user-data.yaml"
                    ),
                    opts=pulumi.ResourceOptions.merge(
                        _renamed(child, vm, "-user-data"),
                        pulumi.ResourceOptions(additional_secret_outputs=["sourceRaw"]),
                    ),
                )
            machine = proxmoxve.VmLegacy(
                name,
                # The VM name is also the guest's hostname (Proxmox's cloud-init
                # sets hostname = name and fqdn = name.<dns domain>).
                name=name,
                node_name=vm.node,
                pool_id=self.pool.pool_id,
                description=(
                    f"{key}: {vm.role} VM of OPD {vm.opd} ({vm.sector}, "
                    f"{vm.classification}, exposure {vm.exposure}). Managed by dcctl: "
                    "changes made in Proxmox are reverted on the next apply."
                ),
                tags=sorted(tags),
                on_boot=True,
                started=True,
                # Node changes (re-pinning) migrate the VM instead of re-creating it.
                migrate=True,
                # The agent channel is on; Ansible installs qemu-guest-agent. Do not
                # block apply waiting for it: addresses are static and known.
                agent=proxmoxve.VmLegacyAgentArgs(
                    enabled=True,
                    trim=True,
                    wait_for_ip=proxmoxve.VmLegacyAgentWaitForIpArgs(disabled=True),
                ),
                operating_system=proxmoxve.VmLegacyOperatingSystemArgs(type="l26"),
                cpu=proxmoxve.VmLegacyCpuArgs(cores=vm.vcpu, type="x86-64-v2-AES"),
                memory=proxmoxve.VmLegacyMemoryArgs(dedicated=vm.memory_gb * 1024),
                scsi_hardware="virtio-scsi-single",
                disks=_disks(vm, site, args.images[(vm.node, vm.image)]),
                network_devices=[
                    proxmoxve.VmLegacyNetworkDeviceArgs(
                        bridge=bridges[vm.node],
                        vlan_id=vm.vlan,
                        model="virtio",
                        # The VM firewall filters only public VMs (see below).
                        firewall=public,
                    )
                ],
                initialization=_initialization(vm, site, snippet),
                opts=_renamed(child, vm),
            )
            self.vms[key] = machine

            if public:
                # Default-deny inbound; HTTP(S) from anywhere, and from the data
                # center's networks only the flows the VM needs (dcctl.firewall),
                # never the whole server pool. Takes effect once the datacenter-level
                # firewall is enabled (a one-time site decision, not made here).
                proxmoxve.firewall.OptionsLegacy(
                    f"{name}-firewall",
                    node_name=machine.node_name,
                    vm_id=machine.vm_id,
                    enabled=True,
                    input_policy="DROP",
                    output_policy="ACCEPT",
                    opts=_renamed(child, vm, "-firewall"),
                )
                proxmoxve.firewall.RulesLegacy(
                    f"{name}-public",
                    node_name=machine.node_name,
                    vm_id=machine.vm_id,
                    rules=_public_rules(key, vm, site),
                    opts=_renamed(child, vm, "-public"),
                )

            if backup.schedule != "none":
                copies = ("primary", "offsite")[: max(1, backup.copies)]
                for copy in copies:
                    group = (copy, backup.schedule, backup.retention_days)
                    backup_groups.setdefault(group, []).append(machine)
            self.outputs[key] = pulumi.Output.from_input(
                {
                    "name": name,
                    "address": vm.address.split("/")[0],
                    "node": machine.node_name,
                    "vlan": vm.vlan,
                    "vm_id": machine.vm_id,
                }
            )

        self.backups = _backup_jobs(code, backup_groups, site, child)

        self.register_outputs(
            {
                "pool": self.pool.pool_id,
                "vnets": {k: v.resource_id for k, v in self.vnets.items()},
                "vms": self.outputs,
            }
        )


def build(
    state: Mapping[str, Any], site: Mapping[str, Any]
) -> dict[str, pulumi.Output[dict[str, Any]]]:
    """Create the whole regency on Proxmox VE; return the inventory facts per VM."""
    inputs = program_inputs(state, site, lambda plain: from_plain(Site, "site", plain))
    conf, networks, vms = inputs.site, inputs.networks, inputs.vms
    nodes = {n.name: n for n in conf.nodes}
    for key, vm in vms.items():
        if vm.node not in nodes:
            raise ValueError(
                _("{vm}: node {node} is not a hypervisor node of the site").format(
                    vm=key, node=repr(vm.node)
                )
            )
        if vm.image not in IMAGES:
            raise ValueError(
                _("{vm}: no cloud image known for {image}").format(vm=key, image=repr(vm.image))
            )
    missing = missing_backup_storage(vms, conf)
    if missing:
        # Never guess a storage ("local" is the nodes' root disk and would fill it).
        raise ValueError(
            _("{problems}; refusing to create any resource").format(problems="; ".join(missing))
        )
    bridges = {n.bridge for n in nodes.values()}
    if len(bridges) != 1:
        raise ValueError(
            _("an SDN VLAN zone has one bridge on every node; nodes use {bridges}").format(
                bridges=", ".join(sorted(bridges))
            )
        )

    user_data = host_key_user_data(conf, vms)
    provider = proxmoxve.Provider(
        "proxmox",
        endpoint=conf.endpoint,
        api_token=api_token(conf.credential, conf.spec_root),
        insecure=conf.insecure,
        # Snippets (the host keys' user data) are uploaded over SSH to the nodes, as
        # root with the agent's key; without host keys to hand in, no SSH is needed.
        ssh=proxmoxve.ProviderSshArgs(agent=True, username="root") if user_data else None,
    )
    opts = pulumi.ResourceOptions(provider=provider)

    zone = proxmoxve.sdn.zone.Vlan(
        "sdn-zone",
        resource_id=conf.vlan_zone,
        bridge=bridges.pop(),
        nodes=sorted(nodes),
        opts=opts,
    )

    images: dict[tuple[str, str], proxmoxve.download.File] = {}
    for node, image in sorted({(vm.node, vm.image) for vm in vms.values()}):
        url, file_name = IMAGES[image]
        images[(node, image)] = proxmoxve.download.File(
            f"image-{image}-{node}",
            node_name=node,
            datastore_id=conf.image_datastore,
            content_type="import",
            url=url,
            file_name=file_name,
            overwrite=False,
            upload_timeout=1800,
            opts=opts,
        )

    components = {
        code: OpdComponent(
            code,
            OpdArgs(
                networks={k: n for k, n in networks.items() if n.opd == code},
                vms={k: v for k, v in vms.items() if v.opd == code},
                site=conf,
                zone=zone,
                images=images,
                user_data={k: d for k, d in user_data.items() if vms[k].opd == code},
            ),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        for code in inputs.opds()
    }

    # SDN edits stay pending in Proxmox until applied. The applier is replaced
    # (and so re-applies) whenever the zone, a VNet or a subnet changes. The digest
    # is of the plain input, as it always was, so existing stacks see no change.
    sdn_digest = hashlib.sha256(
        json.dumps(
            {"zone": conf.vlan_zone, "networks": dict(state.get("networks", {}))}, sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    sdn_objects: list[pulumi.Resource] = [zone]
    for comp in components.values():
        sdn_objects += [*comp.vnets.values(), *comp.subnets.values()]
    proxmoxve.sdn.Applier(
        "sdn-apply",
        opts=pulumi.ResourceOptions(
            provider=provider, depends_on=sdn_objects, replacement_trigger=sdn_digest
        ),
    )

    return {key: comp.outputs[key] for comp in components.values() for key in comp.outputs}
