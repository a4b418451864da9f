"""What each host role is told: role variables computed from the spec, split public/secret.

Why a registry of small providers: every domain (vpn, monitoring, cctv) owns the
translation of its part of the spec into the variables its Ansible role reads,
next to its own models and tests; this module only collects them. The split
matters: ``public`` values may appear in plan output and logs, ``secret`` values
(WireGuard private keys, camera passwords) are handed to ansible-runner only,
and every task that touches them runs with ``no_log: true``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcctl import targets
from dcctl.spec.loader import Spec

__all__ = ["PROVIDERS", "RoleVars", "collect"]


@dataclass
class RoleVars:
    """Extra variables for the playbook run; ``secret`` never reaches a log or plan."""

    public: dict[str, Any] = field(default_factory=dict)
    secret: dict[str, Any] = field(default_factory=dict)
    #: Extra inventory hosts (name -> hostvars) and the groups they join.
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)


Provider = Callable[[Spec, Path, str], RoleVars]

#: "module:function" per domain, imported lazily (validate/plan must stay fast).
PROVIDERS: dict[str, str] = {
    "baseline": "dcctl.engines.ansible.baseline:role_vars",
    "vpn": "dcctl.vpn.ansible:role_vars",
    "monitoring": "dcctl.monitoring.ansible:role_vars",
    "cctv": "dcctl.cctv.ansible:role_vars",
}


def _load(ref: str) -> Provider | None:
    module, _, func = ref.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None  # that domain is not built yet
        raise
    return getattr(mod, func)


def collect(
    spec: Spec, state_dir: Path, target: str, providers: Mapping[str, str] | None = None
) -> RoleVars:
    """Merge every domain's :class:`RoleVars` (a key defined twice is a bug, so it raises)."""
    merged = RoleVars()
    target = targets.get(target)
    for name, ref in (providers or PROVIDERS).items():
        provider = _load(ref)
        if provider is None:
            continue
        part = provider(spec, state_dir, target)
        for mine, theirs in (
            (merged.public, part.public),
            (merged.secret, part.secret),
            (merged.hosts, part.hosts),
        ):
            clash = set(mine) & set(theirs)
            if clash:
                raise ValueError(f"role vars of {name} redefine {sorted(clash)}")
            mine.update(theirs)
        for group, members in part.groups.items():
            merged.groups.setdefault(group, []).extend(members)
    return merged
