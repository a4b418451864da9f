"""RouterOS ``/ip firewall`` of a site's gateway: the edge policy (issue 20).

The gateway's intent carries the vendor-neutral edge policy (:mod:`dcctl.plan.edge`,
the one the lab renders as iptables) and the prefixes of its zones; here it becomes
RouterOS v7 firewall lines, in the syntax of RouterOS's own exports
(tests/fixtures/devices/mikrotik_routeros/firewall_2_wans_v7.rsc, its source in that
folder's README):

* ``/ip firewall address-list``: one list per zone (``dcctl-guest``,
  ``dcctl-staff-<OPD>``, ``dcctl-mgmt``; management is listed for the device's own
  rules, the policy needs no rule of its own for it: guests reach nothing but the
  WAN);
* ``/ip firewall filter``: each policy rule, a zone matched by its address list
  (``src-address-list``/``dst-address-list``) or, for the WAN, by the WAN port
  (``out-interface``), ``dst-address`` the gateway's own address for the rules
  meant for it, ``connection-state=established,related`` for replies;
* ``/ip firewall nat``: guests masqueraded out of the WAN port.

What is dcctl's: address lists named ``dcctl-``, filter and NAT rules whose comment
starts with ``dcctl``; everything else is the device's and is neither read into a
change nor removed. Filter and NAT rules are an ordered list: when dcctl's rules on
the device differ from the wanted ones in any way (one edited, added, removed or
moved, or no longer ahead of all the device's own), all of dcctl's are removed and
the wanted ones added again, so the first match decides as the policy says.

dcctl's rules lead each table, so no rule of the device's own can accept what the
policy drops (MikroTik's ``defconf`` accepts ICMP to the router before anything
else, which would let a guest ping the management address). Placing them is the
part RouterOS makes awkward: ``place-before=0`` is refused on an empty table and
when dynamic rules (fasttrack's counter, hotspot's) lead it, and ``/export`` shows
no dynamic rule. So dcctl anchors each rule on the first *static* rule,
``place-before=[:pick [find where dynamic=no] 0]``, adding its rules in reverse
(each anchor is evaluated as the line runs, so the last one added ends up first),
and adds them plainly, in order, where the device has no static rule of its own
(known from the export just read). This is the form RouterOS users' provisioning
scripts use for the same reason (e.g. "anchored on the first STATIC rule: dynamic
hotspot/fasttrack markers cannot be anchors"); the lab's emulator evaluates it, and
a real RouterOS 7 is the check it still needs.

A DHCP client without an address yet (source 0.0.0.0) is in no address list, so
dcctl's rules neither accept nor drop it (the device's own rules do, as for any LAN);
a renewal from a guest address is accepted before the guests' drop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dcctl.i18n import _
from dcctl.plan.edge import GUEST, WAN

ADDRESS_MENU = "/ip firewall address-list"
FILTER_MENU = "/ip firewall filter"
NAT_MENU = "/ip firewall nat"
#: Names and comments that mark what dcctl owns.
PREFIX = "dcctl"
#: Values RouterOS omits from `/export` because they are the default.
RULE_DEFAULTS: dict[str, str] = {"disabled": "no", "log": "no", "log-prefix": ""}
#: What a rule without them means (compared, not omitted: exports show the action).
_MEANS = {**RULE_DEFAULTS, "action": "accept"}
#: Where a rule goes when the device has rules of its own: before its first static one.
PLACE_FIRST = "place-before=[:pick [find where dynamic=no] 0]"
#: Values that are lists (each item quoted on its own).
_LISTS = ("connection-state",)

Kv = Callable[[str, str], str]
Quote = Callable[[str], str]


@dataclass
class Firewall:
    """The firewall tables as parsed: address-list entries by (list, address), the
    filter and NAT rules in device order (every rule: ownership is by comment)."""

    addresses: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    filter: list[dict[str, str]] = field(default_factory=list)
    nat: list[dict[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.addresses or self.filter or self.nat)


def owned_rule(props: Mapping[str, str]) -> bool:
    return props.get("comment", "").startswith(PREFIX)


def owned_list(name: str) -> bool:
    return name.startswith(f"{PREFIX}-")


def zone_list(zone: str) -> str:
    """The address list of a policy zone (``staff:dinkes`` -> ``dcctl-staff-dinkes``)."""
    return f"{PREFIX}-{zone.replace(':', '-')}"


def parse_line(menu: str, verb: str, props: dict[str, str], state: Any) -> bool:
    """Record one exported firewall line into `state.firewall`; False if not one."""
    fw: Firewall = state.firewall
    if menu == ADDRESS_MENU:
        if verb == "add" and "list" in props and "address" in props:
            fw.addresses[(props.pop("list"), props.pop("address"))] = props
        return True
    table = {FILTER_MENU: fw.filter, NAT_MENU: fw.nat}.get(menu)
    if table is None:
        return False
    if verb == "add":
        table.append(props)
    return True


def desired(intent: Mapping[str, Any], state: Any) -> None:
    """The intent's ``edge`` part (a gateway's) as firewall tables in `state`."""
    edge = intent.get("edge")
    if not edge:
        return
    fw: Firewall = state.firewall
    for zone, prefixes in edge["zones"].items():
        for prefix in prefixes:
            fw.addresses[(zone_list(zone), prefix)] = {"comment": PREFIX}
    wan = edge["wan_port"]
    for r in edge["rules"]:
        props = {"action": r["action"], "chain": r["chain"], "comment": f"{PREFIX}: {r['why']}"}
        for side, zone in (("src", r["src"]), ("dst", r["dst"])):
            if zone == WAN:
                props["in-interface" if side == "src" else "out-interface"] = wan
            elif zone is not None:
                props[f"{side}-address-list"] = zone_list(zone)
        if r["to_self"]:
            props["dst-address"] = edge["self"][r["src"]]
        if r["protocol"] is not None:
            props["protocol"] = r["protocol"]
        if r["port"] is not None:
            props["dst-port"] = str(r["port"])
        if r["replies"]:
            props["connection-state"] = "established,related"
        fw.filter.append(props)
    if GUEST in edge["zones"]:
        fw.nat.append(
            {
                "action": "masquerade",
                "chain": "srcnat",
                "comment": f"{PREFIX}: guest Wi-Fi behind the WAN address",
                "out-interface": wan,
                "src-address-list": zone_list(GUEST),
            }
        )


def _full(props: Mapping[str, str]) -> dict[str, str]:
    return {**_MEANS, **props}


def _mine(rules: list[dict[str, str]]) -> list[dict[str, str]]:
    return [_full(r) for r in rules if owned_rule(r)]


def _leads(rules: list[dict[str, str]]) -> bool:
    """Are dcctl's rules ahead of every rule of the device's own?"""
    owned = [owned_rule(r) for r in rules]
    return owned == sorted(owned, reverse=True)


def normalized(state: Any) -> dict[str, Any]:
    fw: Firewall = state.firewall
    return {
        "addresses": {
            f"{k[0]} {k[1]}": dict(sorted(v.items())) for k, v in sorted(fw.addresses.items())
        },
        "filter": [dict(sorted(_full(r).items())) for r in fw.filter],
        "nat": [dict(sorted(_full(r).items())) for r in fw.nat],
    }


def target(running: Any, want: Any, tgt: Any) -> None:
    """dcctl's lists and rules as `want` has them, the device's own as running has them
    (dcctl's rules first, then the device's in their order)."""
    have: Firewall = running.firewall
    wanted: Firewall = want.firewall
    fw: Firewall = tgt.firewall
    fw.addresses = {k: dict(v) for k, v in have.addresses.items() if not owned_list(k[0])}
    fw.addresses |= {k: dict(v) for k, v in wanted.addresses.items()}
    fw.filter = [dict(r) for r in wanted.filter] + [
        dict(r) for r in have.filter if not owned_rule(r)
    ]
    fw.nat = [dict(r) for r in wanted.nat] + [dict(r) for r in have.nat if not owned_rule(r)]


def _args(props: Mapping[str, str], kv: Kv, quote: Quote) -> str:
    return " ".join(
        f"{k}={','.join(quote(x) for x in v.split(','))}" if k in _LISTS else kv(k, v)
        for k, v in sorted(props.items())
        if v != RULE_DEFAULTS.get(k)
    )


def _address_find(key: tuple[str, str], quote: Quote) -> str:
    return f"[find list={quote(key[0])} address={quote(key[1])}]"


def commands(cur: Any, tgt: Any, kv: Kv, quote: Quote) -> list[str]:
    """Lines turning dcctl's part of `cur`'s firewall into `tgt`'s: its rules removed
    whole where they differ or do not lead, address lists changed by entry, the rules
    added again ahead of the device's own once the lists they name exist."""
    have: Firewall = cur.firewall
    want: Firewall = tgt.firewall
    out: list[str] = []
    adds: list[str] = []
    for menu, h, w in ((FILTER_MENU, have.filter, want.filter), (NAT_MENU, have.nat, want.nat)):
        if _mine(h) == _mine(w) and _leads(h):
            continue
        comments = dict.fromkeys(r["comment"] for r in h if owned_rule(r))
        out += [f"{menu} remove [find comment={quote(c)}]" for c in comments]
        wanted = [f"{menu} add {_args(r, kv, quote)}" for r in w if owned_rule(r)]
        if any(not owned_rule(r) for r in h):  # the device's own stay: go ahead of them
            wanted = [f"{line} {PLACE_FIRST}" for line in reversed(wanted)]
        adds += wanted
    for key in have.addresses:
        if owned_list(key[0]) and key not in want.addresses:
            out.append(f"{ADDRESS_MENU} remove {_address_find(key, quote)}")
    for key, props in want.addresses.items():
        if not owned_list(key[0]):
            continue
        old = have.addresses.get(key)
        if old is None:
            args = _args({"address": key[1], "list": key[0], **props}, kv, quote)
            out.append(f"{ADDRESS_MENU} add {args}")
        elif changed := {k: v for k, v in _full(props).items() if _full(old).get(k) != v}:
            out.append(
                f"{ADDRESS_MENU} set {_address_find(key, quote)} {_args(changed, kv, quote)}"
            )
    return out + adds


