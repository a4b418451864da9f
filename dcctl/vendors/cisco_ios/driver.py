"""Cisco IOS: hier-config computes the delta, ntc-templates parse what we verify.

Partial management means dcctl only looks at the lines it owns (the VLANs of
its range, the ports in the intent, the hostname); everything else on the
switch is invisible to the diff and therefore never removed.
"""

from __future__ import annotations

import re
from typing import Any

from hier_config import (
    HConfig,
    Platform,
    WorkflowRemediation,
    get_hconfig,
)

from dcctl.engines.switches import hconfig
from dcctl.engines.switches.hconfig import flatten, hconfig_driver, mgmt_vlans
from dcctl.engines.switches.masking import mask_keywords, mask_word
from dcctl.engines.switches.ntc import parse_show
from dcctl.engines.switches.session import paste
from dcctl.i18n import _
from dcctl.render.switch import render_switch
from dcctl.spec.interfaces import is_physical
from dcctl.spec.vlanlist import VLAN_MAX, VLAN_MIN, parse_vlan_list
from dcctl.vendors.cisco_ios.interfaces import ios_long

PLATFORM = Platform.CISCO_IOS
#: IOS's ways of refusing a config line, as real switches print them (see
#: tests/fixtures/devices/cisco_ios/errors.yaml): parser errors with a caret,
#: `Command rejected:` from the switchport code, `% Bad ...`, `%... not allowed`,
#: `%Default VLAN 1 may not ...`, `% Hostname contains ...`. Any `%` line that
#: is not a syslog message counts; replies outside `ALLOWED` fail too (default-deny).
ERROR_PATTERN = (
    r"^% ?(?:Invalid input|Incomplete command|Ambiguous command|Unknown|Bad |Error)[^\n]*"
    r"|^Command rejected:[^\n]*"
    r"|^%(?![A-Z0-9_]+-\d-)[^\n]*"
)
_ERROR = re.compile(ERROR_PATTERN, re.M)
#: The only replies to a config line that mean success besides silence: the
#: `configure terminal` banner, IOS creating a missing access VLAN, and syslog
#: messages (`*Mar  1 00:01:02.345: %SYS-5-CONFIG_I: ...`) a console may show.
ALLOWED = re.compile(
    r"Enter configuration commands, one per line\.\s+End with CNTL/Z\."
    r"|% Access VLAN does not exist\. Creating vlan \d+"
    r"|\*?\w{3} +\d+ [\d:.]+(?: \w+)?: %[A-Z0-9_]+-\d-[A-Z0-9_]+:.*"
)
#: Any IOS prompt, exec or config mode, whatever the hostname (a push may change it).
_PROMPT = re.compile(r"[A-Za-z0-9][\w.-]*(?:\([\w-]+\))?[#>]")
#: Privileged exec: where `end` must leave the session (not `(config)#`).
EXEC_PROMPT = re.compile(r"[A-Za-z0-9][\w.-]*#")


def _driver() -> Any:
    # A new allowed-VLAN list or access VLAN replaces the old one on IOS; without
    # these rules hier-config would first negate the old list (briefly allowing all).
    return hconfig_driver(
        PLATFORM,
        "hostname ",
        ("switchport trunk allowed vlan ", "switchport access vlan ", "switchport mode "),
    )


def _parse(text: str) -> HConfig:
    return get_hconfig(_driver(), text)


#: Top-level lines of the management plane: how the switch is reached and who may log
#: in. Full mode owns everything else; these it never removes or changes, because a
#: spec that does not mention them (none does: the template renders no such line)
#: would otherwise cut dcctl and every operator off the switch.
PROTECTED = (
    "enable ", "username ", "aaa ", "line ", "ip ssh ", "ip scp ", "ip domain",
    "ip name-server ", "ip default-gateway ", "ip route 0.0.0.0 0.0.0.0 ", "snmp-server ",
    "crypto ", "tacacs", "radius", "key chain ", "ntp authentication", "login ",
    "service password-encryption", "ip http ", "management ",
)  # fmt: skip


def protected_lines(config: HConfig, mgmt_vlans: set[int]) -> set[str]:
    """Top-level lines of `config` that full mode leaves exactly as they are.

    Besides :data:`PROTECTED`: the management interfaces (``interface Vlan<N>`` of
    `mgmt_vlans`) and the access lists a protected line uses (``access-class`` on
    the vty lines, an SNMP community's ACL).
    """
    svis = {f"interface Vlan{vid}" for vid in mgmt_vlans}

    def management(child: Any) -> bool:
        text = child.text
        return text.startswith(PROTECTED) or text in ("enable", "aaa new-model") or text in svis

    out = {child.text for child in config.children if management(child)}
    used = {
        w
        for child in config.children
        if child.text in out
        for line in (child.text, *(c.text for c in child.all_children()))
        for w in _acl_refs(line)
    }
    for child in config.children:
        words = child.text.split()
        name = words[1] if words[:1] == ["access-list"] else None
        if words[:2] == ["ip", "access-list"] and len(words) > 3:
            name = words[3]
        if name is not None and name in used:
            out.add(child.text)
    return out


