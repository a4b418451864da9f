"""RouterOS v7 WireGuard config for MikroTik offices, rendered by dcctl.

Why rendered, not pushed: MikroTik office routers sit behind consumer ISPs where
dcctl has no management path; the office technician pastes (or `/import`s) the
script. Every value placed in the script is validated first (names are spec
identifiers, keys are 32-byte base64, addresses parse), so a hostile spec value
can never smuggle a second RouterOS command into it. The private key is masked
unless the operator explicitly exports the config to a file of their choosing.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from dcctl.i18n import _
from dcctl.paths import repo_root
from dcctl.vpn.ansible import KEEPALIVE_S, OFFICE_INTERFACE, Peer, office_allowed_ips
from dcctl.vpn.keystore import is_wg_key

__all__ = ["MASK", "RenderError", "export", "render"]

MASK = "<private-key: masked, use --export FILE>"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_COMMENT = re.compile(r"^[a-z0-9][a-z0-9/ .:_-]{0,120}$")

_TEMPLATE = """\
# dcctl: WireGuard for office {{ office }} ({{ opd }}), RouterOS v7.
# Generated from the spec; re-generate after `dcctl vpn rotate`, do not edit by hand.
/interface wireguard
add name={{ ifname }} listen-port={{ listen_port }} private-key="{{ private_key }}" \
comment="{{ comment }}"
/interface wireguard peers
add interface={{ ifname }} public-key="{{ hub_public_key }}" \
endpoint-address={{ hub_host }} endpoint-port={{ hub_port }} \
allowed-address={{ allowed | join(",") }} persistent-keepalive={{ keepalive }}s \
comment="{{ comment }} hub"
/ip address
add address={{ address }} interface={{ ifname }} comment="{{ comment }}"
/ip route
{% for net in routes %}
add dst-address={{ net }} gateway={{ ifname }} comment="{{ comment }}"
{% endfor %}
"""

_ENV = jinja2.Environment(
    autoescape=False,  # RouterOS script, not HTML; values are validated instead
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


class RenderError(ValueError):
    """A value that cannot safely go into a RouterOS script (the message has no secret)."""


@dataclass(frozen=True)
class _Checked:
    """The template's inputs, each one validated."""

    office: str
    opd: str
    ifname: str
    listen_port: int
    hub_public_key: str
    hub_host: str
    hub_port: int
    allowed: tuple[str, ...]
    routes: tuple[str, ...]
    address: str
    keepalive: int
    comment: str


def _name(what: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise RenderError(
            _("{what} {value!r} is not a plain name (a-z, 0-9, -)").format(what=what, value=value)
        )
    return value


def _key(what: str, value: str) -> str:
    if not is_wg_key(value):
        raise RenderError(_("{what} is not a WireGuard key (base64 of 32 bytes)").format(what=what))
    return value


def _ipv4(what: str, value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except (ipaddress.AddressValueError, ValueError):
        raise RenderError(
            _("{what} {value!r} is not an IPv4 address").format(what=what, value=value)
        ) from None


def _net(what: str, value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except (ipaddress.AddressValueError, ValueError):
        raise RenderError(
            _("{what} {value!r} is not an IPv4 prefix").format(what=what, value=value)
        ) from None


def _port(what: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise RenderError(_("{what} {value!r} is not a UDP port").format(what=what, value=value))
    return value


def _check(hub: dict[str, Any], hub_public_key: str, peer: Peer) -> _Checked:
    host, sep, port = str(hub["endpoint"]).rpartition(":")
    if not sep or not port.isdigit():
        raise RenderError(
            _("hub endpoint {endpoint!r} is not ADDRESS:PORT").format(endpoint=hub["endpoint"])
        )
    pool = ipaddress.IPv4Network(_net(_("tunnel pool"), str(hub["tunnel_pool"])))
    address = _ipv4(_("tunnel address"), peer.tunnel_address)
    if ipaddress.IPv4Address(address) not in pool:
        raise RenderError(
            _("tunnel address {address} is outside the tunnel pool {pool}").format(
                address=address, pool=pool
            )
        )
    allowed = tuple(_net(_("allowed network"), n) for n in office_allowed_ips(hub, peer))
    comment = f"dcctl {_name('OPD', peer.opd)}/{_name('office', peer.name)}"
    if not _COMMENT.match(comment):
        raise RenderError(
            _("comment {comment!r} has unexpected characters").format(comment=comment)
        )
    return _Checked(
        office=peer.name,
        opd=peer.opd,
        ifname=_name(_("interface"), OFFICE_INTERFACE),
        listen_port=_port(_("listen port"), hub["listen_port"]),
        hub_public_key=_key(_("hub public key"), hub_public_key),
        hub_host=_ipv4(_("hub endpoint address"), host),
        hub_port=_port(_("hub endpoint port"), int(port)),
        allowed=allowed,
        routes=tuple(n for n in allowed if not n.endswith("/32")),
        address=f"{address}/{pool.prefixlen}",
        keepalive=_port("keepalive", KEEPALIVE_S),
        comment=comment,
    )


def render(
    hub: dict[str, Any],
    hub_public_key: str,
    peer: Peer,
    private_key: str | None = None,
) -> str:
    """The RouterOS script for ``peer``; the private key is masked unless it is given."""
    if peer.router != "mikrotik":
        raise RenderError(
            _("office {office} has a {router} router, not a MikroTik").format(
                office=peer.key, router=peer.router
            )
        )
    checked = _check(hub, hub_public_key, peer)
    shown = MASK if private_key is None else _key(_("office private key"), private_key)
    return _ENV.from_string(_TEMPLATE).render(private_key=shown, **checked.__dict__)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _git_root(path: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def export(text: str, dest: Path, spec_root: Path) -> Path:
    """Write a config holding a private key to ``dest`` (0600), never inside a repo."""
    dest = Path(dest).expanduser()
    parent = dest.parent if dest.parent.exists() else None
    if parent is None:
        raise RenderError(_("directory {path} does not exist").format(path=dest.parent))
    roots = [Path(spec_root), repo_root()]
    git = _git_root(parent)
    if git is not None:
        roots.append(git)
    for root in roots:
        if _inside(dest, root):
            raise RenderError(
                _(
                    "refusing to write a private key inside the repository {root}; "
                    "export to a path outside it (e.g. ~/office.rsc)"
                ).format(root=root)
            )
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(text)
    return dest
