"""The regency's Pulumi program: desired state in, hypervisor resources out.

Why it is shaped this way:

* The program reads only plain data, the ``vms``/``networks`` layers of
  ``desired_state(spec)`` and the :func:`site_inputs` dict, never the ``Spec``
  object, so the Automation API can run it inline, a hand-run stack can load it
  from JSON, and unit tests can feed it doctored state (a ``rahasia`` VM marked
  public) that the spec validator would never let through.
* Which hypervisor the resources land on is chosen by the target (``proxmox``
  in production, ``lab`` for rehearsal). Each production hypervisor is a module
  under ``hypervisors/``, the lab's is the lab's package ``dcctl.lab.hypervisor``;
  each has a :class:`Hypervisor`-shaped ``build(state, site)``, found by
  :mod:`dcctl.plugins`, and is imported only when chosen, so the lab never needs
  the Proxmox SDK and vice versa, and this program never imports the lab.
* Classification rules are enforced here too, before any target runs, as
  defense in depth behind the spec checks: a ``rahasia`` VM is never exposed to
  the public, even if the state says so.
* A target turns the plain data into typed records (:class:`DesiredVm`,
  :class:`DesiredNetwork`, its own site record) with :func:`program_inputs` (built
  on :func:`from_plain`) before it registers anything: plain data may come from
  JSON or a doctored test, and a missing field or a wrong type (``vcpu: "two"``) is
  then one error naming the VM and field, instead of a resource that fails half-way
  through an apply.
"""

from __future__ import annotations

import dataclasses
import re
import reprlib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

import pulumi

from dcctl import plugins
from dcctl.i18n import _
from dcctl.spec.site import ADMIN_USER

if TYPE_CHECKING:
    from dcctl.spec.loader import Spec

__all__ = [
    "ADMIN_USER",
    "BackupPolicy",
    "DesiredNetwork",
    "DesiredVm",
    "ExposurePolicyError",
    "Hypervisor",
    "ProgramInputError",
    "ProgramInputs",
    "assert_exposure_allowed",
    "check_exposure",
    "from_plain",
    "program_inputs",
    "regency_program",
    "resource_aliases",
    "resource_name",
    "site_inputs",
]


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


class ProgramInputError(ValueError):
    """Plain program input (state or site) lacks a field or has one of the wrong type."""


@dataclass(frozen=True, kw_only=True)
class BackupPolicy:
    """A VM's effective backup policy (``none``, ``hourly``, ``daily`` or ``weekly``).

    ``copies`` 2: also a second, off-site copy (the site's off-site storage).
    """

    schedule: str
    retention_days: int
    copies: int = 1


@dataclass(frozen=True, kw_only=True)
class DesiredVm:
    """One entry of the ``vms`` layer of ``desired_state``: what every target builds from."""

    opd: str
    sector: str
    classification: str
    role: str
    vcpu: int
    memory_gb: int
    disk_gb: int
    image: str
    exposure: str
    backup: BackupPolicy
    node: str
    vlan: int
    address: str  # with prefix length, "10.20.3.11/24"
    gateway: str
    dns: tuple[str, ...]
    recording_disk_gb: int | None = None  # the NVR's recording disk, sized from the cameras
    renamed_from: str | None = None  # the VM's old key: renamed in place (a Pulumi alias)


def resource_name(key: str, suffix: str = "") -> str:
    """A VM's Pulumi resource name (``dinkes/simpus`` -> ``dinkes-simpus``), as every target."""
    return key.replace("/", "-") + suffix


def resource_aliases(renamed_from: str | None, suffix: str = "") -> list[pulumi.Alias]:
    """Aliases of a VM's resource ``<name><suffix>``: its old name's, when it was renamed.

    With the old name as an alias Pulumi moves the existing resource to the new name
    (an in-place rename) instead of deleting it and creating another; an alias of a
    resource that does not exist (the rename applied long ago) changes nothing.
    """
    return [pulumi.Alias(name=resource_name(renamed_from, suffix))] if renamed_from else []


@dataclass(frozen=True, kw_only=True)
class DesiredNetwork:
    """One entry of the ``networks`` layer of ``desired_state``: an OPD's VLAN and subnet."""

    opd: str
    vlan: int
    name: str
    prefix: str
    gateway: str


R = TypeVar("R")


