"""MikroTik RouterOS: the delta is computed on parsed bridge tables, not on text.

Why not hier-config: RouterOS has no hierarchical config; `/export` is a list of
`add`/`set` commands whose order and item numbers are not stable, and a bridge
VLAN entry may hold several VLAN ids. So the running `/export terse` is parsed
into three tables dcctl cares about (identity, bridge ports keyed by interface,
bridge VLAN entries keyed by bridge + vlan-ids), a *target* state is composed
from it and the intent, and the commands are the difference between the two.
The same difference function turns a running config back into a backup, so a
rollback is exactly as precise as a change.

Ownership in `partial` mode mirrors IOS: a port in the intent is owned whole
(its bridge-port entry and its membership in every VLAN), a VLAN in the managed
set is owned whole (its entry exists only if the intent wants it), and anything
else (another port, a VLAN outside the managed range) is left exactly as found.
`full` mode owns every bridge port and VLAN entry, except the management path: bridge
ports in the management VLAN and that VLAN's other members (the bridge itself, which
carries the switch's own management interface) stay. Nothing outside the bridge tables
(`/user`, `/ip service`, `/ip ssh`, `/ip address`, `/ip route`, `/snmp`) is read or
written, so those are never removed in either mode; a gateway's `/ip firewall` is the
one exception (below), and there only what is marked as dcctl's.

The intended config is produced from the intent dict here, not from the
RouterOS template: the template uses `add` (not idempotent) and its text cannot
express "set this one property", which remediation needs.

Radios and access points (issue 20) add the wireless tables (`/interface wireless`,
its security profiles), parsed and written by difference the same way
(:mod:`.wireless`), and on 802.11ax access points the ``wifi`` package's tables
(`/interface wifi` and its security, channel, datapath and configuration profiles:
:mod:`.wifi`, WPA3); their keys arrive resolved as ``secrets`` and are masked in
every line shown. A site's gateway adds its `/ip firewall` (:mod:`.firewall`: the
edge policy's address lists, filter and NAT rules, dcctl's marked ``dcctl``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dcctl.engines.switches.masking import mask_key_values
from dcctl.engines.switches.secrets import DeviceSecret
from dcctl.engines.switches.session import paste
from dcctl.i18n import _
from dcctl.render.switch import UnsafeValue, _check
from dcctl.spec.vlanlist import format_vlan_list, is_vlan_list, parse_vlan_list
from dcctl.vendors.mikrotik_routeros import firewall, wifi, wireless

BRIDGE = "bridge1"
#: The comment dcctl gives the management VLAN's entry (the VLAN name the intent uses).
MGMT_COMMENT = "MGMT"
BRIDGE_MENU = "/interface bridge"
PORT_MENU = "/interface bridge port"
VLAN_MENU = "/interface bridge vlan"
IDENTITY_MENU = "/system identity"
#: Values RouterOS omits from `/export` because they are the default.
PORT_DEFAULTS: dict[str, str] = {
    "comment": "",
    "disabled": "no",
    "frame-types": "admit-all",
    "ingress-filtering": "yes",
    "pvid": "1",
}
BRIDGE_DEFAULTS: dict[str, str] = {"comment": "", "disabled": "no", "vlan-filtering": "no"}
#: Without vlan-filtering a bridge ignores its VLAN table and forwards everything.
WANT_BRIDGE = {"vlan-filtering": "yes", "disabled": "no"}
#: Bridge-port properties an intent decides; others (ingress-filtering, hw, ...)
#: keep whatever the device has.
MANAGED_PORT_KEYS = ("bridge", "comment", "disabled", "frame-types", "pvid")
#: Texts RouterOS prints when a command fails (tests/fixtures/devices/
#: mikrotik_routeros/errors.yaml); any of them aborts a push, and so does any
#: other reply: a console `add`/`set`/`remove` that succeeds prints nothing.
ERROR_PATTERN = (
    r"(failure:|syntax error|bad command name|expected end of command|"
    r"input does not match|invalid value|value of \S+ out of range|no such item|"
    r"ambiguous value|missing value|expected command name|already have)[^\n]*"
)
_ERROR = re.compile(ERROR_PATTERN)
#: Success is silence; nothing is whitelisted (default-deny).
ALLOWED = re.compile(r"(?!)")
#: Any RouterOS prompt (`[user@identity] /menu> `), whatever the identity.
_PROMPT = re.compile(r"\[[^\]\r\n]*\]\s*(?:/[\w/-]*)?\s*>")
_BARE = re.compile(r"^[A-Za-z0-9_.:/+@-]+$")
_COMMANDS = {"add", "set", "remove", "enable", "disable"}


# --------------------------------------------------------------------------
# Parsed state


@dataclass(frozen=True)
class BridgeVlan:
    """One `/interface bridge vlan` entry; `ids_text` is the device's spelling."""

    bridge: str
    vlan_ids: frozenset[int]
    tagged: frozenset[str] = frozenset()
    untagged: frozenset[str] = frozenset()
    comment: str = ""
    disabled: bool = False
    ids_text: str = ""

    @property
    def key(self) -> tuple[str, frozenset[int]]:
        return (self.bridge, self.vlan_ids)

    def same(self, other: BridgeVlan) -> bool:
        return (self.tagged, self.untagged, self.comment, self.disabled) == (
            other.tagged,
            other.untagged,
            other.comment,
            other.disabled,
        )


