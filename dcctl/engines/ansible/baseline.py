"""Role variables of the baseline every host gets: the infra team's account and keys.

Why from the Site: the team's public keys are already declared there (cloud-init
puts them on the automation user at create time); the baseline keeps a named
team account with the same keys on every host, so a person never logs in as
the automation user and a key removed from the spec is removed everywhere.
"""

from __future__ import annotations

from pathlib import Path

from dcctl.engines.ansible.vars import RoleVars
from dcctl.plan.desired import DesiredState
from dcctl.spec.loader import Spec
from dcctl.targets import Target

__all__ = ["TEAM_USER", "role_vars"]

#: The shared login of Diskominfo's infra team (sudo; keys from site.ssh_keys).
TEAM_USER = "infra"


def role_vars(spec: Spec, state: DesiredState, state_dir: Path, target: Target) -> RoleVars:
    """The baseline every host gets: the team's login, DNS, the rehearsal flag."""
    del state, state_dir  # the baseline reads only the site
    site = spec.site
    return RoleVars(
        public={
            "baseline_users": [
                {"name": TEAM_USER, "groups": ["sudo"], "keys": list(site.ssh_keys)}
            ],
            "baseline_domain": site.domain,
            "baseline_dns": list(site.dns),
            "baseline_lab": target.rehearsal,
        }
    )