def from_plain(cls: type[R], where: str, data: Any) -> R:
    """Build the record dataclass ``cls`` from plain data, checking every field's type.

    Keys ``cls`` does not name are ignored (the state and site carry facts for other
    layers and targets); a missing field or a value of the wrong type raises
    :class:`ProgramInputError` naming ``where`` and the field. Handles the shapes
    records use: str, int, float (an int is a float, as in typing), bool, nested
    records, ``tuple[X, ...]``, ``Mapping[str, X]`` (read into a dict) and unions
    (``X | None``, ``int | Mapping[str, int]``).
    """
    if not isinstance(data, Mapping):
        raise ProgramInputError(
            _("{where}: expected {want}, got {value}").format(
                where=where, want=_("a mapping"), value=type(data).__name__
            )
        )
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            values[f.name] = _typed(hints[f.name], f"{where}.{f.name}", data[f.name])
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ProgramInputError(_("{where} is missing").format(where=f"{where}.{f.name}"))
    return cls(**values)


def _typed(hint: Any, where: str, value: Any) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return _one_of(options, where, value)
    if origin is tuple:  # tuple[X, ...]
        if isinstance(value, list | tuple):
            return tuple(_typed(args[0], f"{where}[{i}]", v) for i, v in enumerate(value))
    elif origin in (dict, Mapping):  # Mapping[str, X]
        if isinstance(value, Mapping):
            return {
                _typed(args[0], f"{where} key", k): _typed(args[1], f"{where}[{k!r}]", v)
                for k, v in value.items()
            }
    elif dataclasses.is_dataclass(hint):
        return from_plain(hint, where, value)  # type: ignore[arg-type]
    elif _is_scalar(hint, value):
        return value
    raise ProgramInputError(
        _("{where}: expected {want}, got {value}").format(
            where=where, want=_want(hint), value=f"{type(value).__name__} {reprlib.repr(value)}"
        )
    )


def _one_of(options: list[Any], where: str, value: Any) -> Any:
    """``value`` as the first union member it fits.

    Only the members of the value's own shape (a mapping, a list or a scalar) are
    tried. A mapping or list fits one member at most, and that member's error is the
    one raised, so a wrong item inside a mapping is named by its key
    (``site.lab_memory_mb['x/y']``); a wrong scalar is told every member.
    """
    if len(options) == 1:
        return _typed(options[0], where, value)
    fitting = [o for o in options if _shape(o) == _shape(type(value))]
    if len(fitting) == 1 and _shape(fitting[0]) != "scalar":
        return _typed(fitting[0], where, value)
    for option in fitting:
        try:
            return _typed(option, where, value)
        except ProgramInputError:
            continue
    want = _(" or ").join(_want(o) for o in options)
    raise ProgramInputError(
        _("{where}: expected {want}, got {value}").format(
            where=where, want=want, value=f"{type(value).__name__} {reprlib.repr(value)}"
        )
    )


def _shape(hint: Any) -> str:
    """``mapping``, ``list`` or ``scalar``: what a value of ``hint`` looks like in plain data."""
    origin = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(hint) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        return "mapping"
    if isinstance(origin, type) and issubclass(origin, list | tuple):
        return "list"
    return "scalar"


def _is_scalar(hint: Any, value: Any) -> bool:
    if isinstance(value, bool) and hint is not bool:  # True is an int to Python, not here
        return False
    if hint is float:  # typing's numeric tower: an int is a float
        return isinstance(value, int | float)
    return isinstance(value, hint)


def _want(hint: Any) -> str:
    shape = _shape(hint)
    if shape == "scalar":
        return str(hint.__name__)
    return _("a list") if shape == "list" else _("a mapping")


def assert_exposure_allowed(key: str, vm: Mapping[str, Any] | DesiredVm) -> None:
    """Raise unless the VM's exposure is allowed by its classification."""
    if isinstance(vm, DesiredVm):
        exposure, classification = vm.exposure, vm.classification
    else:
        exposure, classification = vm.get("exposure"), vm.get("classification")
    if exposure == "public" and classification == "rahasia":
        raise ExposurePolicyError(
            _(
                "{vm}: a 'rahasia' VM can never have exposure 'public'; "
                "refusing to create any resource"
            ).format(vm=key)
        )


def check_exposure(vms: Mapping[str, Mapping[str, Any]]) -> None:
    """Check every VM before a single resource is registered (all or nothing)."""
    for key in sorted(vms):
        assert_exposure_allowed(key, vms[key])