@dataclass
class RosState:
    """The part of a RouterOS config the switch engine reads and writes."""

    identity: str | None = None
    bridges: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> props
    ports: dict[str, dict[str, str]] = field(default_factory=dict)  # interface -> props
    vlans: list[BridgeVlan] = field(default_factory=list)
    #: Wireless interfaces (physical by default-name, virtual APs by name) -> props.
    wlans: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Wireless security profiles by name -> props (keys only if the export shows them).
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    #: The `wifi` package's tables (:mod:`.wifi`): interface, security, channel,
    #: datapath, configuration, each name -> props.
    wifi: dict[str, dict[str, dict[str, str]]] = field(default_factory=wifi.empty)
    #: A gateway's `/ip firewall` address lists, filter and NAT rules (:mod:`.firewall`).
    firewall: firewall.Firewall = field(default_factory=firewall.Firewall)

    def normalized(self) -> dict[str, Any]:
        """Order-free form for comparisons (tests, verify, rollback checks)."""
        return {
            "identity": self.identity,
            "bridges": {
                k: dict(sorted({**BRIDGE_DEFAULTS, **v}.items()))
                for k, v in sorted(self.bridges.items())
            },
            "ports": {k: dict(sorted(_full(v).items())) for k, v in sorted(self.ports.items())},
            "vlans": sorted(
                (
                    v.bridge,
                    tuple(sorted(v.vlan_ids)),
                    tuple(sorted(v.tagged)),
                    tuple(sorted(v.untagged)),
                    v.comment,
                    v.disabled,
                )
                for v in self.vlans
            ),
            "wlans": {
                k: dict(sorted(wireless.full_wlan(v).items()))
                for k, v in sorted(self.wlans.items())
            },
            "profiles": {
                k: dict(sorted(wireless.full_profile(v).items()))
                for k, v in sorted(self.profiles.items())
            },
            "wifi": wifi.normalized(self),
        } | ({"firewall": firewall.normalized(self)} if self.firewall else {})


# --------------------------------------------------------------------------
# Parsing `/export` (terse or sectioned, with continuation lines)


def _tokens(line: str) -> list[str]:
    """Split on blanks, keeping "quoted strings" (with escapes) and [ ... ] whole."""
    out: list[str] = []
    i, n = 0, len(line)
    while i < n:
        if line[i].isspace():
            i += 1
            continue
        start, depth = i, 0
        while i < n:
            ch = line[i]
            if ch == '"':
                i += 1
                while i < n and line[i] != '"':
                    i += 2 if line[i] == "\\" else 1
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
            elif depth <= 0 and ch.isspace():
                break
            i += 1
        out.append(line[start:i])
    return out


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "_": " ", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def unquote(raw: str) -> str:
    """RouterOS value -> text: strips quotes, resolves backslash escapes."""
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if re.fullmatch(r"[0-9A-Fa-f]{2}", body[i + 1 : i + 3]):
                out.append(chr(int(body[i + 1 : i + 3], 16)))
                i += 3
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def numbered_lines(text: str) -> list[tuple[int, str]]:
    """Join continuation lines, each with the number of its first line.

    RouterOS wraps a long line at a blank (kept before the backslash) or inside a value
    (``ssid=\\`` then ``    NAME`` in a real v7 export), and indents the continuation
    by four blanks: only the indent is dropped. The lab's device reads a startup
    configuration with the same rule (one reading of an export, the device's and ours).
    """
    lines: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        piece = raw.lstrip() if buf else raw
        if piece.endswith("\\"):
            buf += piece[:-1]
            continue
        lines.append((start, (buf + piece).strip()))
        buf = ""
    if buf:
        lines.append((start, buf.strip()))
    return lines