def _acl_refs(line: str) -> list[str]:
    words = line.split()
    if words[:1] == ["access-class"] and len(words) > 1:
        return [words[1]]
    if words[:2] == ["snmp-server", "community"] and len(words) > 3:
        return [w for w in words[3:] if w not in ("RO", "RW", "view", "ipv6")][-1:]
    return []


def scope(
    config: HConfig,
    managed_vlans: set[int],
    ports: set[str],
    full: bool,
    protect: set[str] | None = None,
) -> HConfig:
    """The part of a config dcctl owns; in full mode, everything but `protect`."""
    return hconfig.scope(config, _driver(), "hostname ", managed_vlans, ports, full, protect)


def intended_config(name: str, intent: dict[str, Any]) -> str:
    return render_switch(name, intent)


def _physical(line: str) -> bool:
    """Whether a config line opens a hardware port: `no interface X` is refused on them."""
    word, _, name = line.partition(" ")
    return word == "interface" and is_physical("cisco_ios", name)


def remediation(running: str, intended: str, managed_vlans: set[int], full: bool) -> list[str]:
    """Config lines that turn `running` into `intended`, within dcctl's scope.

    VLANs the intent uses are always in scope (else they would be re-added on
    every run). In full mode a physical port the intent does not mention is
    cleared and shut down: hier-config would emit `no interface X`, which IOS
    refuses for hardware ports. The management plane (:func:`protected_lines`
    of running and intended) is out of scope in full mode, on both sides: never
    removed, never re-pushed, so its secrets are not sent either.
    """
    target = _parse(intended)
    ports = {
        c.text.split(maxsplit=1)[1] for c in target.children if c.text.startswith("interface ")
    }
    vlans = {int(c.text.split()[1]) for c in target.children if re.fullmatch(r"vlan \d+", c.text)}
    parsed = _parse(running)
    mgmt = mgmt_vlans(target) | mgmt_vlans(parsed)
    protect = protected_lines(parsed, mgmt) | protected_lines(target, mgmt) if full else set()
    current = scope(parsed, managed_vlans | vlans, ports, full, protect)
    if full:
        target = scope(target, set(), set(), True, protect)
    if full:
        wanted = {c.text for c in target.children}
        for child in current.children:
            if _physical(child.text) and child.text not in wanted:
                target.add_child(child.text).add_child("shutdown")
    return flatten(WorkflowRemediation(current, target).remediation_config, "exit")


def verify_vlans(show_vlan: str, intent: dict[str, Any]) -> list[str]:
    """Each intended VLAN runs on the switch (`show vlan brief`) with its name."""
    problems: list[str] = []
    vlans = {
        int(r["vlan_id"]): r["vlan_name"]
        for r in parse_show("cisco_ios", "show vlan brief", show_vlan)
    }
    for vid, name in intent["vlans"].items():
        if vlans.get(int(vid)) != name:
            problems.append(
                _("vlan {vid}: expected name {name}, device has {got}").format(
                    vid=vid, name=name, got=vlans.get(int(vid))
                )
            )
    return problems


def verify(show_vlan: str, show_switchport: str, intent: dict[str, Any]) -> list[str]:
    """Compare parsed show output with the intent; return human-readable mismatches."""
    problems = verify_vlans(show_vlan, intent)
    ports = {
        ios_long(r["interface"]): r
        for r in parse_show("cisco_ios", "show interfaces switchport", show_switchport)
    }
    for port, want in intent["ports"].items():
        got = ports.get(port)
        if got is None:
            problems.append(_("{port}: not reported by the device").format(port=port))
            continue
        mode = got.get("admin_mode", "")
        if want["mode"] == "access":
            if "access" not in mode or str(got.get("access_vlan")) != str(want["vlan"]):
                problems.append(
                    _("{port}: expected access vlan {vlan}, device has {mode} {got}").format(
                        port=port, vlan=want["vlan"], mode=mode, got=got.get("access_vlan")
                    )
                )
        else:
            raw = got.get("trunking_vlans") or []
            try:
                allowed = _expand(raw)
            except ValueError:
                problems.append(
                    _("{port}: device reports trunk VLANs {raw!r}, not a VLAN list").format(
                        port=port, raw=raw
                    )
                )
                continue
            if "trunk" not in mode or allowed != set(want["trunk_vlans"]):
                problems.append(
                    _("{port}: expected trunk {vlans}, device has {mode} {got}").format(
                        port=port, vlans=sorted(want["trunk_vlans"]), mode=mode, got=sorted(allowed)
                    )
                )
    return problems


