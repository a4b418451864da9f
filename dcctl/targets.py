"""Where an apply lands: the lab rehearsal or production, as one object engines receive.

Why a target object, not a string: the differences between rehearsing in the lab
and changing the real estate (where credentials come from, which SSH key logs
in, which hypervisor builds the VMs, where per-target state is kept, what lab
machines cannot do) used to be ``target == "lab"`` comparisons spread over the
engines, each importing :mod:`dcctl.lab` for its piece. Here each target answers
those questions once; engines ask the target and never import the lab or compare
target names. This is the only module that knows which targets exist.

The production hypervisor is the spec's ``hypervisors.type``; the lab's is the
lab's container hypervisor. Both entry points (``dcctl apply`` and the hand-run
``stacks/__main__.py``) choose it through :meth:`Target.hypervisor`, so they
cannot disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from dcctl.i18n import _
from dcctl.spec.credentials import CredentialError, read_reference

if TYPE_CHECKING:
    from dcctl.plan.desired import DesiredState
    from dcctl.spec.loader import Spec

__all__ = ["KNOWN_HOSTS", "CredentialError", "Target", "TargetName", "get", "names"]


#: File name of a target's pinned SSH host keys.
KNOWN_HOSTS = "known_hosts"


class TargetName(StrEnum):
    """The targets a command line may name (``--target``)."""

    lab = "lab"
    prod = "prod"


class Target(Protocol):
    """What an engine may ask of the place it changes."""

    #: ``lab`` or ``prod``: for messages, the audit log and reports, never for branching.
    name: str
    #: The Pulumi stack of this target.
    stack: str
    #: Machines are the lab's containers: roles skip what a container cannot do
    #: (kernel tuning, storage checks on a shared disk, systemd sandboxing).
    rehearsal: bool

    def hypervisor(self, spec: Spec) -> str:
        """The hypervisor driver that builds this target's VMs."""
        ...

    def credential(self, spec: Spec, ref: str) -> str:
        """The secret behind a spec's credential reference; raises CredentialError."""
        ...

    def ssh_key(self, spec: Spec) -> Path | None:
        """The private key Ansible logs in with (None: the SSH agent's)."""
        ...

    def site_inputs(self, spec: Spec, state: DesiredState) -> dict[str, Any]:
        """What this target adds to the Pulumi program's site inputs (from the run's state)."""
        ...

    def state_path(self, base: Path) -> Path:
        """Where this target keeps its part of a domain's state under `base`."""
        ...

    def converge_evidence(self, spec: Spec) -> Any:
        """What the VM layer's skip proof adds about the live machines (issue 17): the
        lab's VM containers as they are now; nothing for production (drift finds changes
        there, and a drift found drops the proof)."""
        ...

    def known_hosts(self, spec: Spec) -> Path:
        """The file of this target's pinned SSH host keys (:mod:`dcctl.ssh.knownhosts`)."""
        ...


@dataclass(frozen=True)
class Production:
    """The real estate: the spec's hypervisor, credentials from env:/file: references."""

    name: str = TargetName.prod.value
    stack: str = "proxmox"
    rehearsal: bool = False

    def hypervisor(self, spec: Spec) -> str:
        return str(spec.site.hypervisors.type)

    def credential(self, spec: Spec, ref: str) -> str:
        # env:VAR or file:secrets/... (in the spec's secrets directory): one resolver.
        return read_reference(spec.root, ref)

    def ssh_key(self, spec: Spec) -> Path | None:
        del spec  # production logs in with the operator's (or the pipeline's) key
        key = os.environ.get("ANSIBLE_PRIVATE_KEY_FILE")
        return Path(key) if key else None

    def site_inputs(self, spec: Spec, state: DesiredState) -> dict[str, Any]:
        # The VMs whose SSH host key dcctl makes (public halves only; the program
        # reads the private ones from the sealed store under the state dir).
        from dcctl.ssh.vmkeys import planned

        return {"host_keys": planned(spec, state, self), "state_dir": str(spec.state_dir)}

    def state_path(self, base: Path) -> Path:
        return base

    def converge_evidence(self, spec: Spec) -> Any:
        del spec
        return None

    def known_hosts(self, spec: Spec) -> Path:
        # In the spec repo's state: a pinned (or changed) key is reviewed like any change.
        return spec.state_dir / "ssh" / KNOWN_HOSTS


@dataclass(frozen=True)
class Lab:
    """The rehearsal on this machine: the lab's hypervisor, secrets and key."""

    name: str = TargetName.lab.value
    stack: str = "lab"
    rehearsal: bool = True

    def hypervisor(self, spec: Spec) -> str:
        del spec
        return "lab"

    def credential(self, spec: Spec, ref: str) -> str:
        try:
            from dcctl.lab.secrets import lab_secret
            from dcctl.lab.topology import lab_state_dir, resolve_lab_id
        except ImportError as exc:
            raise CredentialError(
                _("{ref}: the lab is not available ({problem})").format(ref=ref, problem=exc)
            ) from None
        try:
            return lab_secret(lab_state_dir(resolve_lab_id(spec.site.name)), ref)
        except (LookupError, ValueError) as exc:
            raise CredentialError(str(exc)) from None

    def ssh_key(self, spec: Spec) -> Path | None:
        from dcctl.lab.integration import lab_plan, lab_ssh_key

        return lab_ssh_key(lab_plan(spec).state_dir)[0]

    def site_inputs(self, spec: Spec, state: DesiredState) -> dict[str, Any]:
        from dcctl.lab.integration import lab_site_inputs

        return lab_site_inputs(spec, state)

    def state_path(self, base: Path) -> Path:
        # A rehearsal keeps its own backups and keys, never production's.
        return base / self.name

    def converge_evidence(self, spec: Spec) -> Any:
        # A lab taken down and up again, or a VM container removed, is seen here.
        from dcctl.lab.integration import lab_vm_evidence

        return lab_vm_evidence(spec)

    def known_hosts(self, spec: Spec) -> Path:
        # With the lab's state: `lab up` pins the keys of the machines it creates there.
        from dcctl.lab.topology import lab_state_dir, resolve_lab_id

        return lab_state_dir(resolve_lab_id(spec.site.name)) / KNOWN_HOSTS


_TARGETS: dict[str, Target] = {TargetName.prod: Production(), TargetName.lab: Lab()}


def names() -> tuple[str, ...]:
    """Every target name, for help texts and validation."""
    return tuple(_TARGETS)


def get(target: Target | str) -> Target:
    """The target named `target` (a Target passes through); ValueError if unknown.

    Engines' entry points call this, so a caller (a test, a script) may name
    the target while the engine still works with the object.
    """
    if not isinstance(target, str):
        return target
    try:
        return _TARGETS[str(target)]
    except KeyError:
        raise ValueError(
            _("unknown target {target!r}; choose from {known}").format(
                target=target, known=", ".join(_TARGETS)
            )
        ) from None
