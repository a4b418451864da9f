"""Render a VM's flows as its own nftables table: input policy drop, one rule per flow.

Why rendered in Python and not in the role's template: the text a unit test reads
is byte for byte what the host loads, and every value in it is re-printed here from
a parsed number or network (never copied from the spec), so nothing in a spec can
add a rule. The file replaces only dcctl's table (create, delete, define again in
one transaction), so other tables on the host (the VPN hub's) are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable

import netaddr

from dcctl.firewall.flows import Flow
from dcctl.i18n import _

__all__ = ["TABLE", "render"]

#: The nftables table dcctl owns on every VM (family inet: IPv4 and IPv6).
TABLE = "dcctl_vm"

# ICMPv6 a host needs to keep an IPv6 link working (neighbour discovery). IPv6 is
# otherwise dropped inbound: no spec network is IPv6.
_ND = "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert"


def _sources(flow: Flow) -> str:
    if flow.sources is None:
        return ""
    nets = [str(netaddr.IPNetwork(s, version=4).cidr) for s in flow.sources]
    if not nets:
        raise ValueError(_("flow {why!r} has an empty source set").format(why=flow.why))
    return "ip saddr { " + ", ".join(nets) + " } "


def _rule(flow: Flow) -> str:
    why = "".join(c for c in flow.why if c.isalnum() or c in " /,:-")[:120]
    src = _sources(flow)
    if flow.protocol == "icmp":
        return f'{src}icmp type echo-request accept comment "{why}"'
    if flow.protocol not in ("tcp", "udp"):
        raise ValueError(
            _("flow {why!r}: unknown protocol {protocol!r}").format(
                why=flow.why, protocol=flow.protocol
            )
        )
    ports = [int(p) for p in flow.ports]
    if not ports or any(not 1 <= p <= 65535 for p in ports):
        raise ValueError(
            _("flow {why!r}: ports {ports!r} out of range").format(why=flow.why, ports=flow.ports)
        )
    dport = str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(map(str, ports)) + " }"
    family = "meta nfproto ipv4 " if not src else ""
    return f'{family}{src}{flow.protocol} dport {dport} accept comment "{why}"'


def render(name: str, flows: Iterable[Flow]) -> str:
    """The nftables file of VM ``name`` (an ``opd/vm`` key) with exactly ``flows`` open."""
    label = "".join(c for c in name if c.isalnum() or c in "/-")
    lines = [
        "#!/usr/sbin/nft -f",
        f"# dcctl VM firewall of {label}: default deny inbound, rendered from the spec.",
        "# Replaces only this table: create it (no-op if present), delete it, define it again.",
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        "",
        f"table inet {TABLE} {{",
        "\tchain input {",
        "\t\ttype filter hook input priority filter; policy drop;",
        "\t\tct state established,related accept",
        "\t\tct state invalid drop",
        '\t\tiif "lo" accept',
        f"\t\ticmpv6 type {{ {_ND} }} ip6 hoplimit 255 accept",
    ]
    lines += [f"\t\t{_rule(f)}" for f in flows]
    lines += ['\t\tcounter comment "dropped: no flow of the spec allows it"', "\t}", "}", ""]
    return "\n".join(lines)
