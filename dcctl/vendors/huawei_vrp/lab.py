"""Huawei VRP (S-series, VRP V200) dialect of the lab switch.

Why it exists: the engine drives a real S5735 through netmiko's `huawei`
driver, parses `display vlan` / `display port vlan` with ntc-templates and
diffs `display current-configuration` with hier-config's VRP platform. The lab
only rehearses that if prompts (`<name>`, `[name]`, `[name-vlan110]`,
`[name-GigabitEthernet0/0/1]`), the `save` confirmation, keyword abbreviation,
`Error: ... found at '^' position.` replies and the layouts of those commands
follow the real switch; the contract test checks the layouts against public
captures (tests/fixtures/devices/huawei_vrp/).

Semantics worth knowing:
* VLAN 1 always exists; `vlan batch` creates many at once, `vlan N` one and
  enters its view. A VLAN in use as a port's default VLAN can still be deleted;
  the port then forwards nothing until the VLAN is back.
* A port's factory link type is hybrid, untagged in VLAN 1. Changing the link
  type is refused while the port has a non-default VLAN setting (VRP's
  "Please renew the default configurations"), so the default VLAN or the trunk
  list must be undone first.
* A trunk allows VLAN 1 until `undo port trunk allow-pass vlan 1`;
  `port trunk allow-pass vlan L` adds L, `undo ... L` removes it.
* Nothing is persistent until `save` (answered `y`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dcctl.lab.switchd.state import PortSettings, Reply
from dcctl.vendors.huawei_vrp.interfaces import canonical, short, vrp_ids, vrp_list

if TYPE_CHECKING:
    from dcctl.lab.switchd.state import Switch

UNRECOGNIZED = "Error: Unrecognized command found at '^' position."
WRONG = "Error: Wrong parameter found at '^' position."
INCOMPLETE = "Error: Incomplete command found at '^' position."
AMBIGUOUS = "Error: Ambiguous command found at '^' position."
RENEW = "Error: Please renew the default configurations."
VERSION = "V200R019C10SPC500"


@dataclass
class VrpInterface:
    name: str
    description: str | None = None
    shutdown: bool = False
    link_type: str = "hybrid"  # factory default, not printed
    pvid: int = 1
    allowed: set[int] = field(default_factory=lambda: {1})  # trunk allow-pass list

    def default_vlans(self) -> bool:
        """No VLAN setting beyond the factory one (a link-type change is allowed)."""
        return self.pvid == 1 and self.allowed == {1}

    def render(self) -> list[str]:
        lines = [f"interface {self.name}"]
        if self.description:
            lines.append(f" description {self.description}")
        if self.link_type != "hybrid":
            lines.append(f" port link-type {self.link_type}")
        if self.link_type == "access" and self.pvid != 1:
            lines.append(f" port default vlan {self.pvid}")
        if self.link_type == "trunk":
            if 1 not in self.allowed:
                lines.append(" undo port trunk allow-pass vlan 1")
            if self.allowed - {1}:
                lines.append(f" port trunk allow-pass vlan {vrp_list(self.allowed - {1})}")
        if self.shutdown:
            lines.append(" shutdown")
        return lines


@dataclass
class VrpConfig:
    sysname: str
    interfaces: dict[str, VrpInterface]
    vlans: dict[int, str | None] = field(default_factory=lambda: {1: None})  # id -> name

    @staticmethod
    def factory(sysname: str, ports: Sequence[str]) -> VrpConfig:
        return VrpConfig(sysname, {p: VrpInterface(p) for p in ports})

    def effective_ports(self) -> dict[str, PortSettings]:
        existing = frozenset(self.vlans)
        out: dict[str, PortSettings] = {}
        for name, ifc in self.interfaces.items():
            up = not ifc.shutdown
            if ifc.link_type == "trunk":
                allowed = frozenset(ifc.allowed) & existing
                native = ifc.pvid if ifc.pvid in allowed else None
                out[name] = PortSettings.trunk(allowed, native, up)
            elif ifc.pvid in existing:
                out[name] = PortSettings.access(ifc.pvid, up)
            else:
                out[name] = PortSettings.parked(up)
        return out

    def render_lines(self) -> list[str]:
        lines = [f"!Software Version {VERSION}", "#", f"sysname {self.sysname}", "#"]
        if set(self.vlans) - {1}:
            lines += [f"vlan batch {vrp_list(set(self.vlans) - {1})}", "#"]
        for vid in sorted(self.vlans):
            if self.vlans[vid]:
                lines += [f"vlan {vid}", f" name {self.vlans[vid]}", "#"]
        for ifc in self.interfaces.values():
            lines += [*ifc.render(), "#"]
        lines.append("return")
        return lines

    def render_startup(self) -> str:
        return "\n".join(self.render_lines()) + "\n"


# --------------------------------------------------------------------------
# A tiny VRP parser: keywords match by unique prefix, errors point at the token

Action = Callable[["VrpSession", dict[str, Any]], str]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # keywords, or <vid> <int> <word> <rest> <vlist> <iface> <a|b>
    action: Action


class _Fail(Exception):
    def __init__(self, kind: str, pos: int) -> None:
        self.kind, self.pos = kind, pos


def _arg(kind: str, toks: list[re.Match[str]], i: int, line: str) -> tuple[Any, int]:
    """Match one argument at token i; returns (value, next token index)."""
    if i >= len(toks):
        raise _Fail("incomplete", len(line))
    tok = toks[i].group()
    if kind in ("<vid>", "<int>"):
        if not tok.isdigit() or (kind == "<vid>" and not 1 <= int(tok) <= 4094):
            raise _Fail("wrong", toks[i].start())
        return int(tok), i + 1
    if kind == "<word>":
        if len(tok) > 31 or not re.fullmatch(r"[A-Za-z0-9_.-]+", tok):
            raise _Fail("wrong", toks[i].start())
        return tok, i + 1
    if kind == "<rest>":
        return line[toks[i].start() :].strip(), len(toks)
    if kind == "<vlist>":
        text = " ".join(t.group() for t in toks[i:])
        try:
            return vrp_ids(text), len(toks)
        except ValueError:
            raise _Fail("wrong", toks[i].start()) from None
    if kind == "<iface>":
        name = canonical("".join(t.group() for t in toks[i:]))
        return name, len(toks)
    choices = kind.strip("<>").split("|")
    hits = [c for c in choices if c.startswith(tok.lower())]
    if len(hits) != 1:
        raise _Fail("wrong", toks[i].start())
    return hits[0], i + 1


def parse(commands: list[Command], line: str) -> tuple[Action, dict[str, Any]] | _Fail:
    """The command `line` is, with its arguments; or the error VRP would print."""
    toks = list(re.finditer(r"\S+", line))
    best = _Fail("unrecognized", toks[0].start() if toks else 0)
    for cmd in commands:
        args: dict[str, Any] = {}
        i = 0
        try:
            for w in cmd.words:
                if w.startswith("<"):
                    args[w.strip("<>").split("|")[0]], i = _arg(w, toks, i, line)
                    continue
                if i >= len(toks):
                    raise _Fail("incomplete", len(line))
                tok = toks[i].group().lower()
                if not w.startswith(tok):
                    raise _Fail("unrecognized" if i == 0 else "wrong", toks[i].start())
                rivals = {
                    c.words[i]
                    for c in commands
                    if len(c.words) > i
                    and not c.words[i].startswith("<")
                    and c.words[:i] == cmd.words[:i]
                    and c.words[i].startswith(tok)
                }
                if len(rivals) > 1 and w != tok:
                    raise _Fail("ambiguous", toks[i].start())
                i += 1
            if i < len(toks):
                raise _Fail("wrong", toks[i].start())
            return cmd.action, args
        except _Fail as f:
            if f.pos > best.pos or (f.pos == best.pos and best.kind == "unrecognized"):
                best = f
    return best


_MESSAGES = {
    "unrecognized": UNRECOGNIZED,
    "wrong": WRONG,
    "incomplete": INCOMPLETE,
    "ambiguous": AMBIGUOUS,
}


class VrpSession:
    """One SSH session: its own view, the switch's shared config."""

    def __init__(
        self, switch: Switch | None, username: str, config: VrpConfig | None = None
    ) -> None:
        self.switch = switch
        self.username = username
        self._config = config
        self.view = "user"  # user | system | vlan | interface
        self.vlan_ctx = 0
        self.iface: str | None = None
        self.pending: str | None = None
        self._close = False

    @property
    def config(self) -> VrpConfig:
        if self.switch is not None:
            cfg = self.switch.config
            assert isinstance(cfg, VrpConfig)
            return cfg
        assert self._config is not None
        return self._config

    @property
    def secret_input(self) -> bool:
        return False

    def banner(self) -> str:
        return (
            "\nInfo: The max number of VTY users is 10, the number of current VTY users on "
            "line is 1.\n"
        )

    def prompt(self) -> str:
        if self.pending == "save":
            return "Continue? [Y/N]:"
        name = self.config.sysname
        if self.view == "user":
            return f"<{name}>"
        if self.view == "vlan":
            return f"[{name}-vlan{self.vlan_ctx}]"
        if self.view == "interface":
            return f"[{name}-{self.iface}]"
        return f"[{name}]"

    def refuse(self, line: str) -> Reply:
        return Reply(self._caret(len(line) - len(line.lstrip())) + UNRECOGNIZED + "\n")

    def _caret(self, pos: int) -> str:
        return " " * (len(self.prompt()) + pos) + "^\n"

    def handle(self, line: str) -> Reply:
        if self.pending == "save":
            self.pending = None
            if line.strip().lower() in ("y", "yes"):
                if self.switch is not None:
                    self.switch.save()
                return Reply(
                    "Now saving the current configuration to the slot 0.\n"
                    "Info: Save the configuration successfully.\n"
                )
            return Reply("")
        if any(not (" " <= ch <= "~") for ch in line):
            return Reply(self._caret(0) + UNRECOGNIZED + "\n")
        if not line.strip() or line.strip() == "#":
            return Reply()
        self._close = False
        own = {"user": USER, "system": SYSTEM, "vlan": VLAN, "interface": INTERFACE}[self.view]
        res = parse(own, line)
        if isinstance(res, _Fail) and self.view in ("vlan", "interface"):
            up = parse(SYSTEM, line)  # a system-view command leaves the sub-view
            if not isinstance(up, _Fail):
                self.view, self.iface = "system", None
                res = up
            elif up.pos > res.pos:
                res = up
        if isinstance(res, _Fail):
            return Reply(self._caret(res.pos) + _MESSAGES[res.kind] + "\n")
        action, args = res
        return Reply(action(self, args), close=self._close)

    # -- any view --------------------------------------------------------------

    def a_quit(self, _a: dict[str, Any]) -> str:
        if self.view == "user":
            self._close = True
        elif self.view == "system":
            self.view = "user"
        else:
            self.view, self.iface = "system", None
        return ""

    def a_return(self, _a: dict[str, Any]) -> str:
        self.view, self.iface = "user", None
        return ""

    def a_system_view(self, _a: dict[str, Any]) -> str:
        self.view = "system"
        return "Enter system view, return user view with Ctrl+Z.\n"

    def a_screen_length(self, _a: dict[str, Any]) -> str:
        return "Info: The configuration takes effect on the current user terminal interface only.\n"

    def a_save(self, _a: dict[str, Any]) -> str:
        self.pending = "save"
        return "Warning: The current configuration will be written to the device.\n"

    def a_display_current(self, _a: dict[str, Any]) -> str:
        return "\n".join(self.config.render_lines()) + "\n"

    def _links(self) -> dict[str, bool]:
        return self.switch.link_states() if self.switch else {}

    def a_display_vlan(self, _a: dict[str, Any]) -> str:
        cfg, links = self.config, self._links()
        out = [
            f"The total number of VLANs is : {len(cfg.vlans)}",
            "-" * 80,
            "U: Up;         D: Down;         TG: Tagged;         UT: Untagged;",
            "MP: Vlan-mapping;               ST: Vlan-stacking;",
            "#: ProtocolTransparent-vlan;    *: Management-vlan;",
            "-" * 80,
            "",
            "VID  Type    Ports",
            "-" * 80,
        ]
        for vid in sorted(cfg.vlans):
            ut, tg = [], []
            for ifc in cfg.interfaces.values():
                mark = f"{short(ifc.name)}({'U' if links.get(ifc.name) else 'D'})"
                if ifc.link_type == "trunk" and vid in ifc.allowed:
                    tg.append(mark)
                elif ifc.link_type != "trunk" and ifc.pvid == vid:
                    ut.append(mark)
            first = True
            for tag, members in (("UT", ut), ("TG", tg)):
                for k in range(0, len(members), 4):
                    cells = "".join(f"{m:<16}" for m in members[k : k + 4]).rstrip()
                    head = (f"{vid:<5}{'common':<8}" if first else " " * 13) + (
                        f"{tag}:" if k == 0 else "   "
                    )
                    out.append(head + cells)
                    first = False
            if first:
                out.append(f"{vid:<5}common")
        out += ["", "VID  Status  Property      MAC-LRN Statistics Description", "-" * 80]
        for vid in sorted(cfg.vlans):
            out.append(
                f"{vid:<5}{'enable':<8}{'default':<14}{'enable':<8}{'disable':<11}VLAN {vid:04d}"
            )
        return "\n".join(out) + "\n"

    def a_display_port_vlan(self, _a: dict[str, Any]) -> str:
        out = ["Port                        Link Type    PVID  Trunk VLAN List", "-" * 79]
        for ifc in self.config.interfaces.values():
            head = f"{ifc.name:<28}{ifc.link_type:<13}{ifc.pvid:<6}"
            if ifc.link_type != "trunk":
                out.append(head + "-")
                continue
            items = vrp_list(ifc.allowed).replace(" to ", "-").split() or ["-"]
            line = head
            for item in items:
                if len(line) + len(item) > 78 and line.strip() != head.strip():
                    out.append(line.rstrip())
                    line = " " * 47
                line += item + " "
            out.append(line.rstrip())
        return "\n".join(out) + "\n"

    def a_display_version(self, _a: dict[str, Any]) -> str:
        return (
            "Huawei Versatile Routing Platform Software\n"
            f"VRP (R) software, Version 5.170 (S5735 {VERSION})\n"
            "Copyright (C) 2000-2024 HUAWEI TECH CO., LTD\n"
            "dcctl lab emulation on Open vSwitch\n"
        )

    # -- system view -----------------------------------------------------------

    def a_sysname(self, a: dict[str, Any]) -> str:
        name = a["word"]
        if len(name) > 64 or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", name):
            return self._caret(len("sysname ")) + WRONG + "\n"
        self.config.sysname = name
        return ""

    def a_vlan_batch(self, a: dict[str, Any]) -> str:
        for vid in a["vlist"]:
            self.config.vlans.setdefault(vid, None)
        return "Info: This operation may take a few seconds. Please wait for a moment...done.\n"

    def a_undo_vlan_batch(self, a: dict[str, Any]) -> str:
        if 1 in a["vlist"]:
            return "Error: The default VLAN cannot be deleted.\n"
        for vid in a["vlist"]:
            self.config.vlans.pop(vid, None)
        return "Info: This operation may take a few seconds. Please wait for a moment...done.\n"

    def a_vlan(self, a: dict[str, Any]) -> str:
        self.config.vlans.setdefault(a["vid"], None)
        self.view, self.vlan_ctx = "vlan", a["vid"]
        return ""

    def a_undo_vlan(self, a: dict[str, Any]) -> str:
        if a["vid"] == 1:
            return "Error: The default VLAN cannot be deleted.\n"
        self.config.vlans.pop(a["vid"], None)
        return ""

    def a_interface(self, a: dict[str, Any]) -> str:
        if a["iface"] not in self.config.interfaces:
            return self._caret(len("interface ")) + WRONG + "\n"
        self.view, self.iface = "interface", a["iface"]
        return ""

    # -- vlan view --------------------------------------------------------------

    def a_vlan_name(self, a: dict[str, Any]) -> str:
        self.config.vlans[self.vlan_ctx] = a.get("word")
        return ""

    # -- interface view -------------------------------------------------------

    @property
    def _ifc(self) -> VrpInterface:
        assert self.iface is not None
        return self.config.interfaces[self.iface]

    def a_description(self, a: dict[str, Any]) -> str:
        text = a.get("rest")
        if text is not None and len(text) > 242:
            return self._caret(len("description ")) + WRONG + "\n"
        self._ifc.description = text
        return ""

    def a_shutdown(self, a: dict[str, Any]) -> str:
        self._ifc.shutdown = not a.get("undo")
        return ""

    def a_link_type(self, a: dict[str, Any]) -> str:
        ifc = self._ifc
        new = a.get("access", "hybrid")
        if new != ifc.link_type and not ifc.default_vlans():
            return RENEW + "\n"
        ifc.link_type = new
        return ""

    def a_default_vlan(self, a: dict[str, Any]) -> str:
        ifc = self._ifc
        if ifc.link_type == "trunk":
            return "Error: The port is not an access or hybrid port.\n"
        if "vid" in a and a["vid"] not in self.config.vlans:
            return "Error: The VLAN does not exist.\n"
        ifc.pvid = a.get("vid", 1)
        return ""

    def a_allow_pass(self, a: dict[str, Any]) -> str:
        ifc = self._ifc
        if ifc.link_type != "trunk":
            return "Error: Please configure the port as a trunk port first.\n"
        if a.get("undo"):
            ifc.allowed -= a["vlist"]
        else:
            ifc.allowed |= a["vlist"]
        return ""