def _logical_lines(text: str) -> list[str]:
    """:func:`numbered_lines` without the numbers."""
    return [line for _n, line in numbered_lines(text)]


def parse_export(text: str) -> RosState:
    """Identity, bridge ports and bridge VLANs from `/export [terse]` output."""
    state = RosState()
    menu = ""
    for line in _logical_lines(text):
        if not line or line.startswith("#"):
            continue
        toks = _tokens(line)
        words: list[str] = []
        if toks[0].startswith("/"):
            words = [w for w in toks[0][1:].split("/") if w]
            toks = toks[1:]
            while toks and "=" not in toks[0] and toks[0] not in _COMMANDS:
                words.append(toks.pop(0))
            menu = "/" + " ".join(words)
        if not toks or toks[0] not in ("add", "set"):
            continue
        props = {}
        for t in toks[1:]:
            key, eq, value = t.partition("=")
            if eq and not t.startswith("["):
                props[key] = unquote(value)
        if firewall.parse_line(menu, toks[0], props, state):
            continue
        if wifi.parse_line(menu, toks[0], toks[1:], props, state):
            continue
        if wireless.parse_line(menu, toks[0], toks[1:], props, state):
            continue
        if menu == IDENTITY_MENU and "name" in props:
            state.identity = props["name"]
        elif menu == BRIDGE_MENU and toks[0] == "add" and "name" in props:
            state.bridges[props.pop("name")] = props
        elif menu == PORT_MENU and toks[0] == "add" and "interface" in props:
            iface = props.pop("interface")
            state.ports[iface] = props  # as exported: defaults omitted
        elif menu == VLAN_MENU and toks[0] == "add" and "vlan-ids" in props:
            state.vlans.append(
                BridgeVlan(
                    bridge=props.get("bridge", ""),
                    vlan_ids=frozenset(parse_vlan_list(props["vlan-ids"])),
                    tagged=_names(props.get("tagged", "")),
                    untagged=_names(props.get("untagged", "")),
                    comment=props.get("comment", ""),
                    disabled=props.get("disabled", "no") in ("yes", "true"),
                    ids_text=props["vlan-ids"],
                )
            )
    return state


def _full(props: dict[str, str]) -> dict[str, str]:
    return {**PORT_DEFAULTS, **props}


def _names(text: str) -> frozenset[str]:
    return frozenset(p for p in text.split(",") if p)


def clean_export(text: str) -> str:
    """Drop the timestamp header so two backups of one config are byte-equal."""
    keep = [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not (line.startswith("#") and " by RouterOS" in line)
    ]
    return "\n".join(keep) + "\n"


# --------------------------------------------------------------------------
# Desired state from the intent


def desired_state(
    name: str, intent: dict[str, Any], secrets: Mapping[str, DeviceSecret] | None = None
) -> RosState:
    """Intent -> RosState: one bridge port per intent port, one VLAN entry per VLAN.

    Access ports are untagged in their VLAN via pvid (listed in `untagged` as the
    template does); trunks keep pvid 1, like an IOS trunk's native VLAN 1. A radio's
    or AP's wireless interfaces and profiles come from its ``wireless`` intent, with
    the keys `secrets` holds (resolved by the switch layer, never in the intent).
    """
    _check(name, "name")
    _check(intent, name)
    state = RosState(identity=name, bridges={BRIDGE: dict(WANT_BRIDGE)})
    tagged: dict[int, set[str]] = defaultdict(set)
    untagged: dict[int, set[str]] = defaultdict(set)
    for port, p in intent["ports"].items():
        if wifi.is_wifi(port):  # its datapath makes it a (dynamic) bridge port of its VLAN
            continue
        access = p["mode"] == "access"
        state.ports[port] = {
            "bridge": BRIDGE,
            "pvid": str(p["vlan"] if access else 1),
            "comment": p.get("description") or "",
        }
        if access:
            untagged[int(p["vlan"])].add(port)
        else:
            for vid in p["trunk_vlans"]:
                tagged[int(vid)].add(port)
    for vid_text, vname in intent["vlans"].items():
        vid = int(vid_text)
        state.vlans.append(
            BridgeVlan(
                BRIDGE,
                frozenset({vid}),
                frozenset(tagged[vid]),
                frozenset(untagged[vid]),
                vname,
                ids_text=str(vid),
            )
        )
    wireless.desired(intent, secrets or {}, state)
    wifi.desired(intent, secrets or {}, state)
    firewall.desired(intent, state)
    return state


