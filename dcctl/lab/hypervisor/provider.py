"""``LabVm``: a Pulumi dynamic resource that stands in for a Proxmox VE VM in the lab.

Why a container and not a VM: the lab machines cannot run KVM guests (QEMU falls back
to TCG, far too slow for twenty VMs) and reach no container registry, so each "VM" is
a systemd container of the image ``scripts/build-lab-image`` builds (Debian 12, sshd,
python3), run by podman inside its own network namespace. To Ansible it looks like a
VM: its own address on its OPD's VLAN, a default route to the OPD gateway, systemd,
SSH with key-only root login. The host side of it (namespace, veth, OVS port,
container) is :mod:`.machine`; the inputs and which change replaces the VM are
:mod:`.inputs`.

Provider semantics, chosen to match ``proxmoxve.VmLegacy`` closely enough that a lab
rehearsal predicts production plans:

* ``memory_mb``/``cpus``/``ssh_pubkey`` change in place, like a Proxmox memory or core
  change, and so do the names (a renamed VM keeps its container and files, as a
  renamed Proxmox VM keeps its disks); any other input replaces the VM, deleting
  first, because the address would collide.
* ``read`` (``pulumi refresh``) inspects the live container: gone, stopped or cut off
  from its network means the VM is reported gone (empty id) so the next ``up`` builds
  it again; memory and CPU are the container's cgroup limits (:func:`.machine.live_limits`).
* ``create`` is transactional: on failure it removes what it made. ``delete``
  tolerates things already gone.
* Providers are pickled with dill. ``LabVmProvider`` is a module-level class of an
  installed package, so it is pickled *by reference* (the module and class name, in
  every LabVm's ``__provider`` in the stack state) and the provider process
  (``python -m pulumi.dynamic``, run with ``PULUMI_PYTHON_CMD``) imports this module;
  that python must have dcctl installed (the project venv does). Pulumi reads and
  deletes a resource with the provider its state names, so moving or renaming this
  class breaks refresh and delete of VMs a stack made before (this module was
  ``dcctl.engines.pulumi.labvm`` until the lab hypervisor moved into the lab).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from dcctl.lab import podman
from dcctl.lab.hypervisor import machine
from dcctl.lab.hypervisor.inputs import (
    INPUTS,
    RENAMED,
    REPLACE_ON,
    changed_inputs,
    check_inputs,
    same,
)

__all__ = ["LabVm", "LabVmProvider"]


class LabVmProvider(ResourceProvider):
    """CRUD of a lab VM (podman container + netns + veth + OVS access port)."""

    # Nothing secret is captured: keep the serialized provider readable in the state.
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate and normalize inputs before anything touches the host."""
        return check_inputs(news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Names, memory, CPUs and keys update in place; any other input replaces the VM."""
        changed = changed_inputs(olds, news)
        return DiffResult(
            changes=bool(changed),
            replaces=[p for p in changed if p in REPLACE_ON],
            stables=[],
            # Same container name, netns, port and address: the old VM must go first.
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Clear what a crashed earlier create left, then build and start the VM."""
        machine.clear_leftovers(props["name"], props["netns"], props["port"])
        container_id = machine.start(props)
        machine.pin(props)
        outs = {p: props.get(p) for p in INPUTS}
        outs["container_id"] = container_id
        return CreateResult(id_=container_id, outs=outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Rename the running VM, apply memory/CPU limits and rewrite the keys."""
        if any(olds.get(p) != news[p] for p in RENAMED):
            machine.rename(olds, news)
        name = news["name"]
        if not (
            same(olds.get("memory_mb"), news["memory_mb"]) and same(olds.get("cpus"), news["cpus"])
        ):
            machine.set_limits(name, news["memory_mb"], news["cpus"])
        if olds.get("ssh_pubkey") != news["ssh_pubkey"]:
            podman.install_login(
                name, news["ssh_pubkey"], news.get("admin_user"), run=machine.run_podman
            )
        machine.pin(news, olds)
        outs = {p: news.get(p) for p in INPUTS}
        outs["container_id"] = olds.get("container_id") or id_
        return UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Remove container, OVS port and namespace; whatever is already gone is fine."""
        container = _id or props.get("container_id")
        machine.teardown(container=container, netns=props["netns"], port=props["port"])
        machine.unpin(props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Report the live VM; an empty id tells Pulumi it is gone (and must be rebuilt)."""
        info = machine.container_info(id_)
        netns, port = props.get("netns", ""), props.get("port", "")
        if (
            info is None
            or not info.get("State", {}).get("Running")
            or not (netns and machine.netns_exists(netns))
        ):
            return ReadResult(id_="", outs={})
        bridge, tag = machine.ovs_port(port)
        if bridge is None:
            return ReadResult(id_="", outs={})
        outs = {p: props.get(p) for p in INPUTS}
        outs.update(
            container_id=info["Id"],
            name=str(info.get("Name", props.get("name"))).lstrip("/"),
            bridge=bridge,
            vlan=tag,
        )
        memory_mb, cpus = machine.live_limits(info["Id"])
        if memory_mb is not None:
            outs["memory_mb"] = memory_mb
        if cpus is not None:
            outs["cpus"] = int(cpus) if float(cpus).is_integer() else cpus
        return ReadResult(id_=info["Id"], outs=outs)


class LabVm(pulumi.dynamic.Resource, module="dcctl", name="LabVm"):
    """A lab VM: a systemd container on an OVS access port of its VLAN."""

    name: pulumi.Output[str]
    netns: pulumi.Output[str]
    bridge: pulumi.Output[str]
    port: pulumi.Output[str]
    vlan: pulumi.Output[int]
    address: pulumi.Output[str]
    gateway: pulumi.Output[str]
    memory_mb: pulumi.Output[int]
    cpus: pulumi.Output[float]
    image: pulumi.Output[str]
    ssh_pubkey: pulumi.Output[str]
    hostname: pulumi.Output[str]
    admin_user: pulumi.Output[str | None]
    dns: pulumi.Output[list[str]]
    known_hosts: pulumi.Output[str | None]
    host_alias: pulumi.Output[str | None]
    container_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        netns: pulumi.Input[str],
        bridge: pulumi.Input[str],
        port: pulumi.Input[str],
        vlan: pulumi.Input[int],
        address: pulumi.Input[str],
        gateway: pulumi.Input[str],
        memory_mb: pulumi.Input[int],
        cpus: pulumi.Input[float],
        image: pulumi.Input[str],
        ssh_pubkey: pulumi.Input[str],
        hostname: pulumi.Input[str],
        admin_user: pulumi.Input[str] | None = None,
        dns: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        known_hosts: pulumi.Input[str] | None = None,
        host_alias: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name,
            "netns": netns,
            "bridge": bridge,
            "port": port,
            "vlan": vlan,
            "address": address,
            "gateway": gateway,
            "memory_mb": memory_mb,
            "cpus": cpus,
            "image": image,
            "ssh_pubkey": ssh_pubkey,
            "hostname": hostname,
            "admin_user": admin_user,
            "dns": dns,
            "known_hosts": known_hosts,
            "host_alias": host_alias,
            "container_id": None,  # an output; declared so it is readable as .container_id
        }
        opts = pulumi.ResourceOptions.merge(
            pulumi.ResourceOptions(delete_before_replace=True), opts
        )
        super().__init__(LabVmProvider(), resource_name, props, opts)
