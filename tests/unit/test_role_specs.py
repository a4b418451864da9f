"""Every Ansible role against its argument spec, the one home of its variables.

Why these tests: a role reads variables by name and dcctl's providers write them by
name; a name or type that drifts apart on either side does not fail a run, it
silently falls back to a default (or to an undefined-variable error on the one host
that hits the branch). ansible-core validates what a role receives against
``meta/argument_specs.yml`` but does not apply the spec's defaults, so
``defaults/main.yml`` is rendered from the spec and must not drift from it either.

Each test runs for every directory under ``playbooks/roles`` (a new role is covered
without touching this file) and checks, with ansible-core's own validator (the one
the role's generated first task runs), that the variables the providers compute
from the example are exactly options of the spec, of its types, with every required
one and every option that has no default present.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from dcctl.engines.ansible.vars import (
    RoleVars,
    collect,
    render_defaults,
    role_defaults,
    role_options,
    roles_dir,
)
from dcctl.lab.secrets import ensure_secrets
from dcctl.lab.topology import build_plan
from dcctl.spec.loader import load_spec
from tests.conftest import EXAMPLE
from tests.helpers import camera_env_vars

ROLES = sorted(p.name for p in roles_dir().iterdir() if p.is_dir())
TARGETS = ["prod", "lab"]
#: Where a role reads its variables (files/ holds programs, not Jinja).
_READERS = ("tasks", "handlers", "templates")


@pytest.fixture(scope="module", params=TARGETS)
def role_vars(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RoleVars:
    """Every provider's variables for the example, as ``dcctl apply --target`` computes them."""
    spec = load_spec(EXAMPLE)
    with pytest.MonkeyPatch.context() as mp:
        for name in camera_env_vars(spec):
            mp.setenv(name, "s3cret")
        if request.param == "lab":
            # The lab target reads the passwords `lab up` generates; make them in a lab
            # root of this test's own, so the test never depends on a lab being up here.
            root = tmp_path_factory.mktemp("lab-root")
            mp.setenv("DCCTL_LAB_ROOT", str(root))
            plan = build_plan(spec)
            ensure_secrets(plan.state_dir, plan.credential_refs)
        state = tmp_path_factory.mktemp(f"state-{request.param}")
        return collect(spec, state, request.param)


def _owner(name: str) -> str | None:
    """The role a variable belongs to by its name (ansible-lint's role-prefix rule)."""
    owners = [r for r in ROLES if name.startswith(r + "_")]
    return max(owners, key=len) if owners else None


def _as_seen_by(role: str, rv: RoleVars) -> list[dict[str, Any]]:
    """The role's variables as each host running it sees them (host vars over run vars)."""
    run = {k: v for k, v in {**rv.public, **rv.secret}.items() if _owner(k) == role}
    hosts = [
        {k: v for k, v in hostvars.items() if _owner(k) == role}
        for hostvars in [*rv.hosts.values(), *rv.hostvars.values()]
    ]
    return [{**run, **h} for h in hosts if h] or [run]


def _unchanged(given: Any, validated: Any) -> bool:
    """``validated`` is ``given`` (the validator filled only absent optional sub-options)."""
    if isinstance(given, dict) and isinstance(validated, dict):
        extra = {k: v for k, v in validated.items() if k not in given}
        return all(v is None for v in extra.values()) and all(
            k in validated and _unchanged(v, validated[k]) for k, v in given.items()
        )
    if isinstance(given, list) and isinstance(validated, list):
        return len(given) == len(validated) and all(map(_unchanged, given, validated))
    return type(given) is type(validated) and given == validated


@pytest.mark.parametrize("role", ROLES)
def test_role_has_an_argument_spec_and_meta(role: str) -> None:
    """Without a spec a role is neither validated at run time nor covered by these tests."""
    assert (roles_dir() / role / "meta" / "argument_specs.yml").is_file()
    assert (roles_dir() / role / "meta" / "main.yml").is_file()
    assert role_options(role), f"{role} declares no variables"