def render_state(state: RosState) -> str:
    """A RosState as `/export terse` lines (what `intended()` shows and parses back)."""
    lines = [f"{BRIDGE_MENU} add {_bridge_args(b, p)}" for b, p in sorted(state.bridges.items())]
    lines += wireless.render(state, _kv, quote)
    lines += wifi.render(state, _kv, quote)
    for iface in sorted(state.ports):
        lines.append(f"{PORT_MENU} add {_port_args(iface, state.ports[iface])}")
    for v in sorted(state.vlans, key=lambda v: (v.bridge, sorted(v.vlan_ids))):
        lines.append(f"{VLAN_MENU} add {_vlan_args(v)}")
    if state.identity is not None:
        lines.append(f"{IDENTITY_MENU} set name={quote(state.identity)}")
    lines += firewall.render(state, _kv, quote)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Target composition and the difference


def target_state(
    running: RosState, want: RosState, managed_vlans: set[int], full: bool
) -> RosState:
    """What the device should hold after the change: `want` inside dcctl's scope,
    everything outside it exactly as running has it."""
    owned = set(want.ports)
    wanted_ids = {v for e in want.vlans for v in e.vlan_ids}
    in_scope = managed_vlans | wanted_ids
    mgmt = {v for e in want.vlans if e.comment == MGMT_COMMENT for v in e.vlan_ids}
    on_mgmt = _mgmt_members(running, mgmt)
    target = RosState(identity=want.identity if want.identity is not None else running.identity)
    target.bridges = {k: dict(v) for k, v in running.bridges.items()}
    for name, props in want.bridges.items():
        target.bridges[name] = {**target.bridges.get(name, {}), **props}
    for iface, props in running.ports.items():
        # Full mode owns every port but those the management VLAN reaches the switch by.
        if iface not in owned and (not full or iface in on_mgmt):
            target.ports[iface] = props
    for iface, props in want.ports.items():
        wanted = _full(props)
        target.ports[iface] = {
            **running.ports.get(iface, {}),
            **{k: wanted[k] for k in MANAGED_PORT_KEYS if k in wanted},
        }
    kept_t: dict[int, set[str]] = defaultdict(set)
    kept_u: dict[int, set[str]] = defaultdict(set)
    for e in running.vlans:
        others_t, others_u = e.tagged - owned, e.untagged - owned
        if full:
            # Only the management VLAN keeps its other members (the bridge itself, for
            # the switch's own management interface, and its out-of-band ports).
            for vid in e.vlan_ids & mgmt if e.bridge == BRIDGE else ():
                kept_t[vid] |= others_t
                kept_u[vid] |= others_u
            continue
        scoped = {v for v in e.vlan_ids if v in in_scope} if e.bridge == BRIDGE else set()
        rest = e.vlan_ids - scoped
        if rest:  # not ours (or partly): keep, without our ports in it
            target.vlans.append(
                replace(
                    e,
                    vlan_ids=frozenset(rest),
                    ids_text=e.ids_text if not scoped else _fmt_ids(rest),
                    tagged=others_t,
                    untagged=others_u,
                )
            )
        for vid in scoped:  # other ports' membership in our VLANs survives
            kept_t[vid] |= others_t
            kept_u[vid] |= others_u
    for w in want.vlans:
        (vid,) = w.vlan_ids
        target.vlans.append(
            replace(w, tagged=w.tagged | kept_t[vid], untagged=w.untagged | kept_u[vid])
        )
    wireless.target(running, want, full, target)
    wifi.target(running, want, full, target)
    firewall.target(running, want, target)
    return target