def _expand(items: list[str] | str) -> set[int]:
    """The VLANs of a parsed `Trunking VLANs Enabled` value (`ALL`, `NONE` or a list).

    ntc-templates splits a long list over several items; ValueError if it is not one.
    """
    if isinstance(items, str):
        items = [items]
    parts = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if any(p.upper() == "ALL" for p in parts):
        return set(range(VLAN_MIN, VLAN_MAX + 1))
    ids = [p for p in parts if p.upper() != "NONE"]
    return parse_vlan_list(",".join(ids)) if ids else set()


_NOISE = ("Building configuration", "Current configuration", "Last configuration change", "end")


def clean_running(text: str) -> str:
    """Drop the banner lines IOS prints around `show running-config`."""
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s == "!" or s.startswith(_NOISE):
            continue
        keep.append(line.rstrip())
    return "\n".join(keep) + "\n"


#: Words followed by a secret value (after an optional one-digit encryption type).
SECRET_WORDS = frozenset(
    {
        "secret", "password", "key", "key-string", "community", "pre-shared-key",
        "authentication-key", "md5", "sha", "des", "3des", "aes", "password-encrypt",
    }
)  # fmt: skip
#: Words after ``key`` & co. that show the value is not a secret.
_NOT_SECRET = frozenset({"chain", "generate", "pair", "zeroize", "config-key", "import", "export"})


def _skip(words: list[str], i: int) -> int:
    """Tokens between a keyword and its value: ``aes 128 V``, ``secret level 15 5 V``."""
    nxt = words[i + 1 : i + 3]
    if words[i].lower() == "aes" and nxt[:1] and nxt[0] in ("128", "192", "256"):
        return 1
    if nxt[:1] == ["level"]:
        return 2
    return 0


def mask(line: str) -> str:
    """IOS: the value after each :data:`SECRET_WORDS` word, and ``snmp-server host``'s community."""
    out = mask_keywords(line, SECRET_WORDS, not_before=_NOT_SECRET, skip=_skip)
    words = out.split()
    i = 1 if words[:1] == ["no"] else 0
    if words[i : i + 2] != ["snmp-server", "host"]:
        return out
    # snmp-server host ADDR [vrf V] [informs|traps] [version 1|2c|3 [auth|noauth|priv]] COMMUNITY
    i += 3
    if words[i : i + 1] == ["vrf"]:
        i += 2
    if words[i : i + 1] and words[i] in ("informs", "traps"):
        i += 1
    if words[i : i + 1] == ["version"]:
        i += 3 if words[i + 1 : i + 2] == ["3"] else 2
    return mask_word(out, i)


class IosDriver:
    """netmiko `cisco_ios` device handling for the switch engine."""

    device_type = "cisco_ios"
    #: The device's error forms and the replies that mean success (contract tests).
    errors = _ERROR
    allowed = ALLOWED

    def intended(self, name: str, intent: dict[str, Any]) -> str:
        return intended_config(name, intent)

    def read_running(self, conn: Any) -> str:
        return clean_running(conn.send_command("show running-config", read_timeout=60))

    def remediation(
        self, running: str, intended: str, managed_vlans: set[int], full: bool
    ) -> list[str]:
        return remediation(running, intended, managed_vlans, full)

    def restore(self, running: str, backup: str) -> list[str]:
        """Lines that bring the device back to `backup` (all but the management plane).

        The management plane is never changed by a push (see :func:`remediation`),
        so a rollback has nothing there to undo and must not re-send its secrets.
        """
        return remediation(running, backup, set(), True)

    def mask(self, line: str) -> str:
        """`line` with its secret values masked (hashes, passwords, keys, communities)."""
        return mask(line)

    def push(self, conn: Any, lines: list[str]) -> str:
        """Paste the lines into one config session; stop at the first IOS error.

        A new hostname changes the prompt netmiko matches output against, so the
        prompt is re-learnt after such a push (else every later `show` would
        carry the prompt in its output and break the ntc-templates parse).
        """
        out = paste(
            conn,
            ["configure terminal", *lines, "end"],
            _PROMPT,
            _ERROR,
            allowed=ALLOWED,
            final_prompt=EXEC_PROMPT,
        )
        if any(line.startswith("hostname ") for line in lines):
            conn.set_base_prompt()
        return out

    def verify(self, conn: Any, intent: dict[str, Any]) -> list[str]:
        """The VLANs as the switch runs them (`show vlan brief`).

        The ports' switchport settings are administrative state, i.e. the running
        config, which the engine's whole-config check compares line by line after
        every push; `show interfaces switchport` would read the same facts again
        (about 0.4 s a switch). :func:`verify` still reads both where asked.
        """
        return verify_vlans(conn.send_command("show vlan brief"), intent)

    def save(self, conn: Any) -> None:
        conn.save_config()


#: What :func:`dcctl.plugins.vendor_driver` hands the switch engine.
DRIVER = IosDriver()
