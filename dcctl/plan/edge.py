"""The edge policy of a site's gateway (issue 20), vendor-neutral.

Why one policy: guest Wi-Fi reaches only the internet, and staff LANs of different
OPDs never reach each other; VLANs keep them apart on the switches, routing on the
gateway would join them again. The lab's gateway (iptables, :mod:`dcctl.lab.edge`)
and a production gateway (RouterOS ``/ip firewall``,
:mod:`dcctl.vendors.mikrotik_routeros.firewall`) render the same ordered list of
rules, so what the lab proves with packets is what production is given.

A rule names *zones*, not addresses or interfaces: ``guest`` (the guest network),
``wan`` (the internet side), ``staff:<OPD>`` (an OPD's staff LAN), ``mgmt``
(management); each renderer maps a zone to what it can match on (an interface in
the lab, an address list or the WAN port on RouterOS). The first rule that matches
decides, as in both firewalls:

* forward: each staff LAN to every other staff LAN: drop; the guest network to the
  WAN: accept, anywhere else (an OPD network, management): drop; into the guest
  network: only replies (established, related), nothing new;
* input (the gateway itself, from guests): its own guest address for ping and DNS,
  DHCP (a client may have no address yet), nothing else (no management, no OPD
  gateway address).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

GUEST = "guest"
WAN = "wan"
MGMT = "mgmt"
STAFF = "staff:"

Chain = Literal["forward", "input"]
Action = Literal["accept", "drop"]


def staff(opd: str) -> str:
    """The zone of `opd`'s staff LAN."""
    return f"{STAFF}{opd}"


@dataclass(frozen=True)
class EdgeRule:
    """One rule; None matches anything (any source, any destination, any protocol)."""

    chain: Chain
    action: Action
    src: str | None = None  # the zone a packet comes from
    dst: str | None = None  # forward: the zone it goes to
    protocol: Literal["icmp", "udp"] | None = None
    port: int | None = None  # destination port (udp)
    to_self: bool = False  # input: only to the gateway's own address in `src`
    replies: bool = False  # only packets of established or related connections
    why: str = ""  # said on the device (a RouterOS rule's comment)


def edge_policy(staff_lans: Sequence[str], guest: bool) -> list[EdgeRule]:
    """The ordered rules for OPDs with staff LANs `staff_lans` (spec order), with or
    without a guest network (see the module docstring)."""
    rules = [
        EdgeRule("forward", "drop", staff(a), staff(b), why=f"{a} staff LAN apart from {b}")
        for a in staff_lans
        for b in staff_lans
        if a != b
    ]
    if not guest:
        return rules
    rules += [
        EdgeRule("forward", "accept", GUEST, WAN, why="guest Wi-Fi to the internet"),
        EdgeRule("forward", "drop", GUEST, why="guest Wi-Fi nowhere else"),
        EdgeRule("forward", "accept", dst=GUEST, replies=True, why="replies to guests"),
        EdgeRule("forward", "drop", dst=GUEST, why="nothing new into guest Wi-Fi"),
        EdgeRule("input", "accept", GUEST, protocol="icmp", to_self=True, why="guests ping it"),
        EdgeRule("input", "accept", GUEST, protocol="udp", port=53, to_self=True, why="guest DNS"),
        EdgeRule("input", "accept", GUEST, protocol="udp", port=67, why="guest DHCP"),
        EdgeRule("input", "drop", GUEST, why="guests reach no other gateway address"),
    ]
    return rules


def decide(
    rules: Sequence[EdgeRule],
    chain: Chain,
    src: str,
    dst: str,
    *,
    protocol: str = "tcp",
    port: int | None = None,
    reply: bool = False,
) -> Action | None:
    """What `rules` do with a packet from zone `src` to zone `dst` (input: to the
    gateway's own address in `src` when `dst` is ``"self"``); None: no rule matches
    (the device's own rules decide). For tests and for reading the policy."""
    for r in rules:
        if r.chain != chain or (r.src is not None and r.src != src):
            continue
        if r.dst is not None and r.dst != dst:
            continue
        if r.to_self and dst != "self":
            continue
        if r.protocol is not None and r.protocol != protocol:
            continue
        if r.port is not None and r.port != port:
            continue
        if r.replies and not reply:
            continue
        return r.action
    return None
