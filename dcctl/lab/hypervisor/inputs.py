"""The inputs of a ``LabVm``: which change replaces the VM, and their validation.

Why a module of their own: they are the resource's contract, the part the provider's
``check`` and ``diff`` decide on before anything touches the host, and what the tests
of the provider's pure parts exercise without root.

* ``memory_mb``/``cpus`` change in place (``podman update``), like a Proxmox memory or
  core change; ``ssh_pubkey`` also changes in place (``authorized_keys`` is rewritten);
  ``known_hosts``/``host_alias`` (where and as whom the VM's SSH host key is pinned)
  re-pin the key in place. The names (container, namespace, port, hostname) change in
  place too: a VM renamed in the spec (``renamed_from``) keeps its container and its
  files, as a Proxmox VM keeps its disks when its name changes. Everything else
  (image, VLAN, address, bridge, DNS) replaces the VM, deleting first, because the
  address would collide.
* Inputs arrive through Pulumi's RPC layer: every number is a float (``vlan: 110.0``)
  and, during a preview, a value not known yet is a marker string. :func:`check_inputs`
  lets unknowns through and turns whole numbers back into ints.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Callable
from typing import Any

from pulumi.dynamic import CheckFailure, CheckResult

from dcctl.i18n import N_, _

__all__ = [
    "INPUTS",
    "RENAMED",
    "REPLACE_ON",
    "UPDATE_IN_PLACE",
    "changed_inputs",
    "check_inputs",
    "same",
]

# Inputs whose change needs a new VM (its identity or wiring) vs. those `update` applies.
REPLACE_ON: tuple[str, ...] = (
    "bridge",
    "vlan",
    "address",
    "gateway",
    "image",
    "admin_user",
    "dns",  # podman bind-mounts resolv.conf at run time
)
#: The names a rename changes; ``update`` renames the running VM's pieces.
RENAMED: tuple[str, ...] = ("name", "netns", "port", "hostname")
UPDATE_IN_PLACE: tuple[str, ...] = (
    *RENAMED,
    "memory_mb",
    "cpus",
    "ssh_pubkey",
    "known_hosts",
    "host_alias",
)
INPUTS: tuple[str, ...] = REPLACE_ON + UPDATE_IN_PLACE
_OPTIONAL = ("admin_user", "dns", "known_hosts", "host_alias")

_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
_CONTAINER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_NETNS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,254}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_PUBKEY = re.compile(
    r"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+)"
    r" [A-Za-z0-9+/]+={0,3}( [^\n]*)?$"
)
# The string Pulumi's RPC layer uses for values unknown during a preview.
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

_TEXTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("name", _CONTAINER, N_("a container name (lowercase letters, digits, _ . -)")),
    ("netns", _NETNS, N_("a namespace name (letters, digits, _ . -)")),
    ("bridge", _IFNAME, N_("an interface name of at most 15 characters")),
    ("port", _IFNAME, N_("an interface name of at most 15 characters")),
    ("image", _IMAGE, N_("a container image reference")),
    ("hostname", _HOSTNAME, N_("a lowercase DNS host name")),
)
_INTEGERS = (("vlan", 1, 4094), ("memory_mb", 32, 1024 * 1024))

#: Checks one aspect of the inputs; normalizes what it accepts in place, returns
#: ``(property, reason)`` of what it refuses.
_Checker = Callable[[dict[str, Any]], list[tuple[str, str]]]


def _number(value: Any) -> float | None:
    # Pulumi's RPC layer turns every number into a float; bools are not numbers here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value == _UNKNOWN


def same(old: Any, new: Any) -> bool:
    """Whether an input is unchanged (numbers compared as numbers: ``256 == 256.0``)."""
    a, b = _number(old), _number(new)
    if a is not None and b is not None:
        return math.isclose(a, b, abs_tol=1e-6)
    return bool(old == new)


def changed_inputs(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """The inputs that differ (or are not known yet), in :data:`INPUTS` order."""
    return [p for p in INPUTS if _is_unknown(news.get(p)) or not same(olds.get(p), news.get(p))]


def _texts(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    texts = list(_TEXTS)
    if inputs.get("admin_user") is not None:
        texts.append(("admin_user", _USER, N_("a Linux user name")))
    bad = []
    for prop, pattern, what in texts:
        value = inputs.get(prop)
        if not _is_unknown(value) and (not isinstance(value, str) or not pattern.match(value)):
            said = _("{prop} must be {what}, got {value}")
            bad.append((prop, said.format(prop=prop, what=_(what), value=repr(value))))
    if inputs.get("admin_user") == "root":
        bad.append(("admin_user", _("admin_user must not be root (root always gets the keys)")))
    return bad


def _numbers(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    bad = []
    for prop, lo, hi in _INTEGERS:
        value = inputs.get(prop)
        if _is_unknown(value):
            continue
        num = _number(value)
        if num is None or not num.is_integer() or not lo <= num <= hi:
            said = _("{prop} must be an integer in {lo}..{hi}, got {value}")
            bad.append((prop, said.format(prop=prop, lo=lo, hi=hi, value=repr(value))))
        else:
            inputs[prop] = int(num)
    cpus = inputs.get("cpus")
    if not _is_unknown(cpus):
        num, limit = _number(cpus), os.cpu_count() or 1
        if num is None or not 0.01 <= num <= limit:
            said = _("cpus must be a number in 0.01..{limit} (CPUs of this host)")
            bad.append(("cpus", said.format(limit=limit)))
        else:
            inputs["cpus"] = int(num) if num.is_integer() else num
    return bad


def _addresses(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    bad = []
    address, gateway = inputs.get("address"), inputs.get("gateway")
    iface: ipaddress.IPv4Interface | None = None
    if not _is_unknown(address):
        try:
            if not isinstance(address, str) or "/" not in address:
                raise ValueError
            iface = ipaddress.IPv4Interface(address)
        except ValueError:
            said = _("address must be IPv4 CIDR like 10.20.3.11/24, got {value}")
            bad.append(("address", said.format(value=repr(address))))
    if not _is_unknown(gateway):
        try:
            gw = ipaddress.IPv4Address(gateway if isinstance(gateway, str) else "")
        except ValueError:
            said = _("gateway must be an IPv4 address, got {value}")
            bad.append(("gateway", said.format(value=repr(gateway))))
        else:
            if iface is not None and (gw not in iface.network or gw == iface.ip):
                said = _("gateway {gateway} is not another address of {network}")
                bad.append(("gateway", said.format(gateway=gw, network=iface.network)))
    return bad


def _keys(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    keys = inputs.get("ssh_pubkey")
    if _is_unknown(keys):
        return []
    lines = [k.strip() for k in keys.splitlines() if k.strip()] if isinstance(keys, str) else []
    if not lines or any(not _PUBKEY.match(k) for k in lines):
        return [("ssh_pubkey", _("ssh_pubkey must be one or more OpenSSH public key lines"))]
    if "PRIVATE KEY" in keys:
        return [("ssh_pubkey", _("ssh_pubkey looks like a private key; pass the public key"))]
    inputs["ssh_pubkey"] = "\n".join(lines)
    return []


def _dns(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    dns = inputs.get("dns")
    if dns is None:
        inputs["dns"] = []
    elif not _is_unknown(dns):
        try:
            if not isinstance(dns, list):
                raise ValueError
            inputs["dns"] = [str(ipaddress.ip_address(a)) for a in dns]
        except ValueError:
            said = _("dns must be a list of IP addresses, got {value}")
            return [("dns", said.format(value=repr(dns)))]
    return []


def _pin(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """Both or neither; an absolute file and a known_hosts label (the VM's inventory name)."""
    path, alias = inputs.get("known_hosts"), inputs.get("host_alias")
    if _is_unknown(path) or _is_unknown(alias) or (path is None and alias is None):
        return []
    bad = []
    if not isinstance(path, str) or not os.path.isabs(path) or "\n" in path:
        said = _("known_hosts must be an absolute file path, got {value}")
        bad.append(("known_hosts", said.format(value=repr(path))))
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        said = _("host_alias must be a name like dinkes-simpus, got {value}")
        bad.append(("host_alias", said.format(value=repr(alias))))
    return bad


def _required(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    missing = [p for p in INPUTS if p not in _OPTIONAL and inputs.get(p) in (None, "")]
    return [(p, _("{prop} is required").format(prop=p)) for p in missing]


_CHECKERS: tuple[_Checker, ...] = (_texts, _numbers, _addresses, _keys, _dns, _pin, _required)


def check_inputs(news: dict[str, Any]) -> CheckResult:
    """Validate and normalize a LabVm's inputs before anything touches the host."""
    inputs = dict(news)
    failures = [CheckFailure(p, why) for check in _CHECKERS for p, why in check(inputs)]
    return CheckResult(inputs, failures)