def _undo(action: Action) -> Action:
    return lambda s, a: action(s, {**a, "undo": True})


S = VrpSession
_ANY: list[Command] = [
    Command(("display", "current-configuration"), S.a_display_current),
    Command(("display", "vlan"), S.a_display_vlan),
    Command(("display", "port", "vlan"), S.a_display_port_vlan),
    Command(("display", "version"), S.a_display_version),
    Command(("save",), S.a_save),
    Command(("quit",), S.a_quit),
    Command(("return",), S.a_return),
]
USER: list[Command] = [
    *_ANY,
    Command(("system-view",), S.a_system_view),
    Command(("screen-length", "<int>", "temporary"), S.a_screen_length),
]
SYSTEM: list[Command] = [
    *_ANY,
    Command(("sysname", "<word>"), S.a_sysname),
    Command(("vlan", "batch", "<vlist>"), S.a_vlan_batch),
    Command(("vlan", "<vid>"), S.a_vlan),
    Command(("undo", "vlan", "batch", "<vlist>"), S.a_undo_vlan_batch),
    Command(("undo", "vlan", "<vid>"), S.a_undo_vlan),
    Command(("interface", "<iface>"), S.a_interface),
]
VLAN: list[Command] = [
    *_ANY,
    Command(("name", "<word>"), S.a_vlan_name),
    Command(("undo", "name"), S.a_vlan_name),
]
INTERFACE: list[Command] = [
    *_ANY,
    Command(("description", "<rest>"), S.a_description),
    Command(("undo", "description"), S.a_description),
    Command(("shutdown",), S.a_shutdown),
    Command(("undo", "shutdown"), _undo(S.a_shutdown)),
    Command(("port", "link-type", "<access|trunk|hybrid>"), S.a_link_type),
    Command(("undo", "port", "link-type"), S.a_link_type),
    Command(("port", "default", "vlan", "<vid>"), S.a_default_vlan),
    Command(("undo", "port", "default", "vlan", "<vid>"), lambda s, a: s.a_default_vlan({})),
    Command(("undo", "port", "default", "vlan"), lambda s, a: s.a_default_vlan({})),
    Command(("port", "trunk", "allow-pass", "vlan", "<vlist>"), S.a_allow_pass),
    Command(("undo", "port", "trunk", "allow-pass", "vlan", "<vlist>"), _undo(S.a_allow_pass)),
]


class VrpVendor:
    name = "huawei_vrp"
    autosave = False

    def boot(
        self, hostname: str, ports: Sequence[str], startup: str | None
    ) -> tuple[VrpConfig, list[str]]:
        cfg = VrpConfig.factory(hostname, ports)
        warnings: list[str] = []
        if not startup:
            return cfg, warnings
        session = VrpSession(None, "boot", cfg)
        session.view = "system"
        for n, line in enumerate(startup.splitlines(), 1):
            text = line.strip()
            if text == "return":
                break
            if not text or text.startswith(("!", "#")):
                continue
            out = session.handle(line).output
            errors = [ln for ln in out.splitlines() if ln.startswith("Error")]
            if errors:
                warnings.append(f"line {n}: {text}: {errors[0]}")
        return cfg, warnings

    def session(self, switch: Switch, username: str) -> VrpSession:
        return VrpSession(switch, username)

    def login_name(self, username: str) -> str:
        return username


VENDOR = VrpVendor()
