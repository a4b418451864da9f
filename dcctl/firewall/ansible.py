"""Role variables of ``vm_firewall``: each VM's own ruleset, as a host variable.

Why per host and not one run variable: a VM's converge digest covers only its own
host variables, so a flow added to one VM re-runs the firewall play on that VM only.
"""

from __future__ import annotations

from pathlib import Path

from dcctl.engines.ansible.inventory import host_name
from dcctl.engines.ansible.vars import RoleVars
from dcctl.firewall.flows import vm_flows
from dcctl.firewall.nft import render
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.targets import Target

__all__ = ["role_vars"]


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """``vm_firewall_ruleset`` for every VM (lab and production alike)."""
    del state_dir, target  # the same flows on every target
    return RoleVars(
        hostvars={
            host_name(key): {"vm_firewall_ruleset": render(key, flows)}
            for key, flows in vm_flows(spec, state).items()
        }
    )
