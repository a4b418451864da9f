"""The lab's hypervisor: the regency's VMs as podman containers, built by Pulumi.

Why in the lab and not with the production drivers in
``dcctl/engines/pulumi/hypervisors/``: it is part of the lab, as the vendors' ``lab.py``
emulators are, and it runs the lab's machines (:mod:`dcctl.lab.podman`); the engines
never import the lab. :mod:`dcctl.plugins` finds it here as hypervisor ``lab``, which
the lab target chooses.

- :mod:`.program`: ``build(state, site)``, the driver entry (one ``dcctl:regency:Opd``
  component per OPD, as in production) and the lab's site keys.
- :mod:`.provider`: ``LabVm``, the Pulumi dynamic resource of one lab VM, and its provider.

``build`` imports the program only when called: the dynamic provider's own process
(``python -m pulumi.dynamic``) imports this package to unpickle the provider and needs
none of the program (nor the spec models behind it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dcctl.i18n import N_

if TYPE_CHECKING:
    import pulumi

__all__ = ["REPLACES", "build"]

#: Which change of a VM's desired state replaces the lab VM (a new container, its
#: files gone), and why; the plan reads this (``dcctl.plugins.hypervisor_replaces``).
#: It is :data:`.inputs.REPLACE_ON` in terms of the desired state (the tests keep the
#: two in step): the wiring is made when the container starts. Names (a rename) and
#: sizes change in place; the spec's ``image`` is not the lab's (one lab image).
REPLACES: dict[str, str] = {
    "node": N_("each node is its own lab bridge; the VM's port is wired at start"),
    "vlan": N_("the VM's port is wired at start"),
    "address": N_("the container's network is set up at start"),
    "gateway": N_("the container's network is set up at start"),
    "dns": N_("podman writes resolv.conf at start"),
}


def build(
    state: Mapping[str, Any], site: Mapping[str, Any]
) -> dict[str, pulumi.Output[dict[str, Any]]]:
    """Create the whole regency as lab containers (:func:`.program.build`)."""
    from dcctl.lab.hypervisor import program

    return program.build(state, site)
