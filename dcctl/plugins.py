"""The one registry of what dcctl can drive: switch vendors, hypervisors, role variables.

Why discovery by place, not a table: a new switch vendor, hypervisor or
Ansible-managed service should be files in the right folder, found here, never
also a line in a list somewhere else (the spec's choices, the engines' tables
and the contract tests all ask this module). Nothing is imported to list the
names, so `dcctl validate` stays fast; a plugin's module is imported when used.

- Switch vendor ``V``: ``dcctl/vendors/V/`` with ``driver.py`` (``DRIVER``, the
  engine's :class:`~dcctl.engines.switches.engine.Driver`), ``templates/switch.j2``
  (the intended configuration) and ``lab.py`` (the lab emulator's dialect,
  ``VENDOR``).
- Hypervisor ``H`` (the spec's ``hypervisors.type``): the module
  ``dcctl/engines/pulumi/hypervisors/H.py`` with ``build(state, site)``. The one
  exception is the lab's own hypervisor, ``lab``: the package ``dcctl/lab/hypervisor/``
  (its ``build``), because it is part of the lab, whose machines it runs, and the
  engines never import the lab.
- Role variables of a domain ``D``: ``dcctl/D/ansible.py`` with ``role_vars(spec, state,
  state_dir, target)``; the hosts engine's own ``baseline`` comes first.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
from pathlib import Path
from types import ModuleType

from dcctl.i18n import _

__all__ = [
    "hypervisor",
    "hypervisor_replaces",
    "hypervisors",
    "role_var_providers",
    "vendor_dir",
    "vendor_driver",
    "vendor_lab",
    "vendors",
]

_ROOT = Path(__file__).resolve().parent
_VENDORS = _ROOT / "vendors"
_HYPERVISORS = _ROOT / "engines" / "pulumi" / "hypervisors"
#: The lab's hypervisor: a package of the lab, not a production driver module.
_LAB_HYPERVISOR = ("lab", _ROOT / "lab" / "hypervisor", "dcctl.lab.hypervisor")
#: The hosts engine's own provider: the baseline every host gets, before any domain's.
_BASELINE = "dcctl.engines.ansible.baseline:role_vars"


@functools.cache
def vendors() -> tuple[str, ...]:
    """Every switch vendor (the spec's ``vendor`` choices), sorted.

    Read once a process (the folders are the installed package's): checks and plans ask
    per VLAN name and port, thousands of times at ten times the benchmark (issue 17).
    """
    return tuple(
        sorted(d.name for d in _VENDORS.iterdir() if d.is_dir() and (d / "driver.py").is_file())
    )


def vendor_dir(vendor: str) -> Path:
    """The vendor's folder (driver, lab dialect, ``templates/``); KeyError if unknown."""
    if vendor not in vendors():
        raise KeyError(
            _("unknown switch vendor {vendor!r}; known: {known}").format(
                vendor=vendor, known=", ".join(vendors())
            )
        )
    return _VENDORS / vendor


def _vendor_module(vendor: str, part: str) -> ModuleType:
    vendor_dir(vendor)
    return importlib.import_module(f"dcctl.vendors.{vendor}.{part}")


def vendor_driver(vendor: str) -> object:
    """The engine driver of `vendor` (its module's ``DRIVER``)."""
    return _vendor_module(vendor, "driver").DRIVER


def vendor_lab(vendor: str) -> ModuleType:
    """The lab emulator's dialect module of `vendor`."""
    return _vendor_module(vendor, "lab")


@functools.cache
def _hypervisor_modules() -> dict[str, str]:
    """``{hypervisor type: module}``: the production drivers and the lab's (read once)."""
    found = {
        m.name: f"dcctl.engines.pulumi.hypervisors.{m.name}"
        for m in pkgutil.iter_modules([str(_HYPERVISORS)])
    }
    name, place, module = _LAB_HYPERVISOR
    if (place / "__init__.py").is_file():
        found[name] = module
    return found


def hypervisors() -> tuple[str, ...]:
    """Every hypervisor type (the spec's ``hypervisors.type`` choices), sorted."""
    return tuple(sorted(_hypervisor_modules()))


def hypervisor(name: str) -> ModuleType:
    """The hypervisor driver module `name` (its ``build``); ValueError if there is none."""
    modules = _hypervisor_modules()
    if name not in modules:
        raise ValueError(
            _("unknown hypervisor {name!r}; known: {known}").format(
                name=name, known=", ".join(hypervisors())
            )
        )
    return importlib.import_module(modules[name])


def hypervisor_replaces(name: str) -> dict[str, str]:
    """``{VM field: why changing it replaces the VM}`` of hypervisor `name`.

    Each driver module states it as a literal ``REPLACES`` dict beside the code that
    makes it true (a driver without one replaces nothing). It is read from the
    source, not imported: the offline ``dcctl plan`` classifies changes with it and
    must not wait for a hypervisor SDK to load.
    """
    modules = _hypervisor_modules()
    if name not in modules:
        raise ValueError(
            _("unknown hypervisor {name!r}; known: {known}").format(
                name=name, known=", ".join(hypervisors())
            )
        )
    found = importlib.util.find_spec(modules[name])
    origin = found.origin if found is not None else None
    if origin is None:
        return {}
    tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "REPLACES" and node.value is not None:
            value = ast.literal_eval(_Unmark().visit(node.value))
            return {str(k): str(v) for k, v in value.items()}
    return {}


class _Unmark(ast.NodeTransformer):
    """Reads ``N_("text")`` as ``"text"``: a driver marks its reasons for the catalogue
    (the plan shows them translated) and the dict stays a literal for the offline read."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "N_"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Constant)
        ):
            return node.args[0]
        return self.generic_visit(node)


def role_var_providers() -> dict[str, str]:
    """``{domain: "module:function"}`` of every domain with Ansible role variables."""
    found = {"baseline": _BASELINE}
    for d in sorted(_ROOT.iterdir()):
        if d.is_dir() and (d / "__init__.py").is_file() and (d / "ansible.py").is_file():
            found[d.name] = f"dcctl.{d.name}.ansible:role_vars"
    return found
