"""The regency's Pulumi program: desired state in, hypervisor resources out.

Why it is shaped this way:

* The program reads only plain data, the ``vms``/``networks`` layers of
  ``desired_state(spec)`` and the :func:`site_inputs` dict, never the ``Spec``
  object, so the Automation API can run it inline, a hand-run stack can load it
  from JSON, and unit tests can feed it doctored state (a ``rahasia`` VM marked
  public) that the spec validator would never let through.
* Which hypervisor the resources land on is a *target* (``proxmox`` in
  production, ``lab`` for rehearsal). Each target is a module with a
  :class:`Hypervisor`-shaped ``build(state, site)`` registered in ``TARGETS``;
  it is imported only when chosen, so the lab target never needs the Proxmox SDK
  and vice versa.
* Classification rules are enforced here too, before any target runs, as
  defense in depth behind the spec checks: a ``rahasia`` VM is never exposed to
  the public, even if the state says so.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import pulumi

from dcctl.spec.site import ADMIN_USER

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

__all__ = [
    "ADMIN_USER",
    "TARGETS",
    "ExposurePolicyError",
    "Hypervisor",
    "assert_exposure_allowed",
    "check_exposure",
    "regency_program",
    "site_inputs",
]


# target name -> module exposing ``build(state, site)``. A new target (the lab's
# dynamic provider) is one more line here plus its module.
TARGETS: dict[str, str] = {
    "proxmox": "dcctl.engines.pulumi.proxmox",
    "lab": "dcctl.engines.pulumi.lab",
}


class Hypervisor(Protocol):
    """What a target module provides: turn the desired state into resources.

    ``build`` creates every resource of the ``networks`` and ``vms`` layers and
    returns, per VM key (``"dinkes/simpus"``), the facts the Ansible inventory
    needs: at least ``address`` (without prefix length), ``node`` and ``vlan``.
    """

    def build(
        self, state: Mapping[str, Any], site: Mapping[str, Any]
    ) -> Mapping[str, pulumi.Input[Mapping[str, Any]]]: ...


class ExposurePolicyError(ValueError):
    """A VM's classification forbids the exposure its state asks for."""


def assert_exposure_allowed(key: str, vm: Mapping[str, Any]) -> None:
    """Raise unless the VM's exposure is allowed by its classification."""
    if vm.get("exposure") == "public" and vm.get("classification") == "rahasia":
        raise ExposurePolicyError(
            f"{key}: a 'rahasia' VM can never have exposure 'public'; "
            "refusing to create any resource"
        )


def check_exposure(vms: Mapping[str, Mapping[str, Any]]) -> None:
    """Check every VM before a single resource is registered (all or nothing)."""
    for key in sorted(vms):
        assert_exposure_allowed(key, vms[key])


def _zone_id(site_name: str) -> str:
    # Proxmox SDN zone IDs: a letter, then letters/digits, at most 8 characters.
    ident = re.sub(r"[^a-z0-9]", "", site_name.lower())
    if not ident or not ident[0].isalpha():
        ident = "z" + ident
    return ident[:8]


def site_inputs(spec: Spec) -> dict[str, Any]:
    """The plain, JSON-ready facts about the site that every target needs."""
    site = spec.site
    hv = site.hypervisors
    internal = [site.management.prefix, site.ipam.server_pool, site.ipam.lan_pool]
    if site.vpn is not None:
        internal.append(site.vpn.tunnel_pool)
    return {
        "name": site.name,
        "type": hv.type,
        "endpoint": hv.endpoint,
        "credential": hv.credential,  # a reference (env:VAR, file:path), never the token
        "datastore": hv.datastore,
        # Where cloud images are downloaded to: a file storage with the "import"
        # content type enabled; "local" exists on every Proxmox VE node.
        "image_datastore": "local",
        # Proxmox storage for vzdump backup jobs (ideally a Proxmox Backup Server).
        # The spec has no field for it yet; while None, no jobs are created and
        # each VM carries its policy as a backup-<schedule>-<days>d tag instead.
        "backup_storage": None,
        "nodes": [{"name": n.name, "bridge": n.bridge} for n in hv.nodes],
        "ssh_keys": list(site.ssh_keys),
        "admin_user": ADMIN_USER,
        "domain": site.domain,
        "dns": list(site.dns),
        "vlan_zone": _zone_id(site.name),
        # Sources a public VM still accepts everything from (management, OPD
        # servers and LANs, VPN offices); the internet gets only 80/443.
        "internal_prefixes": internal,
        "vpn_hub": (
            {"vm": site.vpn.vm, "port": site.vpn.listen_port} if site.vpn is not None else None
        ),
    }


def _hypervisor(target: str) -> Hypervisor:
    try:
        module = TARGETS[target]
    except KeyError:
        known = ", ".join(sorted(TARGETS))
        raise ValueError(f"unknown target {target!r}; known targets: {known}") from None
    return cast(Hypervisor, importlib.import_module(module))


def regency_program(state: dict[str, Any], site: dict[str, Any], target: str) -> None:
    """The Pulumi program body: build every VM and network of ``state`` on ``target``.

    Exports ``vms``: ``{"dinkes/simpus": {"address": "10.20.3.11", "node": ...,
    "vlan": ...}, ...}`` for the Ansible inventory.
    """
    check_exposure(state.get("vms", {}))
    vms = _hypervisor(target).build(state, site)
    pulumi.export("vms", dict(vms))