@pytest.mark.parametrize("role", ROLES)
def test_defaults_are_rendered_from_the_spec(role: str) -> None:
    """``defaults/main.yml`` holds exactly the spec's defaults (regenerate, never hand-edit)."""
    path = roles_dir() / role / "defaults" / "main.yml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert yaml.safe_load(text) == role_defaults(role), (
        f"{path} differs from its argument spec: run python -m dcctl.engines.ansible.vars"
    )
    assert text == render_defaults(role), "run python -m dcctl.engines.ansible.vars"


@pytest.mark.parametrize("role", ROLES)
def test_role_has_no_vars_directory(role: str) -> None:
    """vars/main.yml would outrank inventory and silently shadow the spec's defaults."""
    assert not (roles_dir() / role / "vars").exists()


@pytest.mark.parametrize("role", ROLES)
def test_provider_vars_match_the_spec(role: str, role_vars: RoleVars) -> None:
    """What dcctl passes validates against the spec as given: no unknown name, no coercion."""
    options = role_options(role)
    validator = ArgumentSpecValidator(options)
    undefaulted = {name for name, opt in options.items() if "default" not in opt}
    for given in _as_seen_by(role, role_vars):
        assert given, f"no provider gives {role} anything"
        assert set(given) <= set(options), f"{role}: not in its spec {set(given) - set(options)}"
        # Required ones, and the optional ones the role would otherwise read undefined.
        assert undefaulted <= set(given), f"{role}: missing {undefaulted - set(given)}"
        result = validator.validate(given, validate_role_argument_spec=True)
        assert not result.error_messages, result.error_messages
        # The validator coerces ("300" passes as int) but the role sees the raw value.
        for name, value in given.items():
            assert _unchanged(value, result.validated_parameters[name]), (role, name)


def test_every_provider_var_belongs_to_a_role(role_vars: RoleVars) -> None:
    """A variable no role's name prefixes is read by nobody (a misspelt role name)."""
    names = [*role_vars.public, *role_vars.secret]
    names += [
        k
        for hv in [*role_vars.hosts.values(), *role_vars.hostvars.values()]
        for k in hv
        if not k.startswith("ansible_")
    ]
    inventory_facts = {"opd", "office"}  # host facts of the inventory, read as such
    orphans = {n for n in names if _owner(n) is None} - inventory_facts
    assert not orphans


def _locals(role: str) -> set[str]:
    """Names a role defines itself: registered results, set_fact keys, task vars, loop vars."""
    names: set[str] = set()
    for sub in ("tasks", "handlers"):
        for path in (roles_dir() / role / sub).glob("*.yml"):
            for task in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                names.update([task["register"]] if "register" in task else [])
                names.update(task.get("ansible.builtin.set_fact") or {})
                names.update(task.get("vars") or {})
                names.update([(task.get("loop_control") or {}).get("loop_var", "item")])
    return names


@pytest.mark.parametrize("role", ROLES)
def test_role_reads_only_its_declared_variables(role: str) -> None:
    """Every role-prefixed name a task or template reads is declared, and none of another role."""
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, ROLES)) + r")_[a-z0-9_]+")
    read: set[str] = set()
    for sub in _READERS:
        for path in (roles_dir() / role / sub).rglob("*"):
            if path.is_file():
                read.update(pattern.findall(path.read_text(encoding="utf-8")))
    foreign = {n for n in read if _owner(n) != role}
    assert not foreign, f"{role} reads other roles' variables {sorted(foreign)}"
    undeclared = read - set(role_options(role)) - _locals(role)
    assert not undeclared, f"{role} reads {sorted(undeclared)}, not in its argument spec"


@pytest.mark.parametrize("role", ROLES)
def test_readme_lists_every_variable(role: str) -> None:
    """The role's README documents what its spec declares (a new option needs a line there)."""
    readme = roles_dir() / role / "README.md"
    assert readme.is_file()
    text = readme.read_text(encoding="utf-8")
    missing = [name for name in role_options(role) if f"`{name}`" not in text]
    assert not missing, f"{readme} does not mention {missing}"


def test_roles_dir_is_the_playbooks_roles() -> None:
    """The tests above must look at the roles site.yml runs, not an empty directory."""
    site = yaml.safe_load((roles_dir().parent / "site.yml").read_text(encoding="utf-8"))
    used = {r["role"] for play in site for r in play.get("roles", [])}
    assert used == set(ROLES)
