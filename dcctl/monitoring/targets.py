"""Every monitored thing of the regency, with the three labels alerts route on.

Why built on ``desired_state(spec)["monitoring"]``: that layer is what ``dcctl
plan`` diffs, so a target appearing here is exactly the change the plan showed.
This module only adds what the Prometheus files need on top: the kind of check
(scrape or which blackbox module), a readable name and context for alert text.

Every value that later lands in a Prometheus or Alertmanager file passes
:func:`label_value` / :func:`address` here, so a value that could break out of a
label matcher, a YAML scalar or a template (quotes, braces, newlines) is rejected
before any file is rendered, even if a spec model was built without validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import netaddr

from dcctl.i18n import _
from dcctl.plan.desired import desired_state
from dcctl.spec.loader import Spec
from dcctl.spec.types import is_safe_text

__all__ = [
    "KINDS",
    "Target",
    "UnsafeValue",
    "address",
    "build_targets",
    "label_value",
    "text",
]

Kind = Literal["node", "camera", "switch", "radio", "ap", "vpn"]

#: desired-state key prefix -> (kind, blackbox module or None for a direct scrape).
KINDS: dict[str, tuple[Kind, str | None]] = {
    "node": ("node", None),
    "rtsp": ("camera", "tcp_connect"),
    "switch": ("switch", "tcp_connect"),
    # Radios and access points (issue 20) are probed as switches are, on SSH.
    "radio": ("radio", "tcp_connect"),
    "ap": ("ap", "tcp_connect"),
    "vpn": ("vpn", "icmp"),
}

# Label values: OPD codes, VM/camera/office keys, switch names. Deliberately narrow.
_LABEL_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,126}$")
# Free text for annotations: the spec's safe-text rule (never braces/quotes/$), capped.
_TEXT_MAX = 240


class UnsafeValue(ValueError):
    """A spec value that must not reach a config file (raised, never escaped silently)."""


def label_value(value: str, what: str) -> str:
    """``value`` if it is safe as a Prometheus label value and in a PromQL matcher."""
    if not isinstance(value, str) or not _LABEL_RE.fullmatch(value):
        raise UnsafeValue(
            _("monitoring: {what} {value!r} is not a safe label value").format(
                what=what, value=value
            )
        )
    return value


def text(value: str, what: str) -> str:
    """``value`` if it is plain text safe in an annotation (no template syntax)."""
    if not isinstance(value, str) or not is_safe_text(value, _TEXT_MAX):
        raise UnsafeValue(
            _("monitoring: {what} {value!r} is not plain text").format(what=what, value=value)
        )
    return value


def address(value: str, what: str, *, port: bool) -> str:
    """An IPv4 ``host`` or ``host:port``, re-printed canonically (rejects anything else)."""
    host, sep, port_s = value.partition(":") if isinstance(value, str) else ("", "", "")
    try:
        ip = netaddr.IPAddress(host, version=4, flags=netaddr.INET_PTON)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        raise UnsafeValue(
            _("monitoring: {what} {value!r} is not an IPv4 address").format(what=what, value=value)
        ) from None
    if not port:
        if sep:
            raise UnsafeValue(
                _("monitoring: {what} {value!r} must not carry a port").format(
                    what=what, value=value
                )
            )
        return str(ip)
    if not (port_s.isdigit() and 1 <= int(port_s) <= 65535):
        raise UnsafeValue(
            _("monitoring: {what} {value!r} needs a port 1-65535").format(what=what, value=value)
        )
    return f"{ip}:{int(port_s)}"


@dataclass(frozen=True)
class Target:
    """One monitored thing: ``kind`` and ``name`` with ``opd`` are its alert labels."""

    key: str  # the desired-state key, e.g. "rtsp/dinkes/loket-dinkes"
    kind: Kind
    job: str  # Prometheus job name (one per kind)
    opd: str
    name: str  # e.g. "dinkes/simpus", "sw-core", "dinkes/pkm-kertek"
    address: str  # what is scraped/probed: "10.20.0.10:9100", "10.99.0.2"
    module: str | None  # blackbox module, None for a direct scrape
    detail: str  # plain text for alert descriptions (location, role)

    @property
    def labels(self) -> dict[str, str]:
        return {"opd": self.opd, "kind": self.kind, "name": self.name}


def _details(spec: Spec) -> dict[str, str]:
    """Plain-text context per desired key: where a camera hangs, what a VM is for."""
    out: dict[str, str] = {}
    for code, opd in spec.opds.items():
        for vm in opd.vms:
            out[f"node/{code}/{vm.name}"] = f"VM {vm.name} (role {vm.role})"
        for cam in opd.cameras:
            out[f"rtsp/{code}/{cam.name}"] = cam.location
        for off in opd.offices:
            out[f"vpn/{code}/{off.name}"] = off.location
    links = {
        end.partition(":")[0]: link.name
        for link in spec.site.links
        if link.medium == "radio"
        for end in (link.a, link.b)
    }
    for sw in spec.site.switches:
        if sw.role == "radio":
            out[f"radio/{sw.name}"] = f"{sw.location}, radio link {links.get(sw.name, '-')}"
        elif sw.role == "ap":
            out[f"ap/{sw.name}"] = f"{sw.location}, access point"
        else:
            out[f"switch/{sw.name}"] = sw.location
    return out


def build_targets(spec: Spec, state: dict[str, dict[str, Any]] | None = None) -> list[Target]:
    """All targets, sorted by kind then name (stable files, stable plan diffs)."""
    layer = (state or desired_state(spec))["monitoring"]
    details = _details(spec)
    targets: list[Target] = []
    for key, entry in layer.items():
        prefix, _sep, name = key.partition("/")
        if prefix not in KINDS:
            raise UnsafeValue(_("monitoring: unknown target kind in {key!r}").format(key=key))
        kind, module = KINDS[prefix]
        targets.append(
            Target(
                key=key,
                kind=kind,
                job=label_value(str(entry["job"]), _("job of {key}").format(key=key)),
                opd=label_value(str(entry["opd"]), _("OPD of {key}").format(key=key)),
                name=label_value(name, _("target name")),
                address=address(
                    str(entry["target"]), _("target of {key}").format(key=key), port=kind != "vpn"
                ),
                module=module,
                detail=text(details.get(key, ""), _("description of {key}").format(key=key)),
            )
        )
    order = {kind: i for i, (kind, _module) in enumerate(KINDS.values())}
    return sorted(targets, key=lambda t: (order[t.kind], t.name))
