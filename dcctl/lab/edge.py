"""`lab up`'s edge rules on the gateway (issue 20): guests reach the internet only, and
staff LANs of different OPDs never reach each other.

Why on the gateway: it is the lab's inter-VLAN router and edge, as the firewall on
the hypervisors and the edge router are in production. VLANs keep the guest SSID's
clients apart on the switches (the guest VLAN is a VLAN of its own, pruned to the
trunks that need it); routing is what would join them again, so the gateway:

* forwards the guest network only to the WAN (to the internet stand-in, behind NAT
  on the gateway's WAN address), never to an OPD network or management, and nothing
  new into the guest network;
* answers a guest only on its own guest address (ping, DNS, DHCP), so no other
  address of the gateway (management, OPD gateways) is reachable from there;
* drops what one OPD's staff LAN sends to another's (an OPD SSID lands in its staff
  LAN: its clients reach their OPD's network, not another OPD's).

The rules are :mod:`dcctl.plan.edge`'s policy, the one a production gateway gets
as RouterOS firewall rules, each zone matched by the gateway's interface on it.
They live in two chains of their own (`<PREFIX>-EDGE` for forwarding,
`<PREFIX>-EDGE-IN` for the gateway itself) jumped to first, built in one
`iptables-restore --noflush`; what `iptables -S` then shows is kept in the lab
state, so a second `up` that finds the same rules changes nothing and one that finds
them edited puts them back.
"""

from __future__ import annotations

from dcctl.i18n import _
from dcctl.lab import net
from dcctl.lab.base import LabError, UpRun, write_if_changed
from dcctl.lab.plan import EdgePlan
from dcctl.lab.preflight import apt_hint
from dcctl.plan.edge import GUEST, WAN, EdgeRule, edge_policy, staff

RULES_FILE = "edge.rules"


def forward_rules(e: EdgePlan) -> list[str]:
    """The forwarding chain's rules (iptables-restore syntax, without `-A CHAIN`)."""
    return [_iptables(r, e) for r in _policy(e) if r.chain == "forward"]


def input_rules(e: EdgePlan) -> list[str]:
    """The gateway's own input from guests: its guest address only (ping, DNS, DHCP)."""
    return [_iptables(r, e) for r in _policy(e) if r.chain == "input"]


def _policy(e: EdgePlan) -> list[EdgeRule]:
    return edge_policy([opd for opd, _ in e.staff_lans], e.guest_ifname is not None)


def _iptables(r: EdgeRule, e: EdgePlan) -> str:
    """One policy rule as iptables matches: a zone is the gateway's interface on it."""
    ifnames: dict[str, str | None] = {staff(opd): i for opd, i in e.staff_lans}
    ifnames |= {GUEST: e.guest_ifname, WAN: e.wan_ifname}
    parts = []
    if r.src is not None:
        parts.append(f"-i {ifnames[r.src]}")
    if r.dst is not None:
        parts.append(f"-o {ifnames[r.dst]}")
    if r.to_self:
        parts.append(f"-d {e.guest_gateway}/32")
    if r.protocol is not None:
        parts.append(f"-p {r.protocol}")
    if r.port is not None:
        parts.append(f"-m {r.protocol} --dport {r.port}")
    if r.replies:
        parts.append("-m conntrack --ctstate RELATED,ESTABLISHED")
    return " ".join([*parts, f"-j {r.action.upper()}"])


def _ipt(e: EdgePlan, *args: str, table: str = "filter", check: bool = True) -> str:
    argv = ["ip", "netns", "exec", e.netns, "iptables", "-w", "5", "-t", table, *args]
    return net.run(argv, check=check).stdout


def _shown(e: EdgePlan) -> str:
    """What the gateway holds now: both chains, the jumps and the NAT rule, as listed."""
    hooks = _ipt(e, "-S", "FORWARD") + _ipt(e, "-S", "INPUT")
    nat = _ipt(e, "-S", "POSTROUTING", table="nat")
    parts = [
        _ipt(e, "-S", e.chain, check=False),
        _ipt(e, "-S", f"{e.chain}-IN", check=False),
        *(line for line in (hooks + nat).splitlines() if e.chain in line),
    ]
    return "\n".join(parts)


def edge(run: UpRun) -> None:
    """Put the edge rules on the gateway unless exactly they are there already."""
    e = run.plan.edge
    if e is None:
        return
    if net.which("iptables") is None:
        raise LabError(_("the gateway's edge rules need iptables"), apt_hint(["iptables"]))
    record = run.plan.state_dir / RULES_FILE
    try:
        recorded = record.read_text(encoding="utf-8")
    except FileNotFoundError:
        recorded = None
    if recorded is not None and recorded == _shown(e):
        return
    _apply(e)
    write_if_changed(record, _shown(e))
    run.change(_("gateway edge rules set (guest Wi-Fi to the internet only, staff LANs apart)"))


def _apply(e: EdgePlan) -> None:
    inp = f"{e.chain}-IN"
    text = ["*filter", f":{e.chain} - [0:0]", f":{inp} - [0:0]"]
    text += [f"-A {e.chain} {r}" for r in forward_rules(e)]
    text += [f"-A {inp} {r}" for r in input_rules(e)]
    text.append("COMMIT\n")
    net.run(
        ["ip", "netns", "exec", e.netns, "iptables-restore", "-w", "5", "--noflush"],
        input="\n".join(text),
    )
    for hook, target in (("FORWARD", e.chain), ("INPUT", inp)):
        while _jumps(e, hook, target):  # exactly one jump, first
            _ipt(e, "-D", hook, "-j", target)
        _ipt(e, "-I", hook, "1", "-j", target)
    nat = [
        "POSTROUTING", "-s", str(e.guest_prefix), "-o", str(e.wan_ifname),
        "-m", "comment", "--comment", e.chain, "-j", "MASQUERADE",
    ]  # fmt: skip
    for line in _ipt(e, "-S", "POSTROUTING", table="nat").splitlines():
        if e.chain in line:
            _ipt(e, "-D", *line.split()[1:], table="nat", check=False)
    if e.guest_prefix is not None:
        _ipt(e, "-A", *nat, table="nat")


def _jumps(e: EdgePlan, hook: str, target: str) -> bool:
    return any(line.endswith(f"-j {target}") for line in _ipt(e, "-S", hook).splitlines())
