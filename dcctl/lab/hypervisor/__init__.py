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

if TYPE_CHECKING:
    import pulumi

__all__ = ["build"]


def build(
    state: Mapping[str, Any], site: Mapping[str, Any]
) -> dict[str, pulumi.Output[dict[str, Any]]]:
    """Create the whole regency as lab containers (:func:`.program.build`)."""
    from dcctl.lab.hypervisor import program

    return program.build(state, site)