def render(state: Any, kv: Kv, quote: Quote) -> list[str]:
    """The firewall tables as `/export terse` lines: lists, then filter, then NAT rules."""
    fw: Firewall = state.firewall
    lines = [
        f"{ADDRESS_MENU} add " + _args({"address": a, "list": name, **p}, kv, quote)
        for (name, a), p in sorted(fw.addresses.items())
    ]
    lines += [f"{FILTER_MENU} add {_args(r, kv, quote)}" for r in fw.filter]
    return lines + [f"{NAT_MENU} add {_args(r, kv, quote)}" for r in fw.nat]


def verify(state: Any, want: Any) -> list[str]:
    """Does the device hold dcctl's lists and exactly its rules, in order, leading?"""
    have: Firewall = state.firewall
    wanted: Firewall = want.firewall
    problems = [
        _("address list {list}: {address} is missing").format(list=k[0], address=k[1])
        for k in wanted.addresses
        if k not in have.addresses
    ]
    for table, h, w in (("filter", have.filter, wanted.filter), ("nat", have.nat, wanted.nat)):
        if _mine(h) != _mine(w):
            problems.append(
                _("firewall {table}: dcctl's rules differ from the edge policy").format(table=table)
            )
        elif not _leads(h):
            problems.append(
                _("firewall {table}: a rule of the device's own comes before dcctl's").format(
                    table=table
                )
            )
    return problems