def _mgmt_members(running: RosState, mgmt: set[int]) -> set[str]:
    """Bridge ports in the management VLAN: its pvid, or a member of its VLAN entry."""
    pvids = {str(v) for v in mgmt}
    out = {iface for iface, props in running.ports.items() if props.get("pvid") in pvids}
    for e in running.vlans:
        if e.vlan_ids & mgmt:
            out |= (e.tagged | e.untagged) & set(running.ports)
    return out


def diff_commands(cur: RosState, tgt: RosState) -> list[str]:
    """RouterOS commands turning `cur` into `tgt`.

    Order avoids transient refusals: a missing bridge is added first; VLAN
    entries that go away are removed before new ones are added (RouterOS refuses
    overlapping vlan-ids on one bridge); ports are moved with `set` (an interface
    can be in only one bridge). Bridge settings change last, so vlan-filtering is
    switched on only once the VLAN table is complete (MikroTik's own advice, it
    keeps management reachable), and a bridge is removed only after its members.
    """
    out: list[str] = []
    if tgt.identity is not None and tgt.identity != cur.identity:
        out.append(f"{IDENTITY_MENU} set name={quote(tgt.identity)}")
    for name, props in tgt.bridges.items():
        if name not in cur.bridges:
            out.append(f"{BRIDGE_MENU} add {_bridge_args(name, props)}")
    radio_first, radio_last = wireless.commands(cur, tgt, _kv, quote)
    wifi_first, wifi_last = wifi.commands(cur, tgt, _kv, quote)
    out += radio_first + wifi_first
    tgt_keys = {v.key: v for v in tgt.vlans}
    cur_keys = {v.key: v for v in cur.vlans}
    for v in cur.vlans:
        if v.key not in tgt_keys:
            out.append(f"{VLAN_MENU} remove {_vlan_find(v)}")
    for iface in cur.ports:
        if iface not in tgt.ports:
            out.append(f"{PORT_MENU} remove [find interface={quote(iface)}]")
    for iface, want in tgt.ports.items():
        have = cur.ports.get(iface)
        if have is None:
            out.append(f"{PORT_MENU} add {_port_args(iface, want)}")
            continue
        have = _full(have)
        changed = {k: v for k, v in _full(want).items() if have.get(k) != v}
        if changed:
            args = " ".join(_kv(k, v) for k, v in sorted(changed.items()))
            out.append(f"{PORT_MENU} set [find interface={quote(iface)}] {args}")
    for v in tgt.vlans:
        have_v = cur_keys.get(v.key)
        if have_v is None:
            out.append(f"{VLAN_MENU} add {_vlan_args(v)}")
        elif not v.same(have_v):
            args = []
            if v.tagged != have_v.tagged:
                args.append(f"tagged={_list(v.tagged)}")
            if v.untagged != have_v.untagged:
                args.append(f"untagged={_list(v.untagged)}")
            if v.comment != have_v.comment:
                args.append(f"comment={_comment(v.comment)}")
            if v.disabled != have_v.disabled:
                args.append(f"disabled={'yes' if v.disabled else 'no'}")
            out.append(f"{VLAN_MENU} set {_vlan_find(have_v)} " + " ".join(args))
    for name, props in tgt.bridges.items():
        if name in cur.bridges:
            have = {**BRIDGE_DEFAULTS, **cur.bridges[name]}
            changed = {k: v for k, v in {**BRIDGE_DEFAULTS, **props}.items() if have.get(k) != v}
            if changed:
                args = " ".join(_kv(k, v) for k, v in sorted(changed.items()))
                out.append(f"{BRIDGE_MENU} set [find name={quote(name)}] {args}")
    out += radio_last + wifi_last
    for name in cur.bridges:
        if name not in tgt.bridges:
            out.append(f"{BRIDGE_MENU} remove [find name={quote(name)}]")
    return out + firewall.commands(cur, tgt, _kv, quote)


def remediation(running: str, intended: str, managed_vlans: set[int], full: bool) -> list[str]:
    cur = parse_export(running)
    return diff_commands(cur, target_state(cur, parse_export(intended), managed_vlans, full))


