"""What each host role is told: role variables computed from the spec, split public/secret.

Why a registry of small providers: every domain (vpn, monitoring, cctv) owns the
translation of its part of the spec into the variables its Ansible role reads,
next to its own models and tests; this module only collects them. The split
matters: ``public`` values may appear in plan output and logs, ``secret`` values
(WireGuard private keys, camera passwords) are handed to ansible-runner only,
and every task that touches them runs with ``no_log: true``.

Why the role argument specs are read here: each role's ``meta/argument_specs.yml``
is the one home of its variables, their types and their defaults. ansible-core
validates a role's inputs against it but does not apply its ``default:`` values
as variables, so ``defaults/main.yml`` is rendered from the spec
(:func:`render_defaults`; ``python -m dcctl.engines.ansible.vars`` rewrites every
role's, a unit test fails while one differs) and Python constants that name a
role default (the WireGuard interface names, the recording root) read it with
:func:`role_default` instead of repeating the value.
"""

from __future__ import annotations

import functools
import importlib
import sys
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dcctl import plugins, targets
from dcctl.i18n import _
from dcctl.paths import playbooks_dir
from dcctl.plan.desired import DesiredState, desired_state
from dcctl.spec.loader import Spec

__all__ = [
    "PROVIDERS",
    "RoleVars",
    "collect",
    "render_defaults",
    "role_default",
    "role_defaults",
    "role_options",
    "roles_dir",
]


@dataclass
class RoleVars:
    """Extra variables for the playbook run; ``secret`` never reaches a log or plan."""

    public: dict[str, Any] = field(default_factory=dict)
    secret: dict[str, Any] = field(default_factory=dict)
    #: Extra inventory hosts (name -> hostvars) and the groups they join.
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    #: Variables of inventory hosts the VMs' inventory already has (name -> vars):
    #: per-host inputs (a VM's own firewall) that only that host's digest covers.
    hostvars: dict[str, dict[str, Any]] = field(default_factory=dict)


#: ``(spec, desired state, state dir, target)``: the run's desired state is computed
#: once (by the caller) and handed to every provider, never recomputed per domain.
Provider = Callable[[Spec, DesiredState, Path, targets.Target], RoleVars]

#: "module:function" per domain (``dcctl/<domain>/ansible.py``, found by
#: :mod:`dcctl.plugins`), imported lazily (validate/plan must stay fast).
PROVIDERS: dict[str, str] = plugins.role_var_providers()


def _load(ref: str) -> Provider | None:
    module, _, func = ref.partition(":")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None  # that domain is not built yet
        raise
    return getattr(mod, func)


def prepare(
    spec: Spec,
    state_dir: Path,
    target: targets.Target | str,
    *,
    state: DesiredState | None = None,
    providers: Mapping[str, str] | None = None,
) -> list[str]:
    """Let each domain create what an apply needs and a read must not (the VPN keys).

    A domain's ``dcctl/<domain>/ansible.py`` may define ``prepare(spec, state,
    state_dir, target) -> list[str]`` (what it created); only an apply calls it,
    so ``role_vars`` itself never writes: plans, check runs and the inventory
    script stay read-only.
    """
    target = targets.get(target)
    state = desired_state(spec) if state is None else state
    notes: list[str] = []
    for ref in (providers or PROVIDERS).values():
        provider = _load(ref)
        hook = getattr(importlib.import_module(ref.partition(":")[0]), "prepare", None)
        if provider is not None and callable(hook):
            notes += hook(spec, state, state_dir, target)
    return notes


def collect(
    spec: Spec,
    state_dir: Path,
    target: targets.Target | str,
    providers: Mapping[str, str] | None = None,
    *,
    state: DesiredState | None = None,
) -> RoleVars:
    """Merge every domain's :class:`RoleVars` (a key defined twice is a bug, so it raises).

    ``state`` is the run's desired state (an apply passes the one it planned
    with); without it the state is computed here, once for all providers.
    """
    merged = RoleVars()
    target = targets.get(target)
    state = desired_state(spec) if state is None else state
    for name, ref in (providers or PROVIDERS).items():
        provider = _load(ref)
        if provider is None:
            continue
        part = provider(spec, state, state_dir, target)
        for mine, theirs in (
            (merged.public, part.public),
            (merged.secret, part.secret),
            (merged.hosts, part.hosts),
        ):
            clash = set(mine) & set(theirs)
            if clash:
                raise ValueError(
                    _("role vars of {name} redefine {keys}").format(name=name, keys=sorted(clash))
                )
            mine.update(theirs)
        for host, hv in part.hostvars.items():
            mine_hv = merged.hostvars.setdefault(host, {})
            clash = set(mine_hv) & set(hv)
            if clash:
                raise ValueError(
                    _("role vars of {name} redefine {keys} of {host}").format(
                        name=name, keys=sorted(clash), host=host
                    )
                )
            mine_hv.update(hv)
        for group, members in part.groups.items():
            merged.groups.setdefault(group, []).extend(members)
    return merged


def roles_dir() -> Path:
    """``playbooks/roles``, wherever this install keeps its playbooks (checkout or wheel)."""
    return playbooks_dir() / "roles"


@functools.cache
def role_options(role: str) -> dict[str, dict[str, Any]]:
    """The ``main`` entry point's options of ``role``'s argument spec (name -> option)."""
    path = roles_dir() / role / "meta" / "argument_specs.yml"
    specs = yaml.safe_load(path.read_text(encoding="utf-8"))
    return dict(specs["argument_specs"]["main"].get("options") or {})


def role_defaults(role: str) -> dict[str, Any]:
    """Every option of ``role`` that has a ``default:``, with it, in the spec's order."""
    return {name: opt["default"] for name, opt in role_options(role).items() if "default" in opt}


def role_default(role: str, name: str) -> Any:
    """The default of one option (KeyError when the spec gives it none: a bug, not a fallback)."""
    return role_defaults(role)[name]


class _IndentedDumper(yaml.SafeDumper):
    """Indents list items under their key, as ansible-lint's yamllint rules want."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def render_defaults(role: str) -> str:
    """The text of ``defaults/main.yml``: the spec's defaults, each under its description."""
    lines = [
        "---",
        "# Rendered from meta/argument_specs.yml by `python -m dcctl.engines.ansible.vars`:",
        "# edit the spec, not this file (ansible-core validates against the spec but",
        "# applies only these defaults).",
    ]
    options = role_options(role)
    for name, value in role_defaults(role).items():
        desc = options[name].get("description") or ""
        text = " ".join(desc) if isinstance(desc, list) else str(desc)
        lines += textwrap.wrap(text, 98, initial_indent="# ", subsequent_indent="# ")
        dumped = yaml.dump(
            {name: value}, Dumper=_IndentedDumper, default_flow_style=False, sort_keys=False
        )
        lines.append(dumped.rstrip("\n"))
    return "\n".join(lines) + "\n"


def _write_defaults() -> None:
    """Rewrite every role's ``defaults/main.yml`` from its argument spec."""
    for spec in sorted(roles_dir().glob("*/meta/argument_specs.yml")):
        role = spec.parent.parent
        (role / "defaults").mkdir(exist_ok=True)
        (role / "defaults" / "main.yml").write_text(render_defaults(role.name), encoding="utf-8")
        print(f"wrote {role.name}/defaults/main.yml", file=sys.stderr)


if __name__ == "__main__":
    _write_defaults()