S = TypeVar("S")


@dataclass(frozen=True, kw_only=True)
class ProgramInputs(Generic[S]):
    """A hypervisor's whole input as records: its own site record, the networks and VMs."""

    site: S
    networks: Mapping[str, DesiredNetwork]
    vms: Mapping[str, DesiredVm]

    def opds(self) -> list[str]:
        """Every OPD with a network or a VM, sorted: one component each."""
        return sorted({n.opd for n in self.networks.values()} | {v.opd for v in self.vms.values()})


def program_inputs(
    state: Mapping[str, Any],
    site: Mapping[str, Any],
    read_site: Callable[[Mapping[str, Any]], S],
) -> ProgramInputs[S]:
    """A hypervisor's plain ``build`` arguments as records, every one checked first.

    The exposure rules come first (a ``rahasia`` VM marked public is refused, whatever
    else is wrong), then the site, read by the hypervisor's own ``read_site`` (its site
    record), then each network and VM with :func:`from_plain`, in key order. A
    hypervisor that starts with this registers nothing unless all of it is good.
    """
    raw_networks: Mapping[str, Mapping[str, Any]] = state.get("networks", {})
    raw_vms: Mapping[str, Mapping[str, Any]] = state.get("vms", {})
    check_exposure(raw_vms)
    conf = read_site(site)
    return ProgramInputs(
        site=conf,
        networks={k: from_plain(DesiredNetwork, k, n) for k, n in sorted(raw_networks.items())},
        vms={k: from_plain(DesiredVm, k, v) for k, v in sorted(raw_vms.items())},
    )


def _zone_id(site_name: str) -> str:
    # Proxmox SDN zone IDs: a letter, then letters/digits, at most 8 characters.
    ident = re.sub(r"[^a-z0-9]", "", site_name.lower())
    if not ident or not ident[0].isalpha():
        ident = "z" + ident
    return ident[:8]


def site_inputs(spec: Spec, state: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The plain, JSON-ready facts about the site that every target needs.

    ``state`` is the run's desired state (computed here when not given).
    """
    from dcctl.firewall.flows import vm_flows

    site = spec.site
    hv = site.hypervisors
    flows = vm_flows(spec, dict(state) if state is not None else None)
    return {
        "name": site.name,
        "type": hv.type,
        "endpoint": hv.endpoint,
        "credential": hv.credential,  # a reference (env:VAR, file:path), never the token
        "spec_root": str(spec.root.resolve()),  # where a file: reference resolves
        "datastore": hv.datastore,
        # Where cloud images are downloaded to: a file storage with the "import"
        # content type enabled; "local" exists on every Proxmox VE node.
        "image_datastore": "local",
        # Proxmox storages of the vzdump backup jobs (ideally Proxmox Backup Servers):
        # every VM with a policy is in a job to the first, a VM keeping two copies
        # in a job to the second as well (issue 18).
        "backup_storage": site.backup.proxmox_storage if site.backup else None,
        "backup_offsite_storage": site.backup.proxmox_offsite_storage if site.backup else None,
        "nodes": [{"name": n.name, "bridge": n.bridge} for n in hv.nodes],
        "ssh_keys": list(site.ssh_keys),
        "admin_user": ADMIN_USER,
        "domain": site.domain,
        "dns": list(site.dns),
        "vlan_zone": _zone_id(site.name),
        # Each VM's inbound flows (dcctl.firewall): the hypervisor's firewall of a
        # public VM accepts exactly these, never the whole server pool.
        "vm_firewall": {key: [f.to_dict() for f in fl] for key, fl in flows.items()},
        "vpn_hub": (
            {"vm": site.vpn.vm, "port": site.vpn.listen_port} if site.vpn is not None else None
        ),
    }


def _hypervisor(name: str) -> Hypervisor:
    return cast(Hypervisor, plugins.hypervisor(name))


def regency_program(state: dict[str, Any], site: dict[str, Any], target: str) -> None:
    """The Pulumi program body: build every VM and network of ``state`` on ``target``.

    Exports ``vms``: ``{"dinkes/simpus": {"address": "10.20.3.11", "node": ...,
    "vlan": ...}, ...}`` for the Ansible inventory.
    """
    check_exposure(state.get("vms", {}))
    vms = _hypervisor(target).build(state, site)
    pulumi.export("vms", dict(vms))