def verify_state(state: RosState, intent: dict[str, Any]) -> list[str]:
    """Does the parsed device state forward what the intent says? Mismatches as text."""
    problems: list[str] = []
    bridge = {**BRIDGE_DEFAULTS, **state.bridges.get(BRIDGE, {"disabled": "missing"})}
    if bridge["disabled"] != "no" or bridge["vlan-filtering"] != "yes":
        problems.append(
            _("{bridge}: must exist, be enabled and have vlan-filtering=yes").format(bridge=BRIDGE)
        )
    live = [v for v in state.vlans if v.bridge == BRIDGE and not v.disabled]
    for vid_text, name in intent["vlans"].items():
        entry = next((v for v in live if int(vid_text) in v.vlan_ids), None)
        if entry is None:
            problems.append(
                _("vlan {vid}: no bridge vlan entry on {bridge}").format(
                    vid=vid_text, bridge=BRIDGE
                )
            )
        elif entry.comment != name:
            problems.append(
                _("vlan {vid}: expected comment {name}, device has {got}").format(
                    vid=vid_text, name=name, got=entry.comment
                )
            )
    for port, want in intent["ports"].items():
        if wifi.is_wifi(port):  # a dynamic bridge port: its datapath is checked below
            continue
        props = _full(state.ports[port]) if port in state.ports else None
        if props is None or props.get("bridge") != BRIDGE or props.get("disabled") == "yes":
            problems.append(
                _("{port}: not an enabled port of {bridge}").format(port=port, bridge=BRIDGE)
            )
            continue
        tagged = {vid for v in live if port in v.tagged for vid in v.vlan_ids}
        frames = props.get("frame-types", "admit-all")
        if want["mode"] == "access":
            if props.get("pvid") != str(want["vlan"]) or tagged or "vlan-tagged" in frames:
                problems.append(
                    _(
                        "{port}: expected access vlan {vlan}, device has pvid {pvid} "
                        "tagged {tagged} {frames}"
                    ).format(
                        port=port,
                        vlan=want["vlan"],
                        pvid=props.get("pvid"),
                        tagged=sorted(tagged),
                        frames=frames,
                    )
                )
        elif tagged != {int(v) for v in want["trunk_vlans"]} or "only-untagged" in frames:
            problems.append(
                _("{port}: expected trunk {vlans}, device has {mode} {got}").format(
                    port=port, vlans=sorted(want["trunk_vlans"]), mode=frames, got=sorted(tagged)
                )
            )
        if props.get("comment", "") != (want.get("description") or ""):
            problems.append(
                _("{port}: comment is {comment!r}").format(port=port, comment=props.get("comment"))
            )
    edge = RosState()
    firewall.desired(intent, edge)
    problems += firewall.verify(state, edge)
    return problems + wireless.verify(state, intent) + wifi.verify(state, intent)


# --------------------------------------------------------------------------
# Formatting


def quote(value: str) -> str:
    """A value as RouterOS reads it back unchanged: bare if plain, else "escaped"."""
    if _BARE.fullmatch(value):
        return value
    return _comment(value)


def _comment(value: str) -> str:
    """Always quoted; `?` is escaped too, the console would open help on it."""
    out = []
    for ch in value:
        if ch in '\\"$?':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif not (" " <= ch <= "~"):
            raise UnsafeValue(
                _("{value!r}: character {ch!r} cannot be sent to a RouterOS console").format(
                    value=value, ch=ch
                )
            )
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _kv(key: str, value: str) -> str:
    return f"{key}={_comment(value) if key == 'comment' else quote(value)}"


def _list(names: frozenset[str]) -> str:
    return ",".join(quote(n) for n in sorted(names)) if names else '""'


def _ids(text: str) -> str:
    if not is_vlan_list(text):
        raise UnsafeValue(_("vlan-ids {text!r} is not a VLAN list").format(text=text))
    return text


def _fmt_ids(ids: frozenset[int] | set[int]) -> str:
    """Every ID listed, no runs: the text a later `[find vlan-ids=...]` must repeat."""
    return format_vlan_list(ids, min_range=None)


def _vlan_find(v: BridgeVlan) -> str:
    ids = _ids(v.ids_text or _fmt_ids(v.vlan_ids))
    return f"[find bridge={quote(v.bridge)} vlan-ids={ids}]"


