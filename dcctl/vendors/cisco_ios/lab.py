"""Cisco IOS (Catalyst access/distribution) dialect of the lab switch.

Why it is this detailed: dcctl drives real Catalysts through netmiko, parses them
with ntc-templates and diffs them with hier-config. The lab is only a useful
rehearsal if all three behave here exactly as on the real box, so prompts,
keyword abbreviation, error texts with the caret under the bad word, the order
of lines in `show running-config` and the column layout of `show` commands
follow IOS 15 on a Catalyst 2960-X / 3850 in VTP transparent mode.

Semantics worth knowing:
* VLAN 1 always exists; 1002-1005 are listed but never forwarded.
* `switchport access vlan N` creates VLAN N when missing (as IOS does); a port
  whose access VLAN is later deleted is inactive and forwards nothing.
* A trunk carries allowed VLANs that exist; the native VLAN is untagged only if
  it is allowed and exists, otherwise untagged frames are dropped.
* `vlan N` takes effect at once (no wait for `exit`, unlike the VLAN database).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dcctl.lab.switchd.state import (
    ALL_VLANS,
    PortSettings,
    Reply,
)
from dcctl.spec.interfaces import model_caps, split_ifname
from dcctl.spec.vlanlist import format_vlan_list, parse_vlan_list
from dcctl.vendors.cisco_ios.interfaces import ios_short as short_ifname
from dcctl.vendors.cisco_ios.interfaces import ios_type

if TYPE_CHECKING:
    from dcctl.lab.switchd.state import Switch

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."
RESERVED_VLANS = {
    1002: "fddi-default",
    1003: "token-ring-default",
    1004: "fddinet-default",
    1005: "trnet-default",
}
NVRAM_BYTES = 524288

_MEDIA = {
    "FastEthernet": ("10/100BaseTX", "a-100"),
    "GigabitEthernet": ("10/100/1000BaseTX", "a-1000"),
    "TwoGigabitEthernet": ("100/1000/2.5GBaseTX", "a-2500"),
    "FiveGigabitEthernet": ("100/1000/5GBaseTX", "a-5000"),
    "TenGigabitEthernet": ("SFP-10GBase-SR", "10G"),
    "TwentyFiveGigE": ("SFP-25GBase-SR", "25G"),
    "FortyGigabitEthernet": ("QSFP-40G-SR4", "40G"),
    "HundredGigE": ("QSFP-100G-SR4", "100G"),
}


def vlan_default_name(vid: int) -> str:
    return "default" if vid == 1 else f"VLAN{vid:04d}"


# --------------------------------------------------------------------------
# Config model


@dataclass
class IosInterface:
    name: str
    description: str | None = None
    shutdown: bool = False
    mode: Literal["access", "trunk"] | None = None  # None: IOS default (dynamic auto)
    access_vlan: int = 1
    native_vlan: int = 1
    allowed: frozenset[int] | None = None  # None: all VLANs (IOS default)
    nonegotiate: bool = False
    #: `switchport trunk encapsulation`: only on ISL-capable models; None = negotiate.
    encapsulation: str | None = None

    @property
    def trunking(self) -> bool:
        return self.mode == "trunk"

    def render(self) -> list[str]:
        lines = [f"interface {self.name}"]
        if self.description:
            lines.append(f" description {self.description}")
        if self.access_vlan != 1:
            lines.append(f" switchport access vlan {self.access_vlan}")
        if self.encapsulation:
            lines.append(f" switchport trunk encapsulation {self.encapsulation}")
        if self.native_vlan != 1:
            lines.append(f" switchport trunk native vlan {self.native_vlan}")
        if self.allowed is not None:
            allowed = format_vlan_list(self.allowed, min_range=3) if self.allowed else "none"
            lines.append(f" switchport trunk allowed vlan {allowed}")
        if self.mode:
            lines.append(f" switchport mode {self.mode}")
        if self.nonegotiate:
            lines.append(" switchport nonegotiate")
        if self.shutdown:
            lines.append(" shutdown")
        return lines


@dataclass
class IosConfig:
    hostname: str
    interfaces: dict[str, IosInterface]
    vlans: dict[int, str] = field(default_factory=lambda: {1: "default"})

    @staticmethod
    def factory(hostname: str, ports: Sequence[str]) -> IosConfig:
        return IosConfig(hostname, {p: IosInterface(p) for p in ports})

    def effective_ports(self) -> dict[str, PortSettings]:
        existing = frozenset(self.vlans)
        out: dict[str, PortSettings] = {}
        for name, ifc in self.interfaces.items():
            up = not ifc.shutdown
            if ifc.trunking:
                allowed = (ALL_VLANS if ifc.allowed is None else ifc.allowed) & existing
                native = ifc.native_vlan if ifc.native_vlan in allowed else None
                out[name] = PortSettings.trunk(allowed, native, up)
            elif ifc.access_vlan in existing:
                out[name] = PortSettings.access(ifc.access_vlan, up)
            else:
                out[name] = PortSettings.parked(up)
        return out

    def render_lines(self) -> list[str]:
        lines = ["!", f"hostname {self.hostname}", "!"]
        for vid in sorted(self.vlans):
            if vid == 1:
                continue
            lines.append(f"vlan {vid}")
            if self.vlans[vid] != vlan_default_name(vid):
                lines.append(f" name {self.vlans[vid]}")
            lines.append("!")
        for ifc in self.interfaces.values():
            lines.extend(ifc.render())
            lines.append("!")
        lines.append("end")
        return lines

    def render_startup(self) -> str:
        return "\n".join(self.render_lines()) + "\n"


# --------------------------------------------------------------------------
# A tiny IOS parser: keywords match by unique prefix, errors point at the token


@dataclass(frozen=True)
class Token:
    text: str
    pos: int


def tokenize(line: str) -> list[Token]:
    return [Token(m.group(), m.start()) for m in re.finditer(r"\S+", line)]


Action = Callable[["IosSession", dict[str, Any]], str]
Matcher = Callable[["IosSession", str, list[Token], int], "tuple[Any, int] | None"]


@dataclass
class Node:
    word: str | None = None  # keyword, lower case; None for an argument
    arg: str = ""
    matcher: Matcher | None = None
    action: Action | None = None
    children: list[Node] = field(default_factory=list)


def kw(word: str, *children: Node, action: Action | None = None) -> Node:
    return Node(word=word, action=action, children=list(children))


def arg(name: str, matcher: Matcher, *children: Node, action: Action | None = None) -> Node:
    return Node(arg=name, matcher=matcher, action=action, children=list(children))


@dataclass(frozen=True)
class Parsed:
    action: Action
    args: dict[str, Any]


@dataclass(frozen=True)
class ParseError:
    kind: Literal["invalid", "incomplete", "ambiguous"]
    pos: int


def parse(nodes: list[Node], session: IosSession, line: str) -> Parsed | ParseError:
    toks = tokenize(line)
    children = nodes
    action: Action | None = None
    args: dict[str, Any] = {}
    i = 0
    while i < len(toks):
        tok = toks[i]
        low = tok.text.lower()
        kws = [n for n in children if n.word is not None and n.word.startswith(low)]
        exact = [n for n in kws if n.word == low]
        kws = exact or kws
        if len(kws) > 1:
            return ParseError("ambiguous", tok.pos)
        node: Node | None = kws[0] if kws else None
        step = 1
        if node is None:
            for cand in children:
                if cand.matcher is None:
                    continue
                got = cand.matcher(session, line, toks, i)
                if got is not None:
                    args[cand.arg], step = got
                    node = cand
                    break
        if node is None:
            return ParseError("invalid", tok.pos)
        if node.word is not None:
            args.setdefault("_words", []).append(node.word)
        i += step
        children = node.children
        action = node.action
    if action is None:
        return ParseError("incomplete", len(line))
    return Parsed(action, args)


# Argument matchers ---------------------------------------------------------


def m_int(lo: int, hi: int) -> Matcher:
    def match(_s: IosSession, _l: str, toks: list[Token], i: int) -> tuple[Any, int] | None:
        t = toks[i].text
        if t.isdigit() and lo <= int(t) <= hi:
            return int(t), 1
        return None

    return match


def m_vlans(_s: IosSession, _l: str, toks: list[Token], i: int) -> tuple[Any, int] | None:
    try:
        return parse_vlan_list(toks[i].text), 1
    except ValueError:
        return None


def m_word(maxlen: int) -> Matcher:
    def match(_s: IosSession, _l: str, toks: list[Token], i: int) -> tuple[Any, int] | None:
        t = toks[i].text
        return (t, 1) if len(t) <= maxlen else None

    return match


def m_rest(_s: IosSession, line: str, toks: list[Token], i: int) -> tuple[Any, int] | None:
    return line[toks[i].pos :].rstrip(), len(toks) - i


def m_iface(s: IosSession, _l: str, toks: list[Token], i: int) -> tuple[Any, int] | None:
    text = toks[i].text
    m = re.fullmatch(r"([A-Za-z][A-Za-z-]*?)(\d[\d/.:]*)?", text)
    if not m:
        return None
    typ, num, used = m[1].lower(), m[2], 1
    if num is None:
        if i + 1 < len(toks) and re.fullmatch(r"\d[\d/.:]*", toks[i + 1].text):
            num, used = toks[i + 1].text, 2
        else:
            return None
    # IOS resolves the type word first (its abbreviations pin `Tw` to
    # TwoGigabitEthernet though it also starts TwentyFiveGigE), then the port.
    known = ios_type(typ)
    names = [
        name
        for name in s.config.interfaces
        if split_ifname(name)[1] == num
        and (
            split_ifname(name)[0] == known.name
            if known is not None
            else split_ifname(name)[0].lower().startswith(typ)
        )
    ]
    return (names[0], used) if len(names) == 1 else None


# --------------------------------------------------------------------------
# Session


Mode = Literal["user", "enable", "config", "config-if", "config-vlan"]


class IosSession:
    """One SSH session: its own mode and cursor, the switch's shared config."""

    def __init__(
        self, switch: Switch | None, username: str, config: IosConfig | None = None
    ) -> None:
        self.switch = switch
        self.username = username
        self._config = config
        self.mode: Mode = "user"
        self.iface: str | None = None
        self.vlan_ctx: list[int] = []
        self.pending: Literal["enable", "copy"] | None = None
        self.enable_tries = 0
        self.term_length = 24
        self.term_width = 80
        self._close = False

    # -- protocol ------------------------------------------------------------

    @property
    def config(self) -> IosConfig:
        if self.switch is not None:
            cfg = self.switch.config
            assert isinstance(cfg, IosConfig)
            return cfg
        assert self._config is not None
        return self._config

    @property
    def secret_input(self) -> bool:
        return self.pending == "enable"

    def banner(self) -> str:
        return "\n"

    def prompt(self) -> str:
        if self.pending == "enable":
            return "Password: "
        if self.pending == "copy":
            return "Destination filename [startup-config]? "
        host = self.config.hostname
        if self.mode == "user":
            return f"{host}>"
        if self.mode == "enable":
            return f"{host}#"
        return f"{host[:20]}({self.mode})#"

    def refuse(self, line: str) -> Reply:
        pos = len(line) - len(line.lstrip())
        return Reply(self._caret(pos) + INVALID + "\n\n")

    def handle(self, line: str) -> Reply:
        if self.pending == "enable":
            return self._enable_answer(line)
        if self.pending == "copy":
            return self._copy_answer(line)
        bad = next((i for i, ch in enumerate(line) if not (" " <= ch <= "~")), None)
        if bad is not None:
            return Reply(self._caret(bad) + INVALID + "\n\n")
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            return Reply()
        self._close = False
        exec_mode = self.mode in ("user", "enable")
        out = self._exec(line, 0) if exec_mode else self._configure(line)
        return Reply(out, close=self._close)

    # -- dispatch ------------------------------------------------------------

    def _caret(self, pos: int) -> str:
        return " " * (len(self.prompt()) + pos) + "^\n"

    def _error(self, err: ParseError, line: str) -> str:
        if err.kind == "incomplete":
            return INCOMPLETE + "\n\n"
        if err.kind == "ambiguous":
            return f'% Ambiguous command:  "{line.strip()}"\n'
        return self._caret(err.pos) + INVALID + "\n\n"

    def _exec(self, line: str, offset: int) -> str:
        """Run an EXEC command; `offset` is where `line` starts in the typed line."""
        body, filt = self._split_pipe(line)
        grammar = USER_EXEC if self.mode == "user" else PRIV_EXEC
        res = parse(grammar, self, body)
        if isinstance(res, ParseError):
            shifted = ParseError(res.kind, res.pos + offset)
            return self._error(shifted, line)
        if filt is not None:
            flt = self._parse_filter(filt, offset + len(body) + 1)
            if isinstance(flt, str):
                return flt
            return flt(res.action(self, res.args))
        return res.action(self, res.args)

    def _configure(self, line: str) -> str:
        m = re.match(r"^(\s*do\s+)(\S.*)$", line, re.IGNORECASE)
        if m:
            return self._exec(m[2], len(m[1]))
        sub = {"config-if": CONFIG_IF, "config-vlan": CONFIG_VLAN}.get(self.mode)
        if sub is None:
            res = parse(CONFIG, self, line)
        else:
            res = parse(sub, self, line)
            if isinstance(res, ParseError):
                fallback = parse(CONFIG, self, line)
                if isinstance(fallback, Parsed):
                    self.mode, self.iface, self.vlan_ctx = "config", None, []
                    res = fallback
                elif fallback.pos > res.pos:
                    res = fallback
        if isinstance(res, ParseError):
            return self._error(res, line)
        return res.action(self, res.args)

    def _split_pipe(self, line: str) -> tuple[str, str | None]:
        toks = tokenize(line)
        if toks and "show".startswith(toks[0].text.lower()) and "|" in line:
            body, _, filt = line.partition("|")
            return body, filt
        return line, None

    def _parse_filter(self, text: str, offset: int) -> Callable[[str], str] | str:
        toks = tokenize(text)
        kinds = ["include", "exclude", "begin", "section", "count"]
        if not toks:
            return INCOMPLETE + "\n\n"
        cands = [k for k in kinds if k.startswith(toks[0].text.lower())]
        if len(cands) != 1:
            return self._caret(offset + toks[0].pos) + INVALID + "\n\n"
        kind = cands[0]
        if len(toks) < 2:
            return INCOMPLETE + "\n\n"
        try:
            rx = re.compile(text[toks[1].pos :].strip())
        except re.error:
            return self._caret(offset + toks[1].pos) + INVALID + "\n\n"
        return lambda out: _filter(out, kind, rx)

    # -- enable / copy dialogs -------------------------------------------------

    def _enable_answer(self, line: str) -> Reply:
        secret = (self.switch.enable_secret or self.switch.secret) if self.switch else ""
        if secret and hmac.compare_digest(line.encode(), secret.encode()):
            self.pending, self.mode, self.enable_tries = None, "enable", 0
            return Reply()
        self.enable_tries += 1
        if self.enable_tries >= 3:
            self.pending, self.enable_tries = None, 0
            return Reply("% Bad secrets\n\n")
        return Reply()

    def _copy_answer(self, line: str) -> Reply:
        self.pending = None
        target = line.strip()
        if target not in ("", "startup-config", "nvram:startup-config"):
            return Reply(f"%Error opening flash:{target} (Permission denied)\n")
        return Reply(self._save())

    def _save(self) -> str:
        if self.switch is None:
            return "%Error: no NVRAM\n"
        self.switch.save()
        return "Building configuration...\n[OK]\n"

    # -- EXEC actions ------------------------------------------------------------

    def a_enable(self, _a: dict[str, Any]) -> str:
        if self.mode == "user":
            if not (self.switch and self.switch.secret):
                return "% No password set.\n"
            self.pending = "enable"
            self.enable_tries = 0
        return ""

    def a_disable(self, _a: dict[str, Any]) -> str:
        self.mode = "user"
        return ""

    def a_exit(self, _a: dict[str, Any]) -> str:
        self._close = True
        return ""

    def a_terminal(self, a: dict[str, Any]) -> str:
        if "length" in a["_words"]:
            self.term_length = a["n"]
        else:
            self.term_width = a["n"]
        return ""

    def a_configure(self, _a: dict[str, Any]) -> str:
        self.mode = "config"
        return "Enter configuration commands, one per line.  End with CNTL/Z.\n"

    def a_write(self, _a: dict[str, Any]) -> str:
        return self._save()

    def a_write_terminal(self, a: dict[str, Any]) -> str:
        return self.a_show_run(a)

    def a_copy(self, _a: dict[str, Any]) -> str:
        self.pending = "copy"
        return ""

    def a_show_run(self, a: dict[str, Any]) -> str:
        cfg = self.config
        if "iface" in a:
            body = ["!", *cfg.interfaces[a["iface"]].render(), "end"]
        else:
            body = cfg.render_lines()
        text = "\n".join(body) + "\n"
        return f"Building configuration...\n\nCurrent configuration : {len(text)} bytes\n{text}"

    def a_show_start(self, _a: dict[str, Any]) -> str:
        text = self.switch.startup_text() if self.switch else None
        if text is None:
            return "startup-config is not present\n"
        return f"Using {len(text)} out of {NVRAM_BYTES} bytes\n{text}"

    def a_show_vlan(self, _a: dict[str, Any]) -> str:
        cfg = self.config
        members: dict[int, list[str]] = {}
        for ifc in cfg.interfaces.values():
            if not ifc.trunking:
                members.setdefault(ifc.access_vlan, []).append(short_ifname(ifc.name))
        out = [
            "",
            "VLAN Name                             Status    Ports",
            "---- -------------------------------- --------- -------------------------------",
        ]
        rows = [(v, n, "active") for v, n in sorted(cfg.vlans.items())]
        rows += [(v, n, "act/unsup") for v, n in RESERVED_VLANS.items()]
        for vid, name, status in rows:
            ports = members.get(vid, []) if status == "active" else []
            chunks = [", ".join(ports[i : i + 4]) for i in range(0, len(ports), 4)] or [""]
            out.append(f"{vid:<4} {name:<32} {status:<9} {chunks[0]}".rstrip())
            out.extend(" " * 48 + c for c in chunks[1:])
        return "\n".join(out) + "\n"

    def _status(self, ifc: IosInterface, links: dict[str, bool]) -> str:
        if ifc.shutdown:
            return "disabled"
        if not ifc.trunking and ifc.access_vlan not in self.config.vlans:
            return "inactive"
        return "connected" if links.get(ifc.name) else "notconnect"

    def _links(self) -> dict[str, bool]:
        return self.switch.link_states() if self.switch else {}

    def _selected(self, a: dict[str, Any]) -> list[IosInterface]:
        cfg = self.config
        if "iface" in a:
            return [cfg.interfaces[a["iface"]]]
        return list(cfg.interfaces.values())

    def a_show_status(self, a: dict[str, Any]) -> str:
        links = self._links()
        out = ["", "Port         Name               Status       Vlan       Duplex  Speed Type "]
        for ifc in self._selected(a):
            status = self._status(ifc, links)
            typ, _ = split_ifname(ifc.name)
            media, speed = _MEDIA.get(typ, ("unknown", "auto"))
            duplex = "a-full" if status == "connected" else "auto"
            speed = speed if status == "connected" else "auto"
            vlan = "trunk" if ifc.trunking else str(ifc.access_vlan)
            name = (ifc.description or "")[:18]
            out.append(
                f"{short_ifname(ifc.name):<12} {name:<18} {status:<12} {vlan:<10} "
                f"{duplex:>6} {speed:>6} {media}"
            )
        return "\n".join(out) + "\n"

    def a_show_description(self, a: dict[str, Any]) -> str:
        links = self._links()
        out = ["Interface                      Status         Protocol Description"]
        for ifc in self._selected(a):
            status = "admin down" if ifc.shutdown else ("up" if links.get(ifc.name) else "down")
            proto = "up" if status == "up" else "down"
            desc = ifc.description or ""
            out.append(f"{short_ifname(ifc.name):<30} {status:<14} {proto:<8} {desc}".rstrip())
        return "\n".join(out) + "\n"

    def a_show_switchport(self, a: dict[str, Any]) -> str:
        cfg = self.config
        out: list[str] = []
        for ifc in self._selected(a):
            admin = {"access": "static access", "trunk": "trunk", None: "dynamic auto"}[ifc.mode]
            oper = "down" if ifc.shutdown else ("trunk" if ifc.trunking else "static access")
            if ifc.access_vlan in cfg.vlans:
                access = f"{ifc.access_vlan} ({cfg.vlans[ifc.access_vlan]})"
            else:
                access = f"{ifc.access_vlan} (Inactive)"
            native_name = cfg.vlans.get(ifc.native_vlan, "Inactive")
            if ifc.allowed is None:
                trunking = "ALL"
            else:
                trunking = format_vlan_list(ifc.allowed) if ifc.allowed else "NONE"
            negotiate = "On" if ifc.mode != "access" and not ifc.nonegotiate else "Off"
            out += [
                f"Name: {short_ifname(ifc.name)}",
                "Switchport: Enabled",
                f"Administrative Mode: {admin}",
                f"Operational Mode: {oper}",
                "Administrative Trunking Encapsulation: dot1q",
                f"Operational Trunking Encapsulation: {'dot1q' if ifc.trunking else 'native'}",
                f"Negotiation of Trunking: {negotiate}",
                f"Access Mode VLAN: {access}",
                f"Trunking Native Mode VLAN: {ifc.native_vlan} ({native_name})",
                "Administrative Native VLAN tagging: enabled",
                "Voice VLAN: none",
                "Administrative private-vlan host-association: none",
                "Administrative private-vlan mapping: none",
                "Administrative private-vlan trunk native VLAN: none",
                "Administrative private-vlan trunk Native VLAN tagging: enabled",
                "Administrative private-vlan trunk encapsulation: dot1q",
                "Administrative private-vlan trunk normal VLANs: none",
                "Administrative private-vlan trunk associations: none",
                "Administrative private-vlan trunk mappings: none",
                "Operational private-vlan: none",
                f"Trunking VLANs Enabled: {trunking}",
                "Pruning VLANs Enabled: 2-1001",
                "Capture Mode Disabled",
                "Capture VLANs Allowed: ALL",
                "",
                "Protected: false",
                "Unknown unicast blocked: disabled",
                "Unknown multicast blocked: disabled",
                "Appliance trust: none",
                "",
            ]
        return "\n".join(out) + "\n"

    def a_show_interfaces(self, a: dict[str, Any]) -> str:
        links = self._links()
        out: list[str] = []
        for ifc in self._selected(a):
            if ifc.shutdown:
                state, proto, tag = "administratively down", "down", "disabled"
            elif links.get(ifc.name):
                state, proto, tag = "up", "up", "connected"
            else:
                state, proto, tag = "down", "down", "notconnect"
            typ, _ = split_ifname(ifc.name)
            out.append(f"{ifc.name} is {state}, line protocol is {proto} ({tag})")
            out.append(f"  Hardware is {typ}, address is {_mac(self.config.hostname, ifc.name)}")
            if ifc.description:
                out.append(f"  Description: {ifc.description}")
            out.append("  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec,")
        return "\n".join(out) + "\n"

    def a_show_version(self, _a: dict[str, Any]) -> str:
        host = self.config.hostname
        up = int(self.switch.uptime()) if self.switch else 0
        weeks, rest = divmod(up, 7 * 86400)
        days, rest = divmod(rest, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        parts = [
            f"{n} {unit}{'' if n == 1 else 's'}"
            for n, unit in ((weeks, "week"), (days, "day"), (hours, "hour"))
            if n
        ]
        parts.append(f"{minutes} minute{'' if minutes == 1 else 's'}")
        serial = "LAB" + hashlib.sha256(host.encode()).hexdigest()[:8].upper()
        nports = len(self.config.interfaces)
        return "\n".join(
            [
                "Cisco IOS Software, Catalyst L2 Switch Software (DCCTL-LAB-OVS), "
                "Version 15.2(7)E8, RELEASE SOFTWARE (fc1)",
                "Technical Support: http://www.cisco.com/techsupport",
                "Copyright (c) 1986-2024 by Cisco Systems, Inc.",
                "Compiled by dcctl lab: Open vSwitch emulation, not Cisco software",
                "",
                "ROM: Bootstrap program is dcctl lab loader",
                "BOOTLDR: dcctl lab loader",
                "",
                f"{host} uptime is {', '.join(parts)}",
                "System returned to ROM by power-on",
                'System image file is "flash:dcctl-lab-ovs.bin"',
                "Last reload reason: power-on",
                "",
                "cisco DCCTL-LAB-SW (OVS) processor (revision A0) with 524288K bytes of memory.",
                f"Processor board ID {serial}",
                f"{nports} Ethernet interfaces",
                "512K bytes of flash-simulated non-volatile configuration memory.",
                f"Base ethernet MAC Address       : {_mac(host, '', ':')}",
                "Motherboard assembly number     : 00-0000-00",
                "Model number                    : DCCTL-LAB-SW",
                f"System serial number            : {serial}",
                "",
                "Configuration register is 0xF",
                "",
            ]
        )

    # -- global config actions -------------------------------------------------

    def a_end(self, _a: dict[str, Any]) -> str:
        self.mode, self.iface, self.vlan_ctx = "enable", None, []
        return ""

    def a_config_exit(self, _a: dict[str, Any]) -> str:
        if self.mode == "config":
            return self.a_end(_a)
        self.mode, self.iface, self.vlan_ctx = "config", None, []
        return ""

    def a_hostname(self, a: dict[str, Any]) -> str:
        name = "Switch" if a["_words"][0] == "no" else a["word"]
        if not re.fullmatch(r"[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", name):
            return "% Hostname contains one or more illegal characters.\n"
        self.config.hostname = name
        return ""

    def a_vlan(self, a: dict[str, Any]) -> str:
        cfg = self.config
        for vid in sorted(a["vlans"]):
            if vid not in cfg.vlans and vid not in RESERVED_VLANS:
                cfg.vlans[vid] = vlan_default_name(vid)
        self.mode, self.iface, self.vlan_ctx = "config-vlan", None, sorted(a["vlans"])
        return ""

    def a_no_vlan(self, a: dict[str, Any]) -> str:
        out = []
        for vid in sorted(a["vlans"]):
            if vid == 1 or vid in RESERVED_VLANS:
                out.append(f"%Default VLAN {vid} may not be deleted.\n")
            else:
                self.config.vlans.pop(vid, None)
        return "".join(out)

    def a_interface(self, a: dict[str, Any]) -> str:
        self.mode, self.iface, self.vlan_ctx = "config-if", a["iface"], []
        return ""

    # -- vlan mode -----------------------------------------------------------

    def a_vlan_name(self, a: dict[str, Any]) -> str:
        out = []
        for vid in self.vlan_ctx:
            if vid == 1 or vid in RESERVED_VLANS:
                out.append(f"%Default VLAN {vid} may not have its name changed.\n")
            else:
                name = vlan_default_name(vid) if a["_words"][0] == "no" else a["word"]
                self.config.vlans[vid] = name
        return "".join(out)

    # -- interface mode ------------------------------------------------------

    @property
    def _ifc(self) -> IosInterface:
        assert self.iface is not None
        return self.config.interfaces[self.iface]

    def a_description(self, a: dict[str, Any]) -> str:
        text = None if a["_words"][0] == "no" else a.get("text")
        if text is not None and len(text) > 240:
            return "% Description too long (max 240).\n"
        self._ifc.description = text or None
        return ""

    def a_shutdown(self, a: dict[str, Any]) -> str:
        self._ifc.shutdown = a["_words"][0] != "no"
        return ""

    def a_noop(self, _a: dict[str, Any]) -> str:
        return ""

    @property
    def _isl_capable(self) -> bool:
        """The switch is a model that also speaks ISL (Catalyst 3560/3750).

        Replaying a startup config at boot (no switch yet) trusts it: the
        device wrote it itself, so its encapsulation lines were accepted once.
        """
        if self.switch is None:
            return True
        model = self.switch.model
        caps = model_caps("cisco_ios", model)
        return bool(caps and caps.dot1q_encapsulation)

    def a_encapsulation(self, a: dict[str, Any]) -> str:
        if not self._isl_capable:  # a 2960/9200 knows no ISL: the keyword does not exist
            return self._caret(len(" switchport trunk ")) + INVALID + "\n\n"
        words = a["_words"]
        self._ifc.encapsulation = (
            None if words[0] == "no" or words[-1] == "negotiate" else words[-1]
        )
        return ""

    def a_mode(self, a: dict[str, Any]) -> str:
        words = a["_words"]
        if (
            words[0] != "no"
            and words[-1] == "trunk"
            and self.switch is not None  # a startup config replayed at boot is trusted
            and self._isl_capable
            and self._ifc.encapsulation is None
        ):
            return (
                'Command rejected: An interface whose trunk encapsulation is "Auto" can not '
                'be configured to "trunk" mode.\n'
            )
        self._ifc.mode = (
            None if words[0] == "no" else ("trunk" if words[-1] == "trunk" else "access")
        )
        return ""

    def a_access_vlan(self, a: dict[str, Any]) -> str:
        vid = 1 if a["_words"][0] == "no" else a["vid"]
        self._ifc.access_vlan = vid
        if vid not in self.config.vlans and vid not in RESERVED_VLANS:
            self.config.vlans[vid] = vlan_default_name(vid)
            return f"% Access VLAN does not exist. Creating vlan {vid}\n"
        return ""

    def a_native_vlan(self, a: dict[str, Any]) -> str:
        self._ifc.native_vlan = 1 if a["_words"][0] == "no" else a["vid"]
        return ""

    def a_nonegotiate(self, a: dict[str, Any]) -> str:
        self._ifc.nonegotiate = a["_words"][0] != "no"
        return ""

    def a_allowed(self, a: dict[str, Any]) -> str:
        ifc = self._ifc
        words = a["_words"]
        current = ALL_VLANS if ifc.allowed is None else ifc.allowed
        given = frozenset(a.get("vlans", ())) if words[0] != "no" else frozenset()
        op = words[-1]
        if words[0] == "no" or op == "all":
            new: frozenset[int] = ALL_VLANS
        elif op == "none":
            new = frozenset()
        elif op == "add":
            new = current | given
        elif op == "remove":
            new = current - given
        elif op == "except":
            new = ALL_VLANS - given
        else:
            new = given
        ifc.allowed = None if new >= ALL_VLANS else new
        return ""


def _filter(out: str, kind: str, rx: re.Pattern[str]) -> str:
    lines = out.splitlines()
    if kind == "include":
        kept = [ln for ln in lines if rx.search(ln)]
    elif kind == "exclude":
        kept = [ln for ln in lines if not rx.search(ln)]
    elif kind == "begin":
        idx = next((i for i, ln in enumerate(lines) if rx.search(ln)), len(lines))
        kept = lines[idx:]
    elif kind == "count":
        return f"Number of lines which match regexp = {sum(1 for ln in lines if rx.search(ln))}\n"
    else:  # section: a matching header brings its block, a matching child its header
        kept = []
        blocks: list[list[str]] = []
        for ln in lines:
            if (ln and not ln[0].isspace()) or not blocks:
                blocks.append([ln])
            else:
                blocks[-1].append(ln)
        for head, *body in blocks:
            if rx.search(head):
                kept += [head, *body]
            else:
                hits = [ln for ln in body if rx.search(ln)]
                kept += [head, *hits] if hits else []
    return "\n".join(kept) + ("\n" if kept else "")


def _mac(host: str, port: str, sep: str = ".") -> str:
    """Stable locally administered MAC: dotted (interface) or colon form (chassis)."""
    digest = hashlib.sha256(f"{host}/{port}".encode()).digest()
    raw = bytes([0x02]) + digest[:5]
    if sep == ":":
        return ":".join(f"{b:02X}" for b in raw)
    return ".".join(raw[i : i + 2].hex() for i in (0, 2, 4))


# --------------------------------------------------------------------------
# Grammars

S = IosSession
VID = m_int(1, 4094)


def _show(user: bool) -> Node:
    iface_words = [
        kw("status", action=S.a_show_status),
        kw("switchport", action=S.a_show_switchport),
        kw("description", action=S.a_show_description),
    ]
    children = [
        kw("version", action=S.a_show_version),
        kw("vlan", kw("brief", action=S.a_show_vlan), action=S.a_show_vlan),
        kw(
            "interfaces",
            *iface_words,
            arg("iface", m_iface, *iface_words, action=S.a_show_interfaces),
            action=S.a_show_interfaces,
        ),
    ]
    if not user:
        children += [
            kw(
                "running-config",
                kw("interface", arg("iface", m_iface, action=S.a_show_run)),
                action=S.a_show_run,
            ),
            kw("startup-config", action=S.a_show_start),
        ]
    return kw("show", *children)


_TERMINAL = kw(
    "terminal",
    kw("length", arg("n", m_int(0, 512), action=S.a_terminal)),
    kw("width", arg("n", m_int(0, 512), action=S.a_terminal)),
)

USER_EXEC: list[Node] = [
    kw("enable", action=S.a_enable),
    kw("exit", action=S.a_exit),
    kw("logout", action=S.a_exit),
    kw("quit", action=S.a_exit),
    _TERMINAL,
    _show(user=True),
]

PRIV_EXEC: list[Node] = [
    kw("enable", action=S.a_enable),
    kw("disable", action=S.a_disable),
    kw("exit", action=S.a_exit),
    kw("logout", action=S.a_exit),
    kw("quit", action=S.a_exit),
    _TERMINAL,
    kw("configure", kw("terminal", action=S.a_configure)),
    kw(
        "write",
        kw("memory", action=S.a_write),
        kw("terminal", action=S.a_write_terminal),
        action=S.a_write,
    ),
    kw("copy", kw("running-config", kw("startup-config", action=S.a_copy))),
    _show(user=False),
]

CONFIG: list[Node] = [
    kw("hostname", arg("word", m_word(63), action=S.a_hostname)),
    kw("vlan", arg("vlans", m_vlans, action=S.a_vlan)),
    kw("interface", arg("iface", m_iface, action=S.a_interface)),
    kw("end", action=S.a_end),
    kw("exit", action=S.a_config_exit),
    kw(
        "no",
        kw("hostname", arg("word", m_word(63), action=S.a_hostname), action=S.a_hostname),
        kw("vlan", arg("vlans", m_vlans, action=S.a_no_vlan)),
    ),
]

_ALLOWED_ARGS = [
    kw("add", arg("vlans", m_vlans, action=S.a_allowed)),
    kw("remove", arg("vlans", m_vlans, action=S.a_allowed)),
    kw("except", arg("vlans", m_vlans, action=S.a_allowed)),
    kw("all", action=S.a_allowed),
    kw("none", action=S.a_allowed),
    arg("vlans", m_vlans, action=S.a_allowed),
]

CONFIG_IF: list[Node] = [
    kw("description", arg("text", m_rest, action=S.a_description)),
    kw("shutdown", action=S.a_shutdown),
    kw(
        "switchport",
        kw("mode", kw("access", action=S.a_mode), kw("trunk", action=S.a_mode)),
        kw("access", kw("vlan", arg("vid", VID, action=S.a_access_vlan))),
        kw(
            "trunk",
            kw("allowed", kw("vlan", *_ALLOWED_ARGS)),
            kw("native", kw("vlan", arg("vid", VID, action=S.a_native_vlan))),
            kw(
                "encapsulation",
                kw("dot1q", action=S.a_encapsulation),
                kw("isl", action=S.a_encapsulation),
                kw("negotiate", action=S.a_encapsulation),
            ),
        ),
        kw("nonegotiate", action=S.a_nonegotiate),
        action=S.a_noop,
    ),
    kw("exit", action=S.a_config_exit),
    kw("end", action=S.a_end),
    kw(
        "no",
        kw("description", arg("text", m_rest, action=S.a_description), action=S.a_description),
        kw("shutdown", action=S.a_shutdown),
        kw(
            "switchport",
            kw(
                "mode",
                kw("access", action=S.a_mode),
                kw("trunk", action=S.a_mode),
                action=S.a_mode,
            ),
            kw(
                "access",
                kw("vlan", arg("vid", VID, action=S.a_access_vlan), action=S.a_access_vlan),
            ),
            kw(
                "trunk",
                kw(
                    "allowed",
                    kw("vlan", arg("vlans", m_rest, action=S.a_allowed), action=S.a_allowed),
                ),
                kw(
                    "native",
                    kw("vlan", arg("vid", VID, action=S.a_native_vlan), action=S.a_native_vlan),
                ),
                kw("encapsulation", action=S.a_encapsulation),
            ),
            kw("nonegotiate", action=S.a_nonegotiate),
        ),
    ),
]

CONFIG_VLAN: list[Node] = [
    kw("name", arg("word", m_word(32), action=S.a_vlan_name)),
    kw("exit", action=S.a_config_exit),
    kw("end", action=S.a_end),
    kw("no", kw("name", arg("word", m_word(32), action=S.a_vlan_name), action=S.a_vlan_name)),
]


# --------------------------------------------------------------------------
# Vendor object


class IosVendor:
    name = "cisco_ios"
    autosave = False

    def boot(
        self, hostname: str, ports: Sequence[str], startup: str | None
    ) -> tuple[IosConfig, list[str]]:
        cfg = IosConfig.factory(hostname, ports)
        warnings: list[str] = []
        if not startup:
            return cfg, warnings
        session = IosSession(None, "boot", cfg)
        session.mode = "config"
        for n, line in enumerate(startup.splitlines(), 1):
            text = line.strip()
            if text == "end":
                break
            if not text or text.startswith(("Building configuration", "Current configuration")):
                continue
            out = session.handle(line).output
            if "%" in out:
                msg = next(ln for ln in out.splitlines() if "%" in ln)
                warnings.append(f"line {n}: {text}: {msg}")
        return cfg, warnings

    def session(self, switch: Switch, username: str) -> IosSession:
        return IosSession(switch, username)

    def login_name(self, username: str) -> str:
        return username


VENDOR = IosVendor()