def _vlan_args(v: BridgeVlan) -> str:
    args = [f"bridge={quote(v.bridge)}", f"vlan-ids={_ids(v.ids_text or _fmt_ids(v.vlan_ids))}"]
    if v.tagged:
        args.append(f"tagged={_list(v.tagged)}")
    if v.untagged:
        args.append(f"untagged={_list(v.untagged)}")
    if v.comment:
        args.append(f"comment={_comment(v.comment)}")
    if v.disabled:
        args.append("disabled=yes")
    return " ".join(args)


def _bridge_args(name: str, props: dict[str, str]) -> str:
    args = [f"name={quote(name)}"]
    args += [_kv(k, v) for k, v in sorted(props.items()) if v != BRIDGE_DEFAULTS.get(k)]
    return " ".join(args)


def _port_args(iface: str, props: dict[str, str]) -> str:
    args = [f"bridge={quote(props.get('bridge', BRIDGE))}", f"interface={quote(iface)}"]
    for k in sorted(props):
        if k != "bridge" and props[k] != PORT_DEFAULTS.get(k):
            args.append(_kv(k, props[k]))
    return " ".join(args)


# --------------------------------------------------------------------------
# The driver


#: Keys whose value is secret wherever they appear (``password=``, ``private-key=``,
#: ``preshared-key=``, ``secret=``, ``authentication-password=`` ...).
_SECRET_KEY = re.compile(
    r"(.*-)?(password|passphrase|secret|private-key|preshared-key|pre-shared-key|psk)"
)


def mask(line: str) -> str:
    """RouterOS: secret ``key=value`` values, and an SNMP community's name (its password)."""
    snmp = line.lstrip().startswith("/snmp community")
    return mask_key_values(
        line, lambda key: bool(_SECRET_KEY.fullmatch(key)) or (snmp and key == "name")
    )


class RouterOsDriver:
    """netmiko `mikrotik_routeros` device handling for the switch engine."""

    device_type = "mikrotik_routeros"
    #: The device's error forms and the replies that mean success (contract tests).
    errors = _ERROR
    allowed = ALLOWED

    def intended(
        self,
        name: str,
        intent: dict[str, Any],
        secrets: Mapping[str, DeviceSecret] | None = None,
    ) -> str:
        """The intended config; a radio's or AP's keys come resolved in `secrets`."""
        return render_state(desired_state(name, intent, secrets))

    def read_running(self, conn: Any) -> str:
        return clean_export(conn.send_command("/export terse", read_timeout=60))

    def remediation(
        self, running: str, intended: str, managed_vlans: set[int], full: bool
    ) -> list[str]:
        return remediation(running, intended, managed_vlans, full)

    def stale_keys(self, conn: Any, intended: str) -> list[str]:
        """Lines re-setting the radio and Wi-Fi keys changed on the device by hand.

        The keys are read with ``show-sensitive`` into memory and compared there; the
        running config (backups, plans) never holds them. Lines come with the real
        key for a push; everything shown of them is masked (:meth:`mask`).
        """
        want = parse_export(intended)
        out = []
        if want.profiles or want.wlans:
            live = conn.send_command(f"{wireless.WIRELESS_MENU} export terse show-sensitive",
                                     read_timeout=60)  # fmt: skip
            out += wireless.rekey(parse_export(live), want, _kv, quote)
        if want.wifi["security"]:
            live = conn.send_command(f"{wifi.MENU} export terse show-sensitive", read_timeout=60)
            out += wifi.rekey(parse_export(live), want, _kv, quote)
        return out

    def restore(self, running: str, backup: str) -> list[str]:
        """Commands that bring identity, bridge ports and bridge VLANs back to `backup`."""
        return diff_commands(parse_export(running), parse_export(backup))

    def push(self, conn: Any, lines: list[str]) -> str:
        """Paste the lines; an identity change alters the prompt, so it is re-learnt."""
        out = paste(conn, lines, _PROMPT, _ERROR, allowed=ALLOWED)
        if any(line.startswith(f"{IDENTITY_MENU} set") for line in lines):
            conn.set_base_prompt()
        return out

    def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
        return verify_state(parse_export(self.read_running(conn)), intent)

    def save(self, conn: Any) -> None:
        """Nothing to do: RouterOS persists every change as it is made."""

    def mask(self, line: str) -> str:
        """`line` with its secret values masked (passwords, keys, SNMP communities)."""
        return mask(line)


#: What :func:`dcctl.plugins.vendor_driver` hands the switch engine.
DRIVER = RouterOsDriver()
